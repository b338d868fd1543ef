"""Template filters: one-line wrappers over the formatting and wording modules, plus the
report layout's own helpers."""

from django import template

from kpitrack import formatting
from kpitrack.reports import wording
from performance import reasons

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
    """Text made safe to sit inside a double-quoted CSS string."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


# About two thirds of an A4 page of narrative in the report's analysis column. A row longer
# than that may not fit on any page: asking WeasyPrint to keep it whole then pushes it to a new
# page and drops the repeated table header there, so only rows that can fit are kept whole.
KEEP_WHOLE_CHARS = 700


@register.filter
def keep_whole(row) -> bool:
    result = row.result
    texts = [row.indicator.measurement_standard]
    if result is not None:
        texts += [result.progress, result.benefit, result.remarks, result.shortfall_reason]
        texts += [result.improvement]
    return sum(len(t or "") for t in texts) + 40 * len(row.parts) < KEEP_WHOLE_CHARS
