"""A service's refusal on a page: one place gives its message a home on the form and its status
(kpitrack.core.refusals), whichever page called the service."""

import pytest
from django import forms
from django.core.exceptions import PermissionDenied, ValidationError

from kpitrack.core.refusals import Conflict, Locked, Refusal
from kpitrack.core.versioning import ConcurrentEditError
from performance.page_refusals import on_form


class _Form(forms.Form):
    file = forms.CharField(required=False)
    comment = forms.CharField(required=False)


def _form():
    form = _Form({})
    assert form.is_valid()
    return form


@pytest.mark.parametrize(
    ("exc", "field", "status", "where"),
    [
        (ValidationError("壞的檔案"), "file", 400, "file"),
        (ValidationError("壞的檔案"), None, 400, "__all__"),
        (ValidationError({"comment": "請說明"}), "file", 400, "comment"),
        (Locked("已核定"), "file", 423, "file"),
        (Locked("已核定"), None, 423, "__all__"),
        (Conflict("已被修改"), None, 409, "__all__"),
        (Refusal("不行"), None, 400, "__all__"),
    ],
)
def test_a_refusal_lands_on_its_field_with_its_status(exc, field, status, where):
    form = _form()
    got, extra = on_form(exc, form, field=field)
    assert (got, extra) == (status, {})
    assert list(form.errors) == [where]


def test_a_stale_save_keeps_the_form_as_typed_and_shows_the_other_values():
    form = _form()
    status, extra = on_form(ConcurrentEditError("已被修改", current=None), form)
    assert status == 409
    assert not form.errors
    assert extra["conflict"].message == "已被修改"
    assert extra["conflict"].figures == {}
    assert extra["conflict"].who == ""


def test_not_allowed_is_left_to_djangos_403():
    with pytest.raises(PermissionDenied):
        on_form(PermissionDenied(), _form())
