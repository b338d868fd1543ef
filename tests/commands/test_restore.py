"""`manage.py restore`, run in its own process as an operator runs it, on the database of this
pass (SQLite, or PostgreSQL with DATABASE_URL): a restored site has every row, history row,
media file and API figure of the site backed up; a damaged, tampered or foreign archive is
refused with a message and the target left exactly as it was."""

import io
import json
import tarfile

import pytest
from django.core.management import call_command

from performance.models import Evidence

from . import snapshot
from .backups import PDF, fill_source, fresh_target

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_restored_site_answers_exactly_as_the_one_backed_up(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    fill_source()
    before = snapshot.take()
    archive = tmp_path / "site.tar.gz"
    call_command("backup", str(archive))
    before["api"] = snapshot.api()  # signing in writes a session: after the tables were read

    with fresh_target(tmp_path) as target:
        restored = target.manage("restore", str(archive))
        assert restored.returncode == 0, restored.stderr
        assert "每個資料表的列數都與備份相符" in restored.stdout
        after = target.snapshot(with_api=True)

    # What is compared is there to compare: documents, workflow, history, evidence, answers.
    assert len(before["tables"]["performance_historicalresult"]) > 40
    assert len(before["tables"]["performance_historicalevidence"]) == 3
    assert len(before["evidence"]) == Evidence.objects.count() == 3
    assert None not in before["evidence"].values()
    assert len(before["api"]) > 100
    assert {status for status, _body in before["api"].values()} == {200}

    assert sorted(after["tables"]) == sorted(before["tables"])
    for table, rows in before["tables"].items():
        assert after["tables"][table] == rows, table
    assert after["media"] == before["media"]
    assert after["evidence"] == before["evidence"]
    for url, answer in before["api"].items():
        assert after["api"][url] == answer, url


def _members(archive) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    with tarfile.open(archive, "r:gz") as tar:
        return [(m, tar.extractfile(m).read() if m.isreg() else None) for m in tar.getmembers()]


def _write(path, members) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info = tarfile.TarInfo(info.name) if data is not None else info
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)


def _edited(source, path, change):
    """A copy of the archive `source` at `path`, its members passed through change(members)."""
    _write(path, change(_members(source)))
    return path


def _manifest(edit):
    def change(members):
        edited = []
        for info, data in members:
            if info.name == "manifest.json":
                manifest = json.loads(data)
                edit(manifest)
                data = json.dumps(manifest).encode()
            edited.append((info, data))
        return edited

    return change


def _replace(name_test, data):
    def change(members):
        return [(i, data if name_test(i.name) else d) for i, d in members]

    return change


def _link(members):
    link = tarfile.TarInfo("media/evidence/link.pdf")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    return [*members, (link, None)]


def _outside(members):
    escape = tarfile.TarInfo("../outside.pdf")
    return [*members, (escape, PDF)]


def _absolute(members):
    return [*members, (tarfile.TarInfo("/tmp/kpitrack-absolute.pdf"), PDF)]


def _unknown_migration(manifest):
    manifest["migrations"]["performance"].append("9999_from_the_future")


def _other_engine(manifest):
    manifest["database"]["engine"] = {"sqlite": "postgresql"}.get(
        manifest["database"]["engine"], "sqlite"
    )


DAMAGED = {
    "truncated": (lambda b: b[: len(b) // 2], "已損壞或不完整"),
    "a byte changed": (lambda b: b[:500] + bytes([b[500] ^ 0xFF]) + b[501:], "已損壞或不完整"),
}
TAMPERED = {
    "an evidence file changed": (
        _replace(lambda n: n.startswith("media/"), PDF + b"%forged"),
        "sha256",
    ),
    "the database changed": (_replace(lambda n: n.startswith("database."), b"forged"), "sha256"),
    "a member outside the folder": (_outside, "不允許的成員"),
    "an absolute member": (_absolute, "不允許的成員"),
    "a link": (_link, "不允許的成員"),
    "no manifest": (lambda ms: [(i, d) for i, d in ms if i.name != "manifest.json"], "缺少"),
    "a member missing": (
        lambda ms: [(i, d) for i, d in ms if not i.name.startswith("media/")],
        "缺少成員",
    ),
    "a member not in the manifest": (
        lambda ms: [*ms, (tarfile.TarInfo("media/evidence/extra.pdf"), PDF)],
        "未列出",
    ),
    "a migration this code does not have": (_manifest(_unknown_migration), "較新版本"),
    "the other database engine": (_manifest(_other_engine), "目前設定的是"),
}


def test_only_a_sound_archive_is_restored_and_replace_replaces_everything(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    fill_source(documents=False)
    source = snapshot.take()
    archive = tmp_path / "site.tar.gz"
    call_command("backup", str(archive))
    data = archive.read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    variants = {}
    for name, (damage, message) in DAMAGED.items():
        variants[name] = (bad / f"{len(variants)}.tar.gz", message)
        variants[name][0].write_bytes(damage(data))
    for name, (change, message) in TAMPERED.items():
        variants[name] = (_edited(archive, bad / f"{len(variants)}.tar.gz", change), message)

    with fresh_target(tmp_path) as target:
        # An empty database but a media folder in use: refused, and the database left empty
        # (the restore below, without --replace, needs it so).
        stray = target.media_root / "evidence" / "stray.pdf"
        stray.parent.mkdir(parents=True)
        stray.write_bytes(PDF)
        [(outcome, text)] = target.restore_each([(str(archive), [])])
        assert outcome == "refused" and "媒體資料夾" in text and "--replace" in text, text
        stray.unlink()
        assert target.manage("restore", str(archive)).returncode == 0

        # The target then moves on from the archive (a row, a table and a file more), so a
        # restore that went ahead would show, and --replace must undo all three.
        assert target.manage("create_api_token", "alice").returncode == 0
        target.execute("CREATE TABLE added_later (id integer)")
        (target.media_root / "evidence" / "later.pdf").write_bytes(PDF)
        before = target.snapshot()
        assert before["tables"]["kpitrack_apitoken"] and "added_later" in before["tables"]

        # As an operator sees it: exit status 1 and the message, no traceback.
        run = target.manage("restore", str(variants["a byte changed"][0]), "--replace")
        assert (run.returncode, run.stdout) == (1, "")
        assert run.stderr.startswith("CommandError: 備份檔") and "已損壞或不完整" in run.stderr
        # Neither a damaged or foreign archive, even with --replace, nor a good one into a site
        # that holds data without it.
        runs = {name: (str(path), ["--replace"]) for name, (path, _message) in variants.items()}
        runs["not empty, no --replace"] = (str(archive), [])
        outcomes = dict(zip(runs, target.restore_each(list(runs.values())), strict=True))
        messages = {name: message for name, (_path, message) in variants.items()}
        messages["not empty, no --replace"] = "--replace"
        for name, (outcome, text) in outcomes.items():
            assert outcome == "refused" and messages[name] in text, (name, text)
        assert target.snapshot() == before

        replaced = target.manage("restore", str(archive), "--replace")
        assert replaced.returncode == 0, replaced.stderr
        assert target.snapshot() == source
