from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _

from kpitrack.jobs import files
from kpitrack.jobs.models import Job
from kpitrack.reports.exports import FOLDER


class Command(BaseCommand):
    help = (
        "Remove stored report exports unused for EXPORT_RETENTION_DAYS days, the jobs that ended "
        "before then, and temporary files a killed worker left (for the scheduler, e.g. daily)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, help="retention in days (default: EXPORT_RETENTION_DAYS)"
        )

    def handle(self, days=None, **options):
        days = days if days is not None else settings.EXPORT_RETENTION_DAYS
        if days < 1:
            days = 1
        limit = timezone.now() - timedelta(days=days)
        old = Job.objects.filter(parent__isnull=True, finished_at__lt=limit)
        jobs = old.count()
        old.delete()
        kept = set(
            Job.objects.filter(state__in=Job.ACTIVE)
            .exclude(result="")
            .values_list("result", flat=True)
        )
        removed = files.prune(FOLDER, older_than_days=days, keep=kept)
        self.stdout.write(
            _("已刪除 %(files)s 個檔案、%(jobs)s 項已結束的工作（保存 %(days)s 天）。")
            % {"files": len(removed), "jobs": jobs, "days": days}
        )
