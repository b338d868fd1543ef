"""Who may see, enter and review what: the one place with the rules.

Roles come from `budget.Membership`. A user's memberships are read once per request and kept on
the user object (one query, with the agency tree a viewer of a parent agency needs), so every
check below is plain arithmetic on sets, never a query per object. Superusers may do everything.

- Any membership in an agency lets its holder see that agency; 檢視 (viewer) of a parent agency,
  such as a ministry, sees every agency under it too.
- 填報人 (staff) enters the indicators of their unit; 單位主管 (head) enters and submits them.
- 初核 (planner) and 複核 (director) review every unit of their agency.
- 管理者 (admin) does all of that in their agency, and manages windows, exceptions and reopening.
- Separation of duties (an agency's `separate_review_duties`, on by default): whoever submitted
  a result or approved it at 初核, in the round now waiting for 複核, does not give it 複核
  (approve or return). A superuser may, and the service records that it did
  (`final_review_conflict`).

A page asked for something that does not exist answers 404; for something that exists but is
not the user's, 403 (`require`, and the `access_*` functions that fetch and check in one call).
Agencies and indicators are public bodies and published plans, so their existence is no secret
worth a misleading 404.

A right (`rights`) is what a role lets the user do to an indicator whatever its results' state;
an action (`allowed_actions`) is what the user may do now to one result, in its state, by the
workflow that `Result.TRANSITIONS` declares. Pages, the workbook and the API offer the actions;
the services check the same table again under the result's row lock.
"""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import FilteredRelation, Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from budget.models import Agency, Membership, Unit
from kpitrack.core.engine.calendar import QUARTERS
from kpitrack.core.prepared import Prepared
from performance.models import Evidence, Indicator, Result

Role = Membership.Role
# The attribute of the user object that holds its access for this request.
_CACHE = "_kpitrack_access"


@dataclass(frozen=True)
class Access:
    """One user's memberships, as sets of ids."""

    visible: frozenset[int] = frozenset()  # agencies the user may see
    roles: dict[str, frozenset[int]] = field(default_factory=dict)  # agency roles -> agency ids
    unit_roles: dict[str, frozenset[int]] = field(default_factory=dict)  # unit roles -> unit ids

    def agencies(self, *roles: str) -> frozenset[int]:
        return frozenset().union(*(self.roles.get(role, ()) for role in roles))

    def units(self, *roles: str) -> frozenset[int]:
        return frozenset().union(*(self.unit_roles.get(role, ()) for role in roles))


_NOBODY = Access()


# One query: every agency with the user's memberships in it (NULLs where none). Agencies are
# few (a ministry has tens), and the whole tree is what a viewer of a parent agency needs, at
# any depth. In no order: the agencies' (by code) would cost building the query more. Read on
# every signed-in request: its SQL is built once (kpitrack.core.prepared).
_MEMBERSHIPS = Prepared(
    lambda user_id: (
        Agency.objects.annotate(
            mine=FilteredRelation("memberships", condition=Q(memberships__user_id=user_id))
        )
        .order_by()
        .values_list("id", "parent_id", "mine__role", "mine__unit_id")
    )
)


def _load(user) -> Access:
    rows = _MEMBERSHIPS(user.pk)
    children: dict[int, set[int]] = {}
    visible: set[int] = set()
    roles: dict[str, set[int]] = {}
    unit_roles: dict[str, set[int]] = {}
    for agency_id, parent_id, role, unit_id in rows:
        children.setdefault(parent_id, set()).add(agency_id)
        if role is None:
            continue
        visible.add(agency_id)
        if unit_id is None:
            roles.setdefault(role, set()).add(agency_id)
        else:
            unit_roles.setdefault(role, set()).add(unit_id)
    under = set(roles.get(Role.VIEWER, ()))
    stack = list(under)
    while stack:
        for child in children.get(stack.pop(), set()) - under:
            under.add(child)
            stack.append(child)
    visible |= under
    return Access(
        visible=frozenset(visible),
        roles={role: frozenset(ids) for role, ids in roles.items()},
        unit_roles={role: frozenset(ids) for role, ids in unit_roles.items()},
    )


def access(user) -> Access:
    """The user's memberships, read on first use in a request and kept on the user object."""
    if not user.is_authenticated or not user.is_active:
        return _NOBODY
    cached = user.__dict__.get(_CACHE)
    if cached is None:
        cached = user.__dict__[_CACHE] = _load(user)
    return cached


def _everything(user) -> bool:
    return user.is_authenticated and user.is_active and user.is_superuser


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


# Agencies


def agencies_for_user(user):
    if _everything(user):
        return Agency.objects.all()
    return Agency.objects.filter(pk__in=access(user).visible)


def visible_agency_ids(user) -> frozenset[int] | None:
    """The ids of `agencies_for_user`, or None where that is every agency (a superuser): no
    query beyond the memberships."""
    if _everything(user):
        return None
    return access(user).visible


def can_view_agency(user, agency: Agency) -> bool:
    return _everything(user) or agency.pk in access(user).visible


def access_agency(user, code: str) -> Agency:
    """The agency of `code`: 404 when there is none, 403 when it is not the user's."""
    agency = Agency.objects.filter(code=code).first()
    if agency is None:
        raise Http404("agency")
    require(can_view_agency(user, agency))
    return agency


# Entry and review


def units_user_enters(user, agency: Agency):
    """The units of `agency` whose indicators the user enters (all of them for its admin)."""
    units = Unit.objects.filter(agency=agency)
    if _everything(user) or agency.pk in access(user).agencies(Role.ADMIN):
        return units
    return units.filter(pk__in=access(user).units(Role.STAFF, Role.HEAD))


def can_enter_unit(user, unit: Unit) -> bool:
    """Whether the user enters the indicators of `unit` (its 填報人 and 單位主管, the agency's
    管理者, superusers): the unit's quarter page."""
    mine = access(user)
    return (
        _everything(user)
        or unit.agency_id in mine.agencies(Role.ADMIN)
        or unit.pk in mine.units(Role.STAFF, Role.HEAD)
    )


def access_unit(user, agency_code: str, unit_code: str) -> Unit:
    """The unit `unit_code` of the agency `agency_code` (with its agency): 404 when either does
    not exist, 403 when the user does not enter its indicators."""
    unit = (
        Unit.objects.select_related("agency")
        .filter(agency__code=agency_code, code=unit_code)
        .first()
    )
    if unit is None:
        raise Http404("unit")
    require(can_enter_unit(user, unit))
    return unit


def _agency_id(indicator: Indicator) -> int:
    # select_related("goal") where indicators are listed: this reads the goal's agency id.
    return indicator.goal.agency_id


def can_enter(user, indicator: Indicator) -> bool:
    mine = access(user)
    return (
        _everything(user)
        or _agency_id(indicator) in mine.agencies(Role.ADMIN)
        or indicator.responsible_unit_id in mine.units(Role.STAFF, Role.HEAD)
    )


def can_submit(user, indicator: Indicator) -> bool:
    mine = access(user)
    return (
        _everything(user)
        or _agency_id(indicator) in mine.agencies(Role.ADMIN)
        or indicator.responsible_unit_id in mine.units(Role.HEAD)
    )


def can_first_review(user, agency: Agency) -> bool:
    return _everything(user) or agency.pk in access(user).agencies(Role.PLANNER, Role.ADMIN)


def can_final_review(user, agency: Agency) -> bool:
    return _everything(user) or agency.pk in access(user).agencies(Role.DIRECTOR, Role.ADMIN)


def can_plan(user, agency: Agency) -> bool:
    """Annual targets' 分季目標 (milestones): the planning office (初核) or the agency's 管理者."""
    return _everything(user) or agency.pk in access(user).agencies(Role.PLANNER, Role.ADMIN)


def can_manage(user, agency: Agency) -> bool:
    """Windows, entry exceptions, locks and reopening approved results."""
    return _everything(user) or agency.pk in access(user).agencies(Role.ADMIN)


def agencies_user_manages(user):
    """The agencies whose quarters the user manages (管理者; every agency for a superuser)."""
    if _everything(user):
        return Agency.objects.all()
    return Agency.objects.filter(pk__in=access(user).agencies(Role.ADMIN))


def manages_any(user) -> bool:
    """Whether the menu offers the management screens: arithmetic on the memberships the
    request has read (or reads once)."""
    return _everything(user) or bool(access(user).agencies(Role.ADMIN))


# The review queue (issue 17): the results waiting for the user's 初核 or 複核.

FIRST_STAGE, FINAL_STAGE = "first", "final"


def review_stages(user, agency: Agency) -> tuple[str, ...]:
    """The review stages the user holds in `agency`, 初核 first."""
    stages = []
    if can_first_review(user, agency):
        stages.append(FIRST_STAGE)
    if can_final_review(user, agency):
        stages.append(FINAL_STAGE)
    return tuple(stages)


def agencies_user_reviews(user):
    """The agencies where the user gives 初核 or 複核 (every agency for a superuser)."""
    if _everything(user):
        return Agency.objects.all()
    return Agency.objects.filter(
        pk__in=access(user).agencies(Role.PLANNER, Role.DIRECTOR, Role.ADMIN)
    )


def reviews_any(user) -> bool:
    """Whether the menu offers the review queue: arithmetic on the memberships read once."""
    return _everything(user) or bool(access(user).agencies(Role.PLANNER, Role.DIRECTOR, Role.ADMIN))


def access_review_agency(user, code: str) -> Agency:
    """The agency of `code` for its review queue: 404 when there is none, 403 when the user
    gives neither 初核 nor 複核 there."""
    agency = Agency.objects.filter(code=code).first()
    if agency is None:
        raise Http404("agency")
    require(bool(review_stages(user, agency)))
    return agency


def access_managed_agency(user, code: str) -> Agency:
    """The agency of `code` for its management screens: 404 when there is none, 403 when the
    user is not its administrator."""
    agency = Agency.objects.filter(code=code).first()
    if agency is None:
        raise Http404("agency")
    require(can_manage(user, agency))
    return agency


def indicator_scope(user) -> tuple[frozenset[int], frozenset[int]] | None:
    """Whose indicators the user may enter or review: (the agencies all of whose indicators,
    the units whose), or None where that is every indicator (a superuser)."""
    if _everything(user):
        return None
    mine = access(user)
    return (
        mine.agencies(Role.PLANNER, Role.DIRECTOR, Role.ADMIN),
        mine.units(Role.STAFF, Role.HEAD),
    )


def in_indicator_scope(agency_ids, unit_ids) -> Q:
    """The indicators of `agency_ids` or of `unit_ids` (an `indicator_scope`); a None half is
    left out, and both None is every indicator."""
    where = Q()
    if agency_ids is not None:
        where |= Q(goal__agency_id__in=agency_ids)
    if unit_ids is not None:
        where |= Q(responsible_unit_id__in=unit_ids)
    return where


def indicators_for_user(user, *, year: int):
    """The indicators of `year` that the user may enter or review (`indicator_scope`)."""
    indicators = Indicator.objects.filter(goal__year=year)
    scope = indicator_scope(user)
    if scope is None:
        return indicators
    return indicators.filter(in_indicator_scope(*scope))


# Rights and actions

VIEW = "view"
ENTER = "enter"
SUBMIT = "submit"
FIRST_REVIEW = "first_review"
FINAL_REVIEW = "final_review"
MANAGE = "manage"
RIGHTS = (VIEW, ENTER, SUBMIT, FIRST_REVIEW, FINAL_REVIEW, MANAGE)

# Actions on a result: changing its figures, narrative and evidence (the state stays), and the
# moves of Result.TRANSITIONS under their names.
EDIT = "edit"
ACTIONS = (VIEW, EDIT, *Result.TRANSITIONS)
REVIEW_ACTIONS = frozenset({"first_approve", "first_return", "final_approve", "final_return"})


def rights(user, indicator: Indicator) -> frozenset[str]:
    """What the user's roles let them do to `indicator`: arithmetic on the memberships read once
    per request (see `access`); needs the indicator's goal."""
    if _everything(user):
        return frozenset(RIGHTS)
    mine = access(user)
    agency_id = _agency_id(indicator)
    held = set()
    if can_enter(user, indicator):
        held.add(ENTER)
    if can_submit(user, indicator):
        held.add(SUBMIT)
    if agency_id in mine.agencies(Role.PLANNER, Role.ADMIN):
        held.add(FIRST_REVIEW)
    if agency_id in mine.agencies(Role.DIRECTOR, Role.ADMIN):
        held.add(FINAL_REVIEW)
    if agency_id in mine.agencies(Role.ADMIN):
        held.add(MANAGE)
    if held or agency_id in mine.visible:
        held.add(VIEW)
    return frozenset(held)


def may(user, right: str, indicator: Indicator) -> bool:
    """Whether the user holds `right` (one of RIGHTS) on `indicator`."""
    return right in rights(user, indicator)


def allowed_actions(user, result: Result | None, indicator: Indicator) -> frozenset[str]:
    """What the user may do now to `indicator`'s result (None: not entered yet, which counts as
    a draft): the actions whose right they hold and whose starting states include the result's.
    The window and the quarter's lock are the services' to check; they answer 423, not 403."""
    held = rights(user, indicator)
    state = result.state if result is not None else Result.State.DRAFT
    actions = {
        action
        for action, move in Result.TRANSITIONS.items()
        if state in move.sources and move.right in held
    }
    if VIEW in held:
        actions.add(VIEW)
    if ENTER in held and state in Result.EDITABLE:
        actions.add(EDIT)
    if actions & FINAL_REVIEW_ACTIONS and not _everything(user):
        if final_review_conflict(user, result, indicator) is not None:
            actions -= FINAL_REVIEW_ACTIONS
    return frozenset(actions)


# Separation of duties

FINAL_REVIEW_ACTIONS = frozenset({"final_approve", "final_return"})
SUBMITTER, FIRST_APPROVER = "submitter", "first_approver"


def review_round(result: Result) -> dict[str, int | None]:
    """Who submitted `result` and who approved it at 初核 in the round now waiting for 複核
    (user ids, None when unknown), read from its history: newest first, the first-approved
    rows, then the submitted rows before them; the oldest row of each run is the one that made
    the move. Rows of a locked quarter are passed over (unlocking restores the state)."""
    rows = (
        result.history.exclude(state=Result.State.LOCKED)
        .order_by("-history_date", "-history_id")
        .values_list("state", "history_user_id")
    )
    return _round_of(rows)


def _round_of(rows) -> dict[str, int | None]:
    """`review_round` of one result's history rows (state, user id), newest first."""
    found = {SUBMITTER: None, FIRST_APPROVER: None}
    run = FIRST_APPROVER
    for state, who in rows:
        if run == FIRST_APPROVER:
            if state == Result.State.FIRST_APPROVED:
                found[FIRST_APPROVER] = who
                continue
            run = SUBMITTER
        if state != Result.State.SUBMITTED:
            break
        found[SUBMITTER] = who
    return found


def final_review_conflict(user, result: Result | None, indicator: Indicator) -> str | None:
    """SUBMITTER or FIRST_APPROVER when separation of duties keeps `user` from giving `result`
    複核 (superusers included: they may override, and the service records that they did);
    None otherwise. One query, only for a result waiting for 複核 in an agency that keeps
    duties apart; needs the indicator's goal and agency."""
    if result is None or result.state != Result.State.FIRST_APPROVED:
        return None
    if not indicator.goal.agency.separate_review_duties or not user.is_authenticated:
        return None
    found = review_round(result)
    if found[FIRST_APPROVER] == user.pk:
        return FIRST_APPROVER
    if found[SUBMITTER] == user.pk:
        return SUBMITTER
    return None


def final_review_conflicts(user, results) -> dict[int, str]:
    """`final_review_conflict` for many results of one agency at once (`results` with their
    indicator's goal and agency), by result id, only those in conflict: one query for all of
    them, the review queue's."""
    waiting = [
        r
        for r in results
        if r.state == Result.State.FIRST_APPROVED and r.indicator.goal.agency.separate_review_duties
    ]
    if not waiting or not user.is_authenticated:
        return {}
    by_result: dict[int, list] = {r.pk: [] for r in waiting}
    rows = (
        Result.history.filter(id__in=by_result)
        .exclude(state=Result.State.LOCKED)
        .order_by("id", "-history_date", "-history_id")
        .values_list("id", "state", "history_user_id")
    )
    for pk, state, who in rows:
        by_result[pk].append((state, who))
    conflicts = {}
    for pk, history in by_result.items():
        found = _round_of(history)
        if found[FIRST_APPROVER] == user.pk:
            conflicts[pk] = FIRST_APPROVER
        elif found[SUBMITTER] == user.pk:
            conflicts[pk] = SUBMITTER
    return conflicts


def separation_message(conflict: str) -> str:
    """Why `conflict` (final_review_conflict) keeps the user from 複核, for the page and API."""
    if conflict == FIRST_APPROVER:
        return _("您已初核這筆成果，依職務分離原則不能再複核；請由其他複核人員處理。")
    return _("這筆成果由您送出，依職務分離原則不能再複核；請由其他複核人員處理。")


# Fetch, then check: what a page asks for by its address, in one call.


def _require_any(held: frozenset[str], to: str | tuple[str, ...]) -> None:
    require(any(name in held for name in ((to,) if isinstance(to, str) else to)))


def _indicator_or_404(pk) -> Indicator:
    queryset = Indicator.objects.select_related(
        "goal", "goal__agency", "responsible_unit"
    ).prefetch_related("inputs", "parts")
    return get_object_or_404(queryset, pk=pk)


def access_indicator(user, pk, *, to: str | tuple[str, ...] = VIEW) -> Indicator:
    """The indicator `pk` (with its goal, agency, unit, inputs and parts): 404 when there is
    none, 403 when the user holds none of the rights `to`."""
    indicator = _indicator_or_404(pk)
    _require_any(rights(user, indicator), to)
    return indicator


def access_result(
    user, indicator_pk, quarter: int, *, to: str | tuple[str, ...] = VIEW, entered: bool = True
) -> tuple[Indicator, Result | None]:
    """The indicator `indicator_pk` and its result for `quarter` (with figures and evidence):
    404 when either is missing (a result only when `entered`; otherwise None stands for one not
    entered yet), 403 when the user holds none of the rights `to`."""
    indicator = _indicator_or_404(indicator_pk)
    if quarter not in QUARTERS:
        raise Http404("quarter")
    result = (
        Result.objects.filter(indicator=indicator, quarter=quarter)
        .prefetch_related("figures", "evidence")
        .first()
    )
    if result is None and entered:
        raise Http404("result")
    _require_any(rights(user, indicator), to)
    return indicator, result


def access_evidence(user, pk, *, to: str | tuple[str, ...] = VIEW) -> Evidence:
    """The evidence file `pk`: 404 when there is none, 403 when the user holds none of the
    rights `to` on its indicator."""
    evidence = get_object_or_404(
        Evidence.objects.select_related("result__indicator__goal__agency"), pk=pk
    )
    _require_any(rights(user, evidence.result.indicator), to)
    return evidence
