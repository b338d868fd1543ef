"""`make run`'s demo cast: the `demo` superuser and one user per role in the National Immigration
Agency (nia), all with the demo password, and a responsible unit for each FY2013 indicator.

The FY2013 budget document names no responsible unit, so each indicator gets the unit whose
duties (agency.yaml) cover it; `snakehead` keeps the unit the FY2012 report names for it. An
indicator that already has a unit keeps it. FY2013 is long past, so each of those units gets an
entry exception for every FY2013 quarter (as an administrator would grant one), open for a year
from the day the command runs. Idempotent: what exists is left as it is.
"""

import os
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from budget.models import Agency, Membership, Unit
from budget.services import membership_create
from kpitrack.core.engine.calendar import QUARTERS
from performance.models import EntryException, Indicator
from performance.services import entry_exception_grant, indicator_update

AGENCY = "nia"
PARENT = "moi"  # 內政部: its viewer sees nia as an agency under it
YEAR = 2013
Role = Membership.Role
# The unit both `staff` and `head` belong to: it is responsible for two FY2013 indicators (a
# rating and a multi-part target).
DEMO_UNIT = "international-affairs"
# (username, role, agency code, unit code)
CAST = (
    ("staff", Role.STAFF, AGENCY, DEMO_UNIT),
    ("head", Role.HEAD, AGENCY, DEMO_UNIT),
    ("planner", Role.PLANNER, AGENCY, None),
    ("director", Role.DIRECTOR, AGENCY, None),
    ("viewer", Role.VIEWER, PARENT, None),
)
# FY2013 indicator code -> unit code, by the units' duties in agency.yaml.
RESPONSIBLE_UNITS = {
    "pass-card": "entry-exit-affairs",  # 外國人入國審理 (入出國事務組)
    "marriage-migrant-guidance": "immigration-affairs",  # 移民輔導
    "anti-trafficking": DEMO_UNIT,  # 國際評等與合作
    "intl-cooperation": DEMO_UNIT,  # 與各國之合作聯繫
    "procurement": "secretariat",  # 採購 is 秘書室's in most agencies
    "campus-alliance": "service-corps",  # 各縣市服務站 belong to 服務事務大隊
    "repatriation": "detention-corps",  # 收容、強制出境
    "runaway-workers": "special-ops-corps-1",  # 外來人口訪查、違法調查
    "snakehead": "border-affairs-corps",  # named by the FY2012 report
    "finance-audit": "accounting",  # 歲計、會計
    "core-competency": "personnel",  # 人事
}


class Command(BaseCommand):
    help = _("建立示範使用者（每種角色一位）並指派 102 年度指標的主辦單位；可重複執行。")

    def handle(self, **options):
        password = os.environ.get("DEMO_PASSWORD", "kpitrack-demo")
        admin = self.ensure_user(os.environ.get("DEMO_USER", "demo"), password, superuser=True)
        agencies = {a.code: a for a in Agency.objects.filter(code__in=[AGENCY, PARENT])}
        if AGENCY not in agencies:
            self.stdout.write(_("尚未載入機關 %(code)s，未建立角色示範使用者。") % {"code": AGENCY})
            return
        units = {u.code: u for u in Unit.objects.filter(agency=agencies[AGENCY])}
        with transaction.atomic():
            for username, role, agency_code, unit_code in CAST:
                user = self.ensure_user(username, password)
                self.ensure_membership(
                    user, agencies[agency_code], role, units.get(unit_code), by=admin
                )
            self.assign_units(agencies[AGENCY], units, by=admin)
            self.open_quarters(agencies[AGENCY], by=admin)
        self.stdout.write(
            _("示範帳號（密碼皆為 %(password)s）：%(users)s")
            % {"password": password, "users": "、".join([admin.username, *(c[0] for c in CAST)])}
        )

    def ensure_user(self, username, password, *, superuser=False):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            create = User.objects.create_superuser if superuser else User.objects.create_user
            return create(username=username, email="", password=password)
        if not user.check_password(password):
            self.stdout.write(
                _("示範使用者 %(user)s 的密碼已變更，保留不動。") % {"user": username}
            )
        return user

    def ensure_membership(self, user, agency, role, unit, *, by):
        if Membership.objects.filter(user=user, agency=agency, unit=unit, role=role).exists():
            return
        membership_create(
            member=user, agency=agency, unit=unit, role=role, user=by, reason=_("示範資料")
        )

    def assign_units(self, agency, units, *, by):
        indicators = Indicator.objects.filter(
            goal__agency=agency, goal__year=YEAR, responsible_unit__isnull=True
        )
        for indicator in indicators:
            unit = units.get(RESPONSIBLE_UNITS.get(indicator.code))
            if unit is None:
                continue
            indicator_update(
                indicator=indicator,
                expected_version=indicator.version,
                user=by,
                reason=_("示範資料：文件未載明主辦單位，依單位職掌指派"),
                responsible_unit=unit,
            )

    def open_quarters(self, agency, *, by):
        today = timezone.localdate()
        open_units = set(
            Indicator.objects.filter(
                goal__agency=agency, goal__year=YEAR, responsible_unit__isnull=False
            ).values_list("responsible_unit", flat=True)
        )
        already = set(
            EntryException.objects.filter(agency=agency, year=YEAR, until__gte=today).values_list(
                "unit_id", "quarter"
            )
        )
        for unit in Unit.objects.filter(pk__in=open_units):
            for quarter in QUARTERS:
                if (unit.pk, quarter) in already:
                    continue
                entry_exception_grant(
                    agency=agency,
                    unit=unit,
                    year=YEAR,
                    quarter=quarter,
                    until=today + timedelta(days=365),
                    user=by,
                    reason=_("示範資料：開放 102 年度各季填報，供示範使用者走完填報與審核流程"),
                )
