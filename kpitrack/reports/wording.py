"""How an indicator's result reads in the printed reports.

A result transcribed from a published document is reprinted as printed; kpitrack's own arithmetic
goes beside it as a labelled note. A result entered in kpitrack is worded from its figures in the
agency's phrasing (value with the target's unit, 達成率, the conventional verdict).
"""

import re
from decimal import ROUND_CEILING, Decimal

from django.utils.translation import gettext as _

from kpitrack.core.engine.achievement import HUNDRED, Method, Rounding, round_decimal
from kpitrack.core.formatting import figure, target_wording

# Where a cell's text starts with a numbered item ((一) 1. 1、（一）), the documents begin it on
# its own line under the heading instead of after the colon.
NUMBERED = re.compile(r"^\s*([(（][一二三四五六七八九十]+[)）]|\d+[.、．])")


# Approximate advance widths (in em) of the print face's proportional Latin glyphs that open
# numbered lines, bold included; everything else in a numbering (一、（一）) is a full em.
_NARROW = {"(": 0.4, ")": 0.4, ".": 0.3, **dict.fromkeys("0123456789", 0.6)}


def split_number(line: str) -> tuple[str, str]:
    """「(一)因應政府…」 → ("(一)", "因應政府…"); an unnumbered line → ("", line)."""
    match = NUMBERED.match(line)
    if match is None:
        return "", line
    return match[1], line[match.end() :]


def hang_width(number: str) -> Decimal:
    """The hanging indent for `number`, in em: its printed width rounded up to a half em, so
    continuation lines start where the text after the number starts."""
    width = sum(Decimal(str(_NARROW.get(c, 1))) for c in number)
    return (width * 2).to_integral_value(rounding=ROUND_CEILING) / 2


def target_text(indicator) -> str:
    if indicator.target_text:
        return indicator.target_text
    return target_wording("", [(p.value, p.unit) for p in indicator.parts.all()])


def _value(value, unit) -> str:
    return f"{figure(value)}{unit}"


def _percent(value) -> str:
    return f"{figure(value)}%"


def verdict(row) -> str | None:
    """符合年度目標值 / 符合並超越年度目標值 / 未達年度目標值, by the printed (rounded) rate."""
    rate = row.outcome.rate
    if rate is None:
        return None
    if rate < HUNDRED:
        return _("未達年度目標值")
    beyond = rate > HUNDRED
    part = row.parts[0] if len(row.parts) == 1 else None
    if row.indicator.method == Method.LOWER and part and part.value is not None and part.target:
        beyond = part.value < part.target
    return _("符合並超越年度目標值") if beyond else _("符合年度目標值")


def is_short(row) -> bool:
    return row.outcome.rate is not None and row.outcome.rate < HUNDRED


def quotes_growth(row) -> bool:
    """Growth indicators whose result says so quote the growth itself as the 達成度."""
    return row.indicator.method == Method.GROWTH and row.published_basis == "value"


def generated_lines(row) -> list[str]:
    """The 達成度 statement of a result entered in kpitrack, from the engine's figures only."""
    outcome = row.outcome
    method = row.indicator.method
    if outcome.rate is None and not any(p.rate is not None for p in row.parts):
        return [_("無法計算：%(reason)s") % {"reason": row.reason}]
    ending = verdict(row)
    if method in (Method.MULTI, Method.WEIGHTED):
        lines = []
        for n, part in enumerate(row.parts, start=1):
            if part.rate is None:
                lines.append(
                    _("%(n)s.%(label)s：無法計算（%(reason)s）")
                    % {"n": n, "label": part.label, "reason": part.reason}
                )
            elif method == Method.WEIGHTED:
                lines.append(
                    _("%(n)s.%(label)s：達成率%(rate)s（權重%(weight)s）")
                    % {
                        "n": n,
                        "label": part.label,
                        "rate": _percent(part.rate),
                        "weight": _percent(_weight(row, part.key)),
                    }
                )
            else:
                # The label keeps the item number off the figure: 「1.」 then 「85次」 would
                # read as 1.85次.
                lines.append(
                    _("%(n)s.%(label)s：%(value)s，達成率%(rate)s。")
                    % {
                        "n": n,
                        "label": part.label,
                        "value": _value(part.value, part.unit),
                        "rate": _percent(part.rate),
                    }
                )
        if outcome.rate is None:
            lines.append(_("整體達成率無法計算：%(reason)s") % {"reason": row.reason})
        elif method == Method.MULTI:
            lines.append(
                _("達成率%(rate)s（取各項最低者），%(verdict)s。")
                % {"rate": _percent(outcome.rate), "verdict": ending}
            )
        else:
            lines.append(
                _("加權達成率%(rate)s，%(verdict)s。")
                % {"rate": _percent(outcome.rate), "verdict": ending}
            )
        return lines
    part = row.parts[0] if row.parts else None
    unit = part.unit if part else ""
    if method == Method.RATING:
        met = outcome.value == 1
        return [
            _("已達成，%(verdict)s。") % {"verdict": ending}
            if met
            else _("未達成，%(verdict)s。") % {"verdict": ending}
        ]
    if quotes_growth(row):
        return [
            _("%(value)s，%(verdict)s。") % {"value": _percent(outcome.value), "verdict": ending}
        ]
    if method in (Method.GROWTH, Method.RATIO):
        value = _percent(outcome.value)
    else:
        value = _value(outcome.value, unit)
    if method == Method.GROWTH:
        value = _("成長率%(value)s") % {"value": value}
    return [
        _("%(value)s，達成率%(rate)s，%(verdict)s。")
        % {"value": value, "rate": _percent(outcome.rate), "verdict": ending}
    ]


def _weight(row, key):
    return next((p.weight for p in row.indicator.parts.all() if p.key == key), None)


def achievement_lines(row) -> list[str]:
    """The 達成度 (目標達成值) lines as the report prints them."""
    result = row.result
    if result is not None and result.is_transcribed:
        return [line for line in result.published_text.splitlines() if line.strip()]
    return generated_lines(row)


# --- the recomputation note beside a reprinted line -------------------------------------------


def _inputs(row):
    return row.outcome.inputs


def _part_target(row, key):
    return next((p.target for p in row.parts if p.key == key), None)


def _arithmetic(row) -> str | None:
    """kpitrack's working for a single-part result, e.g. 92,885 ÷ 8,000 = 1,161.06%."""
    outcome = row.outcome
    indicator = row.indicator
    method = indicator.method
    inputs = [i.key for i in indicator.inputs.all()]
    values = _inputs(row)
    part = row.parts[0] if row.parts else None
    target = part.target if part else None
    rate_step = None
    if target is not None and outcome.rate is not None:
        value = _step_value(outcome, target)
        rate_step = f"{_percent(value)} ÷ {_percent(target)} = {_percent(outcome.rate)}"
    if method == Method.RATIO:
        value_step = (
            f"{figure(values[inputs[0]])} ÷ {figure(values[inputs[1]])} = {_percent(outcome.value)}"
        )
    elif method == Method.GROWTH:
        current = figure(values[inputs[0]])
        last = figure(indicator.baseline) if not row.previous_year_used else _("上年度實績")
        value_step = f"({current} − {last}) ÷ {last} = {_percent(outcome.value)}"
    elif method == Method.FORMULA:
        given = "，".join(f"{k}={figure(values.get(k))}" for k in inputs)
        value_step = f"{indicator.formula}（{given}）= {figure(outcome.value)}"
    elif method == Method.LOWER:
        if outcome.value is not None and target is not None and outcome.value <= target:
            return _("%(value)s ≤ %(target)s，達成率%(rate)s") % {
                "value": figure(outcome.value),
                "target": figure(target),
                "rate": _percent(outcome.rate),
            }
        return f"{figure(target)} ÷ {figure(outcome.value)} = {_percent(outcome.rate)}"
    elif method == Method.RATING:
        return _("評等%(value)s = %(rate)s") % {
            "value": _("達成") if outcome.value == 1 else _("未達成"),
            "rate": _percent(outcome.rate),
        }
    else:
        if target is None or outcome.rate is None:
            return None
        return f"{figure(outcome.value)} ÷ {figure(target)} = {_percent(outcome.rate)}"
    if row.published_basis == "value" or rate_step is None:
        return value_step
    return f"{value_step}；{rate_step}"


def _compare(published, mismatch, ours=None) -> str:
    """Whether the printed figure agrees with `ours`, and how: the documents round half up,
    but some truncated (100.558% printed as 100.55%), which the note says."""
    if mismatch:
        return _("與原列 %(p)s 不符") % {"p": _percent(published)}
    if ours is not None and published is not None:
        exponent = published.as_tuple().exponent
        decimals = max(0, -exponent) if isinstance(exponent, int) else 0
        if round_decimal(ours, decimals, Rounding.HALF_UP) != published:
            return _("與原列 %(p)s 以無條件捨去計相符") % {"p": _percent(published)}
    return _("與原列 %(p)s 相符") % {"p": _percent(published)}


def _row_figure(row):
    """The unrounded figure the document's own is compared with (see `achievement_of`)."""
    outcome = row.outcome
    return outcome.raw_value if row.published_basis == "value" else outcome.raw_rate


def _step_value(outcome, target):
    """The value as a rate step shows it: two places, or four where the two would not give the
    step's result (81.82% ÷ 80% is 102.28%; 81.8182% ÷ 80% is the 102.27% computed)."""
    shown = outcome.value
    raw = getattr(outcome, "raw_value", None)
    if raw is None or not target:
        return shown
    if round_decimal(shown / target * HUNDRED, 2, Rounding.HALF_UP) != outcome.rate:
        return round_decimal(raw, 4, Rounding.HALF_UP)
    return shown


def unavailable_reason(row) -> str:
    """Why a row's achievement cannot be computed, as every report prints it: a result
    transcribed from a document that printed no raw figure lacks them because the document
    never gave them, not because nobody has entered them yet."""
    result = row.result
    transcribed = result is not None and result.is_transcribed
    if transcribed and not any(v is not None for v in row.outcome.inputs.values()):
        return _("原報告未列原始數值。")
    return row.reason or ""


def _unchecked(row) -> str:
    return _("未重算：%(reason)s") % {"reason": unavailable_reason(row)}


def recompute_note(row) -> str | None:
    """kpitrack's recomputation of a reprinted result: the arithmetic and whether it agrees.

    None for results entered in kpitrack (their line is the computation itself).
    """
    result = row.result
    if result is None or not result.is_transcribed:
        return None
    printed = result.published_text or row.published_rate is not None
    if not printed and row.outcome.rate is None:
        return None  # the document printed no achievement at all: nothing to check
    if row.indicator.method in (Method.MULTI, Method.WEIGHTED):
        steps = []
        for n, part in enumerate(row.parts, start=1):
            if part.rate is None:
                continue
            step = f"({n}) {figure(part.value)} ÷ {figure(part.target)} = {_percent(part.rate)}"
            if part.published_rate is not None:
                step += "，" + _compare(part.published_rate, part.mismatch, part.rate)
            steps.append(step)
        if not steps:
            return _unchecked(row)
        if row.outcome.rate is not None and row.published_rate is not None:
            overall = _("取各項最低者") if row.indicator.method == Method.MULTI else _("加權")
            steps.append(
                f"{overall} {_percent(row.outcome.rate)}，"
                + _compare(row.published_rate, row.mismatch, row.outcome.raw_rate)
            )
        return _("重算：%(steps)s") % {"steps": "；".join(steps)}
    arithmetic = _arithmetic(row) if row.outcome.rate is not None else None
    if arithmetic is None:
        return _unchecked(row)
    if row.published_rate is None:
        return _("重算：%(steps)s（原報告未列可比對之數值）") % {"steps": arithmetic}
    return _("重算：%(steps)s，%(verdict)s") % {
        "steps": arithmetic,
        "verdict": _compare(row.published_rate, row.mismatch, _row_figure(row)),
    }
