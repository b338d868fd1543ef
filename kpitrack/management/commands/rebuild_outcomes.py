"""manage.py rebuild_outcomes: recompute every stored outcome from the figures (after a bulk
load that bypassed the services, or to check nothing drifted)."""

import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from performance.services.outcomes import rebuild


class Command(BaseCommand):
    help = _("重新計算所有指標的儲存計算結果。")

    def handle(self, *args, **options):
        started = time.perf_counter()
        count = rebuild()
        self.stdout.write(
            _("已重新計算 %(count)s 筆計算結果（%(seconds).1f 秒）。")
            % {"count": count, "seconds": time.perf_counter() - started}
        )
