"""GET /api/v1/achievements/: every indicator's achievement for a year through a quarter."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from ninja import Query, Router

from budget.selectors import agency_by_code
from kpitrack.core.engine.calendar import to_roc
from kpitrack.core.formatting import coded_figure, exact, plain
from kpitrack.core.forms import PeriodForm
from kpitrack.core.refusals import Refusal
from performance.permissions import agencies_for_user, can_view_agency
from performance.reasons import status_label
from performance.selectors import Achievement, PartRow, achievements_for_year

from .schemas import ERRORS, AchievementsOut, AchievementsQuery

router = Router(tags=["achievements"])


def part_to_dict(part: PartRow) -> dict:
    return {
        "key": part.key,
        "label": part.label,
        "unit": part.unit,
        "target": plain(part.target),
        "value": exact(part.value),
        "achievement_rate": exact(part.rate),
        "published_rate": exact(part.published_rate),
        "mismatch": part.mismatch,
        "reason": part.reason,
    }


def achievement_to_dict(row: Achievement) -> dict:
    indicator = row.indicator
    single = row.parts[0] if len(row.parts) == 1 else None
    return {
        "agency": indicator.goal.agency.code,
        "code": indicator.code,
        "goal": indicator.goal.title,
        "indicator": indicator.name,
        "unit": indicator.responsible_unit.name if indicator.responsible_unit else None,
        "method": indicator.method,
        "target": plain(single.target) if single else None,
        "target_text": indicator.target_text,
        "value": exact(row.outcome.value),
        "value_text": coded_figure(
            row.outcome.value, method=indicator.method, standard=indicator.measurement_standard
        )
        or None,
        "achievement_rate": exact(row.outcome.rate),
        "status": row.outcome.status.value,
        "status_label": status_label(row.outcome.status),
        "reason": row.reason,
        "published_rate": exact(row.published_rate),
        "published_basis": row.published_basis,
        "mismatch": row.mismatch,
        "parts": [part_to_dict(part) for part in row.parts],
    }


@router.get(
    "/achievements/",
    response={200: AchievementsOut, **ERRORS},
    url_name="achievements",
    exclude_unset=True,
)
def achievements(request, query: Query[AchievementsQuery]):
    """Every indicator of the agencies the caller may see (or of `agency`): achievement rate,
    light and, where it cannot be computed, the reason; as published and recomputed."""
    form = PeriodForm(request.GET, agency_by_code=agency_by_code)
    if not form.is_valid():
        raise Refusal(form.message)
    year, quarter, agency = (form.cleaned_data[k] for k in ("year", "quarter", "agency"))
    if agency is not None and not can_view_agency(request.auth, agency):
        raise PermissionDenied(_("您沒有檢視這個機關的權限。"))
    rows = achievements_for_year(
        year=year,
        through_quarter=quarter,
        agency=agency,
        agencies=agencies_for_user(request.auth),
    )
    return {
        "year": year,
        "roc_year": to_roc(year),
        "through_quarter": quarter,
        "results": [achievement_to_dict(row) for row in rows],
    }
