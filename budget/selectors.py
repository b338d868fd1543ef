"""Reads of the budget side. Each runs a fixed number of queries, whatever the data size."""

from collections import defaultdict
from collections.abc import Iterable

from kpitrack.core.engine.achievement import Policy
from kpitrack.core.prepared import Prepared, model_columns, model_from_row

from .models import AchievementPolicy, Agency, AnnualPolicy, HeadcountBudget, PolicyGoal, Unit

# Every column, in the model's order (what `from_db` takes): read by every evaluation of a
# quarter's figures (each API read and save), its SQL built once (kpitrack.core.prepared).
_POLICY_ROWS = Prepared(
    lambda agency_ids, latest_year: (
        AchievementPolicy.objects.filter(agency_id__in=agency_ids, year__lte=latest_year)
        .order_by("-year")
        .values_list(*model_columns(AchievementPolicy))
    )
)


def achievement_policy_rows(
    *, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], AchievementPolicy]:
    """The policy row in force for each (agency_id, year), in one query.

    A year without its own row follows the agency's latest earlier row; with none, an unsaved
    row with the defaults stands in, so callers always get every field (e.g. `uses_lights`).
    """
    pairs = set(pairs)
    if not pairs:
        return {}
    latest_year = max(year for _agency_id, year in pairs)
    rows_by_agency: dict[int, list[AchievementPolicy]] = defaultdict(list)
    agency_ids = sorted({agency_id for agency_id, _year in pairs})
    for values in _POLICY_ROWS(agency_ids, latest_year):
        row = model_from_row(AchievementPolicy, values)
        rows_by_agency[row.agency_id].append(row)
    answer = {}
    for agency_id, year in pairs:
        in_force = next((row for row in rows_by_agency[agency_id] if row.year <= year), None)
        answer[agency_id, year] = in_force or AchievementPolicy(agency_id=agency_id, year=year)
    return answer


def achievement_policies(*, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Policy]:
    """The engine's policy for each (agency_id, year), in one query (see the rows above)."""
    return {pair: row.engine_policy for pair, row in achievement_policy_rows(pairs=pairs).items()}


# Every column, in the model's order (what `from_db` takes). The API's reads and refusals look
# an agency up by code on every request: the SQL is built once (kpitrack.core.prepared).
_AGENCY_BY_CODE = Prepared(
    lambda code: (
        Agency.objects.filter(code=code)
        .order_by()  # one at most (the code is unique)
        .values_list(*model_columns(Agency))
    )
)


def agency_by_code(code: str) -> Agency | None:
    """The agency of `code`, or None: one query. What a period form looks a code up with
    (its `agencies`) where it may be any agency."""
    found = _AGENCY_BY_CODE(code)
    return model_from_row(Agency, found[0]) if found else None


def agency_by_pk(*, pk) -> Agency | None:
    """One query."""
    return Agency.objects.filter(pk=pk).first()


def unit_by_pk(*, agency: Agency, pk) -> Unit | None:
    """The unit `pk` if it is `agency`'s: one query."""
    return Unit.objects.filter(pk=pk, agency=agency).first()


def units_of(*, agency: Agency) -> list[Unit]:
    """The agency's units with their parents, in their order: one query."""
    return list(agency.units.select_related("parent").order_by("order", "id"))


def annual_policy(*, agency: Agency, year: int) -> tuple[AnnualPolicy | None, list[PolicyGoal]]:
    """The year's 施政目標與重點 and its goals with their items, in order: three queries (one
    when there is none)."""
    policy = AnnualPolicy.objects.filter(agency=agency, year=year).first()
    if policy is None:
        return None, []
    return policy, list(policy.goals.prefetch_related("items").order_by("order"))


def headcount_budgets(*, agency: Agency, year: int) -> list[HeadcountBudget]:
    """The year's 預算員額 tables with their lines: two queries."""
    return list(HeadcountBudget.objects.filter(agency=agency, year=year).prefetch_related("lines"))


def has_budget_data(*, agency: Agency, year: int) -> bool:
    """Whether the year has a 施政目標與重點 or a 預算員額 table: one or two queries."""
    return (
        AnnualPolicy.objects.filter(agency=agency, year=year).exists()
        or HeadcountBudget.objects.filter(agency=agency, year=year).exists()
    )


def budget_years(*, agencies) -> dict[int, set[int]]:
    """The years with a 施政目標與重點 or a 預算員額 table, by agency id, for `agencies`
    (instances or a query of them): two queries, however many agencies."""
    years: dict[int, set[int]] = {}
    for model in (AnnualPolicy, HeadcountBudget):
        pairs = model.objects.filter(agency__in=agencies).values_list("agency_id", "year")
        for agency_id, year in pairs.distinct():
            years.setdefault(agency_id, set()).add(year)
    return years


# --- the 季管考 report (issue 17) --------------------------------------------------------------


def agency_subtree(*, agency: Agency) -> list[Agency]:
    """`agency` and every agency under it (a ministry's agencies, and theirs), the ministry
    first and the others by code: one query, however deep the tree."""
    children: dict[int | None, list[Agency]] = defaultdict(list)
    for other in Agency.objects.order_by("code"):
        children[other.parent_id].append(other)
    found, stack = [agency], [agency.pk]
    seen = {agency.pk}
    while stack:
        for child in children.get(stack.pop(), []):
            if child.pk not in seen:  # a cycle is refused on save; this guards old rows
                seen.add(child.pk)
                found.append(child)
                stack.append(child.pk)
    return [agency, *sorted(found[1:], key=lambda a: a.code)]
