"""Test data at a chosen size: agencies under one parent ministry, each with units, a budget
(policy goals, headcount) and KPIs of every method with inputs, target parts and approved
quarterly results for several years.

Rows go in with `bulk_create`, a few statements per kind of row whatever the size, so a test
can afford to build the large size. (Tests of writes use the services; this is read data.)"""

from dataclasses import dataclass
from decimal import Decimal

from budget.models import (
    Agency,
    AnnualPolicy,
    HeadcountBudget,
    HeadcountLine,
    PolicyGoal,
    PolicyGoalItem,
    Unit,
)
from kpitrack.core.engine.achievement import Method
from kpitrack.core.engine.calendar import QUARTERS
from performance.models import (
    Indicator,
    IndicatorInput,
    Result,
    ResultFigure,
    StrategicGoal,
    TargetPart,
)


@dataclass(frozen=True)
class Size:
    agencies: int
    years: int
    indicators: int  # per agency and year


# Three years, so that a budget report of the last year has its year N-1 and N-2 sections.
SMALL = Size(agencies=1, years=3, indicators=3)
LARGE = Size(agencies=5, years=4, indicators=12)
FIRST_YEAR = 2030  # after the documents in fixtures/nia, so the two never mix

# The first three cover parts, a formula and last year's figures, so even SMALL has them.
METHODS = (
    Method.MULTI,
    Method.FORMULA,
    Method.GROWTH,
    Method.COUNT,
    Method.LOWER,
    Method.RATIO,
    Method.WEIGHTED,
    Method.ORDINAL,
    Method.RATING,
)
GOALS_PER_YEAR = 2


@dataclass(frozen=True)
class Built:
    ministry: Agency
    agencies: list[Agency]
    years: list[int]

    @property
    def agency(self) -> Agency:
        return self.agencies[-1]

    @property
    def last_year(self) -> int:
        return self.years[-1]


@dataclass(frozen=True)
class _Shape:
    """What one indicator declares and what each quarter records."""

    inputs: tuple[str, ...]
    parts: tuple[tuple[str, Decimal, Decimal | None], ...]  # key, target, weight
    formula: str = ""

    def figures(self, quarter: int) -> dict[str, Decimal]:
        keys = self.inputs or tuple(key for key, _target, _weight in self.parts)
        return {key: Decimal(10 * quarter + n) for n, key in enumerate(keys, start=1)}


def _shape(method: Method) -> _Shape:
    one = (("target", Decimal("40"), None),)
    if method in (Method.MULTI, Method.WEIGHTED):
        return _Shape(
            (), (("first", Decimal("30"), Decimal("60")), ("second", Decimal("50"), Decimal("40")))
        )
    if method is Method.RATIO:
        return _Shape(("numerator", "denominator"), (("target", Decimal("90"), None),))
    if method is Method.FORMULA:
        return _Shape(("done", "total"), one, formula="done ÷ total × 100")
    if method is Method.ORDINAL:
        return _Shape(("grade",), (("target", Decimal("2"), None),))
    return _Shape(("count",), one)


def _figure(method: Method, value: Decimal) -> Decimal:
    if method is Method.ORDINAL:
        return value % 3
    if method is Method.RATING:
        return Decimal(1)
    return value


def build(size: Size, *, prefix: str = "t") -> Built:
    ministry = Agency.objects.create(code=f"{prefix}-ministry", name=f"{prefix} 部")
    agencies = Agency.objects.bulk_create(
        Agency(code=f"{prefix}-{n}", name=f"{prefix} 署{n}", parent=ministry, duties="職掌")
        for n in range(1, size.agencies + 1)
    )
    years = [FIRST_YEAR + n for n in range(size.years)]
    units = Unit.objects.bulk_create(
        Unit(agency=agency, code=f"u{n}", name=f"第{n}組", order=n)
        for agency in agencies
        for n in (1, 2)
    )
    unit_of = {unit.agency_id: unit for unit in units}
    _budget(agencies, years)
    goals = StrategicGoal.objects.bulk_create(
        StrategicGoal(agency=agency, year=year, code=f"g{n}", order=n, title=f"策略目標{n}")
        for agency in agencies
        for year in years
        for n in range(1, GOALS_PER_YEAR + 1)
    )
    by_agency_year = {}
    for goal in goals:
        by_agency_year.setdefault((goal.agency_id, goal.year), []).append(goal)
    indicators, shapes = [], []
    for (agency_id, _year), year_goals in by_agency_year.items():
        for n in range(size.indicators):
            method = METHODS[n % len(METHODS)]
            shape = _shape(method)
            indicators.append(
                Indicator(
                    goal=year_goals[n % GOALS_PER_YEAR],
                    code=f"{method.value}-{n}",
                    order=n,
                    name=f"指標{n}（{method.value}）",
                    measurement_standard="衡量標準",
                    responsible_unit=unit_of[agency_id],
                    method=method.value,
                    formula=shape.formula,
                    baseline=Decimal("20") if method is Method.GROWTH else None,
                )
            )
            shapes.append(shape)
    indicators = Indicator.objects.bulk_create(indicators)
    IndicatorInput.objects.bulk_create(
        IndicatorInput(indicator=indicator, key=key, label=f"填報{key}", order=n)
        for indicator, shape in zip(indicators, shapes, strict=True)
        for n, key in enumerate(shape.inputs)
    )
    TargetPart.objects.bulk_create(
        TargetPart(indicator=indicator, key=key, label=f"目標{key}", value=target, weight=weight)
        for indicator, shape in zip(indicators, shapes, strict=True)
        for key, target, weight in shape.parts
    )
    pairs = [(i, s, q) for i, s in zip(indicators, shapes, strict=True) for q in QUARTERS]
    results = Result.objects.bulk_create(
        Result(
            indicator=indicator,
            quarter=quarter,
            state=Result.State.APPROVED,
            progress="辦理情形",
            benefit="效益",
            published_rate="100",
        )
        for indicator, _, quarter in pairs
    )
    ResultFigure.objects.bulk_create(
        ResultFigure(result=result, key=key, value=_figure(Method(indicator.method), value))
        for result, (indicator, shape, quarter) in zip(results, pairs, strict=True)
        for key, value in shape.figures(quarter).items()
    )
    return Built(ministry=ministry, agencies=agencies, years=years)


def _budget(agencies, years):
    policies = AnnualPolicy.objects.bulk_create(
        AnnualPolicy(agency=agency, year=year, intro="前言")
        for agency in agencies
        for year in years
    )
    goals = PolicyGoal.objects.bulk_create(
        PolicyGoal(policy=policy, order=n, title=f"施政目標{n}")
        for policy in policies
        for n in (1, 2)
    )
    PolicyGoalItem.objects.bulk_create(
        PolicyGoalItem(goal=goal, order=n, text=f"重點{n}") for goal in goals for n in (1, 2)
    )
    budgets = HeadcountBudget.objects.bulk_create(
        HeadcountBudget(agency=agency, year=year, programme="一般行政")
        for agency in agencies
        for year in years
    )
    HeadcountLine.objects.bulk_create(
        HeadcountLine(budget=budget, category=category, previous=10, change=1)
        for budget in budgets
        for category in (HeadcountLine.Category.STAFF, HeadcountLine.Category.WORKER)
    )
