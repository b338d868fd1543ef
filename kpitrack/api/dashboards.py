"""GET /api/v1/dashboards/<agency>/…: the dashboards' data as JSON (overview, indicator table,
per unit, one indicator). Same scope, period, filters and permissions as the pages."""

from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Query, Router

from kpitrack.core.caching import cache_get, cache_set
from kpitrack.core.engine.calendar import to_roc
from kpitrack.core.formatting import exact, plain
from kpitrack.core.refusals import Refusal
from kpitrack.dashboards.period import BadPeriod, parse_indicator_year, resolve_period
from kpitrack.dashboards.selectors import (
    LIGHTS,
    OVERVIEW_CACHE_SECONDS,
    GoalStanding,
    IndicatorPage,
    Point,
    Projection,
    Row,
    Scope,
    indicator_outcomes,
    indicator_page,
    scope_for,
    scope_version,
    unit_of,
    versioned_scope_for,
)
from kpitrack.dashboards.selectors import (
    overview as overview_of,
)
from kpitrack.dashboards.tables import IndicatorFilter, SqlRows
from performance.judgements import QuarterJudgement
from performance.reasons import status_label
from performance.selectors import indicator_history

from .achievements import achievement_to_dict
from .schemas import (
    ERRORS,
    DashboardQuery,
    IndicatorOut,
    IndicatorQuery,
    IndicatorsOut,
    IndicatorsQuery,
    OverviewOut,
)

router = Router(tags=["dashboards"])

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


def judgement_to_dict(j: QuarterJudgement) -> dict:
    return {
        "quarter": j.quarter,
        "basis": j.basis.value,
        "progress": exact(j.progress),
        "status": j.status.value,
        "status_label": status_label(j.status),
        "pace": j.pace.value,
        "text": j.text,
        "milestones": [
            {
                "key": p.key,
                "label": p.label,
                "target": plain(p.target),
                "milestone": plain(p.milestone),
                "default": p.default,
                "value": exact(p.value),
                "progress": exact(p.progress),
            }
            for p in j.parts
        ],
    }


def row_to_dict(row: Row) -> dict:
    return {
        **achievement_to_dict(row.achievement),
        "year": row.indicator.goal.year,
        "state": row.state,
        "projection": projection_to_dict(row.projection),
        "attention": list(row.attention),
        "judgement": judgement_to_dict(row.judgement),
    }


def goal_to_dict(goal: GoalStanding, labels: dict | None = None) -> dict:
    """`labels`: the lights' labels looked up once for a list (a ministry has a thousand goals,
    and a translation lookup each was a sixth of its answer's time, issue 16)."""
    return {
        "agency": goal.agency.code,
        "id": goal.goal_id,
        "title": goal.title,
        "achievement_rate": exact(goal.rate),
        "status": goal.status.value,
        "status_label": labels[goal.status] if labels else status_label(goal.status),
        "evaluated": goal.evaluated,
        "indicators": goal.total,
        "counts": goal.counts,
    }


def _scope(user, agency: str, read=scope_for):
    """Like the pages: an unknown agency is 404 and one that is not the user's 403."""
    try:
        return read(user=user, code=agency)
    except Http404:
        raise Http404(_("找不到機關代碼「%(code)s」。") % {"code": agency}) from None
    except PermissionDenied:
        raise PermissionDenied(_("您沒有檢視這個機關資料的權限。")) from None


def _period(request, scope: Scope):
    try:
        return resolve_period(request.GET, scope)
    except BadPeriod as exc:
        raise Refusal(exc.message) from None


def _goals_answer(ov) -> list[dict]:
    """The goals as answered, cached with the overview's figures (in each language): a
    ministry's thousand goals were a third of its answer's time (issue 16). Everything in them
    comes from the figures and changes with the outcomes' version, the key's first part."""
    key = f"{ov.cache_key}:goals:{get_language()}" if ov.cache_key else None
    goals = cache_get(key) if key else None
    if goals is None:
        labels = {light: status_label(light) for light in LIGHTS}
        goals = [goal_to_dict(g, labels) for g in ov.goals]
        if key:
            cache_set(key, goals, OVERVIEW_CACHE_SECONDS)
    return goals


def _overview_answer(request, scope: Scope, tokens: dict, unit=None) -> dict:
    """`tokens`: the versions of the scope's agencies, read with it (`versioned_scope_for`)."""
    period = _period(request, scope)
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
        return {**base, "counts": None, "goals": [], "attention": [], "by_agency": []}
    token = scope_version(scope, tokens)
    ov = overview_of(scope, period.year, period.quarter, unit=unit, token=token)
    return {
        **base,
        "indicators": ov.total,
        "counts": ov.counts,
        "projected": ov.projected,
        "goals": _goals_answer(ov),
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


@router.get(
    "/dashboards/{slug:agency}/",
    response={200: OverviewOut, **ERRORS},
    url_name="dashboard-overview",
    exclude_unset=True,
)
def overview(request, agency: str, query: Query[DashboardQuery]):
    """The overview of an agency (a ministry: the agencies under it the caller may see)."""
    return _overview_answer(request, *_scope(request.auth, agency, versioned_scope_for))


@router.get(
    "/dashboards/{slug:agency}/units/{slug:unit}/",
    response={200: OverviewOut, **ERRORS},
    url_name="dashboard-unit",
    exclude_unset=True,
)
def unit(request, agency: str, unit: str, query: Query[DashboardQuery]):
    """The overview of one unit of an agency."""
    scope, tokens = _scope(request.auth, agency, versioned_scope_for)
    found = unit_of(scope, unit)
    if found is None:
        raise Http404(_("找不到單位代碼「%(code)s」。") % {"code": unit})
    return _overview_answer(request, Scope(scope.agency, (scope.agency,)), tokens, found)


def paginate(request, items):
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


@router.get(
    "/dashboards/{slug:agency}/indicators/",
    response={200: IndicatorsOut, **ERRORS},
    url_name="dashboard-indicators",
    exclude_unset=True,
)
def indicators(request, agency: str, query: Query[IndicatorsQuery]):
    """The indicator table, filtered and paginated as on the page."""
    scope = _scope(request.auth, agency)
    period = _period(request, scope)
    if period.year is None:
        return {"year": None, "count": 0, "results": []}
    filters = IndicatorFilter(request.GET, scope=scope, year=period.year)
    if not filters.is_valid():
        raise Refusal(filters.message)
    try:
        shown, meta = paginate(request, SqlRows(filters.rows(period.quarter)))
    except ValueError as exc:
        raise Refusal(str(exc)) from None
    return {
        "agency": scope.agency.code,
        "year": period.year,
        "roc_year": to_roc(period.year),
        "through_quarter": period.quarter,
        "notice": period.notice,
        **meta,
        "results": [row_to_dict(row) for row in shown],
    }


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
            for p in page.parts
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


@router.get(
    "/dashboards/{slug:agency}/indicators/{slug:code}/",
    response={200: IndicatorOut, **ERRORS},
    url_name="dashboard-indicator",
    exclude_unset=True,
)
def indicator(request, agency: str, code: str, query: Query[IndicatorQuery]):
    """One indicator: definition, targets, quarterly and multi-year series, narrative, history."""
    scope = _scope(request.auth, agency)
    by_year = indicator_outcomes(agency=scope.agency, code=code)
    years = list(by_year)
    if not years:
        raise Http404(_("找不到指標代碼「%(code)s」。") % {"code": code})
    try:
        year = parse_indicator_year(request.GET, years)
    except BadPeriod as exc:
        raise Refusal(exc.message) from None
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
    return {**indicator_page_to_dict(page), "history": history}
