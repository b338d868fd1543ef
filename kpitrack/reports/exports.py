"""Stored exports: a rendered report kept under a key made of everything it prints, and the
report jobs that make them (registered job kinds, settings.JOB_KIND_MODULES).

The key is a SHA-256 over the agency, the report (kind, year, quarter), the format, the
language, the version of the code and templates that print it, and the version of the data it
prints: the latest history row of each table the report assembly reads (results and their
figures, indicators, targets, goals, narratives, policy, headcount, units, lights policy,
agency; for the 季管考 report, kpitrack.reports.quarterly, its milestones instead of policy
and headcount, and the agencies of a ministry it covers, which depend on who asks), among the
rows of the agencies it prints (data_version). Every write of those tables adds a history row
(kpitrack.core.writes, bulk imports too), so any change to what a report prints makes a new
key; the same data finds the same file, served without rendering, whatever is saved in other
agencies. A report prints nothing of another agency: not its parent ministry, nor the agency
tree (the organisation chart is drawn from its own units)."""

import hashlib
import io
import json
import zipfile
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

from django.conf import settings
from django.db import connection, transaction
from django.dispatch import receiver
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from budget.models import (
    AchievementPolicy,
    Agency,
    AnnualPolicy,
    HeadcountBudget,
    HeadcountLine,
    PolicyGoal,
    PolicyGoalItem,
    Unit,
)
from kpitrack.core.bulk import historical_model
from kpitrack.core.engine.calendar import to_roc
from kpitrack.jobs import files
from kpitrack.jobs.kinds import JobFailed, Output, register
from kpitrack.jobs.models import Job
from kpitrack.jobs.runners import QueueUnavailable, beside_requests
from kpitrack.jobs.services import job_start
from performance.models import (
    Indicator,
    IndicatorInput,
    Milestone,
    Result,
    ResultFigure,
    StrategicGoal,
    TargetPart,
)
from performance.signals import quarter_approved

from .assembly import BUDGET, PERFORMANCE, ReportNotFound, has_year, report_for
from .layout import html_to_pdf_apart
from .pdf import html_to_pdf
from .quarterly import QUARTERLY, QuarterlyReport, quarterly_members, quarterly_report
from .render import ascii_filename, filename, print_html, xlsx_bytes
from .xlsx import quarterly_workbook

# Raise to make every stored export new when what they print changes in a way the code hash
# below cannot see (a font installed, a WeasyPrint upgrade).
EXPORT_FORMAT = 1
FOLDER = "exports"
BUNDLES = "exports/bundles"
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}
PRINTED_MODELS = (
    Agency,
    Unit,
    AnnualPolicy,
    PolicyGoal,
    PolicyGoalItem,
    HeadcountBudget,
    HeadcountLine,
    AchievementPolicy,
    StrategicGoal,
    Indicator,
    IndicatorInput,
    TargetPart,
    Result,
    ResultFigure,
)
# What the 季管考 report reads (quarterly_read, quarter_judgements): no policy or headcount, but
# the milestones (分季目標) it judges against.
QUARTERLY_MODELS = (
    Agency,
    Unit,
    AchievementPolicy,
    StrategicGoal,
    Indicator,
    IndicatorInput,
    TargetPart,
    Milestone,
    Result,
    ResultFigure,
)
# The kinds whose report is of one quarter (the performance report is of its whole year).
_BY_QUARTER = (BUDGET, QUARTERLY)
_ROOT = Path(__file__).resolve().parent.parent.parent


@lru_cache(maxsize=1)
def template_version() -> str:
    """A hash of the code and templates that print a report, and of the translations."""
    digest = hashlib.sha256(str(EXPORT_FORMAT).encode())
    sources = [
        *sorted((_ROOT / "kpitrack" / "reports").glob("*.py")),
        *sorted((_ROOT / "templates" / "reports").glob("*")),
        *sorted((_ROOT / "locale").glob("*/LC_MESSAGES/django.po")),
        # Also what prints inside them: the stylesheet print.html inlines, the template filters
        # and number formats, and the engine that decides each rate and light. A file served by
        # its key is touched, so a stale one would never age out.
        *sorted((_ROOT / "static" / "css").glob("report.css")),
        *sorted((_ROOT / "kpitrack" / "templatetags").glob("*.py")),
        *sorted((_ROOT / "kpitrack" / "core").glob("formatting.py")),
        *sorted((_ROOT / "kpitrack" / "core" / "engine").glob("*.py")),
    ]
    for path in sources:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# The parent through which each table without an agency column reaches its agency.
_OWNER = {
    PolicyGoal: "policy",
    PolicyGoalItem: "goal",
    HeadcountLine: "budget",
    Indicator: "goal",
    IndicatorInput: "indicator",
    TargetPart: "indicator",
    Milestone: "part",
    Result: "indicator",
    ResultFigure: "result",
}


def _live_ids(model, marks: str, ctes: dict) -> str:
    """The name of a common table expression of the ids of `model`'s live rows in the agencies
    (`marks`: their placeholders), added to `ctes` with those of its parents: each table's ids
    read once, whichever printed tables hang from it."""
    quote = connection.ops.quote_name
    name = f"live_{model._meta.db_table}"
    if name not in ctes:
        table = quote(model._meta.db_table)
        if model in _OWNER:
            field = model._meta.get_field(_OWNER[model])
            parent = _live_ids(field.related_model, marks, ctes)
            where = f"{quote(field.column)} IN (SELECT id FROM {parent})"
        else:
            where = f"agency_id IN ({marks})"
        # Materialized: planned once, not again inside each table's subquery that reads it.
        materialized = "MATERIALIZED " if connection.vendor == "postgresql" else ""
        ctes[name] = f"{name} AS {materialized}(SELECT id FROM {table} WHERE {where})"
    return name


def _owned_ids(model, marks: str, ctes: dict) -> str:
    """SQL for the ids of `model`'s rows whose history has ever placed them in the agencies
    (`marks`: their placeholders): a row's history row carries its parent's id, among the live
    parents in the agencies (_live_ids)."""
    if model is Agency:
        return marks
    quote = connection.ops.quote_name
    history = quote(historical_model(model)._meta.db_table)
    if model in _OWNER:
        field = model._meta.get_field(_OWNER[model])
        parent = _live_ids(field.related_model, marks, ctes)
        return f"SELECT id FROM {history} WHERE {quote(field.column)} IN (SELECT id FROM {parent})"
    return f"SELECT id FROM {history} WHERE agency_id IN ({marks})"


def data_version(models, agencies) -> list:
    """The newest history id of each printed table among the rows of `agencies` (ids), in one
    query: a save in another agency leaves this agency's key as it was.

    A row counts when any of its history rows belongs to the agencies, so a row moved to
    another agency (a goal's agency or an indicator's goal changed) makes a new key for the one
    it left as well. A deleted row's last history row still carries its parent's id; a deleted
    parent's own history row carries its parent's (in the end its agency's), and its deletion
    removed the children: the parent's table changes, so the key does."""
    agencies = sorted(set(agencies))
    with connection.cursor() as cursor:
        sql, marks = _version_sql(connection.vendor, tuple(models), len(agencies))
        cursor.execute(sql, agencies * marks)
        return list(cursor.fetchone())


@lru_cache(maxsize=32)
def _version_sql(_vendor: str, models: tuple, agencies: int) -> tuple[str, int]:
    """data_version's query for that many agencies, and how many times it names them (written
    once per process: a report's start pays for it on every request). The agencies' rows of
    each parent table are read once, in a common table expression, rather than joined again in
    each printed table's subquery: PostgreSQL planned the joined form in 2.3 ms (7 ms on a new
    connection), this one in 1.0 ms, and runs it in less (docs/benchmarks.md, "A report's key
    planned in less")."""
    marks = ", ".join(["%s"] * agencies)
    ctes: dict[str, str] = {}
    columns = []
    for model in models:
        history = connection.ops.quote_name(historical_model(model)._meta.db_table)
        owned = _owned_ids(model, marks, ctes)
        columns.append(f"(SELECT MAX(history_id) FROM {history} WHERE id IN ({owned}))")
    sql = f"SELECT {', '.join(columns)}"
    if ctes:
        sql = f"WITH {', '.join(ctes.values())} {sql}"
    return sql, sql.count("%s") // max(agencies, 1)


def warm() -> None:
    """What a process reads once for every export's key, read now: for a web worker as it
    starts (kpitrack/gunicorn.conf.py), not in its first request for a report (about 6 ms of
    CPU there: the templates' hash, and simple-history's model of each printed table)."""
    template_version()
    for model in {*PRINTED_MODELS, *QUARTERLY_MODELS}:
        historical_model(model)


def export_key(agency, kind: str, year: int, quarter: int, fmt: str, members=None) -> str:
    """`members`: the ids of the agencies a 季管考 report covers (quarterly_members)."""
    quarter = quarter if kind in _BY_QUARTER else 0
    parts = [agency.pk, agency.code, kind, year, quarter, fmt, get_language()]
    covered = [agency.pk]
    if kind == QUARTERLY:
        parts.append(sorted(members or [agency.pk]))
        # Its heading names `agency` even when only agencies under it are covered.
        covered += members or []
    models = QUARTERLY_MODELS if kind == QUARTERLY else PRINTED_MODELS
    parts += [template_version(), data_version(models, covered)]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def export_name(key: str, fmt: str) -> str:
    return f"{FOLDER}/{key[:2]}/{key}.{fmt}"


def named(agency, kind: str, year: int, quarter: int = 0):
    """What the file names of a report are made of (kpitrack.reports.render.filename), without
    assembling the report."""
    if kind == QUARTERLY:
        return QuarterlyReport(agency, year, quarter, sections=[])
    document = _("預算總說明") if kind == BUDGET else _("施政績效報告")
    return SimpleNamespace(
        agency=agency, kind=kind, year=year, roc_year=to_roc(year), document=document
    )


def download_names(agency, kind: str, year: int, fmt: str, quarter: int = 0) -> tuple[str, str]:
    """(the agency's file name, its ASCII fallback), without assembling the report."""
    stand_in = named(agency, kind, year, quarter)
    return filename(stand_in, fmt), ascii_filename(stand_in, fmt)


def stored_export(
    agency, kind: str, year: int, quarter: int, fmt: str, members=None
) -> tuple[str, str | None]:
    """(key, the stored file's name or None when it must be rendered)."""
    key = export_key(agency, kind, year, quarter, fmt, members)
    name = export_name(key, fmt)
    return key, name if files.exists(name) else None


def _assemble(agency, kind, year, quarter, members):
    if kind == QUARTERLY:
        return quarterly_report(agency, year, quarter, visible=set(members or [agency.pk]))
    return report_for(agency, kind, year, quarter)


def render_export(
    agency, kind, year, quarter, fmt, progress=None, members=None
) -> tuple[str, bytes | None]:
    """Renders and stores one report; (its storage name, its bytes or None when it was stored
    already). The key is taken before the data is read: a write during the render makes a new
    key, so this file can never be served for data it does not show."""
    step = progress.step if progress else (lambda *args: None)
    key = export_key(agency, kind, year, quarter, fmt, members)
    name = export_name(key, fmt)
    if files.exists(name):
        return name, None
    step(0, 3, _("整理報表資料"))
    try:
        report = _assemble(agency, kind, year, quarter, members)
    except ReportNotFound as exc:
        raise JobFailed(str(exc)) from exc
    if fmt == "pdf":
        step(1, 3, _("排版 PDF"))
        html = print_html(report)
        apart = settings.JOBS_PDF_APART and beside_requests()
        data = html_to_pdf_apart(html) if apart else html_to_pdf(html)
    else:
        step(1, 3, _("產生 Excel 活頁簿"))
        data = quarterly_workbook(report) if kind == QUARTERLY else xlsx_bytes(report)
    step(2, 3, _("儲存檔案"))
    files.save_atomically(name, data)
    return name, data


@register("report")
def report_job(job: Job, progress) -> Output:
    p = job.params
    agency = Agency.objects.get(pk=p["agency"])
    members = p.get("agencies")
    name, data = render_export(
        agency, p["kind"], p["year"], p["quarter"], p["format"], progress, members
    )
    return Output(
        name=name,
        filename=download_names(agency, p["kind"], p["year"], p["format"], p["quarter"])[0],
        content_type=CONTENT_TYPES[p["format"]],
        reused=data is None,
    )


def bundle_agencies(root, kind: str, year: int, readable) -> list:
    """The agencies of a whole ministry (`root` and every agency under it) that have the
    report's year, and that the user may read."""
    tree, frontier = [root], [root]
    while frontier:
        frontier = list(Agency.objects.filter(parent__in=frontier).order_by("code"))
        tree += frontier
    readable = {agency.pk for agency in readable}
    return [a for a in tree if a.pk in readable and has_year(a, kind, year)]


def bundle_zip(entries: list[dict], *, kind: str, year: int, quarter: int) -> bytes:
    """One zip: a PDF per agency and manifest.json listing each (code, name, file, bytes,
    sha256). `entries` hold agency, name (file in the zip) and data."""
    buffer = io.BytesIO()
    manifest = {
        "kind": kind,
        "year": year,
        "roc_year": to_roc(year),
        "through_quarter": quarter if kind == BUDGET else None,
        "created_at": timezone.now().isoformat(),
        "files": [],
    }
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in entries:
            archive.writestr(entry["name"], entry["data"])
            manifest["files"].append(
                {
                    "agency": entry["agency"].code,
                    "agency_name": entry["agency"].name,
                    "file": entry["name"],
                    "bytes": len(entry["data"]),
                    "sha256": hashlib.sha256(entry["data"]).hexdigest(),
                }
            )
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return buffer.getvalue()


def bundle_filename(root, kind: str, year: int) -> str:
    document = _("預算總說明") if kind == BUDGET else _("施政績效報告")
    year_label = _("%(roc)s年度") % {"roc": to_roc(year)}
    return f"{root.name}_{year_label}_{document}_{_('全部機關')}.zip"


@register("report_bundle")
def report_bundle_job(job: Job, progress) -> Output:
    """Runs when every part (one agency's PDF each) has ended: zips their stored files."""
    p = job.params
    parts = list(job.parts.select_related("agency").order_by("pk"))
    failed = [part for part in parts if part.state != Job.State.DONE]
    if failed:
        raise JobFailed(
            _("有 %(count)s 個機關的報表未能產生：%(names)s")
            % {
                "count": len(failed),
                "names": "；".join(f"{part.agency.name}（{part.error}）" for part in failed),
            }
        )
    progress.step(len(parts), len(parts), _("壓縮檔案"))
    entries = []
    for part in parts:
        if not files.exists(part.result):
            raise JobFailed(_("%(name)s的報表檔案已不在儲存空間。") % {"name": part.agency.name})
        with files.open_file(part.result) as stored:
            entries.append({"agency": part.agency, "name": part.filename, "data": stored.read()})
    data = bundle_zip(entries, kind=p["kind"], year=p["year"], quarter=p["quarter"])
    name = files.save_atomically(f"{BUNDLES}/{job.pk}-{job.created_at:%Y%m%d%H%M%S}.zip", data)
    root = Agency.objects.get(pk=p["root"])
    return Output(name, bundle_filename(root, p["kind"], p["year"]), CONTENT_TYPES["zip"])


# --- pre-rendering on approval (settings.PRERENDER_ON_APPROVAL) ------------------------------


def printing(agency, year: int, quarter: int) -> list[tuple[str, int, int, list | None]]:
    """(kind, year, quarter, members) of the agency's reports that print `quarter` of `year`:
    its 季管考 report (over its own agencies, as a reader of all of them asks for it), the
    budget explanation of the next year (whose elapsed part is this year through `quarter`),
    and at the fourth quarter the year's performance report."""
    members = [a.pk for a in quarterly_members(agency)]
    reports = [(QUARTERLY, year, quarter, members)]
    if has_year(agency, BUDGET, year + 1):
        reports.append((BUDGET, year + 1, quarter, None))
    if quarter == 4:
        reports.append((PERFORMANCE, year, quarter, None))
    return reports


def prerender(*, agency, year: int, quarter: int, user) -> list[Job]:
    """Queues a job for each file (PDF and Excel, in the site's language) of the reports that
    print the quarter and are not stored or being made already; `user` (who approved) owns
    them. Returns the jobs."""
    jobs = []
    with translation.override(settings.LANGUAGE_CODE):
        for kind, report_year, through, members in printing(agency, year, quarter):
            for fmt in ("pdf", "xlsx"):
                key, stored = stored_export(agency, kind, report_year, through, fmt, members)
                if stored or Job.objects.filter(key=key, state__in=Job.ACTIVE).exists():
                    continue
                params = {
                    "agency": agency.pk,
                    "kind": kind,
                    "year": report_year,
                    "quarter": through,
                    "format": fmt,
                    "prerender": True,
                }
                if members is not None:
                    params["agencies"] = members
                stand_in = named(agency, kind, report_year, through)
                title = _("預先產生：%(name)s") % {"name": filename(stand_in, fmt)}
                try:
                    jobs.append(
                        job_start(
                            kind="report",
                            user=user,
                            params=params,
                            title=title,
                            agency=agency,
                            key=key,
                        )
                    )
                except QueueUnavailable:
                    return jobs  # rendered when first asked for, as without pre-rendering
    return jobs


@receiver(quarter_approved, dispatch_uid="kpitrack.reports.exports.prerender")
def _prerender_when_committed(sender, *, agency, year, quarter, user, **kwargs):
    # After the commit: a rolled-back approval renders nothing, and the keys are taken over
    # the data as approved.
    transaction.on_commit(lambda: prerender(agency=agency, year=year, quarter=quarter, user=user))


def retained_names() -> set[str]:
    """Files the jobs of the retention period still point to."""
    return set(Job.objects.exclude(result="").values_list("result", flat=True))
