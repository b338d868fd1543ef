"""Posting an admin change form as a browser would: the loaded values, then the edits."""


def _value(bound):
    value = bound.value()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    return value


def loaded_form(response) -> dict:
    """Every field of the change form and its inlines, as loaded (hidden version included)."""
    data = {}
    form = response.context["adminform"].form
    for bound in form:
        if bound.field.disabled:
            continue
        value = _value(bound)
        if value != "":
            data[bound.html_name] = value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"):
            data[f"{formset.prefix}-{name}"] = management[name].value()
        for inline_form in formset.forms:
            for bound in inline_form:
                value = _value(bound)
                if value != "":
                    data[bound.html_name] = value
    return data
