"""A whole ministry's indicator table as CSV or xlsx, made by a background job (issue 16): its
thousands of rows are read agency by agency, the job's progress counting the agencies done, and
written by the same functions as one agency's export (kpitrack.dashboards.exports, with their
neutralised formulas and control characters). One agency's export stays on the request: a page
of tens of rows costs less than a job's round trip.

The job reads what its user may read when it runs, narrowed to the agencies it was asked for
(its params' "agencies": who may see the job must read all of them, kpitrack.jobs.selectors).
The file is the job's own, not a stored export: the table follows every approval, and a second
request while it runs joins the same job through its key."""

import hashlib
import json
from dataclasses import replace

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kpitrack.jobs import files
from kpitrack.jobs.kinds import JobFailed, Output, register
from kpitrack.jobs.models import Job

from . import exports
from .selectors import Scope, scope_for
from .tables import IndicatorFilter

KIND = "indicator_table"
FOLDER = "exports/tables"
FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FILTERS = ("in_agency", "unit", "goal", "light", "state")


def table_filters(data) -> dict[str, str]:
    """The filters' values as asked (a request's GET), to run them again in the job."""
    return {name: data[name] for name in FILTERS if data.get(name)}


def export_filename(scope: Scope, year: int, quarter: int, fmt: str) -> str:
    return f"{scope.agency.code}-indicators-{year}-q{quarter}.{fmt}"


def table_export_key(scope: Scope, year: int, quarter: int, filters: dict, fmt: str) -> str:
    parts = [KIND, scope.agency.pk, scope.ids, year, quarter, filters, fmt, get_language()]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def job_params(scope: Scope, year: int, quarter: int, filters: dict, fmt: str) -> dict:
    return {
        "scope": scope.agency.code,
        "agencies": scope.ids,
        "year": year,
        "quarter": quarter,
        "filters": filters,
        "format": fmt,
    }


def _scope(job: Job) -> Scope:
    try:
        scope = scope_for(user=job.user, code=job.params["scope"])
    except (PermissionDenied, Http404) as exc:
        raise JobFailed(_("您已沒有權限檢視這個機關的資料。")) from exc
    asked = set(job.params["agencies"])
    return Scope(agency=scope.agency, agencies=tuple(a for a in scope.agencies if a.pk in asked))


@register(KIND)
def indicator_table_job(job: Job, progress) -> Output:
    p = job.params
    if p["format"] not in FORMATS:
        raise JobFailed(_("匯出格式只能是 xlsx 或 csv。"))
    scope = _scope(job)
    filters = IndicatorFilter(p["filters"], scope=scope, year=p["year"])
    if not filters.is_valid():
        raise JobFailed(filters.message)
    table = filters.rows(p["quarter"])
    # The list's order is by agency first (selectors.LIST_ORDER): agency by agency, in code
    # order (scope_for reads them ordered by code, as the list is), makes the same list as one
    # read of it.
    agencies = [a for a in scope.agencies if table.agency_id in (None, a.pk)]
    rows = []
    for done, agency in enumerate(agencies):
        progress.step(done, len(agencies), _("讀取機關資料：%(name)s") % {"name": agency.name})
        rows += replace(table, agency_id=agency.pk).rows()
    progress.step(len(agencies), len(agencies), _("產生檔案"))
    if p["format"] == "csv":
        data = exports.as_csv(rows, p["year"], p["quarter"])
    else:
        data = exports.as_xlsx(rows, p["year"], p["quarter"])
    name = files.save_atomically(
        f"{FOLDER}/{job.pk}-{job.created_at:%Y%m%d%H%M%S}.{p['format']}", data
    )
    return Output(
        name=name,
        filename=export_filename(scope, p["year"], p["quarter"], p["format"]),
        content_type=FORMATS[p["format"]],
    )
