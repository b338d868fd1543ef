import multiprocessing
import os
import stat
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils.translation import gettext as _

from budget.models import Agency
from budget.selectors import agency_by_code
from kpitrack.core.forms import ElapsedPeriodForm, PeriodForm
from kpitrack.reports.assembly import BUDGET, KINDS, ReportNotFound, report_for
from kpitrack.reports.exports import bundle_agencies, bundle_zip
from kpitrack.reports.quarterly import QUARTERLY, render_quarterly
from kpitrack.reports.render import filename, pdf_bytes, print_html, xlsx_bytes

FORMATS = ("html", "pdf", "xlsx")


class Command(BaseCommand):
    help = (
        "Render 預算總說明 (budget), 施政績效報告 (performance) or the 季管考 report (quarterly, "
        "with --quarter) to an HTML, PDF or Excel file."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=(*KINDS, QUARTERLY))
        parser.add_argument("--year", required=True, help="Gregorian year, e.g. 2013")
        parser.add_argument(
            "--through-quarter",
            help="budget only: the elapsed period of year N-1, 1-4 (default 2 = 1-6月)",
        )
        parser.add_argument("--quarter", help="quarterly only: the quarter reported, 1-4")
        parser.add_argument("--format", choices=FORMATS, required=True)
        parser.add_argument("--output", required=True, help="file to write")
        parser.add_argument("--agency", help="agency code (needed when several are loaded)")
        parser.add_argument(
            "--all-agencies",
            action="store_true",
            help="the agency (default: every top agency) and all under it, one PDF each, as "
            "one zip with manifest.json (--format pdf, --output x.zip)",
        )
        parser.add_argument(
            "--jobs", type=int, default=1, help="with --all-agencies: processes rendering at once"
        )

    def handle(self, kind, year, through_quarter, format, output, agency=None, **options):
        all_agencies, jobs = options.get("all_agencies"), options.get("jobs", 1)
        if not all_agencies and jobs != 1:
            raise CommandError(_("--jobs 只用於 --all-agencies。"))
        quarter = options.get("quarter")
        if kind == QUARTERLY:
            if all_agencies:
                raise CommandError(
                    _("--all-agencies 不適用於季管考報告：部會的季管考報告已含所屬機關。")
                )
            return self._quarterly(year, quarter, through_quarter, format, output, agency)
        if quarter is not None:
            raise CommandError(_("--quarter 只用於季管考報告（quarterly）。"))
        if kind != BUDGET and through_quarter is not None:
            # The performance report covers its whole year: a quarter asked for is not ignored.
            raise CommandError(
                _("--through-quarter 只用於預算總說明（上年度已過期間）；施政績效報告為全年度。")
            )
        period = ElapsedPeriodForm(
            {"year": year, "quarter": through_quarter, "agency": agency},
            agency_by_code=agency_by_code,
        )
        if not period.is_valid():
            raise CommandError(period.message)
        path = Path(output)
        _check_output(path)
        if all_agencies:
            if format != "pdf":
                raise CommandError(_("--all-agencies 只產生 PDF（--format pdf）。"))
            if not 1 <= jobs <= 64:
                raise CommandError(_("--jobs 必須介於 1 與 64 之間。"))
            data = _bundle(
                kind,
                period.cleaned_data["year"],
                period.cleaned_data["quarter"],
                period.cleaned_data["agency"],
                jobs,
            )
            _write_atomically(path, data)
            self.stdout.write(
                _("已寫入 %(path)s（%(size)s 位元組）") % {"path": path, "size": len(data)}
            )
            return
        agency_obj = period.cleaned_data["agency"] or self._only_agency()
        try:
            report = report_for(
                agency_obj, kind, period.cleaned_data["year"], period.cleaned_data["quarter"]
            )
        except ReportNotFound as exc:
            raise CommandError(str(exc)) from exc
        if format == "html":
            data = print_html(report).encode("utf-8")
        elif format == "pdf":
            data = pdf_bytes(report)
        else:
            data = xlsx_bytes(report)
        _write_atomically(path, data)
        self.stdout.write(
            _("已寫入 %(path)s（%(size)s 位元組）") % {"path": path, "size": len(data)}
        )

    def _quarterly(self, year, quarter, through_quarter, format, output, agency):
        if through_quarter is not None:
            raise CommandError(_("季管考報告以 --quarter 指定季別，不用 --through-quarter。"))
        if quarter is None:
            raise CommandError(_("季管考報告須以 --quarter 指定季別（1 到 4）。"))
        period = PeriodForm(
            {"year": year, "quarter": quarter, "agency": agency}, agency_by_code=agency_by_code
        )
        if not period.is_valid():
            raise CommandError(period.message)
        path = Path(output)
        _check_output(path)
        # A ministry (內政部) has no indicators of its own but its agencies': only --agency
        # names it; without one, the only agency with data.
        agency_obj = period.cleaned_data["agency"] or self._only_agency()
        try:
            data = render_quarterly(
                agency=agency_obj,
                year=period.cleaned_data["year"],
                quarter=period.cleaned_data["quarter"],
                format=format,
            )
        except ReportNotFound as exc:
            raise CommandError(str(exc)) from exc
        _write_atomically(path, data)
        self.stdout.write(
            _("已寫入 %(path)s（%(size)s 位元組）") % {"path": path, "size": len(data)}
        )

    def _only_agency(self):
        # Only agencies with their own data count; a parent like 內政部 is just a name here.
        agencies = list(Agency.objects.filter(goals__isnull=False).distinct()[:2])
        if len(agencies) != 1:
            raise CommandError(_("請以 --agency 指定機關代碼。"))
        return agencies[0]


def _render_one(args) -> tuple[int, str, bytes]:
    """One agency's PDF, in a worker process of its own (its own database connection)."""
    agency_pk, kind, year, quarter = args
    agency = Agency.objects.get(pk=agency_pk)
    report = report_for(agency, kind, year, quarter)
    return agency_pk, filename(report, "pdf"), pdf_bytes(report)


def _bundle(kind, year, quarter, root, jobs) -> bytes:
    """The zip of bundle_zip (the same as the web's whole-ministry job), rendered by `jobs`
    processes at once."""
    roots = [root] if root else list(Agency.objects.filter(parent__isnull=True).order_by("code"))
    agencies = [a for r in roots for a in bundle_agencies(r, kind, year, Agency.objects.all())]
    if not agencies:
        raise CommandError(_("沒有機關有這個年度的報表資料。"))
    work = [(a.pk, kind, year, quarter) for a in agencies]
    if jobs == 1:
        rendered = list(map(_render_one, work))
    else:
        # Forked children must not share the parent's database connection: each opens its own.
        # close_all() hands a pooled PostgreSQL connection back to the pool, still open, and
        # a child would inherit it with the pool: the pool itself must be closed before the fork.
        connections.close_all()
        for conn in connections.all(initialized_only=True):
            if conn.alias in getattr(conn, "_connection_pools", {}):
                conn.close_pool()
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            rendered = list(pool.map(_render_one, work))
    by_pk = {a.pk: a for a in agencies}
    entries = [{"agency": by_pk[pk], "name": name, "data": data} for pk, name, data in rendered]
    return bundle_zip(entries, kind=kind, year=year, quarter=quarter)


def _check_output(path: Path) -> None:
    """Refuses, before any work, an --output that cannot become the report file."""
    folder = path.parent
    if not folder.is_dir():
        raise CommandError(_("輸出資料夾不存在：%(dir)s") % {"dir": folder})
    if path.is_dir():
        raise CommandError(_("輸出路徑是資料夾，請指定檔案名稱：%(path)s") % {"path": path})
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CommandError(_("沒有權限寫入輸出資料夾：%(dir)s") % {"dir": folder})
    _check_regular(path)
    if path.exists() and not os.access(path, os.W_OK):
        raise CommandError(_("沒有權限覆寫輸出檔案：%(path)s") % {"path": path})


def _check_regular(path: Path) -> None:
    # A device, pipe or link would be replaced by the rename below (as root, /dev/null too):
    # only a regular file, or nothing, may be there.
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise CommandError(
            _("輸出路徑已存在且不是一般檔案（例如裝置或連結），不會取代它：%(path)s")
            % {"path": path}
        )


def _write_atomically(path: Path, data: bytes) -> None:
    """Writes a temporary file beside the target and renames it into place: a full disk or any
    other failure leaves the previous file (or none) and no partial or temporary file."""
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise CommandError(
            _("無法寫入 %(path)s：%(error)s") % {"path": path, "error": exc.strerror or exc}
        ) from exc
    try:
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o666 & ~_umask())
            _check_regular(path)  # again: something may have appeared there meanwhile
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise CommandError(
            _("無法寫入 %(path)s：%(error)s") % {"path": path, "error": exc.strerror or exc}
        ) from exc


def _umask() -> int:
    # mkstemp creates the file private; the report gets the permissions any new file would.
    mask = os.umask(0)
    os.umask(mask)
    return mask
