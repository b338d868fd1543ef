from django import template
from django.utils.safestring import mark_safe

from kpitrack import formatting
from kpitrack.reports import wording

register = template.Library()


roc_year = register.filter(formatting.roc_year)
roc = register.filter(formatting.roc)
figure = register.filter(formatting.figure)
percent = register.filter(formatting.percent)


@register.filter
def status_label(status):
    from performance.reasons import status_label as label

    return label(status)


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
def chinese_number(n):
    """一, 二, … 二十: the numbering the documents use for goals."""
    digits = "零一二三四五六七八九"
    n = int(n)
    if n <= 0 or n >= 100:
        return str(n)
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


@register.filter
def css_string(text):
    """Text made safe inside a double-quoted CSS string in a <style> element: every character
    that CSS or HTML could read as syntax becomes a CSS hex escape (HTML entities are not
    decoded inside <style>, so Django's escaping would print them literally)."""
    return mark_safe("".join(f"\\{ord(ch):x} " if ch in _CSS_UNSAFE else ch for ch in str(text)))


_CSS_UNSAFE = frozenset("\"'\\<>&\n\r\f")
