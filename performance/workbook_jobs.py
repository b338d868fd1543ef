"""A large workbook's confirm as a background job (kind `workbook_import`, issue 16).

A confirm that writes more than settings.WORKBOOK_JOB_ROWS rows is not written on the request:
it starts this job and sends the user to the job's page. The job reads the stored upload again
(shared storage, so a worker on another server can), and runs it through the same
`workbook_import.import_parsed` the page's confirm runs, as the user who confirmed: the same
permission, scope and staleness checks, one transaction, the same attributed history. It ends
itself inside that transaction (`progress.complete`), so a cancel lands either before the
commit, which it then rolls back, or after the job has ended.

Its result is not a file but a small JSON summary on the job row (`Job.outcome`): the file's
name, the rows it changed and the way back to the workbook page, which the job page shows as the
synchronous confirm's page does. A refused import fails the job with the reasons, in the
language of the user who started it, and writes nothing.
"""

from django.utils.translation import gettext as _

from kpitrack.jobs.kinds import JobFailed, Output, register
from kpitrack.jobs.selectors import active_job_for
from kpitrack.jobs.services import job_start

from . import workbook as wb
from . import workbook_import as wi
from . import workbook_uploads as uploads

KIND = "workbook_import"
# A failed job lists this many of the import's problems, then how many more there are.
LISTED_PROBLEMS = 5


def import_start(*, user, token: str, meta: dict, scope: wb.Scope, agency, scope_query: str):
    """The job confirming the upload `token` (a second click joins the one under way). Raises
    kpitrack.jobs.runners.QueueUnavailable as job_start does."""
    key = f"workbook:{token}"
    job = active_job_for(user, key, own=True)
    if job is not None:
        return job
    title = _("匯入活頁簿「%(file)s」（%(scope)s）") % {
        "file": meta["name"],
        "scope": wi.scope_label(scope),
    }
    params = {
        "token": token,
        "scope": scope.signed_part(),
        "rows": uploads.rows_to_write(meta),
        "scope_query": scope_query,
    }
    return job_start(kind=KIND, user=user, params=params, title=title, agency=agency, key=key)


@register(KIND, template="performance/workbook_job_outcome.html")
def workbook_import_job(job, progress) -> Output:
    token = job.params["token"]
    try:
        return _import(job, progress)
    finally:
        # Written, refused or cancelled: this upload is done with, as after the page's confirm.
        uploads.discard(token)


def _import(job, progress) -> Output:
    p = job.params
    total = p["rows"]
    progress.step(0, total, _("讀取上傳的活頁簿"))
    stored = uploads.load(p["token"], job.user)
    if stored is None:
        raise JobFailed(_("找不到這次上傳，或上傳已過期；請重新上傳活頁簿。"))
    _data, meta = stored
    expected = wi.scope_by_ids(p["scope"])
    if expected is None:
        raise JobFailed(_("這份活頁簿的機關或單位已不存在。"))
    progress.step(0, total, _("檢查權限與資料版本，寫入 %(count)s 列") % {"count": total})

    def finish(report: wi.Report):
        # The last write of the import's transaction: the job ends with the rows.
        progress.complete(Output("", "", ""), _outcome(report, p["scope_query"]))

    report = wi.import_parsed(
        wb.Parsed.from_json(meta["parsed"]),
        name=meta["name"],
        user=job.user,
        commit=True,
        expected=expected,
        planned=meta["plan"],
        before_commit=finish,
    )
    if not report.written:
        raise JobFailed(_refusal(report))
    return Output("", "", "")


def _outcome(report: wi.Report, scope_query: str) -> dict:
    return {
        "file_name": report.file_name,
        "scope_label": report.scope_label,
        "rows": [{"row": row.row, "name": row.name} for row in report.changed_rows],
        "scope_query": scope_query,
    }


def _refusal(report: wi.Report) -> str:
    problems = report.all_problems
    listed = "；".join(str(p) for p in problems[:LISTED_PROBLEMS])
    message = _("匯入被拒絕，沒有寫入任何資料：%(problems)s") % {"problems": listed}
    if len(problems) > LISTED_PROBLEMS:
        message += _("（另有 %(count)s 個問題）") % {"count": len(problems) - LISTED_PROBLEMS}
    return message
