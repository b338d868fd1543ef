"""The job pages: one job (progress bar, then the download or why it failed, and a cancel
button), its status as JSON for the page's polling, the download, and the user's jobs."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kpitrack.core.answers import answer, error, json_endpoint

from . import files
from .kinds import outcome_template
from .models import Job
from .runners import sweep_stale_jobs_now_and_then
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
    sweep_stale_jobs_now_and_then()
    job = access_job(request.user, pk)
    context = {
        "job": job,
        "status": status_of(job),
        "parts": parts_of(job) if job.total else [],
        "outcome_template": outcome_template(job.kind),
    }
    return render(request, "jobs/job.html", context)


@json_endpoint("GET")
def job_status(request, pk):
    """Always JSON in the one shape (kpitrack.core.answers), errors too: the page's script
    reads it every second or two, and reads an error's `error` when the answer is not 200."""
    try:
        sweep_stale_jobs_now_and_then()
        job = access_job(request.user, pk)
    except Http404:
        return error(_("沒有這項工作。"), 404)
    except PermissionDenied:
        return error(_("您沒有權限檢視這項工作。"), 403)
    return answer(status_of(job))


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
    sweep_stale_jobs_now_and_then()
    return render(
        request,
        "jobs/list.html",
        {"jobs": jobs_for_user(request.user), "others": jobs_of_agencies(request.user)},
    )
