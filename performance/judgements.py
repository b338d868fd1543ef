"""A quarter's judgement against its milestone (分季目標), as pages, dashboards, reports and the API
read it: the engine's `kpitrack.core.engine.milestones.Judgement` rounded under the agency's
policy, or the same figures read back from a stored outcome, and worded once.

Later readers (a unit's quarter page, the review queue, the 季管考 report) take a
`QuarterJudgement` from `performance.selectors.quarter_judgements` (live figures, any state) or
`performance.outcome_reads.Stored.judgement` (approved figures) and print `text` beside
`annual_rate`: milestone, actual, 達成進度, annual target and rate, light."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kpitrack.core.engine.achievement import Policy, Status, round_decimal, status_for
from kpitrack.core.engine.calendar import FULL_YEAR
from kpitrack.core.engine.milestones import Basis, Judgement, Pace, pace_of
from kpitrack.core.engine.warnings import Check
from kpitrack.core.formatting import figure

PACE_LABELS = {
    Pace.AHEAD: gettext_lazy("超前進度"),
    Pace.ON: gettext_lazy("符合進度"),
    Pace.BEHIND: gettext_lazy("落後進度"),
    Pace.UNKNOWN: gettext_lazy("無法判定"),
}
# Quarter 4 is judged against the year's target, and says so.
YEAR_LABELS = {
    Pace.AHEAD: gettext_lazy("超越目標"),
    Pace.ON: gettext_lazy("達成目標"),
    Pace.BEHIND: gettext_lazy("未達目標"),
    Pace.UNKNOWN: gettext_lazy("無法判定"),
}


@dataclass(frozen=True)
class MilestonePart:
    """One target part through the quarter: its annual target, its milestone (planned, or the
    default when `default`), the value reached and its 達成進度 (rounded)."""

    key: str
    label: str
    unit: str
    target: Decimal | None
    milestone: Decimal | None
    default: bool
    value: Decimal | None
    progress: Decimal | None


@dataclass(frozen=True)
class QuarterJudgement:
    """Q1-Q3 against the milestones, Q4 against the annual target. `progress` is 達成進度 (value
    ÷ milestone, rounded by the policy) and `status` its light; the annual achievement rate and
    its light are kept beside them."""

    quarter: int
    basis: Basis
    parts: tuple[MilestonePart, ...]
    progress: Decimal | None
    status: Status
    pace: Pace
    annual_rate: Decimal | None
    annual_status: Status

    @property
    def behind(self) -> bool:
        return self.pace is Pace.BEHIND

    @property
    def any_default(self) -> bool:
        return any(p.default for p in self.parts)

    @property
    def pace_label(self) -> str:
        labels = YEAR_LABELS if self.basis is Basis.ANNUAL else PACE_LABELS
        return str(labels[self.pace])

    @property
    def text(self) -> str:
        """「第2季預定 45，實際 45，符合進度」; a default milestone says it is one; Q4
        「全年目標 90，實際 85，未達目標」."""
        return judgement_text(self)


def _figure(value: Decimal | None) -> str:
    return "—" if value is None else figure(value)


def _planned(part: MilestonePart) -> str:
    text = _figure(part.milestone)
    return _("%(value)s（預設）") % {"value": text} if part.default else text


def judgement_text(j: QuarterJudgement) -> str:
    if not j.parts:
        planned = actual = "—"  # an indicator without a target part
    elif len(j.parts) == 1:
        part = j.parts[0]
        planned, actual = _planned(part), _figure(part.value)
    else:
        planned = "、".join(f"{p.label} {_planned(p)}" for p in j.parts)
        actual = "、".join(f"{p.label} {_figure(p.value)}" for p in j.parts)
    values = {"q": j.quarter, "planned": planned, "actual": actual, "pace": j.pace_label}
    if j.basis is Basis.ANNUAL:
        return _("全年目標 %(planned)s，實際 %(actual)s，%(pace)s") % values
    return _("第%(q)s季預定 %(planned)s，實際 %(actual)s，%(pace)s") % values


def _rounded(value: Decimal | None, policy: Policy) -> Decimal | None:
    return None if value is None else round_decimal(value, policy.decimals, policy.rounding)


def judgement_of(judgement: Judgement, policy: Policy) -> QuarterJudgement:
    """The engine's judgement read under `policy` (its outcomes already are)."""
    single = len(judgement.outcome.parts) == 1
    milestones = {m.key: m for m in judgement.milestones}
    annual_parts = {p.key: p for p in judgement.annual.parts}
    parts = tuple(
        MilestonePart(
            key=p.key,
            label=p.label,
            unit=p.unit,
            target=annual_parts[p.key].target if p.key in annual_parts else None,
            milestone=milestones[p.key].value,
            default=milestones[p.key].default,
            value=judgement.outcome.value if single else p.value,
            progress=p.rate,
        )
        for p in judgement.outcome.parts
    )
    return QuarterJudgement(
        quarter=judgement.quarter,
        basis=judgement.basis,
        parts=parts,
        progress=judgement.outcome.rate,
        status=judgement.outcome.status,
        pace=judgement.pace,
        annual_rate=judgement.annual.rate,
        annual_status=judgement.annual.status,
    )


def judgement_of_stored(data: dict, quarter: int, outcome, policy: Policy) -> QuarterJudgement:
    """A stored outcome's judgement (`data["judgement"]`, see performance.services.outcomes),
    with `outcome` the annual outcome already read under `policy`. An outcome stored before
    milestones existed (no `judgement` until `rebuild_outcomes`) reads as judged against the
    year, as it was then."""
    stored = data.get("judgement")
    if stored is None:
        basis = Basis.ANNUAL
        raw = outcome.raw_rate
        milestones, part_rates = {}, {}
    else:
        basis = Basis(stored["basis"])
        raw = None if stored["rate"] is None else Decimal(stored["rate"])
        milestones = {m["key"]: m for m in stored["milestones"]}
        part_rates = {p["key"]: p["rate"] for p in stored["parts"]}
    progress = _rounded(raw, policy)
    single = len(outcome.parts) == 1
    parts = []
    for p in outcome.parts:
        planned = milestones.get(p.key)
        rate = part_rates.get(p.key)
        parts.append(
            MilestonePart(
                key=p.key,
                label=p.label,
                unit=p.unit,
                target=p.target,
                milestone=p.target
                if planned is None
                else (None if planned["value"] is None else Decimal(planned["value"])),
                default=False if planned is None else planned["default"],
                value=outcome.value if single else p.value,
                progress=p.rate
                if planned is None
                else _rounded(None if rate is None else Decimal(rate), policy),
            )
        )
    return QuarterJudgement(
        quarter=quarter,
        basis=basis if quarter != FULL_YEAR else Basis.ANNUAL,
        parts=tuple(parts),
        progress=progress,
        status=status_for(progress, policy),
        pace=pace_of(raw),
        annual_rate=outcome.rate,
        annual_status=outcome.status,
    )


def warning_message(warning, indicator) -> str:
    """A validation warning (kpitrack.core.engine.warnings.Warning) of `indicator`'s part, in
    words: it asks for a second look, it refuses nothing."""
    label = indicator.labels().get(warning.key, warning.key)
    values = {"label": label, "value": figure(warning.value), "bound": figure(warning.bound)}
    if warning.check == Check.ABOVE_MILESTONE:
        text = _("「%(label)s」%(value)s 超過本季預定進度 %(bound)s 的 3 倍，請確認數值與單位。")
    elif warning.check == Check.ABOVE_TARGET:
        text = _("「%(label)s」%(value)s 超過年度目標值 %(bound)s 的 3 倍，請確認數值與單位。")
    else:
        text = _("「%(label)s」累計值 %(value)s 低於上一季的 %(bound)s，請確認是否為累計數。")
    return text % values
