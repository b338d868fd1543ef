"""Reads of the budget side. Each runs a fixed number of queries, whatever the data size."""

from collections import defaultdict
from collections.abc import Iterable

from kpitrack.core.engine.achievement import Policy

from .models import AchievementPolicy, Agency


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
    for row in AchievementPolicy.objects.filter(
        agency_id__in={agency_id for agency_id, _year in pairs}, year__lte=latest_year
    ).order_by("-year"):
        rows_by_agency[row.agency_id].append(row)
    answer = {}
    for agency_id, year in pairs:
        in_force = next((row for row in rows_by_agency[agency_id] if row.year <= year), None)
        answer[agency_id, year] = in_force or AchievementPolicy(agency_id=agency_id, year=year)
    return answer


def achievement_policies(*, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Policy]:
    """The engine's policy for each (agency_id, year), in one query (see the rows above)."""
    return {pair: row.engine_policy for pair, row in achievement_policy_rows(pairs=pairs).items()}


def all_agencies():
    """Every agency, as a lazy queryset: where a period form looks up the code it was given."""
    return Agency.objects.all()
