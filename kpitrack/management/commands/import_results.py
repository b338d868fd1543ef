from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from performance import workbook as wb
from performance.workbook_import import import_workbook


class Command(BaseCommand):
    help = (
        "Import a filled-in entry workbook (downloaded from 「Excel 填報」) as USER: the same "
        "checks, per-row report and all-or-nothing write as the upload page."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx file")
        parser.add_argument("--user", required=True, help="username the figures are entered as")
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would change; write nothing"
        )

    def handle(self, file, user, dry_run, **options):
        person = get_user_model().objects.filter(username=user, is_active=True).first()
        if person is None:
            raise CommandError(_("找不到使用者「%(user)s」。") % {"user": user})
        path = Path(file)
        limit = wb.max_bytes()
        try:
            size = path.stat().st_size
            if size > limit:
                raise CommandError(str(wb.too_big(size)))
            # A device or pipe says size 0 and may never end (/dev/zero): read one byte past the
            # limit at most, and refuse what goes past it.
            with path.open("rb") as source:
                data = source.read(limit + 1)
            if len(data) > limit:
                raise CommandError(
                    _("輸入超過上限 %(limit)s 位元組，已停止讀取。") % {"limit": f"{limit:,}"}
                )
        except OSError as exc:
            raise CommandError(
                _("無法讀取檔案 %(path)s：%(error)s") % {"path": path, "error": exc.strerror}
            ) from None
        report = import_workbook(data, name=path.name, user=person, commit=not dry_run)
        for line in report.lines():
            self.stdout.write(line)
        if not report.ok:
            raise CommandError(
                _("匯入被拒絕：%(count)s 個問題，沒有寫入任何資料。")
                % {"count": len(report.all_problems)}
            )
        if dry_run:
            self.stdout.write(
                _("試算完成：%(count)s 列將有變更；未寫入任何資料。")
                % {"count": len(report.changed_rows)}
            )
        else:
            self.stdout.write(
                _("已寫入 %(count)s 列的變更。") % {"count": len(report.changed_rows)}
            )
