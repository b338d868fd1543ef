"""Writes of jobs: start and cancel (running one: kpitrack.jobs.execution). A job row is
operational bookkeeping, not the agency's data: it records who asked itself and keeps no
history (kpitrack.core.writes is for the KPI data people change)."""

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import runners
from .kinds import kind_function
from .models import Job

State = Job.State


def job_start(*, kind: str, user, params: dict, title: str = "", agency=None, key: str = ""):
    """A new job, handed to the workers when the transaction commits. Raises QueueUnavailable
    (kpitrack.jobs.runners) when a broker is configured but cannot be reached and no fallback
    to the in-process pool is allowed; the job is then failed with that message."""
    kind_function(kind)  # an unknown kind is a programming error: refused before any row
    params = {"language": translation.get_language() or settings.LANGUAGE_CODE, **params}
    job = Job.objects.create(
        kind=kind,
        user=user,
        params=params,
        title=title[:200],
        agency=agency,
        key=key,
        # This process's pool will hold it: its first heartbeat in the row it is made with,
        # not in a write of its own on commit (a query and a commit less for a report's start).
        heartbeat_at=None if runners.uses_broker() else timezone.now(),
    )
    runners.dispatch(job)
    return job


def bundle_start(*, kind: str, user, params: dict, title: str, agency, parts: list[dict]):
    """A job made of parts (one per agency), each a job of its own run by whichever worker is
    free; when the last part ends the bundle job itself runs (e.g. zips the parts' files).
    `parts` are keyword arguments of job_start for each part."""
    kind_function(kind)
    language = translation.get_language() or settings.LANGUAGE_CODE
    with transaction.atomic():
        bundle = Job.objects.create(
            kind=kind,
            user=user,
            params={"language": language, **params},
            title=title[:200],
            agency=agency,
            total=len(parts),
        )
        children = [
            Job.objects.create(
                parent=bundle,
                user=user,
                kind=part["kind"],
                params={"language": language, **part["params"]},
                title=part.get("title", "")[:200],
                agency=part.get("agency"),
                key=part.get("key", ""),
            )
            for part in parts
        ]
    try:
        for child in children:
            runners.dispatch(child)
        if not children:
            runners.dispatch(bundle)
    except runners.QueueUnavailable:
        # dispatch failed the part it could not queue; the bundle and the parts not handed
        # over would otherwise wait in the job list for ever (a broker's queue is never stale).
        Job.objects.filter(Q(pk=bundle.pk) | Q(parent=bundle), state__in=Job.ACTIVE).update(
            state=State.FAILED,
            error=_("排程佇列目前無法使用，工作未開始。"),
            finished_at=timezone.now(),
        )
        raise
    return bundle


def job_cancel(*, job: Job) -> bool:
    """Cancels a job that has not ended (and its parts). False when it had ended already."""
    now = timezone.now()
    with transaction.atomic():
        cancelled = Job.objects.filter(pk=job.pk, state__in=Job.ACTIVE).update(
            state=State.CANCELLED, finished_at=now, step=""
        )
        Job.objects.filter(parent=job, state__in=Job.ACTIVE).update(
            state=State.CANCELLED, finished_at=now, step=""
        )
    job.refresh_from_db()
    return bool(cancelled)
