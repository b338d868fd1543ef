"""JSON API v1. Decimals travel as strings so no client turns them into floats."""

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from budget.models import Agency
from kpitrack.engine.calendar import FIRST_YEAR, LAST_YEAR, is_valid_year, to_roc
from performance.reasons import status_label
from performance.selectors import achievements_for_year


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse(
        {"error": message}, status=status, json_dumps_params={"ensure_ascii": False}
    )


def _s(value):
    return None if value is None else str(value)


def _plain(value):
    """A stored figure without the column's padding zeros: 12.0000 -> "12"."""
    return None if value is None else format(value.normalize(), "f")


def _int_param(request, name):
    raw = request.GET.get(name)
    if raw is None:
        return None
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit():
        raise ValueError(raw)
    return int(raw)


@require_GET
def achievements(request):
    if not request.user.is_authenticated:
        return _error(_("請先登入。"), 401)
    try:
        year = _int_param(request, "year")
    except ValueError:
        return _error(_("year 必須是西元年，例如 2013。"), 400)
    if year is None:
        return _error(_("缺少 year 參數（西元年，例如 2013）。"), 400)
    if not is_valid_year(year):
        return _error(
            _("year 必須介於 %(first)s 與 %(last)s 之間。")
            % {"first": FIRST_YEAR, "last": LAST_YEAR},
            400,
        )
    try:
        quarter = _int_param(request, "quarter")
    except ValueError:
        return _error(_("quarter 必須是 1 到 4 的整數。"), 400)
    if quarter is None:
        quarter = 4
    if quarter not in (1, 2, 3, 4):
        return _error(_("quarter 必須是 1 到 4 的整數。"), 400)
    agency = None
    if request.GET.get("agency"):
        agency = Agency.objects.filter(code=request.GET["agency"]).first()
        if agency is None:
            return _error(_("找不到機關代碼「%(code)s」。") % {"code": request.GET["agency"]}, 400)

    rows = achievements_for_year(year=year, through_quarter=quarter, agency=agency)
    results = []
    for row in rows:
        ind = row.indicator
        single = row.parts[0] if len(row.parts) == 1 else None
        results.append(
            {
                "agency": ind.goal.agency.code,
                "code": ind.code,
                "goal": ind.goal.title,
                "indicator": ind.name,
                "unit": ind.responsible_unit.name if ind.responsible_unit else None,
                "method": ind.method,
                "target": _plain(single.target) if single else None,
                "target_text": ind.target_text,
                "value": _s(row.outcome.value),
                "achievement_rate": _s(row.outcome.rate),
                "status": row.outcome.status.value,
                "status_label": status_label(row.outcome.status),
                "reason": row.reason,
                "published_rate": _s(row.published_rate),
                "published_basis": row.published_basis,
                "mismatch": row.mismatch,
                "parts": [
                    {
                        "key": p.key,
                        "label": p.label,
                        "unit": p.unit,
                        "target": _plain(p.target),
                        "value": _s(p.value),
                        "achievement_rate": _s(p.rate),
                        "published_rate": _s(p.published_rate),
                        "mismatch": p.mismatch,
                        "reason": p.reason,
                    }
                    for p in row.parts
                ],
            }
        )
    return JsonResponse(
        {"year": year, "roc_year": to_roc(year), "through_quarter": quarter, "results": results},
        json_dumps_params={"ensure_ascii": False},
    )
