from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from kpitrack import health
from kpitrack.core.answers import answer, error, json_endpoint
from kpitrack.core.formatting import through_quarter_choices
from kpitrack.core.forms import PeriodForm
from kpitrack.tables import AchievementTable
from performance.landing import landing_url_for
from performance.permissions import agencies_for_user
from performance.selectors import achievements_for_year, goal_years, latest_approved_period


def _years(user) -> list[int]:
    """The years with goals among the agencies the user may see, newest first."""
    by_agency = goal_years(agencies=agencies_for_user(user))
    return sorted(set().union(*by_agency.values()), reverse=True)


def _latest(user) -> str | None:
    """The achievements page's address for the newest quarter with approved figures (else the
    newest year with goals), so no menu link opens on an empty or invalid period."""
    agencies = agencies_for_user(user)
    period = latest_approved_period(agencies=agencies)
    if period is not None:
        return f"{reverse('achievements')}?year={period[0]}&quarter={period[1]}"
    years = _years(user)
    return f"{reverse('achievements')}?year={years[0]}" if years else None


@login_required
def home(request):
    target = _latest(request.user)
    if target is None:
        return render(request, "home.html")
    return redirect(target)


@login_required
def achievements(request):
    if not request.GET:
        target = _latest(request.user)
        if target is not None:
            return redirect(target)
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


# --- Health (issue 15): public, no sign-in, no session, no template -----------------------------


@json_endpoint("GET", "HEAD", signed_in=False)
def healthz(request):
    """The process answers: no database, no cache, nothing that could be down but itself."""
    return _no_store(answer({"status": "ok"}))


@json_endpoint("GET", "HEAD", signed_in=False)
def readyz(request):
    """Ready to serve: kpitrack.health's checks; else 503 naming the ones that failed, an
    error in the one shape (kpitrack.core.answers) that keeps the probe's `status` and
    `failed`."""
    failed = health.failures()
    if failed:
        message = _("目前無法提供服務：部分檢查未通過。")
        return _no_store(error(message, 503, status="unavailable", failed=failed))
    return _no_store(answer({"status": "ok"}))


def _no_store(response):
    response["Cache-Control"] = "no-store"
    return response


class LoginView(auth_views.LoginView):
    """Sign-in that lands each role on the page it works from (`performance.landing`); a safe
    `next` still wins, as Django's own view decides."""

    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return landing_url_for(self.request.user)
