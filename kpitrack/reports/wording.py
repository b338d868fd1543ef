"""How achievement figures read in the printed reports (達成度 lines, target text)."""

from django.utils.translation import gettext as _

from kpitrack.engine.achievement import Method
from kpitrack.formatting import figure


def target_text(indicator) -> str:
    if indicator.target_text:
        return indicator.target_text
    parts = [p for p in indicator.parts.all() if p.value is not None]
    return "、".join(f"{figure(p.value)}{p.unit}" for p in parts)


def _value(value, unit) -> str:
    return f"{figure(value)}{unit}" if unit != "%" else f"{figure(value)}%"


def achievement_lines(row) -> list[str]:
    """The 達成度 statement, from the engine's figures only."""
    outcome = row.outcome
    method = row.indicator.method
    if outcome.rate is None and not any(p.rate is not None for p in row.parts):
        return [_("無法計算：%(reason)s") % {"reason": row.reason}]
    if method in (Method.MULTI, Method.WEIGHTED):
        lines = []
        for n, part in enumerate(row.parts, start=1):
            if part.rate is None:
                lines.append(
                    _("%(n)s.%(label)s：無法計算（%(reason)s）")
                    % {"n": n, "label": part.label, "reason": part.reason}
                )
            else:
                lines.append(
                    _("%(n)s.%(label)s：%(value)s，達成率%(rate)s%%")
                    % {
                        "n": n,
                        "label": part.label,
                        "value": _value(part.value, part.unit),
                        "rate": figure(part.rate),
                    }
                )
        if outcome.rate is None:
            lines.append(_("整體達成率無法計算：%(reason)s") % {"reason": row.reason})
        elif method == Method.MULTI:
            lines.append(_("整體達成率%(rate)s%%（取各項最低者）") % {"rate": figure(outcome.rate)})
        else:
            lines.append(_("加權達成率%(rate)s%%") % {"rate": figure(outcome.rate)})
        return lines
    part = row.parts[0] if row.parts else None
    unit = part.unit if part else ""
    if method == Method.GROWTH:
        value = _("成長率%(value)s%%") % {"value": figure(outcome.value)}
    elif method == Method.RATIO:
        value = _("比率%(value)s%%") % {"value": figure(outcome.value)}
    elif method == Method.RATING:
        value = _("已達成") if outcome.value == 1 else _("未達成")
    else:
        value = _value(outcome.value, unit)
    return [_("%(value)s，達成率%(rate)s%%") % {"value": value, "rate": figure(outcome.rate)}]
