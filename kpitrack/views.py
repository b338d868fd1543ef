from django.contrib.auth.decorators import login_required
from django.db.models import Max
from django.shortcuts import redirect, render
from django.urls import reverse

from kpitrack.formatting import through_quarter_choices
from kpitrack.forms import PeriodForm
from kpitrack.permissions import agencies_for_user
from kpitrack.tables import AchievementTable
from performance.models import StrategicGoal
from performance.selectors import achievements_for_year


def _goals(user):
    return StrategicGoal.objects.filter(agency__in=agencies_for_user(user))


def _years(user):
    return list(_goals(user).order_by("-year").values_list("year", flat=True).distinct())


@login_required
def home(request):
    latest = _goals(request.user).aggregate(latest=Max("year"))["latest"]
    if latest is None:
        return render(request, "home.html")
    return redirect(f"{reverse('achievements')}?year={latest}")


@login_required
def achievements(request):
    form = PeriodForm(request.GET)
    context = {"years": _years(request.user), "quarters": through_quarter_choices()}
    if not form.is_valid():
        context["errors"] = [str(m) for errors in form.errors.values() for m in errors]
        context["quarter"] = form.cleaned_data.get("quarter")
        return render(request, "achievements.html", context, status=400)
    year, quarter = form.cleaned_data["year"], form.cleaned_data["quarter"]
    rows = achievements_for_year(
        year=year, through_quarter=quarter, agencies=agencies_for_user(request.user)
    )
    table = AchievementTable(rows, request=request)
    context.update({"year": year, "quarter": quarter, "table": table, "rows": rows})
    return render(request, "achievements.html", context)
