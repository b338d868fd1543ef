"""Files in shared storage (STORAGES["default"]: MEDIA_ROOT, or object storage), swept by age."""

import time


def remove_older(
    storage,
    folder: str,
    *,
    seconds: float,
    keep: frozenset[str] | set[str] = frozenset(),
    temporary_suffix: str | None = None,
) -> list[str]:
    """Removes the files under `folder` (and its subfolders) not modified for `seconds`, except
    those named in `keep`; a file ending in `temporary_suffix` (what a killed writer leaves)
    after a day. Returns their names.

    Through the storage API (listdir, get_modified_time), not the disk: in object storage the
    files are objects, and any app server sweeps every server's old ones. A file gone before it
    is read or removed (another server swept it), or a backend without times, is passed over."""
    now = time.time()

    def walk(prefix):
        try:
            folders, files = storage.listdir(prefix)
        except FileNotFoundError:
            return
        for sub in folders:
            yield from walk(f"{prefix}/{sub}")
        for file in files:
            yield f"{prefix}/{file}"

    removed = []
    for name in list(walk(folder)):
        if name in keep:
            continue
        temporary = temporary_suffix is not None and name.endswith(temporary_suffix)
        cutoff = now - (86400 if temporary else seconds)
        try:
            if storage.get_modified_time(name).timestamp() < cutoff:
                storage.delete(name)
                removed.append(name)
        except (OSError, NotImplementedError):
            continue
    return removed
