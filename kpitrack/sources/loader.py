"""Load an agency's source documents (docs/data-format.md) into the database, all or nothing.

Reading happens in three passes before anything is written: bounded, safe YAML (`reading`), the
schema of each file (`schema`), and what only the whole folder shows (`checks`). Every problem
of every file is collected, so one run lists them all; only a problem-free folder is written,
inside a single transaction that any write refused by the models rolls back.
"""

from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from pydantic import ValidationError as SchemaError

from budget.models import AchievementPolicy, Agency, AnnualPolicy, HeadcountBudget
from budget.services import (
    achievement_policy_set,
    agency_create,
    agency_update,
    annual_policy_create,
    annual_policy_update,
    headcount_budget_create,
    headcount_budget_update,
    unit_create,
    unit_update,
)
from kpitrack.sources.checks import agency_problems, unusable_text_problems, year_problems
from kpitrack.sources.problems import DocumentError, problem, validation_problems
from kpitrack.sources.reading import read_files
from kpitrack.sources.schema import AgencyFile, YearFile
from performance.models import Indicator, Result, StrategicGoal
from performance.selectors import planned_milestones
from performance.services import (
    indicator_create,
    indicator_update,
    milestones_load,
    result_create,
    result_update,
    strategic_goal_create,
    strategic_goal_update,
)


@dataclass
class LoadReport:
    agency: str = ""
    years: list[int] = field(default_factory=list)
    created: int = 0
    updated: int = 0


@dataclass
class Documents:
    agency_file: str
    agency: AgencyFile
    years: list[tuple[str, YearFile]]


def read_folder(folder) -> Documents:
    """The folder's documents, validated; raises DocumentError listing every problem."""
    files, problems = read_files(Path(folder))
    agency, years = None, []
    for name, data in files.items():
        if not isinstance(data, dict):
            problems.append(problem(name, "", _("檔案內容必須是對照表（鍵: 值）。")))
            continue
        if unusable := unusable_text_problems(name, data):
            problems += unusable
            continue
        is_agency = "agency" in data
        try:
            document = (AgencyFile if is_agency else YearFile).model_validate(data)
        except SchemaError as exc:
            problems += validation_problems(name, exc)
            continue
        if not is_agency:
            years.append((name, document))
        elif agency is not None:
            problems.append(
                problem(name, "agency", _("已有機關檔案 %(other)s。") % {"other": agency[0]})
            )
        else:
            agency = (name, document)
    if agency is None:
        if not problems:
            problems.append(problem(str(folder), "", _("找不到含有 agency 的機關檔案。")))
        raise DocumentError(problems)
    problems += agency_problems(*agency)
    problems += year_problems(years, {unit.code for unit in agency[1].agency.units})
    if problems:
        raise DocumentError(problems)
    return Documents(agency[0], agency[1], years)


def load_folder(folder, *, user=None) -> LoadReport:
    documents = read_folder(folder)
    report = LoadReport()
    with transaction.atomic():
        writer = _Writer(report, user)
        agency = writer.agency(documents.agency_file, documents.agency.agency)
        for file, document in documents.years:
            writer.year(agency, file, document)
        writer.achievement_policy(agency, documents.agency.agency, report.years)
        if writer.problems:
            # Raising inside the atomic block rolls back everything written so far.
            raise DocumentError(writer.problems)
    report.years.sort()
    return report


def _text(value: str | None) -> str:
    return "" if value is None else value.strip()


def _rows_differ(existing, wanted: list[dict]) -> bool:
    """Whether an indicator's inputs or parts differ from the rows a document gives."""
    held = {obj.key: obj for obj in existing}
    return set(held) != {row["key"] for row in wanted} or any(
        _changes(held[row["key"]], row) for row in wanted
    )


def _changes(obj, values: dict) -> dict:
    """The values that differ from what `obj` holds."""
    return {name: value for name, value in values.items() if getattr(obj, name) != value}


def _rows(existing: list, wanted: list[tuple[dict, list[dict]]]) -> list[dict]:
    """Service rows turning a policy's goals (and their items), matched by order, into `wanted`.

    Only what differs is mentioned, so loading the same document again writes nothing.
    """
    by_order = {goal.order: goal for goal in existing}
    rows = []
    for values, items in wanted:
        goal = by_order.pop(values["order"], None)
        if goal is None:
            rows.append({**values, "items": items})
            continue
        old_items = {item.order: item for item in goal.items.all()}
        item_rows = []
        for item in items:
            old = old_items.pop(item["order"], None)
            if old is None:
                item_rows.append(item)
            elif _changes(old, item):
                item_rows.append({"pk": old.pk, **_changes(old, item)})
        item_rows += [{"pk": item.pk, "delete": True} for item in old_items.values()]
        if item_rows or _changes(goal, values):
            rows.append({"pk": goal.pk, **_changes(goal, values), "items": item_rows})
    return rows + [{"pk": goal.pk, "delete": True} for goal in by_order.values()]


class _Writer:
    def __init__(self, report: LoadReport, user):
        self.report = report
        self.user = user
        self.file = ""
        self.reason = ""
        self.problems: list[str] = []

    def refused(self, where: str, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for fieldname, messages in exc.message_dict.items():
                for message in messages:
                    self.problems.append(problem(self.file, f"{where}.{fieldname}", message))
        else:
            for message in exc.messages:
                self.problems.append(problem(self.file, where, message))

    def write(self, where: str, service, **arguments):
        """Call a service as this load's user and reason; a refusal becomes a listed problem."""
        try:
            return service(user=self.user, reason=self.reason, **arguments)
        except ValidationError as exc:
            self.refused(where, exc)
            return None

    def agency_row(self, where, code, values) -> Agency | None:
        agency = Agency.objects.filter(code=code).first()
        if agency is None:
            self.report.created += 1
            return self.write(where, agency_create, code=code, **values)
        changes = _changes(agency, values)
        if not changes:
            return agency
        self.report.updated += 1
        return self.write(
            where, agency_update, agency=agency, expected_version=agency.version, **changes
        )

    def agency(self, file, data) -> Agency:
        self.file = self.agency_file = file
        self.reason = self.agency_reason = _("載入原始文件：%(source)s") % {"source": file}
        parent = None
        if data.parent is not None:
            parent = self.agency_row(
                "agency.parent",
                data.parent.code,
                {"name": _text(data.parent.name), "name_en": _text(data.parent.name_en)},
            )
        agency = self.agency_row(
            "agency",
            data.code,
            {
                "name": _text(data.name),
                "name_en": _text(data.name_en),
                "parent": parent,
                "duties": _text(data.duties),
                "organisation_intro": _text(data.organisation_intro),
                "leadership": _text(data.leadership),
            },
        )
        if agency is None:
            raise DocumentError(self.problems)
        self.report.agency = agency.code
        self.units(agency, data.units)
        return agency

    def units(self, agency, entries):
        existing = {unit.code: unit for unit in agency.units.select_related("parent")}
        units = {}
        for n, entry in enumerate(entries):
            values = {
                "name": _text(entry.name),
                "kind": entry.kind,
                "duties": _text(entry.duties),
                "order": n + 1,
            }
            unit = existing.get(entry.code)
            if unit is None:
                self.report.created += 1
                unit = self.write(
                    f"agency.units[{n}]", unit_create, agency=agency, code=entry.code, **values
                )
            else:
                if unit.parent is not None and unit.parent.code != entry.parent:
                    # Parents move in a second pass; leaving the old one could close a cycle.
                    values["parent"] = None
                changes = _changes(unit, values)
                if changes:
                    self.report.updated += 1
                    unit = self.write(
                        f"agency.units[{n}]",
                        unit_update,
                        unit=unit,
                        expected_version=unit.version,
                        **changes,
                    )
            if unit is not None:
                units[entry.code] = unit
        for n, entry in enumerate(entries):
            unit = units.get(entry.code)
            parent = units.get(entry.parent) if entry.parent else None
            if unit is not None and unit.parent != parent:
                self.write(
                    f"agency.units[{n}].parent",
                    unit_update,
                    unit=unit,
                    expected_version=unit.version,
                    parent=parent,
                )

    def achievement_policy(self, agency, data, years):
        """agency.yaml's rounding and lights hold from the earliest year of the documents on."""
        if not years:
            return
        year = min(years)
        current = AchievementPolicy.objects.filter(agency=agency, year=year).first()
        values = {
            "rate_decimals": data.rate_decimals,
            "rounding": data.rounding,
            "uses_lights": data.uses_lights,
        }
        if current is not None and not _changes(current, values):
            return
        self.file, self.reason = self.agency_file, self.agency_reason
        self.write(
            "agency",
            achievement_policy_set,
            agency=agency,
            year=year,
            expected_version=current.version if current else None,
            **values,
        )

    def year(self, agency, file, data: YearFile):
        self.file = file
        year = data.year
        if year not in self.report.years:
            self.report.years.append(year)
        self.source = _text(data.source) or file
        self.reason = _("載入原始文件：%(source)s") % {"source": self.source}
        if data.policy is not None:
            self.policy(agency, year, data.policy)
        for n, entry in enumerate(data.headcount or []):
            self.headcount(agency, year, entry, n)
        units = {unit.code: unit for unit in agency.units.all()}
        for n, entry in enumerate(data.goals or []):
            self.goal(agency, year, entry, n, units)

    def policy(self, agency, year, data):
        policy = AnnualPolicy.objects.filter(agency=agency, year=year).first()
        goals = _rows(
            list(policy.goals.prefetch_related("items")) if policy else [],
            [
                (
                    {"order": n + 1, "title": _text(entry.title), "body": _text(entry.body)},
                    [
                        {"order": m + 1, "text": _text(text)}
                        for m, text in enumerate(entry.items or [])
                    ],
                )
                for n, entry in enumerate(data.goals or [])
            ],
        )
        values = {"intro": _text(data.intro)}
        if policy is None:
            self.report.created += 1
            self.write(
                "policy", annual_policy_create, agency=agency, year=year, goals=goals, **values
            )
        elif goals or _changes(policy, values):
            self.report.updated += 1
            self.write(
                "policy",
                annual_policy_update,
                policy=policy,
                expected_version=policy.version,
                goals=goals,
                **_changes(policy, values),
            )

    def headcount(self, agency, year, data, n):
        where = f"headcount[{n}]"
        budget = HeadcountBudget.objects.filter(
            agency=agency, year=year, programme=_text(data.programme)
        ).first()
        values = {"order": n + 1, "explanation": _text(data.explanation)}
        existing = {line.category: line for line in budget.lines.all()} if budget else {}
        lines = []
        for line in data.lines or []:
            fields = {"category": line.category, "previous": line.previous, "change": line.change}
            old = existing.get(line.category)
            if old is None:
                lines.append(fields)
            elif _changes(old, fields):
                lines.append({"pk": old.pk, **_changes(old, fields)})
        if budget is None:
            self.report.created += 1
            self.write(
                where,
                headcount_budget_create,
                agency=agency,
                year=year,
                programme=_text(data.programme),
                lines=lines,
                **values,
            )
        elif lines or _changes(budget, values):
            self.report.updated += 1
            self.write(
                where,
                headcount_budget_update,
                budget=budget,
                expected_version=budget.version,
                lines=lines,
                **_changes(budget, values),
            )

    def goal(self, agency, year, data, n, units):
        where = f"goals[{n}]"
        values = {"order": n + 1, "title": _text(data.title)}
        goal = StrategicGoal.objects.filter(agency=agency, year=year, code=data.code).first()
        if goal is None:
            self.report.created += 1
            goal = self.write(
                where, strategic_goal_create, agency=agency, year=year, code=data.code, **values
            )
        elif _changes(goal, values):
            self.report.updated += 1
            goal = self.write(
                where,
                strategic_goal_update,
                goal=goal,
                expected_version=goal.version,
                **_changes(goal, values),
            )
        if goal is None:
            return
        for m, entry in enumerate(data.indicators or []):
            self.indicator(goal, entry, m, f"{where}.indicators[{m}]", units)

    def indicator(self, goal, data, n, where, units):
        values = {
            "goal": goal,
            "order": n + 1,
            "name": _text(data.name),
            "evaluation_system": _text(data.evaluation_system),
            "evaluation_method": _text(data.evaluation_method),
            "measurement_standard": _text(data.measurement_standard),
            "target_text": _text(data.target_text),
            "responsible_unit": units.get(data.responsible_unit),
            "weight": data.weight,
            "method": data.method,
            "aggregation": data.aggregation or "latest",
            "formula": _text(data.formula),
            "baseline": data.baseline,
            "part_rate_cap": data.part_rate_cap,
        }
        inputs = [
            {"key": e.key, "label": _text(e.label), "unit": _text(e.unit), "order": m + 1}
            for m, e in enumerate(data.inputs or [])
        ]
        parts = [
            {
                "key": e.key,
                "label": _text(e.label),
                "value": e.target,
                "original_value": e.target if e.original_target is None else e.original_target,
                "revision_reason": _text(e.revision_reason),
                "unit": _text(e.unit),
                "weight": e.weight,
                "order": m + 1,
            }
            for m, e in enumerate(data.parts or [])
        ]
        # An indicator moved to another goal of the same year keeps its identity.
        indicator = (
            Indicator.objects.filter(goal__agency=goal.agency, goal__year=goal.year, code=data.code)
            .prefetch_related("inputs", "parts")
            .first()
        )
        if indicator is None:
            self.report.created += 1
            indicator = self.write(
                where, indicator_create, code=data.code, inputs=inputs, parts=parts, **values
            )
        elif (
            _changes(indicator, values)
            or _rows_differ(indicator.inputs.all(), inputs)
            or _rows_differ(indicator.parts.all(), parts)
        ):
            self.report.updated += 1
            indicator = self.write(
                where,
                indicator_update,
                indicator=indicator,
                expected_version=indicator.version,
                inputs=inputs,
                parts=parts,
                **_changes(indicator, values),
            )
        if indicator is None:
            return
        self.milestones(indicator, data, where)
        input_keys = [row["key"] for row in inputs]
        part_keys = {row["key"] for row in parts}
        for m, entry in enumerate(data.results or []):
            self.result(indicator, entry, f"{where}.results[{m}]", input_keys, part_keys)

    def milestones(self, indicator, data, where):
        """The parts' 分季目標 where the document gives them; only what differs is written."""
        planned = {
            e.key: {q: getattr(e.milestones, f"q{q}") for q in (1, 2, 3)}
            for e in data.parts or []
            if e.milestones is not None
        }
        if not planned:
            return
        held = planned_milestones(indicator_ids=[indicator.pk]).get(indicator.pk, {})
        if all(
            {q: v for q, v in values.items() if v is not None} == held.get(key, {})
            for key, values in planned.items()
        ):
            return
        self.report.updated += 1
        self.write(where, milestones_load, indicator=indicator, planned=planned)

    def result(self, indicator, data, where, input_keys, part_keys):
        values = {
            "owner_unit": indicator.responsible_unit,
            "progress": _text(data.progress),
            "benefit": _text(data.benefit),
            "shortfall_reason": _text(data.shortfall_reason),
            "improvement": _text(data.improvement),
            "remarks": _text(data.remarks),
            "published_text": _text(data.published_text),
            "published_rate": data.published_rate,
            "published_basis": data.published_basis,
            "source": self.source,
            "layout": data.layout.model_dump(exclude_none=True) if data.layout else {},
        }
        given = data.figures or {}
        printed = data.part_published or {}
        figures = {key: given.get(key) for key in input_keys}
        published = {key: printed[key] for key in sorted(set(printed) & part_keys)}
        result = (
            Result.objects.filter(indicator=indicator, quarter=data.quarter)
            .prefetch_related("figures")
            .first()
        )
        if result is None:
            self.report.created += 1
            # Transcribed from a published document: approved when it was printed.
            self.write(
                where,
                result_create,
                indicator=indicator,
                quarter=data.quarter,
                state=Result.State.APPROVED,
                figures=figures,
                published=published,
                **values,
            )
            return
        held = {f.key: f for f in result.figures.all()}
        figures = {k: v for k, v in figures.items() if k not in held or held[k].value != v}
        published = {
            k: v for k, v in published.items() if k not in held or held[k].published_rate != v
        }
        changes = _changes(result, values)
        if changes or figures or published:
            self.report.updated += 1
            self.write(
                where,
                result_update,
                result=result,
                expected_version=result.version,
                figures=figures,
                published=published,
                **changes,
            )
