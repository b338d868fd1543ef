"""A unit's quarter on one page (issue 17): every indicator of the unit the user enters, one
row each, saved at once; a per-row preview by the server's engine; evidence added and removed
per row without touching what is typed; the unit head's submission of every complete row.

Thin, as performance/views.py: `permissions.access_unit` fetches and checks, the forms read,
`services.results_save_quarter` / `results_submit_quarter` / `evidence_*` write and decide
every rule again, `selectors.unit_quarter` reads. Rows without a problem are saved; a refused
row writes nothing and comes back as typed with the message at its field, beside the others.
"""

import hashlib
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kpitrack.core.engine.calendar import QUARTERS
from kpitrack.core.refusals import status_of
from kpitrack.core.versioning import ConcurrentEditError
from performance import permissions

from . import selectors, services
from .forms import EvidenceForm, ResultEntryForm, figure_errors
from .judgements import warning_message
from .models import Result
from .page_refusals import REFUSALS
from .reasons import reason_message

FORM_ID = "unit-form"  # the page's one save form; every row's input belongs to it by id
SUBMITTABLE = Result.TRANSITIONS["submit"].sources


@dataclass
class PageRow:
    """One indicator on the page: what the selector read, the row's form (None when the
    result may not be edited now), its preview and the warnings awaiting confirmation."""

    row: selectors.UnitRow
    form: ResultEntryForm | None
    may_submit: bool  # submittable now, by this user
    submitter: bool = False  # the user submits this indicator's results (whatever the state)
    outcome: object = None
    judgement: object = None
    outcome_reason: str = ""
    warnings: list[str] = field(default_factory=list)
    saved: bool = False

    @property
    def indicator(self):
        return self.row.indicator

    @property
    def result(self):
        return self.row.result

    @property
    def editable(self) -> bool:
        return self.form is not None

    @property
    def state_label(self) -> str:
        return self.result.get_state_display() if self.result else str(selectors.NOT_ENTERED)


def _period(year: int, quarter: int) -> None:
    if quarter not in QUARTERS or not 1911 < year < 10000:
        raise Http404("quarter")


def _row_form(indicator, result, data=None) -> ResultEntryForm:
    form = ResultEntryForm(data, indicator=indicator, result=result, prefix=f"i{indicator.pk}")
    for bound in form.fields.values():
        bound.widget.attrs["form"] = FORM_ID
    return form


def _preview(page_row: PageRow, quarter: int, figures) -> None:
    entry = page_row.row.entry
    page_row.outcome = entry.preview(quarter, figures)
    page_row.judgement = entry.judge(quarter, figures)
    page_row.outcome_reason = reason_message(page_row.outcome.reason, page_row.indicator.labels())


def _stored(result) -> dict:
    return {f.key: f.value for f in result.figures.all()} if result else {}


def _rows(request, unit, year: int, quarter: int, data=None, keep=()) -> list[PageRow]:
    """The page's rows: with `data`, the forms bound to it (those of indicator ids in `keep`
    only, when `keep` is given: the others were saved and read back)."""
    rows = []
    for row in selectors.unit_quarter(unit=unit, year=year, quarter=quarter):
        held = permissions.rights(request.user, row.indicator)
        if permissions.ENTER not in held:
            continue
        state = row.result.state if row.result else Result.State.DRAFT
        form = None
        if state in Result.EDITABLE:
            bound = data if data is not None and (not keep or row.indicator.pk in keep) else None
            form = _row_form(row.indicator, row.result, bound)
        submitter = permissions.SUBMIT in held
        page_row = PageRow(row, form, submitter and state in SUBMITTABLE, submitter)
        typed = form.figures() if form is not None and form.is_bound and form.is_valid() else None
        _preview(page_row, quarter, typed if typed is not None else _stored(row.result))
        rows.append(page_row)
    return rows


def _page(request, unit, year, quarter, rows, *, status=200, **extra):
    context = {
        "unit": unit,
        "agency": unit.agency,
        "year": year,
        "quarter": quarter,
        "rows": rows,
        "form_id": FORM_ID,
        "may_submit": any(r.submitter for r in rows),
        "evidence_form": EvidenceForm(),
        # The Excel workbook of this very unit and quarter (the workbook page's `scope` names
        # agency and unit together, as its one list does).
        "workbook_query": urlencode(
            {"scope": f"{unit.agency.code}|{unit.code}", "year": year, "quarter": quarter}
        ),
        **extra,
    }
    return render(request, "performance/unit_quarter.html", context, status=status)


def _fingerprint(rows: list[PageRow]) -> str:
    """What the person confirms: these warnings of these figures, no others."""
    text = "|".join(f"{r.indicator.pk}:{w}" for r in rows for w in r.warnings)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _refuse(page_row: PageRow, exc: Exception) -> int:
    """Puts a service's refusal of one row on that row's form; its status."""
    form = page_row.form
    if isinstance(exc, ValidationError):
        form.add_service_errors(exc)
        return 400
    if isinstance(exc, ConcurrentEditError):
        form.add_error(
            None,
            _("「%(name)s」在您開啟本頁後已被其他人修改，這一項未儲存；請重新載入後再修改。")
            % {"name": page_row.indicator.name},
        )
        return exc.status
    if isinstance(exc, PermissionDenied):
        form.add_error(None, _("您沒有填報這個指標的權限。"))
        return 403
    form.add_error(None, str(exc))
    return status_of(exc)


@login_required
@require_http_methods(["GET", "POST"])
def unit_quarter(request, agency: str, unit: str, year: int, quarter: int):
    unit = permissions.access_unit(request.user, agency, unit)
    _period(year, quarter)
    if request.method == "GET":
        return _page(request, unit, year, quarter, _rows(request, unit, year, quarter))
    rows = _rows(request, unit, year, quarter, data=request.POST)
    editable = [r for r in rows if r.form is not None]
    to_save = [r for r in editable if r.form.is_valid() and r.form.has_changed()]
    for page_row in to_save:
        warnings = page_row.row.entry.warnings(quarter, page_row.form.figures())
        page_row.warnings = [warning_message(w, page_row.indicator) for w in warnings]
    fingerprint = _fingerprint(to_save)
    if any(r.warnings for r in to_save) and request.POST.get("confirmed") != fingerprint:
        # Not refusals: nothing is written until the person confirms these very warnings.
        return _page(request, unit, year, quarter, rows, confirm=fingerprint)
    entries = [
        services.DraftEntry(
            r.indicator.pk, r.form.figures(), r.form.narrative(), r.form.cleaned_data["version"]
        )
        for r in to_save
    ]
    try:
        refusals = services.results_save_quarter(
            quarter=quarter, entries=entries, user=request.user, reason=_("本季填報頁儲存")
        )
    except ConcurrentEditError:
        messages.error(
            request, _("有人同時第一次填報了其中一項，這次沒有儲存任何一項；請重新載入。")
        )
        return _page(request, unit, year, quarter, rows, status=409)
    refused = {to_save[i].indicator.pk: exc for i, exc in refusals.items()}
    invalid = {r.indicator.pk for r in editable if not r.form.is_valid()}
    saved = len(to_save) - len(refused)
    if not refused and not invalid:
        if saved:
            messages.success(request, _("已儲存 %(n)s 項。") % {"n": saved})
        else:
            messages.info(request, _("沒有變更需要儲存。"))
        return redirect(request.path)
    # The saved rows are read back (their new versions); the others stay as typed.
    rows = _rows(request, unit, year, quarter, data=request.POST, keep=refused.keys() | invalid)
    status = 400
    for page_row in rows:
        if page_row.indicator.pk in refused and page_row.form is not None:
            page_row.form.is_valid()
            status = _refuse(page_row, refused[page_row.indicator.pk])
        page_row.saved = page_row.indicator.pk in {r.indicator.pk for r in to_save} - refused.keys()
    return _page(
        request,
        unit,
        year,
        quarter,
        rows,
        status=status,
        saved_count=saved,
        refused_count=len(refused) + len(invalid),
    )


@login_required
@require_POST
def unit_quarter_submit(request, agency: str, unit: str, year: int, quarter: int):
    """The unit head sends every complete draft of the quarter (per row: see
    services.results_submit_quarter); the page then lists what is still missing, by name."""
    unit = permissions.access_unit(request.user, agency, unit)
    _period(year, quarter)
    rows = _rows(request, unit, year, quarter)
    # A head whose rows are all submitted already is told so, not refused.
    permissions.require(any(r.submitter for r in rows))
    pairs = []
    for page_row in rows:
        if page_row.may_submit and page_row.result is not None:
            seen = request.POST.get(f"v{page_row.result.pk}", "")
            # A row the page did not show (entered since) is not sent unseen.
            if seen.isdigit():
                pairs.append((page_row.result.pk, int(seen)))
    done = services.results_submit_quarter(
        results=pairs, user=request.user, reason=_("本季全部完整項目送出")
    )
    if done.submitted:
        messages.success(request, _("已送出 %(n)s 項，等待初核。") % {"n": len(done.submitted)})
    names = {r.result.pk: r.indicator.name for r in rows if r.result is not None}
    missing = []
    for page_row in rows:
        if page_row.result is None:
            missing.append(_("「%(name)s」：尚未填報。") % {"name": page_row.indicator.name})
    for pk, exc in done.refusals.items():
        if isinstance(exc, ConcurrentEditError):
            text = _("在您開啟本頁後已被其他人修改，未送出；請重新載入確認。")
        elif isinstance(exc, ValidationError):
            text = "；".join(exc.messages)
        else:
            text = str(exc)
        missing.append(_("「%(name)s」：%(why)s") % {"name": names[pk], "why": text})
    for line in missing:
        messages.warning(request, line)
    if not done.submitted and not missing:
        messages.info(request, _("沒有可送出的項目。"))
    return redirect(
        "unit-quarter", agency=unit.agency.code, unit=unit.code, year=year, quarter=quarter
    )


def _row_access(request, unit, year: int, quarter: int, indicator: int):
    indicator, result = permissions.access_result(
        request.user, indicator, quarter, to=permissions.ENTER, entered=False
    )
    if indicator.responsible_unit_id != unit.pk or indicator.goal.year != year:
        raise Http404("indicator")
    return indicator, result


@login_required
@require_POST
def unit_row_preview(request, agency: str, unit: str, year: int, quarter: int, indicator: int):
    """One row's preview: the server's engine on what is typed in that row, nothing saved."""
    unit = permissions.access_unit(request.user, agency, unit)
    _period(year, quarter)
    indicator, result = _row_access(request, unit, year, quarter, indicator)
    form = _row_form(indicator, result, request.POST)
    if not form.is_valid():
        errors = figure_errors(form)
        return render(request, "performance/_preview.html", {"preview_errors": errors})
    entry = selectors.entry_indicators(ids=[indicator.pk])[indicator.pk]
    figures = form.figures()
    outcome = entry.preview(quarter, figures)
    judgement = entry.judge(quarter, figures)
    context = {
        "indicator": indicator,
        "outcome": outcome,
        "judgement": judgement,
        "outcome_reason": reason_message(outcome.reason, indicator.labels()),
        "short": judgement.behind,
        "warnings": [warning_message(w, indicator) for w in entry.warnings(quarter, figures)],
    }
    return render(request, "performance/_preview.html", context)


def _errors(exc: Exception) -> list[str]:
    return exc.messages if isinstance(exc, ValidationError) else [str(exc)]


def _evidence_answer(request, unit, year, quarter, indicator, *, errors=(), created=None):
    """The row's evidence list for htmx to swap in (with the row's new version, out of band,
    when a draft was created for the file); without htmx, back to the page. htmx swaps only a
    success, so a refusal answers 200 with its message in the list."""
    if not request.headers.get("HX-Request"):
        for error in errors:
            messages.error(request, f"{indicator.name}：{error}")
        return redirect(
            "unit-quarter", agency=unit.agency.code, unit=unit.code, year=year, quarter=quarter
        )
    result = (
        Result.objects.filter(indicator=indicator, quarter=quarter)
        .prefetch_related("evidence")
        .first()
    )
    context = {
        "unit": unit,
        "year": year,
        "quarter": quarter,
        "indicator": indicator,
        "result": result,
        "editable": True,
        "evidence_errors": errors,
        "created": created,
        "form_id": FORM_ID,
    }
    return render(request, "performance/_unit_evidence.html", context)


@login_required
@require_POST
def unit_evidence_upload(request, agency: str, unit: str, year: int, quarter: int, indicator: int):
    """A file for one row, before or after its first save: a row with no result yet gets an
    empty draft first (so the file has a result to belong to), in the same transaction."""
    unit = permissions.access_unit(request.user, agency, unit)
    _period(year, quarter)
    indicator, result = _row_access(request, unit, year, quarter, indicator)
    form = EvidenceForm(request.POST, request.FILES)
    if not form.is_valid():
        errors = [e for field_errors in form.errors.values() for e in field_errors]
        return _evidence_answer(request, unit, year, quarter, indicator, errors=errors)
    created = None
    try:
        with transaction.atomic():
            if result is None:
                result = created = services.result_save_draft(
                    indicator=indicator,
                    quarter=quarter,
                    figures={},
                    narrative={},
                    expected_version=None,
                    user=request.user,
                    reason=_("上傳佐證資料，先建立草稿"),
                )
            services.evidence_add(
                result=result, upload=form.cleaned_data["file"], user=request.user
            )
    except REFUSALS as exc:
        return _evidence_answer(request, unit, year, quarter, indicator, errors=_errors(exc))
    if not request.headers.get("HX-Request"):
        messages.success(request, _("佐證資料已上傳。"))
    return _evidence_answer(request, unit, year, quarter, indicator, created=created)


@login_required
@require_POST
def unit_evidence_delete(request, agency: str, unit: str, year: int, quarter: int, pk: int):
    """Removes a file of one row, with the reason kept in its history."""
    unit = permissions.access_unit(request.user, agency, unit)
    _period(year, quarter)
    evidence = permissions.access_evidence(request.user, pk, to=permissions.ENTER)
    indicator = evidence.result.indicator
    if indicator.responsible_unit_id != unit.pk or evidence.result.quarter != quarter:
        raise Http404("evidence")
    try:
        services.evidence_delete(
            evidence=evidence, user=request.user, reason=request.POST.get("reason", "")
        )
    except REFUSALS as exc:
        return _evidence_answer(request, unit, year, quarter, indicator, errors=_errors(exc))
    if not request.headers.get("HX-Request"):
        messages.success(request, _("佐證資料已刪除。"))
    return _evidence_answer(request, unit, year, quarter, indicator)
