from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from budget.models import Agency
from kpitrack.core.bulk import analyze
from kpitrack.sources import DocumentError, load_folder, read_folder


def analyze_loaded():
    """Statistics for the tables a load fills (PostgreSQL), so the first reports and dashboards
    are planned on them."""
    analyze(
        *apps.get_app_config("budget").get_models(),
        *apps.get_app_config("performance").get_models(),
        vacuum=True,
    )


class Command(BaseCommand):
    help = "Load an agency's source documents (docs/data-format.md) from a folder of YAML files."

    def add_arguments(self, parser):
        parser.add_argument("folder", help="e.g. fixtures/nia")
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="do nothing when the folder's agency is already in the database",
        )

    def handle(self, folder, if_missing=False, **options):
        try:
            if if_missing:
                code = read_folder(folder).agency.agency.code
                if Agency.objects.filter(code=code).exists():
                    self.stdout.write(_("機關「%(code)s」已載入，略過。") % {"code": code})
                    return
            report = load_folder(folder)
            analyze_loaded()
        except DocumentError as exc:
            # CommandError prints its message and exits with status 1, without a traceback.
            raise CommandError(
                _("來源文件有 %(n)s 個問題，未寫入任何資料：") % {"n": len(exc.problems)}
                + "\n"
                + "\n".join(exc.problems)
            ) from exc
        years = "、".join(str(y) for y in report.years)
        self.stdout.write(
            _("已載入機關 %(agency)s（%(years)s 年）：新增 %(created)s 筆、更新 %(updated)s 筆。")
            % {
                "agency": report.agency,
                "years": years,
                "created": report.created,
                "updated": report.updated,
            }
        )
