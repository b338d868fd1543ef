"""Notifications: who is told of each review transition, deadline and reminder, in the inbox and
by e-mail, each once.

"Once" is the database's unique key (recipient, kind, event) on `Notification`, so two app
servers, or a command run twice, cannot double a notification: only the rows that did not
exist before are written, and only those count as made (`_create`: a fixed number of queries
for any number of people, moves or units). A transition's rows are written in the
transition's own transaction, so a rolled-back transition notified nobody; its e-mails go once
that transaction commits. E-mails are claimed (emailed_at set) by one UPDATE before they are
sent, each row won by one writer only, and released again if sending fails, so the next run
retries it and a sent one is never repeated.

There is no per-user language: an e-mail is worded in Traditional Chinese with the English
below it; the inbox words each notification in the reader's language when it is shown."""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from budget.models import Membership, Unit
from kpitrack.core.formatting import roc_year

from ..models import Notification, ReportingPeriod, Result

log = logging.getLogger(__name__)
Kind = Notification.Kind
Role = Membership.Role
UNIT_ROLES = (Role.STAFF, Role.HEAD)

# --- wording -----------------------------------------------------------------------------------


def _texts() -> dict[str, str]:
    # Looked up on each call so each reader gets their language.
    return {
        Kind.RETURNED: _("「%(indicator)s」%(period)s的成果已退回修正：%(comment)s"),
        Kind.SUBMITTED: _("「%(indicator)s」%(period)s的成果已送出，等待初核。"),
        Kind.FIRST_APPROVED: _("「%(indicator)s」%(period)s的成果初核通過，等待複核。"),
        Kind.APPROVED: _("「%(indicator)s」%(period)s的成果已核定。"),
        Kind.REOPENED: _("「%(indicator)s」%(period)s的成果已重新開放修正：%(comment)s"),
        Kind.ENTRY_DUE_SOON: _(
            "%(period)s績效填報將於 %(closes)s 截止，尚有 %(count)s 項指標未送出。"
        ),
        Kind.ENTRY_OVERDUE: _(
            "%(period)s績效填報已於 %(closes)s 截止，尚有 %(count)s 項指標未送出。"
        ),
        Kind.FIRST_REVIEW_WAITING: _("%(period)s有 %(count)s 項成果待初核（期限 %(due)s）。"),
        Kind.FINAL_REVIEW_WAITING: _("%(period)s有 %(count)s 項成果待複核（期限 %(due)s）。"),
        Kind.REMINDER: _(
            "%(actor)s 提醒：%(period)s績效填報截止日為 %(closes)s，"
            "貴單位尚有 %(count)s 項指標未送出。"
        ),
    }


def _period(year, quarter) -> str:
    return _("%(year)s第%(quarter)s季") % {"year": roc_year(year), "quarter": quarter}


class _Params(dict):
    """A notification's parameters; one a row lacks (a reminder carried over from before
    notifications, issue 17) reads as a dash rather than failing the inbox."""

    def __missing__(self, key):
        return "—"


def notification_text(notification: Notification) -> str:
    """The notification's sentence in the active language."""
    params = _Params(notification.params)
    params["period"] = _period(params.get("year", ""), params.get("quarter", "—"))
    params.setdefault("indicator", "")
    return _texts()[notification.kind] % params


def notification_link(notification: Notification) -> str:
    """Where the notification's matter is worked on: the result's page, or 我的工作."""
    params = notification.params
    if notification.result_id is not None and "indicator_id" in params:
        return reverse(
            "result-entry",
            kwargs={"indicator": params["indicator_id"], "quarter": params["quarter"]},
        )
    return reverse("my-work")


def _email(notification: Notification) -> tuple[str, str]:
    """Subject and body: Traditional Chinese, then English below."""
    link = notification_link(notification)
    base = settings.SITE_URL.rstrip("/")
    reviews = (Kind.FIRST_REVIEW_WAITING, Kind.FINAL_REVIEW_WAITING)
    parts, subject = [], ""
    for language in ("zh-hant", "en"):
        with translation.override(language):
            text = notification_text(notification)
            lines = [text]
            names = notification.params.get("indicators") or []
            if names:
                if notification.kind in reviews:
                    lines.append(_("下列指標等待審核："))
                else:
                    lines.append(_("下列指標尚未送出："))
                lines += [f"- {name}" for name in names]
            lines.append(f"{base}{link}")
            parts.append("\n".join(lines))
            # The subject in Chinese, as the office reads it; a comment is left to the body.
            subject = subject or "【kpitrack】" + text.splitlines()[0][:150]
    return subject, "\n\n----\n\n".join(parts)


def notifications_email(ids: Iterable[int]) -> int:
    """E-mails each notification of `ids` whose recipient has an address and that was not
    e-mailed before; how many went. Runs outside any transaction of the caller's: the claim is
    committed before the mails are handed over. A fixed number of queries however many: the
    rows, their claim, and the release of any that could not be sent."""
    rows = Notification.objects.filter(
        pk__in=list(ids), emailed_at__isnull=True, recipient__is_active=True
    ).exclude(recipient__email="")
    rows = list(rows.select_related("recipient"))
    unsent = _claim([n.pk for n in rows])  # another process has the others
    sent = 0
    try:
        for notification in rows:
            if notification.pk not in unsent:
                continue
            subject, body = _email(notification)
            try:
                send_mail(subject, body, None, [notification.recipient.email])
            except Exception:
                log.exception("notification_email_failed", extra={"notification": notification.pk})
                continue
            unsent.discard(notification.pk)
            sent += 1
    finally:
        # Released for the next run to retry (the inbox has them already): those that failed,
        # and those not reached when something stopped the loop.
        if unsent:
            Notification.objects.filter(pk__in=unsent).update(emailed_at=None)
    return sent


def _claim(ids: list[int]) -> set[int]:
    """Marks the notifications of `ids` not e-mailed yet as e-mailed, in one statement, and
    returns those this call marked: two processes mailing the same rows each get the ones they
    won, never the same one. UPDATE … RETURNING, which Django's update() does not offer
    (SQLite 3.35+ and PostgreSQL have it)."""
    if not ids:
        return set()
    quote = connection.ops.quote_name
    meta = Notification._meta
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    emailed = quote(meta.get_field("emailed_at").column)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    places = ", ".join(["%s"] * len(ids))
    sql = (
        f"UPDATE {table} SET {emailed} = %s WHERE {pk} IN ({places}) AND {emailed} IS NULL "
        f"RETURNING {pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, *ids])
        return {pk for (pk,) in cursor.fetchall()}


# --- making them -------------------------------------------------------------------------------


def _create(batches) -> list[list[Notification]]:
    """Each batch of `batches` is (users, kind, event, refs): one notification of `kind` for
    `event` to each active user that has none yet. Returns, batch by batch, the ones made now.

    A fixed number of queries whatever the number of batches and people: the keys that exist
    already are read at once and the others inserted by one statement, in a savepoint. Should
    another writer make one of them in between, that statement fails as a whole (the unique
    key) and each is then made by get_or_create, person by person: either way exactly the rows
    this call made. A key asked for twice in one call is made once, for the first batch."""
    wanted = [
        [
            (user, kind, event, refs)
            for user in sorted((u for u in users if u.is_active), key=lambda u: u.pk)
        ]
        for users, kind, event, refs in batches
    ]
    keys = {(user.pk, kind, event) for batch in wanted for user, kind, event, _r in batch}
    if not keys:
        return [[] for _batch in wanted]
    existing = set(
        Notification.objects.filter(
            recipient_id__in={k[0] for k in keys},
            kind__in={k[1] for k in keys},
            event__in={k[2] for k in keys},
        )
        .order_by()
        .values_list("recipient_id", "kind", "event")
    )
    made, taken = [], set(existing)
    for batch in wanted:
        made.append([])
        for user, kind, event, refs in batch:
            if (user.pk, kind, event) not in taken:
                taken.add((user.pk, kind, event))
                made[-1].append(Notification(recipient=user, kind=kind, event=event, **refs))
    rows = [n for batch in made for n in batch]
    if not rows:
        return made
    try:
        with transaction.atomic():
            Notification.objects.bulk_create(rows)
    except IntegrityError:
        return [_create_one_by_one(batch) for batch in wanted]
    return made


def _create_one_by_one(batch) -> list[Notification]:
    made = []
    for user, kind, event, refs in batch:
        notification, created = Notification.objects.get_or_create(
            recipient=user, kind=kind, event=event, defaults=refs
        )
        if created:
            made.append(notification)
    return made


def _unit_source(unit_id):
    return ("unit", unit_id) if unit_id is not None else None


def _sources(result: Result, action: str) -> list[tuple[str, list]]:
    """(kind, [whose members are told]) for `action` on `result` (after the move): a unit's
    staff and head ("unit", id), an agency's role ("agency", id, role), or who approved the
    result at 初核 or 複核, as its history records ("reviewers", result id)."""
    indicator = result.indicator
    unit = _unit_source(result.owner_unit_id or indicator.responsible_unit_id)
    agency_id = indicator.goal.agency_id
    if action in ("first_return", "final_return"):
        return [(Kind.RETURNED, [unit])]
    if action == "submit":
        return [(Kind.SUBMITTED, [("agency", agency_id, Role.PLANNER)])]
    if action == "first_approve":
        if result.state == Result.State.APPROVED:  # 複核 switched off: this approval is final
            return [(Kind.APPROVED, [unit])]
        return [(Kind.FIRST_APPROVED, [("agency", agency_id, Role.DIRECTOR), unit])]
    if action == "final_approve":
        return [(Kind.APPROVED, [unit])]
    if action == "reopen":
        return [(Kind.REOPENED, [unit, ("reviewers", result.pk)])]
    raise ValueError(action)


def people_of(sources) -> dict:
    """The users of each source (see _sources; the reminders ask for units and agency roles
    too): one query for all the units, one for all the agency roles and two for all the
    results' reviewers, whatever their number."""
    people = {source: set() for source in sources if source is not None}
    units = {s[1] for s in people if s[0] == "unit"}
    if units:
        rows = Membership.objects.filter(unit_id__in=units, role__in=UNIT_ROLES)
        for m in rows.select_related("user"):
            people[("unit", m.unit_id)].add(m.user)
    roles = {s[1:] for s in people if s[0] == "agency"}
    if roles:
        rows = Membership.objects.filter(
            agency_id__in={agency for agency, _role in roles},
            unit__isnull=True,
            role__in={role for _agency, role in roles},
        )
        for m in rows.select_related("user"):
            if (m.agency_id, m.role) in roles:
                people[("agency", m.agency_id, m.role)].add(m.user)
    results = {s[1] for s in people if s[0] == "reviewers"}
    if results:
        approvals = set(
            Result.history.filter(
                id__in=results, state__in=(Result.State.FIRST_APPROVED, Result.State.APPROVED)
            )
            .exclude(history_user__isnull=True)
            .values_list("id", "history_user_id")
        )
        users = get_user_model().objects.in_bulk({user for _r, user in approvals})
        for result, user in approvals:
            people[("reviewers", result)].add(users[user])
    return people


def notifications_for_transitions(moves, *, actor) -> list[list]:
    """Tells those concerned of each (result, action, comment) of `moves`: `action` (a key of
    Result.TRANSITIONS) was done on `result`, which the caller has just saved in its
    transaction; the rows now, the e-mails on commit. The people are read and the rows
    written once for all the moves (review_bulk approves a batch so). The actor is not told of
    their own act. Returns, move by move, the users notified now."""
    if not moves:  # a quarter sent with every row refused
        return []
    batches, first = [], []
    planned = [_sources(result, action) for result, action, _comment in moves]
    people = people_of(source for plan in planned for _kind, sources in plan for source in sources)
    for (result, _action, comment), plan in zip(moves, planned, strict=True):
        params = {
            "indicator": result.indicator.name,
            "indicator_id": result.indicator_id,
            "year": result.indicator.goal.year,
            "quarter": result.quarter,
            "comment": comment.strip(),
            "actor": actor.get_username() if actor is not None else "",
        }
        # The version this transition claimed names it: a later transition has another.
        event = f"result:{result.pk}:v{result.version}"
        first.append(len(batches))
        for kind, sources in plan:
            users = set().union(*(people.get(source, set()) for source in sources))
            users = {u for u in users if actor is None or u.pk != actor.pk}
            batches.append((users, kind, event, {"result": result, "params": params}))
    made = _create(batches)
    ids = [n.pk for batch in made for n in batch]
    if ids:
        transaction.on_commit(lambda: notifications_email(ids))
    ends = [*first[1:], len(batches)]
    return [
        [n.recipient for batch in made[start:end] for n in batch]
        for start, end in zip(first, ends, strict=True)
    ]


def notifications_for_transition(*, result: Result, action: str, actor, comment: str = ""):
    """notifications_for_transitions for one move: the users notified now."""
    return notifications_for_transitions([(result, action, comment)], actor=actor)[0]


def notifications_for_periods(batches) -> list[list[Notification]]:
    """Deadline, review-waiting or reminder notifications, each batch (users, kind, period,
    params, event) one of them to `users`, once per period (or per `event`, when not None),
    e-mailed at once. Written and mailed together, in a fixed number of queries however many
    batches (the daily reminders send one per unit: services.reminders). Returns, batch by
    batch, the ones made now."""
    made = _create(
        [
            (
                users,
                kind,
                event or f"period:{period.pk}",
                {
                    "period": period,
                    "params": {"year": period.year, "quarter": period.quarter, **params},
                },
            )
            for users, kind, period, params, event in batches
        ]
    )
    notifications_email([n.pk for batch in made for n in batch])
    return made


def notifications_for_period(
    users, *, kind: str, period: ReportingPeriod, params: dict, event: str | None = None
) -> list[Notification]:
    """notifications_for_periods for one batch: the ones made now."""
    return notifications_for_periods([(users, kind, period, params, event)])[0]


def unit_remind(*, unit: Unit, period: ReportingPeriod, pending: list[str], user) -> list:
    """The completion board's 「提醒」: the unit's staff and head are reminded now, at most once a
    day per unit (the day is in the event's key). Returns the users reminded; empty when the
    unit was reminded today already or has nobody to remind (reminded_today says which)."""
    event = remind_event(unit, period)
    params = {
        "actor": user.get_username(),
        "closes": period.closes_on.isoformat(),
        "count": len(pending),
        "indicators": pending,
    }
    made = notifications_for_period(
        people_of([("unit", unit.pk)])[("unit", unit.pk)],
        kind=Kind.REMINDER,
        period=period,
        params=params,
        event=event,
    )
    return [n.recipient for n in made]


def remind_event(unit: Unit, period: ReportingPeriod) -> str:
    return f"remind:{period.pk}:{unit.pk}:{timezone.localdate().isoformat()}"


def reminded_today(*, unit: Unit, period: ReportingPeriod) -> bool:
    """Whether the unit was sent the board's reminder of `period` today."""
    return Notification.objects.filter(
        kind=Kind.REMINDER, event=remind_event(unit, period)
    ).exists()


# --- reading and marking -----------------------------------------------------------------------


def notification_mark_read(*, notification: Notification, user) -> None:
    """Marks one of the user's own notifications read (nobody else's: the caller fetched it
    through the user's inbox)."""
    Notification.objects.filter(pk=notification.pk, recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def notifications_mark_all_read(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


__all__ = [
    "notification_link",
    "notification_mark_read",
    "notification_text",
    "notifications_email",
    "notifications_for_period",
    "notifications_for_periods",
    "notifications_for_transition",
    "notifications_for_transitions",
    "notifications_mark_all_read",
    "people_of",
    "reminded_today",
    "unit_remind",
]
