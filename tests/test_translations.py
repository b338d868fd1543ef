"""The English catalog (locale/en/LC_MESSAGES/django.po) stays complete and correct.

Source strings are Traditional Chinese; English comes only from the catalog, so a new
{% translate %} or gettext() call without an English entry would silently show Chinese.
After changing source strings, refresh and fill the catalog:

    DEBUG=1 .venv/bin/python manage.py makemessages -l en --ignore=.venv \
        --ignore=test-artifacts --no-location
"""

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOG.with_suffix(".mo")

# Left out of the copy that makemessages scans: not source, or generated.
NOT_SOURCE = {
    ".git",
    ".venv",
    "var",
    ".tools",  # the Makefile's tools (the HTML checker, uv): not source, and large
    "test-artifacts",
    "staticfiles",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "node_modules",
}

# Deliberately blank (a no-break space): the print footer is assembled from the fragments
# 第 / 頁 / 共 around CSS page counters, and English reads "Page 3 / 10" only if these are
# blank. Drop this once templates/reports/print.html translates the footer as one string.
BLANK_ON_PURPOSE = {"頁", "共"}

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_KEYWORD = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[(\d+)\])?)\s+(".*")$')
_NAMED = re.compile(r"%\((\w+)\)")
# Any printf-style conversion, named or not; %% is a literal percent sign.
_SPEC = re.compile(r"%(?:\((\w+)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?([diouxXeEfFgGcrsa%])")


@dataclass
class Entry:
    msgctxt: str | None = None
    msgid: str | None = None
    msgid_plural: str | None = None
    msgstrs: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    def __str__(self) -> str:
        context = f"[{self.msgctxt}] " if self.msgctxt is not None else ""
        return context + repr(self.msgid)


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), token[1:-1])


def parse_po(path: Path) -> list[Entry]:
    """The entries of a .po file, header (msgid "") and obsolete (#~) entries included."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int] | None = None  # the field that continuation lines extend

    def finish():
        nonlocal entry, target
        if entry.msgid is not None:
            entries.append(entry)
        entry, target = Entry(), None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
            if line.startswith("|"):  # previous msgid of an obsolete entry
                continue
        if not line:
            finish()
            continue
        if line.startswith("#"):
            if entry.msgstrs:  # a comment after msgstr starts the next entry
                finish()
            if line.startswith("#,"):
                entry.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, token = match.groups()
            if keyword in ("msgctxt", "msgid") and entry.msgstrs:
                finish()  # no blank line between entries (e.g. after Django's header)
            entry.obsolete = entry.obsolete or obsolete
            if keyword.startswith("msgstr"):
                target = ("msgstr", int(index or 0))
                entry.msgstrs[target[1]] = _unquote(token)
            else:
                target = (keyword, 0)
                setattr(entry, keyword, _unquote(token))
        elif line.startswith('"') and line.endswith('"') and target is not None:
            name, index = target
            if name == "msgstr":
                entry.msgstrs[index] += _unquote(line)
            else:
                setattr(entry, name, getattr(entry, name) + _unquote(line))
        else:
            raise ValueError(f"{path}:{number}: cannot parse {raw!r}")
    finish()
    return entries


def messages(entries: list[Entry]) -> dict[tuple[str | None, str], Entry]:
    """The live translatable messages: no header, no obsolete entries."""
    return {e.key: e for e in entries if e.msgid != "" and not e.obsolete}


def problems(entries: list[Entry]) -> list[str]:
    found = []
    for e in entries:
        if e.obsolete:
            continue
        if e.fuzzy:
            found.append(f"fuzzy: {e}")
        if e.msgid == "":
            continue
        if not e.msgstrs or any(not s for s in e.msgstrs.values()):
            found.append(f"untranslated: {e}")
        elif any(not s.strip() for s in e.msgstrs.values()) and e.msgid not in BLANK_ON_PURPOSE:
            found.append(f"blank translation: {e}")
    return found


def _copy_ignore(directory, names):
    return [n for n in names if n in NOT_SOURCE or n.endswith((".mo", ".pyc"))]


@pytest.mark.skipif(
    shutil.which("xgettext") is None,
    reason="GNU gettext (xgettext) is not installed; `make test` installs it",
)
def test_catalog_matches_the_source_strings(tmp_path):
    """makemessages on a copy of the project finds exactly the committed msgids."""
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=_copy_ignore)
    command = [sys.executable, "manage.py", "makemessages", "-l", "en", "--no-location"]
    command += ["--ignore=.venv", "--ignore=test-artifacts"]
    done = subprocess.run(
        command,
        cwd=project,
        env={**os.environ, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"makemessages failed:\n{done.stdout}\n{done.stderr}"

    committed = messages(parse_po(CATALOG))
    fresh_entries = parse_po(project / CATALOG.relative_to(ROOT))
    fresh = messages(fresh_entries)
    new = sorted(str(fresh[k]) for k in fresh.keys() - committed.keys())
    gone = sorted(str(committed[k]) for k in committed.keys() - fresh.keys())
    assert not new and not gone, (
        "locale/en/LC_MESSAGES/django.po is out of date; run makemessages (see this file's "
        "docstring) and translate.\n"
        f"New source strings without an English entry ({len(new)}):\n  "
        + "\n  ".join(new)
        + f"\nEntries no longer in the source ({len(gone)}):\n  "
        + "\n  ".join(gone)
    )
    found = problems(fresh_entries)
    assert not found, "Catalog entries to fix:\n  " + "\n  ".join(found)


def test_catalog_is_translated_and_not_fuzzy():
    found = problems(parse_po(CATALOG))
    assert not found, "Catalog entries to fix:\n  " + "\n  ".join(found)


def _specs(text: str) -> tuple[set[str], Counter]:
    named, unnamed = set(), Counter()
    for name, conversion in _SPEC.findall(text):
        if name:
            named.add(name)
        elif conversion != "%":
            unnamed[conversion] += 1
    return named, unnamed


def test_translations_keep_the_placeholders():
    mismatched = []
    for entry in messages(parse_po(CATALOG)).values():
        for index, msgstr in entry.msgstrs.items():
            source = entry.msgid_plural if index and entry.msgid_plural else entry.msgid
            if set(_NAMED.findall(source)) != set(_NAMED.findall(msgstr)):
                mismatched.append(f"{entry} -> {msgstr!r}")
            elif _specs(source) != _specs(msgstr):
                mismatched.append(f"{entry} -> {msgstr!r} (other % conversions differ)")
            elif "python-format" in entry.flags and "%" in _SPEC.sub("", msgstr):
                mismatched.append(f"{entry} -> {msgstr!r} (a lone %: write %% for a percent sign)")
    assert not mismatched, "Placeholders differ:\n  " + "\n  ".join(mismatched)


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext (msgfmt) is not installed")
def test_catalog_passes_msgfmt_checks():
    done = subprocess.run(
        ["msgfmt", "--check", "-o", os.devnull, str(CATALOG)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def compiled_catalog():
    assert COMPILED.exists() and COMPILED.stat().st_mtime >= CATALOG.stat().st_mtime, (
        f"{COMPILED.relative_to(ROOT)} is missing or older than the .po: run `make messages` "
        "(or `make test`, which compiles the catalogs first)"
    )


def test_login_page_follows_accept_language(client, compiled_catalog):
    english = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in english
    assert "Log in to kpitrack" in english
    assert "Username" in english
    assert "登入" not in english

    chinese = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert '<html lang="zh-Hant-TW">' in chinese
    assert "登入 kpitrack" in chinese
    assert "Log in" not in chinese
