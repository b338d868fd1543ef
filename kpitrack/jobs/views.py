"""The job pages: one job (progress bar, then the download or why it failed, and a cancel
button), its status as JSON for the page's polling, the download, and the user's jobs."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kpitrack.core.logs import current_request_id

from . import files
from .kinds import outcome_template
from .models import Job
from .runners import fail_stale_jobs
from .selectors import access_job, jobs_for_user, jobs_of_agencies, parts_of
from .services import job_cancel


def status_of(job: Job) -> dict:
    # A job that makes no file (a workbook import) shows its outcome on its page instead.
    done = job.state == Job.State.DONE and bool(job.result)
    return {
        "id": job.pk,
        "state": job.state,
        "state_label": str(job.get_state_display()),
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "step": job.step,
        "error": job.error,
        "finished": not job.active,
        "download_url": reverse("job-download", args=[job.pk]) if done else None,
    }


@login_required
@require_GET
def job_page(request, pk):
    fail_stale_jobs()
    job = access_job(request.user, pk)
    context = {
        "job": job,
        "status": status_of(job),
        "parts": parts_of(job) if job.total else [],
        "outcome_template": outcome_template(job.kind),
    }
    return render(request, "jobs/job.html", context)


def _refused(message: str, status: int) -> JsonResponse:
    # The API's error shape (kpitrack/api/errors.py, which this layer may not import), so a
    # caller reads every JSON refusal of the site the same way and can quote the request's id.
    return JsonResponse({"error": str(message), "request_id": current_request_id()}, status=status)


def job_status(request, pk):
    """Always JSON, errors too: the page's script reads it every second or two."""
    if request.method != "GET":
        response = _refused(_("這個網址不接受此請求方法。"), 405)
        response["Allow"] = "GET"
        return response
    if not request.user.is_authenticated:
        return _refused(_("請先登入。"), 401)
    try:
        fail_stale_jobs()
        job = access_job(request.user, pk)
    except Http404:
        return _refused(_("沒有這項工作。"), 404)
    except PermissionDenied:
        return _refused(_("您沒有權限檢視這項工作。"), 403)
    return JsonResponse(status_of(job))


@login_required
@require_GET
def job_download(request, pk):
    job = access_job(request.user, pk)
    if job.state != Job.State.DONE:
        return render(
            request,
            "jobs/unavailable.html",
            {"job": job, "message": _("這項工作尚未完成。")},
            status=409,
        )
    if not job.result:
        return render(
            request,
            "jobs/unavailable.html",
            {"job": job, "message": _("這項工作沒有檔案可下載。")},
            status=404,
        )
    if not files.exists(job.result):
        return render(
            request,
            "jobs/unavailable.html",
            {"job": job, "message": _("檔案已超過保存期限而刪除；請重新產生。")},
            status=410,
        )
    files.touch(job.result)
    response = FileResponse(files.open_file(job.result), content_type=job.content_type)
    inline = job.content_type == "application/pdf"
    response["Content-Disposition"] = content_disposition_header(not inline, job.filename)
    return response


@login_required
@require_POST
def job_cancel_view(request, pk):
    job = access_job(request.user, pk)
    # Who asked may cancel; a reader of the agency only watches.
    if job.user_id != request.user.pk and not request.user.is_superuser:
        raise PermissionDenied
    job_cancel(job=job)
    return redirect("job", pk=job.pk)


@login_required
@require_GET
def job_list(request):
    fail_stale_jobs()
    return render(
        request,
        "jobs/list.html",
        {"jobs": jobs_for_user(request.user), "others": jobs_of_agencies(request.user)},
    )
