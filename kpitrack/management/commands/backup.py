"""manage.py backup PATH: the database, every media file and a manifest in one archive (README,
"Backups"); the work is in kpitrack/backups/."""

from django.core.files.storage import FileSystemStorage, storages
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kpitrack.backups import BackupError, write_backup


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Back up the database and every media file into one archive (.tar.gz, readable by its "
        "owner only). PATH is a file, or a folder in which a timestamped name is chosen."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the archive to write, or a folder for it")
        parser.add_argument("--force", action="store_true", help="overwrite an existing file")
        parser.add_argument(
            "--keep",
            type=_at_least_one,
            metavar="N",
            help="with a folder: afterwards delete all but the newest N kpitrack-backup-* archives",
        )

    def handle(self, path, force, keep, **options):
        try:
            written = write_backup(path, force=force, keep=keep)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        manifest = written.manifest
        self.stdout.write(
            _("已寫入備份 %(path)s：%(tables)s 個資料表共 %(rows)s 列，%(files)s 個媒體檔案。")
            % {
                "path": written.path,
                "tables": len(manifest["row_counts"]),
                "rows": sum(manifest["row_counts"].values()),
                "files": len(manifest["files"]) - 1,
            }
        )
        for old in written.pruned:
            self.stdout.write(_("已刪除較舊的備份 %(path)s。") % {"path": old})
        if not isinstance(storages["default"], FileSystemStorage):
            # The archive holds MEDIA_ROOT; with object storage the files are not there, and a
            # backup that silently lacks every evidence file would only be found out at a restore.
            self.stderr.write(
                _(
                    "注意：檔案存放於物件儲存（STORAGE_BACKEND），不在這份備份中；"
                    "請以物件儲存本身的方式（版本保留、異地複寫）備份，時間與資料庫備份相同。"
                )
            )
