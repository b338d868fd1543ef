"""Whose rows a workbook carries, and the import of a filled one.

The import is one function for the preview and the confirm: every changed row goes through the
same service as the entry form (`result_save_draft`: permission, window, lock, state, version,
history) inside one transaction, which the preview always rolls back and the confirm keeps only
when no row had a problem. What the preview promises is therefore exactly what the confirm
does, unless the data changed in between — which the confirm detects from the result versions
the preview saw, and refuses.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from budget.models import Agency, Unit
from budget.selectors import agency_by_pk, unit_by_pk
from kpitrack.core import bulk
from kpitrack.core.engine.achievement import Method, allows_negative
from kpitrack.core.engine.numbers import FIGURE_LIMIT
from kpitrack.core.formatting import decimals, figure, quarter_label, roc_year
from kpitrack.core.versioning import ConcurrentEditError
from performance import permissions

from . import services
from . import workbook as wb
from .models import Indicator, Outcome, Result, ResultFigure
from .selectors import (
    goals_of_year,
    indicators_to_enter,
    milestone_plan,
    planned_milestones,
    quarter_results,
    year_indicators,
)

# Text longer than this is shortened in the preview; the whole text is what gets written.
SHOWN_TEXT = 120


# --- whose rows ----------------------------------------------------------------------------


def may_use_scope(user, agency: Agency, unit: Unit | None) -> bool:
    """A unit's workbook is for those who enter its figures; the whole agency's is for the
    planning office (初核) and administrators."""
    if unit is None:
        return permissions.can_first_review(user, agency)  # 初核, whom 管理者 are too
    return unit in permissions.units_user_enters(user, agency)


def scope_by_ids(signed: dict) -> wb.Scope | None:
    """The scope a `Scope.signed_part()` names, read again (None: its agency or unit is gone)."""
    return _resolve(signed)[0]


def make_scope(agency: Agency, unit: Unit | None, year: int, quarter: int) -> wb.Scope:
    return wb.Scope(
        agency_id=agency.pk,
        agency_name=agency.name,
        unit_id=unit.pk if unit else None,
        unit_name=unit.name if unit else _("全機關"),
        year=year,
        quarter=quarter,
    )


def scope_label(scope: wb.Scope) -> str:
    return _("%(agency)s %(unit)s %(year)s %(quarter)s") % {
        "agency": scope.agency_name,
        "unit": scope.unit_name,
        "year": roc_year(scope.year),
        "quarter": quarter_label(scope.quarter),
    }


def input_specs(indicator: Indicator) -> tuple[wb.InputSpec, ...]:
    """The cells a row asks for, one per declared input (the service's figure keys), headed by
    label and unit, with the range the method allows."""
    method = Method(indicator.method)
    inputs = list(indicator.inputs.all())
    parts = {p.key: p for p in indicator.parts.all()}
    target = next(iter(parts.values())).value if parts else None
    low = -FIGURE_LIMIT if allows_negative(method) else Decimal(0)
    roles = {}
    if method is Method.RATIO:
        roles = dict(zip([i.key for i in inputs], (_("分子"), _("分母")), strict=False))
    specs = []
    for item in inputs:
        header = f"{roles[item.key]}：{item.label}" if item.key in roles else item.label
        if item.unit:
            header = f"{header}（{item.unit}）"
        if method is Method.RATING:
            specs.append(wb.InputSpec(item.key, header, wb.RATING, Decimal(0), Decimal(1)))
        elif method is Method.ORDINAL:
            whole = target is not None and target == target.to_integral_value() and target > 0
            high = target if whole and target <= 20 else FIGURE_LIMIT.to_integral_value()
            specs.append(wb.InputSpec(item.key, header, wb.CODE, Decimal(0), high))
        else:
            part = parts.get(item.key)
            known = [v for v in (target, part.value if part else None) if v is not None]
            places = max((decimals(v) for v in known), default=0)
            specs.append(wb.InputSpec(item.key, header, wb.NUMBER, low, FIGURE_LIMIT, places))
    return tuple(specs)


def _target_text(indicator: Indicator) -> str:
    if indicator.target_text:
        return indicator.target_text
    return "\n".join(
        f"{p.label}：{figure(p.value)}{p.unit}"
        for p in indicator.parts.all()
        if p.value is not None
    )


def rows_for(user, scope: wb.Scope) -> list[wb.RowSpec]:
    rows = []
    for indicator, result in indicators_to_enter(
        user=user,
        agency_id=scope.agency_id,
        year=scope.year,
        quarter=scope.quarter,
        unit_id=scope.unit_id,
    ):
        figures = {f.key: f.value for f in result.figures.all()} if result else {}
        units = sorted({p.unit for p in indicator.parts.all() if p.unit})
        rows.append(
            wb.RowSpec(
                indicator_id=indicator.pk,
                version=result.version if result else None,
                goal=indicator.goal.title,
                name=indicator.name,
                measure="、".join(units),
                target=_target_text(indicator),
                state=result.get_state_display() if result else _("未填報"),
                editable=result is None or result.state in Result.EDITABLE,
                inputs=input_specs(indicator),
                figures=figures,
                narrative={n: getattr(result, n) for n in wb.NARRATIVE_FIELDS} if result else {},
            )
        )
    return rows


def milestones_for(user, scope: wb.Scope, agency: Agency) -> list[wb.MilestoneSpec]:
    """The 分季目標 of the scope's indicators, one row per target part: editable by the planning
    office (初核) or the agency's 管理者, read-only for the others."""
    editable = permissions.can_plan(user, agency)
    specs = []
    for indicator, _result in indicators_to_enter(
        user=user,
        agency_id=scope.agency_id,
        year=scope.year,
        quarter=scope.quarter,
        unit_id=scope.unit_id,
    ):
        for part, quarters in milestone_plan(indicator=indicator):
            specs.append(
                wb.MilestoneSpec(
                    indicator_id=indicator.pk,
                    name=indicator.name,
                    part=part.key,
                    label=part.label,
                    target=f"{figure(part.value)}{part.unit}" if part.value is not None else "",
                    planned={q.quarter: q.planned for q in quarters},
                    defaults={q.quarter: q.default for q in quarters},
                    editable=editable,
                )
            )
    return specs


def build_for(user, *, agency: Agency, unit: Unit | None, year: int, quarter: int) -> bytes:
    """The workbook `user` may fill for the scope; PermissionDenied when it is not theirs."""
    permissions.require(may_use_scope(user, agency, unit))
    scope = make_scope(agency, unit, year, quarter)
    title = _("%(scope)s 績效指標填報") % {"scope": scope_label(scope)}
    return wb.build(
        scope,
        rows_for(user, scope),
        title=title,
        milestones=milestones_for(user, scope, agency),
    )


def file_name(scope: wb.Scope) -> str:
    return _("%(agency)s_%(unit)s_%(year)s第%(quarter)s季_填報.xlsx") % {
        "agency": scope.agency_name,
        "unit": scope.unit_name,
        "year": roc_year(scope.year).split("（")[0],
        "quarter": scope.quarter,
    }


# --- the import ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    header: str
    old: str
    new: str


@dataclass
class RowReport:
    row: int
    indicator_id: int
    name: str
    changes: list[Change] = field(default_factory=list)
    problems: list[wb.Problem] = field(default_factory=list)


@dataclass
class Report:
    """What an import found: per row what changes and what is wrong, and problems of the whole
    file; `versions` are the result versions seen (indicator id -> version or None)."""

    file_name: str
    scope: wb.Scope | None = None
    rows: list[RowReport] = field(default_factory=list)
    problems: list[wb.Problem] = field(default_factory=list)
    versions: dict = field(default_factory=dict)
    written: bool = False
    forbidden: bool = False
    stale: bool = False
    parsed: wb.Parsed | None = None
    # The 分季目標 sheet's rows, each named 「分季目標」 with its indicator and part.
    milestone_rows: list[RowReport] = field(default_factory=list)

    @property
    def scope_label(self) -> str:
        return scope_label(self.scope) if self.scope else ""

    @property
    def all_problems(self) -> list[wb.Problem]:
        listed = [*self.problems, *(p for r in self.rows for p in r.problems)]
        listed += [p for r in self.milestone_rows for p in r.problems]
        return sorted(listed, key=lambda p: (p.row or 0, len(p.column), p.column))

    @property
    def ok(self) -> bool:
        return not self.all_problems

    def plan(self) -> dict:
        """What the preview found, for its confirm: each row's changes and the versions they
        were computed against (see `import_parsed`)."""
        return {
            "versions": self.versions,
            "rows": [
                [r.row, r.indicator_id, r.name, [[c.header, c.old, c.new] for c in r.changes]]
                for r in self.rows
            ],
            "milestones": [
                [r.row, r.indicator_id, r.name, [[c.header, c.old, c.new] for c in r.changes]]
                for r in self.milestone_rows
            ],
        }

    @property
    def changed_rows(self) -> list[RowReport]:
        return [r for r in [*self.rows, *self.milestone_rows] if r.changes]

    def lines(self) -> list[str]:
        """The report as text, one line each: what the command prints."""
        lines = []
        if self.scope is not None:
            lines.append(scope_label(self.scope))
        for row in self.rows:
            head = _("第 %(row)s 列「%(name)s」") % {"row": row.row, "name": row.name}
            if row.changes:
                changes = "；".join(f"{c.header}：{c.old} → {c.new}" for c in row.changes)
                lines.append(f"{head}：{changes}")
            else:
                lines.append(f"{head}：{_('沒有變更')}")
        for row in self.milestone_rows:
            if row.changes:
                changes = "；".join(f"{c.header}：{c.old} → {c.new}" for c in row.changes)
                lines.append(f"{row.name}：{changes}")
        lines.extend(_("問題：%(problem)s") % {"problem": p} for p in self.all_problems)
        return lines


def _shown(value, spec: wb.InputSpec | None = None, blank: str | None = None) -> str:
    """`blank` is how an empty value reads, when the caller has it already: translating it
    again for every cell of a large workbook showed in the import's time."""
    if value is None or value == "":
        return blank if blank is not None else _("（空白）")
    if isinstance(value, Decimal):
        if spec is not None and spec.kind == wb.RATING:
            labels = {number: label for label, number in wb.rating_labels().items()}
            return labels.get(value, figure(value))
        return figure(value)
    text = str(value)
    return text if len(text) <= SHOWN_TEXT else text[:SHOWN_TEXT] + "…"


def _changes(parsed: wb.ParsedRow, rating: bool, stored: dict | None, figures: dict, blank):
    """What the row would change: each entered figure and text against the stored ones
    (`figures` as `quarter_results` gives them: key -> (id, value, published rate))."""
    spec = wb.InputSpec("", "", wb.RATING, Decimal(0), Decimal(1)) if rating else None
    changes = []
    for key, new in parsed.figures.items():
        old = figures[key][1] if key in figures else None
        if old != new:
            header = parsed.columns[key][1]
            changes.append(Change(header, _shown(old, spec, blank), _shown(new, spec, blank)))
    for name, new in parsed.narrative.items():
        old = stored[name] if stored else ""
        if old.strip() != new:
            header = parsed.columns[name][1]
            changes.append(Change(header, _shown(old, None, blank), _shown(new, None, blank)))
    return changes


def _service_problems(exc: Exception, parsed: wb.ParsedRow) -> list[wb.Problem]:
    """A service's refusal, each message on the column it names."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        problems = []
        # The services name a figure by its input's key, as the sheet's columns are keyed.
        for name, errors in exc.error_dict.items():
            letter, header = parsed.columns.get(name, ("", ""))
            for message in ValidationError(errors).messages:
                if name == NON_FIELD_ERRORS or not letter:
                    problems.append(wb.Problem(message, row=parsed.row))
                else:
                    problems.append(
                        wb.Problem(message, row=parsed.row, column=letter, header=header)
                    )
        return problems
    if isinstance(exc, ValidationError):
        return [wb.Problem(m, row=parsed.row) for m in exc.messages]
    if isinstance(exc, PermissionDenied):
        return [wb.Problem(_("您沒有填報這個指標的權限。"), row=parsed.row)]
    if isinstance(exc, ConcurrentEditError):
        return [
            wb.Problem(
                _("這一列的成果在您下載活頁簿後已被修改，請重新下載後再填寫。"), row=parsed.row
            )
        ]
    return [wb.Problem(exc.message, row=parsed.row)]


def _scope_from(parsed: wb.Parsed) -> tuple[wb.Scope | None, Agency | None, Unit | None]:
    return _resolve(parsed.scope)


def _resolve(signed: dict) -> tuple[wb.Scope | None, Agency | None, Unit | None]:
    agency = agency_by_pk(pk=signed["agency"])
    unit = None
    if agency is not None and signed["unit"] is not None:
        unit = unit_by_pk(agency=agency, pk=signed["unit"])
        if unit is None:
            return None, None, None
    if agency is None:
        return None, None, None
    return make_scope(agency, unit, signed["year"], signed["q"]), agency, unit


def import_workbook(
    data: bytes,
    *,
    name: str,
    user,
    commit: bool,
    expected: wb.Scope | None = None,
    seen_versions: dict | None = None,
) -> Report:
    """Reads `data` and imports it (see `import_parsed`)."""
    with bulk.paused_gc():
        try:
            parsed = wb.read(data, name=name)
        except wb.Refused as exc:
            return Report(file_name=name, problems=exc.problems)
        return import_parsed(
            parsed,
            name=name,
            user=user,
            commit=commit,
            expected=expected,
            seen_versions=seen_versions,
        )


def import_parsed(
    parsed: wb.Parsed,
    *,
    name: str,
    user,
    commit: bool,
    expected: wb.Scope | None = None,
    seen_versions: dict | None = None,
    planned: dict | None = None,
    before_commit=None,
) -> Report:
    """Runs every changed row of a read workbook through the service in one transaction:
    rolled back unless `commit` and nothing at all was wrong. `expected` is the scope the person
    chose on the page; `seen_versions` the versions their preview saw (the confirm refuses when
    any differs now). The confirm passes what its preview read (`Report.parsed`) and found
    (`Report.plan()` as `planned`), so the file is read once and the confirm writes exactly the
    values the preview listed: the changes are a function of the file and the stored results,
    and every write to a result or its figures moves its version, so equal versions mean the
    preview's changes still hold (the service checks each row again when writing).

    `before_commit(report)` is called inside the transaction once every row is written and
    nothing was wrong, as its last step: the import job ends itself there, and an exception it
    raises (the job was cancelled) rolls the whole import back."""
    with bulk.paused_gc():
        return _import_parsed(
            parsed,
            name=name,
            user=user,
            commit=commit,
            expected=expected,
            seen_versions=seen_versions,
            planned=planned,
            before_commit=before_commit,
        )


def _import_parsed(
    parsed, *, name, user, commit, expected, seen_versions, planned, before_commit
) -> Report:
    report = Report(file_name=name, parsed=parsed)
    scope, agency, unit = _scope_from(parsed)
    if scope is None:
        report.problems.append(wb.Problem(_("這份活頁簿的機關或單位已不存在。")))
        return report
    report.scope = scope
    if expected is not None and expected.signed_part() != scope.signed_part():
        report.problems.append(
            wb.Problem(
                _("這份活頁簿屬於「%(theirs)s」，不是此頁選擇的「%(ours)s」。")
                % {"theirs": scope_label(scope), "ours": scope_label(expected)}
            )
        )
        return report
    if not may_use_scope(user, agency, unit):
        report.problems.append(
            wb.Problem(
                _("您沒有「%(scope)s」的填報權限，不能上傳這份活頁簿。")
                % {"scope": scope_label(scope)}
            )
        )
        report.forbidden = True
        return report
    if planned is not None:
        seen_versions = planned["versions"]
        report.versions = _versions(parsed, scope)
        report.rows = [
            RowReport(row, pk, name, [Change(*c) for c in changes])
            for row, pk, name, changes in planned["rows"]
        ]
        report.milestone_rows = [
            RowReport(row, pk, name, [Change(*c) for c in changes])
            for row, pk, name, changes in planned.get("milestones", [])
        ]
    else:
        _plan(report, parsed, scope)
        _plan_milestones(report, parsed, scope)
    if commit and seen_versions is not None and seen_versions != report.versions:
        report.problems.append(
            wb.Problem(
                _(
                    "預覽之後，有列的成果已被其他人修改；為免覆蓋他人的資料，這次匯入不寫入。"
                    "請重新上傳活頁簿，確認新的預覽後再匯入。"
                )
            )
        )
        report.stale = True
        return report
    _run(report, parsed, scope, user=user, commit=commit, before_commit=before_commit)
    return report


def _versions(parsed: wb.Parsed, scope: wb.Scope) -> dict:
    """The version of each row's result now (None: not entered), as `_plan` records them."""
    ids = {row.indicator_id for row in parsed.rows}
    stored, _figures = quarter_results(
        quarter=scope.quarter,
        indicator_ids=ids,
        goal_ids=goals_of_year(agency_id=scope.agency_id, year=scope.year),
        columns=("version",),
        figures=False,
    )
    return {str(pk): stored[pk]["version"] if pk in stored else None for pk in ids}


def _plan(report: Report, parsed: wb.Parsed, scope: wb.Scope):
    """Each row's changes against what is stored now, and the versions it was compared with.
    Plain rows rather than model instances: a workbook may hold thousands."""
    # A row whose indicator has since moved to another year or agency is refused, by its name.
    indicators, names = year_indicators(
        agency_id=scope.agency_id, year=scope.year, ids={row.indicator_id for row in parsed.rows}
    )
    stored, figures = quarter_results(
        quarter=scope.quarter,
        indicator_ids=indicators,
        goal_ids={goal_id for _name, _method, goal_id in indicators.values()},
        columns=("version", *wb.NARRATIVE_FIELDS),
    )
    blank = _("（空白）")
    by_row = {}
    for problem in parsed.problems:
        by_row.setdefault(problem.row, []).append(problem)
    report.problems.extend(by_row.pop(None, []))
    listed = {row.row for row in parsed.rows}
    for row_number, problems in by_row.items():
        if row_number not in listed:
            report.problems.extend(problems)
    for parsed_row in parsed.rows:
        pk = parsed_row.indicator_id
        name, method, _goal_id = indicators.get(pk, (names.get(pk, str(pk)), None, None))
        row = RowReport(parsed_row.row, pk, name)
        row.problems.extend(by_row.get(parsed_row.row, []))
        report.rows.append(row)
        if method is None:
            row.problems.append(wb.Problem(_("這個指標已不存在或不屬於此年度。"), row=row.row))
            continue
        result = stored.get(parsed_row.indicator_id)
        report.versions[str(parsed_row.indicator_id)] = result["version"] if result else None
        row.changes = _changes(
            parsed_row,
            method == Method.RATING,
            result,
            figures.get(parsed_row.indicator_id, {}),
            blank,
        )


def _plan_milestones(report: Report, parsed: wb.Parsed, scope: wb.Scope):
    """Each milestones row's changes against the planned values stored now. Two queries."""
    if not parsed.milestones:
        return
    ids = {m.indicator_id for m in parsed.milestones}
    indicators, names = year_indicators(agency_id=scope.agency_id, year=scope.year, ids=ids)
    held = planned_milestones(indicator_ids=indicators)
    blank = _("（空白）")
    for m in parsed.milestones:
        name = (
            indicators[m.indicator_id][0]
            if m.indicator_id in indicators
            else names.get(m.indicator_id, str(m.indicator_id))
        )
        row = RowReport(
            m.row,
            m.indicator_id,
            _("「分季目標」第 %(row)s 列「%(name)s」") % {"row": m.row, "name": name},
        )
        report.milestone_rows.append(row)
        row.problems.extend(
            wb.Problem(message, row=m.row, column=letter, header=header)
            for message, letter, header in m.problems
        )
        if m.indicator_id not in indicators:
            # Its entry row says so already; here only a value typed for it is refused.
            if any(v is not None for v in m.values.values()):
                row.problems.append(wb.Problem(_("這個指標已不存在或不屬於此年度。"), row=m.row))
            continue
        stored = held.get(m.indicator_id, {}).get(m.part, {})
        for q, new in sorted(m.values.items()):
            old = stored.get(q)
            if old != new:
                header = m.columns[q][1]
                row.changes.append(
                    Change(header, _shown(old, None, blank), _shown(new, None, blank))
                )


def _milestone_refusal(exc: Exception, row: RowReport) -> list[wb.Problem]:
    if isinstance(exc, PermissionDenied):
        return [wb.Problem(_("只有初核或管理者可以修改分季目標。"), row=row.row)]
    return [wb.Problem(m, row=row.row) for m in exc.messages]


def _run_milestones(report: Report, parsed: wb.Parsed, *, user, reason: str):
    """Each changed milestones row through the service, refused per row (who may, what)."""
    rows = {row.row: row for row in report.milestone_rows}
    for m in parsed.milestones:
        row = rows.get(m.row)
        if row is None or not row.changes or row.problems:
            continue
        changes = [
            services.MilestoneChange(m.indicator_id, q, value, m.part)
            for q, value in sorted(m.values.items())
        ]
        try:
            with transaction.atomic():
                services.milestones_set(changes=changes, user=user, reason=reason)
        except (PermissionDenied, ValidationError) as exc:
            row.problems.extend(_milestone_refusal(exc, row))


def _run(report: Report, parsed: wb.Parsed, scope: wb.Scope, *, user, commit: bool, before_commit):
    reason = _("Excel 匯入：%(file)s") % {"file": report.file_name}
    rows = {row.row: row for row in report.rows}
    todo = [p for p in parsed.rows if rows[p.row].changes and not rows[p.row].problems]
    entries = [
        services.DraftEntry(
            indicator_id=p.indicator_id,
            figures=p.figures,
            narrative=p.narrative,
            expected_version=p.version,
        )
        for p in todo
    ]
    with transaction.atomic():
        try:
            services.results_save_drafts(
                quarter=scope.quarter, entries=entries, user=user, reason=reason
            )
        except services.DraftsRefused as exc:
            for index, refusal in exc.refusals.items():
                rows[todo[index].row].problems.extend(_service_problems(refusal, todo[index]))
                # A row changed since the download is a conflict, as the API answers it (409).
                report.stale = report.stale or isinstance(refusal, ConcurrentEditError)
        except ConcurrentEditError:
            # Somebody entered one of these quarters for the first time while this ran.
            report.problems.append(
                wb.Problem(
                    _(
                        "匯入的同時，有列的成果已被其他人新增；為免覆蓋他人的資料，這次匯入不寫入。"
                        "請重新上傳活頁簿，確認新的預覽後再匯入。"
                    )
                )
            )
            report.stale = True
        _run_milestones(report, parsed, user=user, reason=reason)
        report.written = commit and report.ok
        if not report.written:
            transaction.set_rollback(True)
            return
        if before_commit is not None:
            before_commit(report)
        if len(todo) >= bulk.ANALYZE_AFTER_ROWS:
            # After the stored outcomes are refreshed (registered at the first write, so first).
            transaction.on_commit(lambda: bulk.analyze(Result, ResultFigure, Outcome))
