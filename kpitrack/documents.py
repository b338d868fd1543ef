"""Load an agency's source documents (docs/data-format.md) into the database, all or nothing.

Every problem found is collected with its file and path, so one run lists them all; only a
problem-free folder is written, inside a single transaction.
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from budget.models import (
    AchievementPolicy,
    Agency,
    AnnualPolicy,
    HeadcountBudget,
    HeadcountLine,
    PolicyGoal,
    PolicyGoalItem,
    Unit,
)
from budget.services import achievement_policy_set
from kpitrack.engine.shape import indicator_shape_problems
from performance.models import (
    Indicator,
    IndicatorInput,
    Result,
    ResultFigure,
    StrategicGoal,
    TargetPart,
)
from performance.reasons import shape_problem_message
from performance.services import record_change


class DocumentError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class LoadReport:
    agency: str = ""
    years: list[int] = field(default_factory=list)
    created: int = 0
    updated: int = 0


class _Problems:
    def __init__(self):
        self.items: list[str] = []

    def add(self, where: str, message: str):
        self.items.append(f"{where}: {message}")


def _decimal(value, where, problems, *, required=False):
    if value is None:
        if required:
            problems.add(where, _("必須填寫數值。"))
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        problems.add(where, _('數值必須寫成字串，例如 "1234.5"。'))
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        problems.add(where, _("「%(value)s」不是數字。") % {"value": value})
        return None
    if not number.is_finite():
        problems.add(where, _("「%(value)s」不是數字。") % {"value": value})
        return None
    return number


def _quiet_decimal(value) -> Decimal | None:
    """The number for the shape check; whether it is well written is reported elsewhere."""
    return _decimal(value, "", _Problems())


def _published(value, where, problems) -> str:
    """A published figure stays as printed, so its precision survives; it must still be a number."""
    number = _decimal(value, where, problems)
    return "" if number is None else str(value).strip()


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def read_folder(folder: Path) -> tuple[dict, list[tuple[str, dict]]]:
    folder = Path(folder)
    if not folder.is_dir():
        raise DocumentError([_("找不到資料夾：%(path)s") % {"path": folder}])
    agency_doc, year_docs, problems = None, [], []
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(path.name + ": " + _("無法讀取 YAML：") + str(exc))
            continue
        if not isinstance(data, dict):
            problems.append(path.name + ": " + _("檔案內容必須是對照表（mapping）。"))
        elif "agency" in data:
            if agency_doc is not None:
                problems.append(path.name + ": " + _("資料夾中只能有一個機關檔案。"))
            agency_doc = data
        else:
            year_docs.append((path.name, data))
    if agency_doc is None:
        problems.append(str(folder) + ": " + _("找不到含有 agency 的機關檔案。"))
    if problems:
        raise DocumentError(problems)
    return agency_doc, year_docs


def load_folder(folder, *, user=None) -> LoadReport:
    agency_doc, year_docs = read_folder(Path(folder))
    problems = _Problems()
    report = LoadReport()
    with transaction.atomic():
        loader = _Loader(problems, report, user)
        agency = loader.agency(agency_doc["agency"], "agency.yaml")
        seen: dict[tuple[int, str], str] = {}
        for name, data in year_docs:
            loader.year(agency, data, name, seen)
        if agency is not None and report.years:
            loader.achievement_policy(agency, agency_doc["agency"], min(report.years))
        if problems.items:
            # Raising inside the atomic block rolls back everything written so far.
            raise DocumentError(problems.items)
    return report


class _Loader:
    def __init__(self, problems: _Problems, report: LoadReport, user):
        self.problems = problems
        self.report = report
        self.user = user
        self.reason = ""

    def save(self, model, where, lookup: dict, values: dict):
        """Create or update one row; validate it; return it (None when invalid)."""
        obj = model.objects.filter(**lookup).first()
        created = obj is None
        if created:
            obj = model(**lookup)
        old = {name: getattr(obj, name) for name in values}
        for name, value in values.items():
            setattr(obj, name, value)
        try:
            obj.full_clean()
        except ValidationError as exc:
            for fieldname, messages in exc.message_dict.items():
                for message in messages:
                    self.problems.add(f"{where}.{fieldname}", message)
            return None
        changed = [name for name in values if created or old[name] != getattr(obj, name)]
        if created:
            obj.save()
            self.report.created += 1
        elif changed:
            obj.save(update_fields=changed)
            self.report.updated += 1
        obj._changed = {name: old[name] for name in changed} if not created else {}
        obj._created = created
        return obj

    def audit(self, obj, fields):
        """Figures and targets keep their history even when they come from a document."""
        for name in fields:
            if obj._created or name in obj._changed:
                old = None if obj._created else obj._changed[name]
                record_change(
                    obj=obj,
                    field=name,
                    old=old,
                    new=getattr(obj, name),
                    user=self.user,
                    reason=self.reason,
                )

    def agency(self, data, where) -> Agency | None:
        if not isinstance(data, dict):
            self.problems.add(where, _("agency 必須是對照表。"))
            raise DocumentError(self.problems.items)
        parent = None
        if data.get("parent"):
            p = data["parent"]
            parent = self.save(
                Agency,
                f"{where}.parent",
                {"code": p.get("code")},
                {"name": _text(p.get("name")), "name_en": _text(p.get("name_en"))},
            )
        agency = self.save(
            Agency,
            where,
            {"code": data.get("code")},
            {
                "name": _text(data.get("name")),
                "name_en": _text(data.get("name_en")),
                "parent": parent,
                "duties": _text(data.get("duties")),
                "organisation_intro": _text(data.get("organisation_intro")),
                "leadership": _text(data.get("leadership")),
            },
        )
        if agency is None:
            raise DocumentError(self.problems.items)
        self.report.agency = agency.code
        units = {}
        for n, u in enumerate(data.get("units") or [], start=1):
            unit = self.save(
                Unit,
                f"{where}.units[{n}]",
                {"agency": agency, "code": u.get("code")},
                {
                    "name": _text(u.get("name")),
                    "kind": u.get("kind") or "other",
                    "duties": _text(u.get("duties")),
                    "order": n,
                    "parent": None,
                },
            )
            if unit is not None:
                units[unit.code] = (unit, u.get("parent"), n)
        for unit, parent_code, n in units.values():
            if parent_code:
                if parent_code not in units:
                    self.problems.add(
                        f"{where}.units[{n}].parent",
                        _("找不到單位代碼「%(code)s」。") % {"code": parent_code},
                    )
                    continue
                unit.parent = units[parent_code][0]
                unit.save(update_fields=["parent"])
        return agency

    def achievement_policy(self, agency, data, year):
        """agency.yaml's rounding holds from the agency's earliest year in the documents on."""
        current = AchievementPolicy.objects.filter(agency=agency, year=year).first()
        try:
            achievement_policy_set(
                agency=agency,
                year=year,
                expected_version=current.version if current else None,
                user=self.user,
                reason=_("載入來源文件：%(source)s") % {"source": "agency.yaml"},
                rate_decimals=data.get("rate_decimals", 2),
                rounding=data.get("rounding", "half_up"),
            )
        except ValidationError as exc:
            for fieldname, messages in exc.message_dict.items():
                for message in messages:
                    self.problems.add(f"agency.yaml.{fieldname}", message)

    def year(self, agency, data, where, seen):
        year = data.get("year")
        if not isinstance(year, int) or not 1912 <= year <= 2200:
            self.problems.add(f"{where}.year", _("年度必須是 1912 到 2200 之間的西元年。"))
            return
        if year not in self.report.years:
            self.report.years.append(year)
        self.reason = _("載入來源文件：%(source)s") % {"source": _text(data.get("source")) or where}
        if data.get("policy"):
            self.policy(agency, year, data["policy"], f"{where}.policy")
        for n, hc in enumerate(data.get("headcount") or [], start=1):
            self.headcount(agency, year, hc, n, f"{where}.headcount[{n}]")
        units = {u.code: u for u in agency.units.all()}
        for n, g in enumerate(data.get("goals") or [], start=1):
            self.goal(agency, year, g, n, f"{where}.goals[{n}]", seen, units)

    def policy(self, agency, year, data, where):
        policy = self.save(
            AnnualPolicy,
            where,
            {"agency": agency, "year": year},
            {"intro": _text(data.get("intro"))},
        )
        if policy is None:
            return
        goals = data.get("goals") or []
        for n, g in enumerate(goals, start=1):
            goal = self.save(
                PolicyGoal,
                f"{where}.goals[{n}]",
                {"policy": policy, "order": n},
                {"title": _text(g.get("title")), "body": _text(g.get("body"))},
            )
            if goal is None:
                continue
            items = g.get("items") or []
            for m, text in enumerate(items, start=1):
                self.save(
                    PolicyGoalItem,
                    f"{where}.goals[{n}].items[{m}]",
                    {"goal": goal, "order": m},
                    {"text": _text(text)},
                )
            goal.items.filter(order__gt=len(items)).delete()
        policy.goals.filter(order__gt=len(goals)).delete()

    def headcount(self, agency, year, data, n, where):
        budget = self.save(
            HeadcountBudget,
            where,
            {"agency": agency, "year": year, "programme": _text(data.get("programme"))},
            {"order": n, "explanation": _text(data.get("explanation"))},
        )
        if budget is None:
            return
        categories = {c.value for c in HeadcountLine.Category}
        for m, line in enumerate(data.get("lines") or [], start=1):
            category = line.get("category")
            if category not in categories:
                self.problems.add(
                    f"{where}.lines[{m}].category",
                    _("「%(value)s」不是員額類別。") % {"value": category},
                )
                continue
            obj = self.save(
                HeadcountLine,
                f"{where}.lines[{m}]",
                {"budget": budget, "category": category},
                {"previous": line.get("previous"), "change": line.get("change")},
            )
            if obj is not None:
                self.audit(obj, ["previous", "change"])

    def goal(self, agency, year, data, n, where, seen, units):
        goal = self.save(
            StrategicGoal,
            where,
            {"agency": agency, "year": year, "code": data.get("code")},
            {"order": n, "title": _text(data.get("title"))},
        )
        if goal is None:
            return
        for m, ind in enumerate(data.get("indicators") or [], start=1):
            self.indicator(goal, ind, m, f"{where}.indicators[{m}]", seen, units)

    def indicator(self, goal, data, n, where, seen, units):
        code = data.get("code")
        if (goal.year, code) in seen:
            self.problems.add(
                f"{where}.code",
                _("指標代碼「%(code)s」在 %(year)s 年已出現於 %(other)s。")
                % {"code": code, "year": goal.year, "other": seen[(goal.year, code)]},
            )
            return
        seen[(goal.year, code)] = where
        unit = None
        if data.get("responsible_unit"):
            unit = units.get(data["responsible_unit"])
            if unit is None:
                self.problems.add(
                    f"{where}.responsible_unit",
                    _("找不到單位代碼「%(code)s」。") % {"code": data["responsible_unit"]},
                )
        inputs = data.get("inputs") or []
        parts = data.get("parts") or []
        method = data.get("method")
        for problem in indicator_shape_problems(
            method=method,
            aggregation=data.get("aggregation") or "latest",
            inputs=[i.get("key") if isinstance(i, dict) else i for i in inputs],
            parts=[
                (p.get("key"), _quiet_decimal(p.get("target")), _quiet_decimal(p.get("weight")))
                if isinstance(p, dict)
                else (p, None, None)
                for p in parts
            ],
            formula=_text(data.get("formula")),
            baseline=_quiet_decimal(data.get("baseline")),
        ):
            self.problems.add(f"{where}.{problem.field}", shape_problem_message(problem))
        # An indicator moved to another goal in the same year keeps its identity.
        existing = Indicator.objects.filter(
            goal__agency=goal.agency, goal__year=goal.year, code=code
        )
        existing.exclude(goal=goal).update(goal=goal)
        indicator = self.save(
            Indicator,
            where,
            {"goal": goal, "code": code},
            {
                "order": n,
                "name": _text(data.get("name")),
                "evaluation_system": _text(data.get("evaluation_system")),
                "evaluation_method": _text(data.get("evaluation_method")),
                "measurement_standard": _text(data.get("measurement_standard")),
                "target_text": _text(data.get("target_text")),
                "responsible_unit": unit,
                "weight": _decimal(data.get("weight", "1"), f"{where}.weight", self.problems)
                or Decimal("1"),
                "method": method,
                "aggregation": data.get("aggregation") or "latest",
                "formula": _text(data.get("formula")),
                "baseline": _decimal(data.get("baseline"), f"{where}.baseline", self.problems),
                "part_rate_cap": _decimal(
                    data.get("part_rate_cap"), f"{where}.part_rate_cap", self.problems
                ),
            },
        )
        if indicator is None:
            return
        input_keys = []
        for m, i in enumerate(inputs, start=1):
            obj = self.save(
                IndicatorInput,
                f"{where}.inputs[{m}]",
                {"indicator": indicator, "key": i.get("key")},
                {"label": _text(i.get("label")), "unit": _text(i.get("unit")), "order": m},
            )
            if obj is not None:
                input_keys.append(obj.key)
        indicator.inputs.exclude(key__in=input_keys).delete()
        part_keys = []
        for m, p in enumerate(parts, start=1):
            pw = f"{where}.parts[{m}]"
            target = _decimal(p.get("target"), f"{pw}.target", self.problems)
            obj = self.save(
                TargetPart,
                pw,
                {"indicator": indicator, "key": p.get("key")},
                {
                    "label": _text(p.get("label")),
                    "value": target,
                    "original_value": _decimal(
                        p.get("original_target", p.get("target")),
                        f"{pw}.original_target",
                        self.problems,
                    ),
                    "revision_reason": _text(p.get("revision_reason")),
                    "unit": _text(p.get("unit")),
                    "weight": _decimal(p.get("weight"), f"{pw}.weight", self.problems),
                    "order": m,
                },
            )
            if obj is not None:
                part_keys.append(obj.key)
                self.audit(obj, ["value"])
        indicator.parts.exclude(key__in=part_keys).delete()
        for m, r in enumerate(data.get("results") or [], start=1):
            self.result(indicator, r, f"{where}.results[{m}]", set(input_keys), set(part_keys))

    def result(self, indicator, data, where, input_keys, part_keys):
        quarter = data.get("quarter")
        if quarter not in (1, 2, 3, 4):
            self.problems.add(f"{where}.quarter", _("季別必須是 1 到 4。"))
            return
        basis = data.get("published_basis") or "rate"
        result = self.save(
            Result,
            where,
            {"indicator": indicator, "quarter": quarter},
            {
                "state": data.get("state") or Result.State.APPROVED,
                "owner_unit": indicator.responsible_unit,
                "progress": _text(data.get("progress")),
                "benefit": _text(data.get("benefit")),
                "shortfall_reason": _text(data.get("shortfall_reason")),
                "improvement": _text(data.get("improvement")),
                "remarks": _text(data.get("remarks")),
                "published_text": _text(data.get("published_text")),
                "published_rate": _published(
                    data.get("published_rate"), f"{where}.published_rate", self.problems
                ),
                "published_basis": basis,
            },
        )
        if result is None:
            return
        self.audit(result, ["published_rate"])
        figures = data.get("figures") or {}
        published = data.get("part_published") or {}
        for key in figures:
            if key not in input_keys:
                self.problems.add(
                    f"{where}.figures.{key}", _("「%(key)s」不是此指標的填報項目。") % {"key": key}
                )
        for key in published:
            if key not in part_keys:
                self.problems.add(
                    f"{where}.part_published.{key}",
                    _("「%(key)s」不是此指標的目標項目。") % {"key": key},
                )
        for key in sorted(input_keys | (set(published) & part_keys)):
            fw = f"{where}.figures.{key}"
            obj = self.save(
                ResultFigure,
                fw,
                {"result": result, "key": key},
                {
                    "value": _decimal(figures.get(key), fw, self.problems),
                    "published_rate": _published(published.get(key), fw, self.problems),
                },
            )
            if obj is not None:
                self.audit(obj, ["value"])
