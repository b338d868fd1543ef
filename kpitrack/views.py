from django.contrib.auth.decorators import login_required
from django.db.models import Max
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from kpitrack.engine.calendar import is_valid_year
from kpitrack.tables import AchievementTable
from performance.models import StrategicGoal
from performance.selectors import achievements_for_year


def _years():
    return list(StrategicGoal.objects.order_by("-year").values_list("year", flat=True).distinct())


@login_required
def home(request):
    latest = StrategicGoal.objects.aggregate(latest=Max("year"))["latest"]
    if latest is None:
        return render(request, "home.html", {"years": []})
    return redirect(f"/achievements/?year={latest}")


@login_required
def achievements(request):
    years = _years()
    errors = []
    raw_year = request.GET.get("year", "")
    raw_quarter = request.GET.get("quarter", "4")
    year = int(raw_year) if raw_year.isascii() and raw_year.isdigit() else None
    quarter = int(raw_quarter) if raw_quarter in ("1", "2", "3", "4") else None
    if year is None or not is_valid_year(year):
        errors.append(_("請選擇有效的年度。"))
    if quarter is None:
        errors.append(_("季別必須是 1 到 4。"))
    if errors:
        context = {"years": years, "errors": errors}
        return render(request, "achievements.html", context, status=400)
    rows = achievements_for_year(year=year, through_quarter=quarter)
    table = AchievementTable(rows, request=request)
    context = {"years": years, "year": year, "quarter": quarter, "table": table, "rows": rows}
    return render(request, "achievements.html", context)
