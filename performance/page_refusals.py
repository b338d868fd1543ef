"""How a page answers a service's refusal, in one place for every page: the message beside the
form (on the field it names, or above the form) and the status kpitrack.core.refusals gives it —
400 bad input, 409 somebody saved since the page was loaded (with their values), 423 frozen or
outside the window. PermissionDenied and Http404 are not caught: Django's handlers answer them.
"""

from django.core.exceptions import ValidationError
from django.forms import Form

from kpitrack.core.refusals import Refusal, status_of
from kpitrack.core.versioning import ConcurrentEditError

from .conflicts import result_conflict

# What a page catches around a service call.
REFUSALS = (Refusal, ValidationError)


def on_form(exc: Exception, form: Form, *, field: str | None = None) -> tuple[int, dict]:
    """Puts `exc` (one of REFUSALS) on `form` and returns the page's status with the context
    it needs besides: a message that names no field goes on `field` (None: above the form); a
    stale save leaves the form as typed and shows the other person's values instead."""
    if not isinstance(exc, REFUSALS):
        raise exc
    if isinstance(exc, ConcurrentEditError):
        return exc.status, {"conflict": result_conflict(exc)}
    if isinstance(exc, ValidationError):
        if hasattr(form, "add_service_errors"):
            form.add_service_errors(exc)
        else:
            form.add_error(None if hasattr(exc, "error_dict") else field, exc)
    else:
        form.add_error(field, str(exc))
    return status_of(exc), {}
