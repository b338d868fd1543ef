"""GET /api/v1/dashboards/<agency>/…: the dashboards' data as JSON (overview, indicator table,
per unit, one indicator). Same scope, period, filters and permissions as the pages."""

from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from kpitrack.core.engine.calendar import to_roc
from kpitrack.core.formatting import exact, plain
from kpitrack.dashboards.period import BadPeriod, parse_indicator_year, resolve_period
from kpitrack.dashboards.selectors import (
    GoalStanding,
    IndicatorPage,
    Point,
    Projection,
    Row,
    Scope,
    indicator_outcomes,
    indicator_page,
    rows_for,
    scope_for,
    unit_of,
    with_full,
)
from kpitrack.dashboards.selectors import (
    overview as overview_of,
)
from kpitrack.dashboards.tables import IndicatorFilter
from performance.reasons import status_label
from performance.selectors import indicator_history

from . import answer, error
from .achievements import achievement_to_dict

PAGE_SIZE, MAX_PAGE_SIZE = 50, 200


def projection_to_dict(projection: Projection | None) -> dict | None:
    if projection is None:
        return None
    return {
        "value": exact(projection.value),
        "achievement_rate": exact(projection.rate),
        "status": projection.status.value,
        "parts": [
            {"key": p.key, "value": exact(p.value), "achievement_rate": exact(p.rate)}
            for p in projection.parts
        ],
    }


def row_to_dict(row: Row) -> dict:
    return {
        **achievement_to_dict(row.achievement),
        "year": row.indicator.goal.year,
        "state": row.state,
        "projection": projection_to_dict(row.projection),
        "attention": list(row.attention),
    }


def goal_to_dict(goal: GoalStanding) -> dict:
    return {
        "agency": goal.agency.code,
        "id": goal.goal_id,
        "title": goal.title,
        "achievement_rate": exact(goal.rate),
        "status": goal.status.value,
        "status_label": status_label(goal.status),
        "evaluated": goal.evaluated,
        "indicators": goal.total,
        "counts": goal.counts,
    }


def _guard(view):
    """Signed-in users only; like the pages, an unknown agency is 404 and one that is not the
    user's 403."""

    def wrapped(request, agency, **kwargs):
        if not request.user.is_authenticated:
            return error(_("請先登入。"), 401)
        try:
            scope = scope_for(user=request.user, code=agency)
        except Http404:
            return error(_("找不到機關代碼「%(code)s」。") % {"code": agency}, 404)
        except PermissionDenied:
            return error(_("您沒有檢視這個機關資料的權限。"), 403)
        return view(request, scope, **kwargs)

    return require_GET(wrapped)


def _overview_answer(request, scope: Scope, unit=None):
    try:
        period = resolve_period(request.GET, scope)
    except BadPeriod as exc:
        return error(exc.message, 400)
    base = {
        "agency": scope.agency.code,
        "agencies": [a.code for a in scope.agencies],
        "unit": unit.code if unit else None,
        "year": period.year,
        "roc_year": to_roc(period.year) if period.year else None,
        "through_quarter": period.quarter,
        "notice": period.notice,
    }
    if period.year is None:
        return answer({**base, "counts": None, "goals": [], "attention": [], "by_agency": []})
    ov = overview_of(scope, period.year, period.quarter, unit=unit)
    return answer(
        {
            **base,
            "indicators": ov.total,
            "counts": ov.counts,
            "projected": ov.projected,
            "goals": [goal_to_dict(g) for g in ov.goals],
            "attention_total": ov.attention_total,
            "attention": [row_to_dict(row) for row in ov.attention],
            "by_agency": [
                {
                    "agency": s.agency.code,
                    "name": s.agency.name,
                    "indicators": s.total,
                    "counts": s.counts,
                    "goals": s.goals_total,
                    "green_goals": s.goals_green,
                }
                for s in ov.agencies
            ],
        }
    )


@_guard
def overview(request, scope: Scope):
    return _overview_answer(request, scope)


@_guard
def unit(request, scope: Scope, unit: str):
    found = unit_of(scope, unit)
    if found is None:
        return error(_("找不到單位代碼「%(code)s」。") % {"code": unit}, 404)
    return _overview_answer(request, Scope(scope.agency, (scope.agency,)), found)


def paginate(request, items: list):
    """The asked page's items and its description; a bad page or size raises ValueError."""
    size_text = request.GET.get("page_size") or str(PAGE_SIZE)
    if not size_text.isdigit() or not 1 <= int(size_text) <= MAX_PAGE_SIZE:
        raise ValueError(_("每頁筆數必須是 1 到 %(max)s 的整數。") % {"max": MAX_PAGE_SIZE})
    paginator = Paginator(items, int(size_text))
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except (EmptyPage, PageNotAnInteger):
        raise ValueError(
            _("頁碼必須是 1 到 %(pages)s 的整數。") % {"pages": paginator.num_pages}
        ) from None
    return page.object_list, {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "page_size": paginator.per_page,
    }


@_guard
def indicators(request, scope: Scope):
    try:
        period = resolve_period(request.GET, scope)
    except BadPeriod as exc:
        return error(exc.message, 400)
    if period.year is None:
        return answer({"year": None, "count": 0, "results": []})
    filters = IndicatorFilter(request.GET, scope=scope, year=period.year)
    if not filters.is_valid():
        return error(filters.message, 400)
    rows = filters.keep(rows_for(scope, period.year, period.quarter))
    try:
        shown, meta = paginate(request, rows)
    except ValueError as exc:
        return error(str(exc), 400)
    return answer(
        {
            "agency": scope.agency.code,
            "year": period.year,
            "roc_year": to_roc(period.year),
            "through_quarter": period.quarter,
            "notice": period.notice,
            **meta,
            "results": [row_to_dict(row) for row in with_full(list(shown), period.quarter)],
        }
    )


def point_to_dict(point: Point) -> dict:
    return {
        "year": point.year,
        "roc_year": to_roc(point.year),
        "through_quarter": point.quarter,
        "value": exact(point.outcome.value),
        "achievement_rate": exact(point.outcome.rate),
        "status": point.outcome.status.value,
    }


def indicator_page_to_dict(page: IndicatorPage) -> dict:
    i = page.indicator
    result = page.result
    return {
        "agency": i.goal.agency.code,
        "code": i.code,
        "year": page.year,
        "roc_year": to_roc(page.year),
        "goal": i.goal.title,
        "indicator": i.name,
        "unit": i.responsible_unit.name if i.responsible_unit else None,
        "method": i.method,
        "aggregation": i.aggregation,
        "weight": plain(i.weight),
        "evaluation_system": i.evaluation_system,
        "evaluation_method": i.evaluation_method,
        "measurement_standard": i.measurement_standard,
        "target_text": i.target_text,
        "targets": [
            {
                "key": p.key,
                "label": p.label,
                "unit": p.unit,
                "target": plain(p.value),
                "original_target": plain(p.original_value),
                "revised": p.is_revised,
                "revision_reason": p.revision_reason or None,
            }
            for p in i.parts.all()
        ],
        "quarterly": [point_to_dict(p) for p in page.quarterly],
        "projection": projection_to_dict(page.projection),
        "trend": [point_to_dict(p) for p in page.trend],
        "narrative": None
        if result is None
        else {
            "through_quarter": result.quarter,
            "progress": result.progress,
            "benefit": result.benefit,
            "shortfall_reason": result.shortfall_reason,
            "improvement": result.improvement,
            "remarks": result.remarks,
        },
    }


@_guard
def indicator(request, scope: Scope, code: str):
    by_year = indicator_outcomes(agency=scope.agency, code=code)
    years = list(by_year)
    if not years:
        return error(_("找不到指標代碼「%(code)s」。") % {"code": code}, 404)
    try:
        year = parse_indicator_year(request.GET, years)
    except BadPeriod as exc:
        return error(exc.message, 400)
    page = indicator_page(by_year=by_year, year=year)
    history = [
        {
            "when": entry.when.isoformat(),
            "who": entry.who,
            "what": entry.what,
            "old": entry.old,
            "new": entry.new,
            "why": entry.why,
        }
        for entry in indicator_history(indicator=page.indicator)
    ]
    return answer({**indicator_page_to_dict(page), "history": history})
