"""GET /api/v1/achievements/: every indicator's achievement for a year through a quarter."""

from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from budget.models import Agency
from kpitrack.core.engine.calendar import to_roc
from kpitrack.core.formatting import exact, plain
from kpitrack.core.forms import PeriodForm
from performance.permissions import agencies_for_user, can_view_agency
from performance.reasons import status_label
from performance.selectors import Achievement, PartRow, achievements_for_year

from . import answer, error


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
        "achievement_rate": exact(row.outcome.rate),
        "status": row.outcome.status.value,
        "status_label": status_label(row.outcome.status),
        "reason": row.reason,
        "published_rate": exact(row.published_rate),
        "published_basis": row.published_basis,
        "mismatch": row.mismatch,
        "parts": [part_to_dict(part) for part in row.parts],
    }


@require_GET
def achievements(request):
    if not request.user.is_authenticated:
        return error(_("請先登入。"), 401)
    form = PeriodForm(request.GET, agencies=Agency.objects.all())
    if not form.is_valid():
        return error(form.message, 400)
    year, quarter, agency = (form.cleaned_data[k] for k in ("year", "quarter", "agency"))
    if agency is not None and not can_view_agency(request.user, agency):
        return error(_("您沒有檢視這個機關的權限。"), 403)
    rows = achievements_for_year(
        year=year,
        through_quarter=quarter,
        agency=agency,
        agencies=agencies_for_user(request.user),
    )
    return answer(
        {
            "year": year,
            "roc_year": to_roc(year),
            "through_quarter": quarter,
            "results": [achievement_to_dict(row) for row in rows],
        }
    )
