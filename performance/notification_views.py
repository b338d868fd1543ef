"""The inbox (the header's bell and its page) and the completion board with its 「提醒」.
Thin, like performance/views.py: access checks in `permissions`, reads in
`performance.completion` and the inbox's one query, writes in `services.notifications`."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from budget.models import Agency, Membership, Unit
from kpitrack.core.formatting import roc_year
from kpitrack.core.forms import PeriodForm
from kpitrack.core.prepared import Prepared
from performance import permissions

from . import services
from .completion import COLUMNS, completion_board
from .models import Notification, StrategicGoal
from .services.notifications import (
    notification_link,
    notification_mark_read,
    notification_text,
    notifications_mark_all_read,
    unit_remind,
)

INBOX_PAGE_SIZE = 20


# --- the bell ----------------------------------------------------------------------------------

# The user's unread count, as one group (none: no row, so 0). Every page with the header runs
# it: its SQL is built once (kpitrack.core.prepared), where a .count() built it each time.
_UNREAD = Prepared(
    lambda user_id: (
        Notification.objects.filter(recipient_id=user_id, read_at__isnull=True)
        .order_by()
        .values("recipient_id")
        .annotate(unread=Count("pk"))
        .values_list("unread", flat=True)
    )
)


def notifications(request) -> dict:
    """The header's unread count: nothing for the signed out; for the signed in, one COUNT
    query, run only when a template shows it (a callable: JSON, xlsx and PDF never do)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def unread() -> int:
        counted = _UNREAD(user.pk)
        return counted[0] if counted else 0

    return {"notifications_unread": unread}


# --- the inbox ---------------------------------------------------------------------------------


@login_required
@require_GET
def inbox(request):
    rows = Notification.objects.filter(recipient=request.user).order_by("-created_at", "-id")
    page = Paginator(rows, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    items = [
        {
            "notification": n,
            "text": notification_text(n),
            "link": notification_link(n),
            "unread": n.read_at is None,
        }
        for n in page
    ]
    return render(request, "performance/inbox.html", {"page": page, "items": items})


@login_required
@require_POST
def inbox_read(request, pk: int):
    # Only the user's own: another's notification is as absent as one that never was.
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    notification_mark_read(notification=notification, user=request.user)
    if request.POST.get("open"):
        return redirect(notification_link(notification))
    return redirect("notifications")


@login_required
@require_POST
def inbox_read_all(request):
    count = notifications_mark_all_read(user=request.user)
    messages.success(request, _("已將 %(count)s 則通知標為已讀。") % {"count": count})
    return redirect("notifications")


# --- the completion board ----------------------------------------------------------------------


def _board_agency(user, code: str) -> Agency:
    """The agency of `code` if the user is its 初核, 管理者 or a superuser: 404 when there is
    no such agency, 403 when it is not the user's to follow up."""
    agency = Agency.objects.filter(code=code).first()
    if agency is None:
        raise Http404("agency")
    permissions.require(permissions.can_first_review(user, agency))
    return agency


def _board_agencies(user):
    if user.is_superuser:
        return Agency.objects.all()
    mine = permissions.access(user).agencies(Membership.Role.PLANNER, Membership.Role.ADMIN)
    return Agency.objects.filter(pk__in=mine)


def _last_quarter(today) -> tuple[int, int]:
    """The quarter whose entry is under way: the one that ended last."""
    quarter = (today.month - 1) // 3
    return (today.year, quarter) if quarter else (today.year - 1, 4)


@login_required
@require_GET
def board_pick(request):
    """/board/: the picker's answer (the board itself checks the agency), or with nothing
    asked, the user's first agency at the quarter under way."""
    agencies = _board_agencies(request.user).order_by("code")
    if not request.GET:
        agency = agencies.first()
        permissions.require(agency is not None)
        year, quarter = _last_quarter(timezone.localdate())
        return redirect("board", agency=agency.code, year=year, quarter=quarter)
    form = PeriodForm(request.GET)
    code = request.GET.get("agency", "").strip()
    if not code:
        form.add_error(None, _("請選擇機關。"))
    elif not re.fullmatch(r"[-\w]+", code, flags=re.ASCII):  # no agency code looks otherwise
        form.add_error(None, _("找不到機關代碼「%(code)s」。") % {"code": code})
    if not form.is_valid():
        context = {"form": form, "agencies": agencies, "columns": COLUMNS}
        return render(request, "performance/board.html", context, status=400)
    return redirect(
        "board", agency=code, year=form.cleaned_data["year"], quarter=form.cleaned_data["quarter"]
    )


def _period_form(year, quarter) -> PeriodForm:
    return PeriodForm({"year": str(year), "quarter": str(quarter)})


@login_required
@require_GET
def board(request, agency: str, year: int, quarter: int):
    agency = _board_agency(request.user, agency)
    form = _period_form(year, quarter)
    agencies = _board_agencies(request.user).order_by("code")
    context = {"agency": agency, "form": form, "agencies": agencies, "columns": COLUMNS}
    if not form.is_valid():
        return render(request, "performance/board.html", context, status=400)
    years = sorted(
        set(
            StrategicGoal.objects.filter(agency=agency)
            .order_by("year")
            .values_list("year", flat=True)
            .distinct()
        )
        | {year},
        reverse=True,
    )
    context.update(
        board=completion_board(agency=agency, year=year, quarter=quarter),
        years=[(y, roc_year(y)) for y in years],
        year=year,
        quarter=quarter,
        year_label=roc_year(year),
    )
    return render(request, "performance/board.html", context)


@login_required
@require_POST
def board_remind(request, agency: str, year: int, quarter: int, unit: int):
    agency = _board_agency(request.user, agency)
    unit = get_object_or_404(Unit, pk=unit, agency=agency)
    back = reverse("board", kwargs={"agency": agency.code, "year": year, "quarter": quarter})
    form = _period_form(year, quarter)
    if not form.is_valid():
        messages.error(request, form.message)
        return redirect(back)
    period = services.period_get_or_create(agency=agency, year=year, quarter=quarter)
    if services.reminded_today(unit=unit, period=period):
        messages.info(
            request,
            _("「%(unit)s」今天已提醒過，未重複寄送；明天可再提醒。") % {"unit": unit.name},
        )
        return redirect(back)
    board = completion_board(agency=agency, year=year, quarter=quarter)
    row = next((r for r in board.rows if r.unit is not None and r.unit.pk == unit.pk), None)
    pending = row.pending if row else []
    if not pending:
        messages.info(request, _("「%(unit)s」的指標都已送出，不需提醒。") % {"unit": unit.name})
        return redirect(back)
    reminded = unit_remind(unit=unit, period=period, pending=pending, user=request.user)
    if reminded:
        names = "、".join(sorted(u.get_username() for u in reminded))
        messages.success(
            request,
            _("已提醒「%(unit)s」%(count)s 人：%(names)s。")
            % {"unit": unit.name, "count": len(reminded), "names": names},
        )
    elif services.reminded_today(unit=unit, period=period):  # another press won the race
        messages.info(
            request,
            _("「%(unit)s」今天已提醒過，未重複寄送；明天可再提醒。") % {"unit": unit.name},
        )
    else:
        messages.warning(
            request, _("「%(unit)s」沒有可通知的成員，未寄出提醒。") % {"unit": unit.name}
        )
    return redirect(back)
