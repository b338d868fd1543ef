"""deploy/systemd/ checked by systemd-analyze verify, in a scratch root holding the paths the
units name (the venv's programs, /bin/kill) and the machine's own system units."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

UNITS = ROOT / "deploy" / "systemd"
SYSTEM_UNITS = Path("/usr/lib/systemd/system")

pytestmark = pytest.mark.skipif(
    not shutil.which("systemd-analyze") or not SYSTEM_UNITS.is_dir(),
    reason="systemd-analyze is not installed",
)


def _scratch_root(folder: Path) -> Path:
    root = folder / "root"
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    installed = root / "etc/systemd/system"
    installed.mkdir(parents=True)
    for unit in UNITS.iterdir():
        shutil.copy(unit, installed / unit.name)
        for program in re.findall(r"^Exec\w+=(/\S+)", unit.read_text(), re.MULTILINE):
            path = root / program.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("#!/bin/sh\n")
            path.chmod(0o755)
    return root


def test_the_units_pass_systemd_analyze_verify_without_a_warning(tmp_path):
    root = _scratch_root(tmp_path)
    units = sorted(str(p) for p in (root / "etc/systemd/system").iterdir())
    assert len(units) == 6
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", *units], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    # An unknown key is only a warning to systemd, and an option silently lost to us.
    assert result.stderr.strip() == ""


def test_every_service_runs_as_kpitrack_with_the_settings_file_and_read_only_code():
    for unit in UNITS.glob("*.service"):
        text = unit.read_text()
        for line in (
            "User=kpitrack",
            "EnvironmentFile=/etc/kpitrack/env",
            "WorkingDirectory=/srv/kpitrack",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ReadWritePaths=/var/lib/kpitrack",
            "PrivateTmp=yes",
        ):
            assert f"\n{line}\n" in text, f"{unit.name} lacks {line}"


def test_each_timer_starts_its_service_daily():
    for name, command in [("reminders", "send_reminders"), ("backup", "backup")]:
        timer = (UNITS / f"kpitrack-{name}.timer").read_text()
        assert re.search(r"^OnCalendar=\*-\*-\* \d\d:\d\d:00 Asia/Taipei$", timer, re.MULTILINE)
        assert "Persistent=true" in timer
        service = (UNITS / f"kpitrack-{name}.service").read_text()
        assert f"manage.py {command}" in service
        assert "Type=oneshot" in service
