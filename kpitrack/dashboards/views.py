from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django_tables2 import RequestConfig

from kpitrack.core.caching import cache_get, cache_set, versioned_key
from kpitrack.core.engine.calendar import to_roc
from kpitrack.core.formatting import chinese_number, quarter_label, through_quarter_choices
from kpitrack.jobs.runners import QueueUnavailable
from kpitrack.jobs.selectors import active_job_for
from kpitrack.jobs.services import job_start
from performance.selectors import HistoryEntry, history_named_anew, indicator_history

from . import export_jobs, exports
from .charts import Bar, bar_chart
from .indicator_rows import history_rows, part_rows, quarterly_rows, trend_rows
from .period import BadPeriod, parse_indicator_year, resolve_period
from .selectors import (
    LIGHTS,
    OVERVIEW_CACHE_SECONDS,
    Scope,
    default_scope_code,
    indicator_outcomes,
    indicator_page,
    overview,
    scope_for,
    scope_version,
    unit_of,
    versioned_scope_for,
)
from .tables import IndicatorFilter, IndicatorTable, SqlRows

# A cached body changes key with the outcomes' version; the timeout only frees the space.
PAGE_CACHE_SECONDS = OVERVIEW_CACHE_SECONDS


def _scope(request, agency: str) -> Scope:
    return scope_for(user=request.user, code=agency)


def _versioned_scope(request, agency: str) -> tuple[Scope, str]:
    """The scope and the version of what it shows: its agencies' (a ministry's own and those
    under it shown), read with it."""
    scope, tokens = versioned_scope_for(user=request.user, code=agency)
    return scope, scope_version(scope, tokens)


def _bad(request, message: str, back: str):
    return render(
        request, "dashboards/bad_request.html", {"message": message, "back": back}, status=400
    )


@login_required
def index(request):
    code = default_scope_code(user=request.user)
    if code is None:
        return render(request, "dashboards/empty.html")
    return redirect("dashboards:overview", agency=code)


def goal_chart(goals) -> str | None:
    """Too many goals (a ministry's) make a chart unreadable; the table below lists them all."""
    if not goals or len(goals) > 8:
        return None
    return bar_chart(
        chart_id="goals-chart",
        title=_("各策略目標達成度"),
        bars=[
            Bar(_("目標%(n)s") % {"n": chinese_number(n)}, g.rate, g.status.value)
            for n, g in enumerate(goals, start=1)
        ],
    )


@dataclass(frozen=True)
class _Body:
    """A dashboard page but for what is the user's own (the header, the forms' tokens)."""

    title: str
    html: str
    # The indicator page's change history, read with the body (the same version of the data:
    # every write that makes history makes a new one); its people are named anew on each visit.
    history: list[HistoryEntry] | None = None


def _body(request, scope: Scope, token: str | None, build) -> _Body | HttpResponse:
    """The page's body, cached per version of the stored outcomes of its scope's agencies
    (issue 16: read-mostly pages). Everything a dashboard shows is refreshed with them, so the
    version names the data; with the address, the language and the agencies the user may see,
    it names the page. `token` is the version, read with the scope (`versioned_scope_for`),
    before anything the page shows.
    `build(token)` answers the body, or a refusal, never cached. No query when cached."""
    what = f"{get_language()}|{request.get_full_path()}|{scope.ids}"
    # "-2": a body now keeps its page's history; one cached in the former shape is never read.
    key = versioned_key("dashboard-2", token, what)
    found = None if key is None else cache_get(key)
    if found is not None:
        return found
    built = build(token)
    if key is not None and isinstance(built, _Body):
        cache_set(key, built, PAGE_CACHE_SECONDS)
    return built


def _page(request, body: _Body | HttpResponse, after: str = "") -> HttpResponse:
    if isinstance(body, HttpResponse):
        return body
    context = {"title": body.title, "body": mark_safe(body.html), "after": after}  # noqa: S308
    return render(request, "dashboards/page.html", context)


def _overview_page(request, scope: Scope, token: str | None, *, unit=None):
    def build(token):
        try:
            period = resolve_period(request.GET, scope)
        except BadPeriod as exc:
            return _bad(request, exc.message, request.path)
        context = {
            "scope": scope,
            "period": period,
            "quarters": through_quarter_choices(),
            "unit": unit,
        }
        if period.year is not None:
            ov = overview(scope, period.year, period.quarter, unit=unit, token=token)
            context.update({"ov": ov, "lights": LIGHTS, "goal_chart": goal_chart(ov.goals)})
        html = render_to_string("dashboards/_overview.html", context, request=request)
        title = unit.name if unit else scope.agency.name
        return _Body(f"{title} · {_('儀表板')}", html)

    return _page(request, _body(request, scope, token, build))


@login_required
def overview_view(request, agency):
    return _overview_page(request, *_versioned_scope(request, agency))


@login_required
def unit_view(request, agency, unit):
    scope, tokens = versioned_scope_for(user=request.user, code=agency)
    found = unit_of(scope, unit)
    if found is None:
        raise Http404("unit")
    own = Scope(agency=scope.agency, agencies=(scope.agency,))
    # The unit's page shows its agency alone: the agencies under it do not change it.
    return _overview_page(request, own, scope_version(own, tokens), unit=found)


@login_required
def indicators_view(request, agency):
    if "export" in request.GET:  # a file or a job: never cached
        return _page(request, _indicators(request, _scope(request, agency), None))
    scope, token = _versioned_scope(request, agency)

    def build(_token):
        return _indicators(request, scope, None)

    return _page(request, _body(request, scope, token, build))


def _indicators(request, scope: Scope, _token) -> _Body | HttpResponse:
    here = request.path
    try:
        period = resolve_period(request.GET, scope)
    except BadPeriod as exc:
        return _bad(request, exc.message, here)
    if period.year is None:
        return render(request, "dashboards/empty.html")
    filters = IndicatorFilter(request.GET, scope=scope, year=period.year)
    if not filters.is_valid():
        return _bad(request, filters.message, here)
    rows = filters.rows(period.quarter)
    export = request.GET.get("export")
    if export:
        if export not in export_jobs.FORMATS:
            return _bad(request, _("匯出格式只能是 xlsx 或 csv。"), here)
        if scope.is_ministry:
            return _export_job(request, export, scope, period)
        return _export(export, rows, scope, period)
    table = IndicatorTable(SqlRows(rows), ministry=scope.is_ministry)
    try:
        RequestConfig(request, paginate={"per_page": 25}).configure(table)
    except Http404:
        return _bad(request, _("頁碼超出範圍。"), here)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("sort", None)
    html = render_to_string(
        "dashboards/_indicators.html",
        {
            "scope": scope,
            "period": period,
            "quarters": through_quarter_choices(),
            "filters": filters,
            "table": table,
            "count": table.paginator.count,
            "query": query.urlencode(),
        },
        request=request,
    )
    return _Body(f"{_('績效指標一覽')} · {scope.agency.name}", html)


def _export(kind: str, rows, scope, period):
    """One agency's table, on the request: tens of rows."""
    rows = rows.rows()  # every row in full: an export is the whole filtered list
    if kind == "csv":
        data = exports.as_csv(rows, period.year, period.quarter)
    else:
        data = exports.as_xlsx(rows, period.year, period.quarter)
    response = HttpResponse(data, content_type=export_jobs.FORMATS[kind])
    name = export_jobs.export_filename(scope, period.year, period.quarter, kind)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _export_job(request, kind: str, scope, period):
    """A ministry's table, by a background job (kpitrack.dashboards.export_jobs): its page
    shows the agencies done, then the download. A second request while it runs joins it."""
    filters = export_jobs.table_filters(request.GET)
    key = export_jobs.table_export_key(scope, period.year, period.quarter, filters, kind)
    job = active_job_for(request.user, key)
    if job is None:
        title = _("%(agency)s %(roc)s年度截至第%(q)s季績效指標一覽（%(format)s）") % {
            "agency": scope.agency.name,
            "roc": to_roc(period.year),
            "q": period.quarter,
            "format": kind.upper(),
        }
        try:
            job = job_start(
                kind=export_jobs.KIND,
                user=request.user,
                params=export_jobs.job_params(scope, period.year, period.quarter, filters, kind),
                title=title,
                agency=scope.agency,
                key=key,
            )
        except QueueUnavailable as exc:
            return render(
                request,
                "dashboards/bad_request.html",
                {"message": str(exc), "back": request.path},
                status=503,
            )
    return redirect("job", pk=job.pk)


def indicator_charts(page) -> tuple[str, str]:
    quarterly = [
        Bar(quarter_label(p.quarter), p.outcome.rate, p.outcome.status.value)
        for p in page.quarterly
    ]
    if page.projection is not None:
        quarterly.append(
            Bar(_("全年預估"), page.projection.rate, page.projection.status.value, projected=True)
        )
    trend = [
        Bar(
            _("%(roc)s年") % {"roc": to_roc(p.year)}
            + ("" if p.quarter == 4 else f"({quarter_label(p.quarter)})"),
            p.outcome.rate,
            p.outcome.status.value,
        )
        for p in page.trend
    ]
    return (
        bar_chart(chart_id="quarterly-chart", title=_("各季累計達成率"), bars=quarterly),
        bar_chart(chart_id="trend-chart", title=_("歷年達成率"), bars=trend),
    )


@login_required
def indicator_view(request, agency, code):
    scope, tokens = versioned_scope_for(user=request.user, code=agency)
    # An indicator is its agency's alone: the agencies under it do not change its page.
    token = scope_version(Scope(agency=scope.agency, agencies=(scope.agency,)), tokens)
    built = []

    def build(_token):
        by_year = indicator_outcomes(agency=scope.agency, code=code)
        years = list(by_year)
        if not years:
            raise Http404("indicator")
        back = reverse("dashboards:overview", args=[agency])
        try:
            year = parse_indicator_year(request.GET, years)
        except BadPeriod as exc:
            return _bad(request, exc.message, back)
        page = indicator_page(by_year=by_year, year=year)
        quarterly_chart, trend_chart = indicator_charts(page)
        context = {
            "scope": scope,
            "page": page,
            "years": years,
            "quarterly_chart": quarterly_chart,
            "trend_chart": trend_chart,
            "part_rows": part_rows(page),
            "quarterly_rows": quarterly_rows(page),
            "trend_rows": trend_rows(page),
        }
        html = render_to_string("dashboards/_indicator.html", context, request=request)
        built.append(True)
        return _Body(page.indicator.name, html, indicator_history(indicator=page.indicator))

    body = _body(request, scope, token, build)
    after = ""
    if isinstance(body, _Body):
        # People's names change without a new version: a kept history names them anew (one
        # query, none without entries); one just read names them as they are.
        history = body.history if built else history_named_anew(body.history)
        after = render_to_string(
            "dashboards/_indicator_history.html",
            {"history": history, "rows": history_rows(history)},
        )
    return _page(request, body, after)
