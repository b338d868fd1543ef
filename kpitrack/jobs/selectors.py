"""Reads of jobs, and who may see one: the user who asked, or anyone who may read the agency
whose data it renders (performance.permissions) and, when the job covers several (a ministry's
季管考 report or indicator table: the ids in its params' "agencies"), every one of them."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from performance.permissions import access, agencies_for_user, can_view_agency

from .models import Job

RECENT = 30


def can_see_job(user, job: Job) -> bool:
    if not user.is_authenticated:
        return False
    if job.user_id == user.pk or (user.is_active and user.is_superuser):
        return True
    if job.agency is None or not can_view_agency(user, job.agency):
        return False
    covered = job.params.get("agencies") or ()
    return set(covered) <= access(user).visible


def access_job(user, pk) -> Job:
    """The job `pk`: 404 when there is none, 403 when it is not the user's to see."""
    job = Job.objects.select_related("agency").filter(pk=pk).first()
    if job is None:
        raise Http404("job")
    if not can_see_job(user, job):
        raise PermissionDenied
    return job


def jobs_for_user(user, *, limit: int = RECENT) -> list[Job]:
    """The user's own recent jobs (parts of a bundle are shown through their bundle)."""
    return list(Job.objects.filter(user=user, parent__isnull=True).select_related("agency")[:limit])


def jobs_of_agencies(user, *, limit: int = RECENT) -> list[Job]:
    """Recent jobs others asked for about agencies the user may read."""
    jobs = (
        Job.objects.filter(parent__isnull=True, agency__in=agencies_for_user(user))
        .filter(~Q(user=user))
        .select_related("agency", "user")[:limit]
    )
    return [job for job in jobs if can_see_job(user, job)]


def active_job_for(user, key: str, *, own: bool = False) -> Job | None:
    """A job already making the export `key`: a second click, or a second user asking for the
    same file, joins it instead of rendering it twice. The key names everything the file holds
    (agencies covered too), so any active job of that key the user may see will do; the user's
    own first. `own`: only the user's own (a workbook import writes as whoever confirmed it)."""
    if not key:
        return None
    jobs = Job.objects.filter(key=key, state__in=Job.ACTIVE).select_related("agency")
    if own:
        return jobs.filter(user=user).first()
    jobs = sorted(jobs, key=lambda job: (job.user_id != user.pk, job.pk))
    return next((job for job in jobs if can_see_job(user, job)), None)


def parts_of(job: Job) -> list[Job]:
    return list(job.parts.select_related("agency").order_by("pk"))
