"""manage.py generate_demo: a synthetic ministry to try the dashboards at scale.

`--agencies 50 --indicators 40 --years 10` builds a ministry with 50 agencies, each with 40
indicators a year for 10 years (every method, valid targets, approved quarterly results; the
last year only through its second quarter, so dashboards show projections) and stores their
outcomes, agency by agency: the memory it needs is one agency's, whatever the number of agencies
(docs/benchmarks.md). It then runs `ANALYZE` on the tables it filled (PostgreSQL), so the
planner has statistics from the first request. Rows go in with bulk writes: no history rows are
written for demo data (history records what people changed; nobody changed this), and the
services' per-row checks are replaced by one shape check per kind of indicator."""

import random
import re
import time
from dataclasses import dataclass
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from budget.models import Agency, Unit
from kpitrack.core.bulk import analyze
from kpitrack.core.engine.achievement import Aggregation, Method
from kpitrack.core.engine.calendar import FIRST_YEAR, LAST_YEAR, QUARTERS
from kpitrack.core.engine.shape import indicator_shape_problems
from performance.models import (
    Indicator,
    IndicatorInput,
    Outcome,
    Result,
    ResultFigure,
    StrategicGoal,
    TargetPart,
)
from performance.services import outcomes

BATCH = 2000
GOALS, UNITS = 4, 5
METHODS = tuple(Method)


@dataclass(frozen=True)
class Kind:
    """One kind of indicator: what it declares and how its figures are drawn."""

    method: Method
    aggregation: Aggregation
    inputs: tuple[tuple[str, str, str], ...]  # key, label, unit
    parts: tuple[tuple[str, str, Decimal, str, Decimal | None], ...]  # key, label, target, unit, w
    formula: str = ""
    baseline: Decimal | None = None


KINDS = {
    Method.COUNT: Kind(
        Method.COUNT,
        Aggregation.SUM,
        (("cases", "受理件數", "件"),),
        (("cases", "受理件數", Decimal(1200), "件", None),),
    ),
    Method.LOWER: Kind(
        Method.LOWER,
        Aggregation.LATEST,
        (("days", "平均處理天數", "天"),),
        (("days", "平均處理天數", Decimal(10), "天", None),),
    ),
    Method.RATIO: Kind(
        Method.RATIO,
        Aggregation.LATEST,
        (("done", "如期完成件數", "件"), ("total", "應完成件數", "件")),
        (("rate", "如期完成率", Decimal(90), "%", None),),
    ),
    Method.GROWTH: Kind(
        Method.GROWTH,
        Aggregation.LATEST,
        (("visitors", "服務人次", "人次"),),
        (("growth", "服務人次成長率", Decimal(5), "%", None),),
        baseline=Decimal(10000),
    ),
    Method.WEIGHTED: Kind(
        Method.WEIGHTED,
        Aggregation.LATEST,
        (("training", "訓練場次", "場次"), ("audits", "稽核件數", "件")),
        (
            ("training", "訓練場次", Decimal(30), "場次", Decimal(60)),
            ("audits", "稽核件數", Decimal(50), "件", Decimal(40)),
        ),
    ),
    Method.MULTI: Kind(
        Method.MULTI,
        Aggregation.SUM,
        (("schools", "合作學校數", "所"), ("events", "活動場次", "場次")),
        (
            ("schools", "合作學校數", Decimal(12), "所", None),
            ("events", "活動場次", Decimal(20), "場次", None),
        ),
    ),
    Method.ORDINAL: Kind(
        Method.ORDINAL,
        Aggregation.LATEST,
        (("grade", "評核等第代碼", ""),),
        (("grade", "評核等第", Decimal(2), "", None),),
    ),
    Method.RATING: Kind(
        Method.RATING,
        Aggregation.LATEST,
        (("met", "外部評等是否達成", ""),),
        (("met", "外部評等", Decimal(1), "", None),),
    ),
    Method.FORMULA: Kind(
        Method.FORMULA,
        Aggregation.LATEST,
        (("resolved", "結案件數", "件"), ("received", "收案件數", "件")),
        (("rate", "結案率", Decimal(85), "%", None),),
        formula="resolved ÷ received × 100",
    ),
}


def _check_kinds():
    for kind in KINDS.values():
        problems = indicator_shape_problems(
            method=kind.method,
            aggregation=kind.aggregation,
            inputs=[key for key, _label, _unit in kind.inputs],
            parts=[(key, target, weight) for key, _l, target, _u, weight in kind.parts],
            formula=kind.formula or None,
            baseline=kind.baseline,
        )
        if problems:
            raise CommandError(f"{kind.method}: {problems}")


def _figures(kind: Kind, quarter: int, level: Decimal, year_index: int, rng) -> dict:
    """One quarter's figures: `level` around 1 is how well the indicator does that year."""

    def near(x) -> Decimal:
        return (Decimal(x) * level * Decimal(rng.uniform(0.95, 1.05))).quantize(Decimal(1))

    m = kind.method
    if m is Method.COUNT:
        return {"cases": near(300)}
    if m is Method.LOWER:
        return {"days": (Decimal(10) / level).quantize(Decimal("0.1"))}
    if m is Method.RATIO:
        return {"done": min(near(90), Decimal(100)), "total": Decimal(100)}
    if m is Method.GROWTH:
        # Each year grows a few percent on the last; `level` decides whether 5% is reached.
        base = Decimal(10000) * Decimal("1.04") ** year_index
        return {"visitors": (base * (1 + (level - 1) / 5) * quarter / 4).quantize(Decimal(1))}
    if m is Method.WEIGHTED:
        return {"training": near(30 * quarter / 4), "audits": near(50 * quarter / 4)}
    if m is Method.MULTI:
        return {"schools": near(3), "events": near(5)}
    if m is Method.ORDINAL:
        return {"grade": min(Decimal(2), (2 * level).to_integral_value())}
    if m is Method.RATING:
        return {"met": Decimal(1 if level >= 1 else 0)}
    return {"resolved": min(near(85), Decimal(100)), "received": Decimal(100)}


# The ministry's code is the prefix and its agencies' `<prefix>-NN`: slugs (as agency codes and
# their URLs need), short enough to stay within the code's 50 characters.
PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,19}")


class Command(BaseCommand):
    help = _("產生一個示範用的部會（多個機關、每年多項指標、多個年度）以測試儀表板效能。")

    def add_arguments(self, parser):
        parser.add_argument("--agencies", type=int, default=50)
        parser.add_argument("--indicators", type=int, default=40)
        parser.add_argument("--years", type=int, default=10)
        parser.add_argument("--last-year", type=int, default=2025)
        parser.add_argument("--prefix", default="demo")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, agencies, indicators, years, last_year, prefix, seed, **options):
        if not PREFIX.fullmatch(prefix):
            raise CommandError(
                _(
                    "--prefix 必須是 1 到 20 個英文字母、數字、連字號（-）或底線（_），"
                    "且以字母或數字開頭，例如 demo；收到「%(prefix)s」。"
                )
                % {"prefix": prefix[:40]}
            )
        if min(agencies, indicators, years) < 1:
            raise CommandError(_("機關數、指標數與年數都必須至少為 1。"))
        first_year = last_year - years + 1
        years = list(range(first_year, last_year + 1))
        if first_year < FIRST_YEAR or last_year > LAST_YEAR:
            raise CommandError(
                _("年度必須介於 %(first)s 與 %(last)s 之間。")
                % {"first": FIRST_YEAR, "last": LAST_YEAR}
            )
        if Agency.objects.filter(code=prefix).exists():
            raise CommandError(
                _("機關代碼「%(code)s」已存在；請用 --prefix 指定其他代碼。") % {"code": prefix}
            )
        _check_kinds()
        count, built, computed = 0, 0.0, 0.0
        # One agency at a time, its outcomes stored before the next is built, so memory holds
        # one agency's rows whatever the number of agencies; one transaction, so a failure
        # leaves nothing behind.
        with transaction.atomic():
            ministry = Agency.objects.create(code=prefix, name=_("示範部"))
            for n in range(1, agencies + 1):
                agency = self._agency(ministry, n, prefix)
                started = time.perf_counter()
                count += self._build(agency, indicators, years, random.Random(f"{seed}:{n}"))
                written = time.perf_counter()
                outcomes.refresh(pairs={(agency.pk, year) for year in years})
                built += written - started
                computed += time.perf_counter() - written
        analyze(
            Agency,
            Unit,
            StrategicGoal,
            Indicator,
            IndicatorInput,
            TargetPart,
            Result,
            ResultFigure,
            Outcome,
            vacuum=True,
        )
        self.stdout.write(
            _(
                "已建立「%(code)s」：%(agencies)s 個機關、%(indicators)s 項指標"
                "（寫入 %(built).1f 秒，計算結果 %(computed).1f 秒）。"
            )
            % {
                "code": ministry.code,
                "agencies": agencies,
                "indicators": count,
                "built": built,
                "computed": computed,
            }
        )

    def _agency(self, ministry, n: int, prefix: str) -> Agency:
        # bulk_create: no history and no outcome refresh queued for a row nobody edited.
        (agency,) = Agency.objects.bulk_create(
            [Agency(code=f"{prefix}-{n:02d}", name=_("示範署%(n)s") % {"n": n}, parent=ministry)]
        )
        return agency

    def _build(self, agency, n_indicators, years, rng) -> int:
        """One agency's units, goals, indicators and approved results; the number of indicators."""
        units = Unit.objects.bulk_create(
            Unit(agency=agency, code=f"u{n}", name=_("第%(n)s組") % {"n": n}, order=n)
            for n in range(1, UNITS + 1)
        )
        goals = StrategicGoal.objects.bulk_create(
            StrategicGoal(
                agency=agency, year=y, code=f"g{n}", order=n, title=_("策略目標%(n)s") % {"n": n}
            )
            for y in years
            for n in range(1, GOALS + 1)
        )
        indicators, kinds, levels = [], [], []
        for goal in goals:
            for n in range(n_indicators):
                if n % GOALS != goal.order - 1:
                    continue
                kind = KINDS[METHODS[n % len(METHODS)]]
                indicators.append(
                    Indicator(
                        goal=goal,
                        code=f"k{n:03d}",
                        order=n,
                        name=_("示範指標%(n)s（%(method)s）")
                        % {"n": n + 1, "method": Indicator.MethodChoice(kind.method).label},
                        measurement_standard=_("依填報數值計算。"),
                        target_text="",
                        responsible_unit=units[n % UNITS],
                        method=kind.method.value,
                        aggregation=kind.aggregation.value,
                        formula=kind.formula,
                        baseline=kind.baseline,
                    )
                )
                kinds.append(kind)
                levels.append(Decimal(str(round(rng.uniform(0.72, 1.2), 3))))
        indicators = Indicator.objects.bulk_create(indicators, batch_size=BATCH)
        pairs = list(zip(indicators, kinds, levels, strict=True))
        IndicatorInput.objects.bulk_create(
            (
                IndicatorInput(indicator=i, key=key, label=label, unit=unit, order=n)
                for i, kind, _level in pairs
                for n, (key, label, unit) in enumerate(kind.inputs)
            ),
            batch_size=BATCH,
        )
        TargetPart.objects.bulk_create(
            (
                TargetPart(
                    indicator=i,
                    key=key,
                    label=label,
                    value=target,
                    original_value=target,
                    unit=unit,
                    weight=weight,
                    order=n,
                )
                for i, kind, _level in pairs
                for n, (key, label, target, unit, weight) in enumerate(kind.parts)
            ),
            batch_size=BATCH,
        )
        last = years[-1]
        entered = [
            (i, kind, level, q)
            for i, kind, level in pairs
            for q in QUARTERS
            if i.goal.year < last or q <= 2
        ]
        results = Result.objects.bulk_create(
            (
                Result(
                    indicator=i, quarter=q, state=Result.State.APPROVED, progress=_("依計畫辦理。")
                )
                for i, _kind, _level, q in entered
            ),
            batch_size=BATCH,
        )
        ResultFigure.objects.bulk_create(
            (
                ResultFigure(result=result, key=key, value=value)
                for result, (i, kind, level, q) in zip(results, entered, strict=True)
                for key, value in _figures(kind, q, level, i.goal.year - years[0], rng).items()
            ),
            batch_size=BATCH,
        )
        return len(indicators)
