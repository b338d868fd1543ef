"""manage.py send_reminders (for cron, e.g. daily): notifies (inbox, and e-mail where there is
an address) the units whose quarter is not submitted as the entry deadline nears
(REMIND_DAYS_BEFORE) and after it passed, and reviewers with results waiting. Each reminder
goes to each person once per period, however often this runs."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from performance.services import reminders_send


class Command(BaseCommand):
    help = _("寄送填報與審核提醒；同一提醒不會重複寄送。")

    def handle(self, *args, **options):
        count = reminders_send()
        self.stdout.write(
            _("已發出 %(count)s 則提醒通知；有電子郵件地址者另寄郵件。") % {"count": count}
        )
