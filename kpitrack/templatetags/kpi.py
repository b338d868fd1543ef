"""Template filters: one-line wrappers over the formatting and wording modules, plus the
report layout's own helpers."""

from decimal import ROUND_CEILING, Decimal

from django import template
from django.utils.safestring import mark_safe

from kpitrack.core import formatting
from kpitrack.reports import wording
from performance import permissions, reasons

register = template.Library()


roc_year = register.filter(formatting.roc_year)
roc = register.filter(formatting.roc)
figure = register.filter(formatting.figure)
percent = register.filter(formatting.percent)
chinese_number = register.filter(formatting.chinese_number)
status_label = register.filter(reasons.status_label)


@register.filter
def achievement_lines(row):
    return wording.achievement_lines(row)


@register.filter
def target_text(indicator):
    return wording.target_text(indicator)


@register.filter
def lines(text):
    """Split stored narrative into its printed lines (sub-items are stored one per line)."""
    return [line for line in (text or "").splitlines() if line.strip()]


@register.filter
def css_string(text):
    """Text made safe inside a double-quoted CSS string in a <style> element: every character
    that CSS or HTML could read as syntax becomes a CSS hex escape (HTML entities are not
    decoded inside <style>, so Django's escaping would print them literally)."""
    return mark_safe("".join(f"\\{ord(ch):x} " if ch in _CSS_UNSAFE else ch for ch in str(text)))


_CSS_UNSAFE = frozenset("\"'\\<>&\n\r\f")


# Management screens (管理者): the menu offers them to the agencies' administrators.
@register.filter
def manages_any(user) -> bool:
    return permissions.manages_any(user)


# static/css/report.css has the classes i-N, h-N and w-N for N half ems, 0 to this.
HALF_EMS_STYLED = 20


@register.filter
def half_ems(em):
    """A hanging indent in em as the N of report.css's indent classes (i-N, h-N, w-N): a class,
    since the Content-Security-Policy allows no style attribute. Indents come in half ems
    (wording.hang_width); one wider than the widest class is printed at that width."""
    steps = int((Decimal(em) * 2).to_integral_value(rounding=ROUND_CEILING))
    return min(max(steps, 0), HALF_EMS_STYLED)


@register.filter
def coded_figure(value, indicator):
    """`value` as it reads for `indicator`'s method: 達成 / 未達成, an ordinal's words, or the
    figure (kpitrack.core.formatting.coded_figure)."""
    return formatting.coded_figure(
        value, method=indicator.method, standard=indicator.measurement_standard
    )


# Review queue (初核, 複核): the menu offers it to the agencies' reviewers.
@register.filter
def reviews_any(user) -> bool:
    return permissions.reviews_any(user)
