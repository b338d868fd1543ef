"""A previewed workbook waiting for its confirm.

The uploaded file waits in shared storage (STORAGES["default"]: MEDIA_ROOT, or object storage
when configured), never in process memory, so a second app server, or a job worker on another
machine, finds it. It is named by a random token and bound to the user who uploaded it, with the
scope and the result versions the preview saw. The confirm page reads it, and so does the
workbook import job a large confirm starts (performance.workbook_jobs).
"""

import json
import re
import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import storages

from kpitrack.core.stored_files import remove_older

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
# An upload nobody confirmed is removed after this long.
KEEP_SECONDS = 24 * 3600
FOLDER = "workbook-uploads"


def _storage():
    return storages["default"]


def _name(token: str, suffix: str) -> str:
    return f"{FOLDER}/{token}{suffix}"


def store(data: bytes, meta: dict) -> str:
    storage = _storage()
    remove_older(storage, FOLDER, seconds=KEEP_SECONDS)
    token = secrets.token_urlsafe(24)
    # The meta last: load() reads it first, so an upload is seen only once both are stored. The
    # token is new, so the storage keeps the names as given (no suffix to avoid a clash).
    storage.save(_name(token, ".xlsx"), ContentFile(data))
    storage.save(_name(token, ".json"), ContentFile(json.dumps(meta).encode("utf-8")))
    return token


def _read(storage, name: str) -> bytes:
    with storage.open(name, "rb") as file:
        return file.read()


def load(token: str, user) -> tuple[bytes, dict] | None:
    """The upload and what its preview found; None when it is gone or not `user`'s."""
    if not TOKEN_RE.match(token or ""):
        return None
    storage = _storage()
    try:
        meta = json.loads(_read(storage, _name(token, ".json")).decode("utf-8"))
        if meta.get("user") != user.pk:
            return None
        data = _read(storage, _name(token, ".xlsx"))
    except (OSError, ValueError):  # FileNotFoundError is an OSError
        return None
    return data, meta


def discard(token: str):
    if not TOKEN_RE.match(token or ""):
        return
    storage = _storage()
    for suffix in (".xlsx", ".json"):
        storage.delete(_name(token, suffix))


def rows_to_write(meta: dict) -> int:
    """How many rows the confirm writes: the rows (and 分季目標 rows) the preview found changed."""
    plan = meta["plan"]
    return sum(1 for *_head, changes in [*plan["rows"], *plan.get("milestones", [])] if changes)
