"""My work's page around its rows (heading, filters, links, counts, the table's frame), written
in Python: the HTML templates/performance/my_work.html wrote, character for character, without
the template engine's cost per tag (a fifth of the page everybody opens: issue 16's load).
tests/performance/test_work_page.py compares it with the template it replaces; the rows are
work_rows.py's."""

from django.templatetags.static import static
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from kpitrack.core.formatting import roc_year

from .permissions import reviews_any


def _value(value) -> str:
    # As a template prints a variable: localized, escaped.
    return conditional_escape(localize(value))


def _url(name, *args) -> str:
    # As {% url %} writes it: escaped.
    return conditional_escape(reverse(name, args=args))


def _quarter(q) -> str:
    # {% blocktranslate %}第{{ q }}季{% endblocktranslate %}: the text as translated, the value
    # as a template prints it.
    return _("第%(q)s季") % {"q": _value(q)}


def _errors(form) -> str:
    if not form.errors:
        return ""
    items = "".join(f"<li>{_value(e)}</li>" for errors in form.errors.values() for e in errors)
    return f'<ul class="errorlist" role="alert">{items}</ul>'


def _filters(context) -> str:
    form, year, quarter = context["form"], context.get("year"), context.get("quarter")
    years = "".join(
        f'<option value="{_value(y)}"{" selected" if y == year else ""}>'
        f"{conditional_escape(roc_year(y))}</option>"
        for y in context["years"]
    )
    quarters = "".join(
        f'<option value="{_value(q)}"{" selected" if q == quarter else ""}>{_quarter(q)}</option>'
        for q in context["quarter_numbers"]
    )
    unit, state = form["unit"], form["state"]
    year_label, quarter_label, submit = _("年度"), _("季別"), _("查詢")
    return (
        '<form method="get" class="inline">\n'
        f'  <label for="year">{year_label}</label>\n'
        f'  <select id="year" name="year">{years}</select>\n'
        f'  <label for="quarter">{quarter_label}</label>\n'
        f'  <select id="quarter" name="quarter">{quarters}</select>\n'
        f'  <label for="{_value(unit.id_for_label)}">{_value(unit.label)}</label>\n'
        f"  {unit}\n"
        f'  <label for="{_value(state.id_for_label)}">{_value(state.label)}</label>\n'
        f"  {state}\n"
        f'  <button type="submit">{submit}</button>\n'
        "</form>\n"
    )


def _unit_pages(context) -> str:
    if not context.get("unit_pages"):
        return ""
    year, quarter = context["year"], context["quarter"]
    items = "".join(
        f'<li><a href="{_url("unit-quarter", code, unit.code, year, quarter)}"'
        ' data-testid="unit-page">'
        + _("%(name)s：本季全部指標一頁填報") % {"name": _value(unit.name)}
        + "</a></li>"
        for code, unit in context["unit_pages"]
    )
    label = _("本季本單位全部指標")
    return f'<ul class="inline-list unit-pages" aria-label="{label}">{items}</ul>'


def _work(context) -> str:
    work, unit, state = context["work"], context["unit"], context["state"]
    if unit:
        workbook = _("以 Excel 活頁簿填報%(unit)s這一季") % {"unit": _value(unit.name)}
    else:
        workbook = _("以 Excel 活頁簿填報")
    current = ' aria-current="true"'
    counts = "".join(
        f'<li><a href="{_value(link)}"{current if count.state == state else ""}>'
        f"{_value(count.label)}：<strong>{_value(count.count)}</strong></a></li>"
        for count, link in context["count_links"]
    )
    if state:
        every = _("全部狀態")
        counts += f'<li><a href="{_value(context["all_states_link"])}">{every}</a></li>'
    by_state = _("各狀態件數")
    html = (
        f'<p><a href="{_value(context["workbook_link"])}">{workbook}</a></p>\n'
        f'<ul class="counts" aria-label="{by_state}">{counts}</ul>\n'
    )
    if work.rows:
        head = "".join(
            f'<th scope="col">{label}</th>'
            for label in (
                _("指標"),
                _("目標值"),
                _("最近填報"),
                _("本季進度"),
                _("狀態"),
                _("剩餘天數"),
            )
        )
        caption = _("指標清單")
        return html + (
            '\n<table class="data work">\n'
            f"  <caption>{caption}</caption>\n"
            f"  <thead><tr>{head}</tr></thead>\n"
            f"  <tbody>{context['work_rows']}\n"
            "  </tbody>\n"
            "</table>\n\n"
        )
    if state or unit:
        return html + "<p>" + _("沒有符合篩選條件的指標。") + "</p>\n"
    return html + "<p>" + _("這一季沒有需要您填報或審核的指標。") + "</p>\n"


def work_page_html(user, context: dict) -> SafeString:
    """The page's content (inside base.html's frame) for the view's `context`, as the template
    wrote it: a refusal (no `work` in it) shows the form and its errors only."""
    year = context.get("year")
    heading = _("我的工作")
    if year:
        heading += f"：{conditional_escape(roc_year(year))} {_quarter(context['quarter'])}"
    review = ""
    if reviews_any(user):
        label = _("前往審核清單：一次檢視並核准等待您初核或複核的成果")
        review = f'<p><a href="{_url("review-queue")}">{label}</a></p>'
    work = f"\n{_work(context)}" if context.get("work") else ""
    return mark_safe(
        "\n"
        f'<link rel="stylesheet" href="{conditional_escape(static("css/work.css"))}">\n'
        f"<h1>{heading}</h1>\n"
        f"{review}\n"
        f"{_errors(context['form'])}\n"
        f"{_filters(context)}"
        f"{_unit_pages(context)}\n"
        f"{work}\n"
    )
