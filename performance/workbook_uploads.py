"""A previewed workbook waiting for its confirm.

The uploaded file waits under MEDIA_ROOT (never in process memory, so a second app server, or a
job worker on another machine, finds it), named by a random token and bound to the user who
uploaded it, with the scope and the result versions the preview saw. The confirm page reads
it, and so does the workbook import job a large confirm starts (performance.workbook_jobs).
"""

import json
import re
import secrets
import time
from pathlib import Path

from django.conf import settings

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
# An upload nobody confirmed is removed after this long.
KEEP_SECONDS = 24 * 3600


def _folder() -> Path:
    root = Path(settings.MEDIA_ROOT or Path(settings.BASE_DIR) / "var" / "media")
    folder = root / "workbook-uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sweep(folder: Path):
    cutoff = time.time() - KEEP_SECONDS
    for path in folder.iterdir():
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def store(data: bytes, meta: dict) -> str:
    folder = _folder()
    _sweep(folder)
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.xlsx").write_bytes(data)
    (folder / f"{token}.json").write_text(json.dumps(meta), encoding="utf-8")
    return token


def load(token: str, user) -> tuple[bytes, dict] | None:
    """The upload and what its preview found; None when it is gone or not `user`'s."""
    if not TOKEN_RE.match(token or ""):
        return None
    folder = _folder()
    try:
        meta = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
        data = (folder / f"{token}.xlsx").read_bytes()
    except (OSError, ValueError):
        return None
    if meta.get("user") != user.pk:
        return None
    return data, meta


def discard(token: str):
    if not TOKEN_RE.match(token or ""):
        return
    folder = _folder()
    for suffix in (".xlsx", ".json"):
        (folder / f"{token}{suffix}").unlink(missing_ok=True)


def rows_to_write(meta: dict) -> int:
    """How many rows the confirm writes: the rows (and 分季目標 rows) the preview found changed."""
    plan = meta["plan"]
    return sum(1 for *_head, changes in [*plan["rows"], *plan.get("milestones", [])] if changes)
