"""The job kinds: a name → the function that does the work.

A kind is `function(job, progress) -> Output`: it reads `job.params`, reports its steps through
`progress.step(done, total, label)` (which also stops it when the job was cancelled), writes
its file with kpitrack.jobs.files.save_atomically and returns where it is. One line registers a
kind (`@register("quarterly")`); the module is named in settings.JOB_KIND_MODULES.

A kind whose work is one transaction and makes no file (a workbook import) instead ends the job
inside that transaction with `progress.complete(output, outcome)`: a small JSON summary the job
page shows through the template the kind registers (`@register("…", template="…")`).
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Output:
    name: str  # the file's name in storage (kpitrack.jobs.files)
    filename: str  # what the browser saves it as
    content_type: str
    reused: bool = False  # served from a stored export, not rendered by this job


class JobFailed(Exception):
    """The job cannot be done; the message (already in the user's language) says why."""


class JobCancelled(Exception):
    """The job was cancelled (or given up as stale) while it ran: stop, write nothing more."""


_KINDS: dict[str, Callable] = {}
_TEMPLATES: dict[str, str] = {}


def register(kind: str, *, template: str = ""):
    """`template` shows a finished job's outcome on its page (in place of the download link)."""

    def add(function):
        _KINDS[kind] = function
        if template:
            _TEMPLATES[kind] = template
        return function

    return add


def outcome_template(kind: str) -> str:
    return _TEMPLATES.get(kind, "")


def kind_function(kind: str) -> Callable:
    try:
        return _KINDS[kind]
    except KeyError:
        raise JobFailed(f"unknown job kind {kind!r}") from None
