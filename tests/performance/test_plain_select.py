"""PlainSelect writes Django's Select's HTML in Python: the same characters as its templates."""

import pytest
from django import forms
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from performance.forms import PlainSelect

CHOICES = [
    ("", gettext_lazy("全部狀態")),
    ("a&b", 'A "quoted" <label> & more'),
    (3, 3),
    ("safe", mark_safe("<b>safe</b>")),
    ("群組<1>", [("g1", "甲"), ("g2", "乙 & 丙")]),
    ("", "empty again"),
]
ATTRS = [
    None,
    {"id": "id_x"},
    {"id": "id_x", "aria-invalid": "true", "required": True, "disabled": False, "data-n": 0},
    {"class": 'a"b<c>', "data-none": None},
]


@pytest.mark.parametrize("attrs", ATTRS)
@pytest.mark.parametrize("value", [None, "", "a&b", 3, "g2", "missing", ["a&b", "g1"]])
def test_it_writes_what_djangos_templates_write(attrs, value):
    ours = PlainSelect(choices=CHOICES).render("field<1>", value, attrs=attrs)
    django = forms.Select(choices=CHOICES).render("field<1>", value, attrs=attrs)
    assert ours == django
    assert type(ours) is type(django)


def test_a_form_field_renders_the_same_with_its_errors():
    class Form(forms.Form):
        pick = forms.ChoiceField(choices=CHOICES[:3], widget=PlainSelect, help_text="說明")

    class Django(forms.Form):
        pick = forms.ChoiceField(choices=CHOICES[:3], help_text="說明")

    for data in ({"pick": "nope"}, {"pick": "a&b"}, None):
        assert str(Form(data)["pick"]) == str(Django(data)["pick"])
