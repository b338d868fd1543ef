"""manage.py restore ARCHIVE: an archive of `manage.py backup` into an empty database and media
folder, or in place of them with --replace (README, "Backups"); the work is in
kpitrack/backups/."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kpitrack.backups import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore an archive written by `manage.py backup` into the configured database and "
        "MEDIA_ROOT, after checking every member's checksum; both must be empty unless --replace."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="the .tar.gz written by manage.py backup")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="replace a database and media folder that already hold data",
        )

    def handle(self, archive, replace, **options):
        try:
            restored = restore_backup(archive, replace=replace)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        manifest = restored.manifest
        counts = manifest["row_counts"]
        self.stdout.write(
            _("已還原 %(created)s 的備份：%(tables)s 個資料表 %(rows)s 列，%(files)s 個媒體檔案。")
            % {
                "created": manifest["created_at"],
                "tables": len(counts),
                "rows": sum(counts.values()),
                "files": len(manifest["files"]) - 1,
            }
        )
        if restored.unapplied:
            self.stdout.write(
                _("還原的資料庫尚未套用 %(count)s 個 migration，請執行 manage.py migrate。")
                % {"count": len(restored.unapplied)}
            )
        if restored.mismatches:
            raise CommandError(
                _("還原後的列數與備份不符：%(tables)s")
                % {
                    "tables": "、".join(
                        f"{table} ({expected} → {found})"
                        for table, expected, found in restored.mismatches
                    )
                }
            )
        self.stdout.write(_("每個資料表的列數都與備份相符。"))
