"""What a service says when it will not do what it was asked, and the HTTP status that goes with it.

A service raises a `Refusal` (or Django's own ValidationError, PermissionDenied or Http404);
a page turns it into a message beside the form and an API into a JSON error, each in one place,
both reading the status from here so the two can never disagree.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404


class Refusal(Exception):
    """A refusal with a message for the user and the status a web answer gives it."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Conflict(Refusal):
    """Somebody else changed the thing since it was loaded: reload and try again."""

    status = 409


class Locked(Refusal):
    """The thing is frozen for now (approved, locked, under review, outside its window)."""

    status = 423


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of a refusal; None for an exception that is not one (a bug: let it 500)."""
    if isinstance(exc, Refusal):
        return exc.status
    if isinstance(exc, ValidationError):
        return 400
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, Http404):
        return 404
    return None
