"""What the schema cannot see: duplicates, references, cycles and indicator shapes across files."""

from collections import defaultdict

from django.utils.translation import gettext as _

from kpitrack.core.engine.shape import indicator_shape_problems
from kpitrack.core.text import has_unusable, shown
from kpitrack.sources.problems import problem
from kpitrack.sources.schema import AgencyFile, IndicatorEntry, YearFile
from performance.reasons import shape_problem_message


def _duplicates(file, entries, where, describe) -> list[str]:
    """A problem for each entry whose key an earlier one already used. entries: (key, index)."""
    first: dict = {}
    found = []
    for key, index in entries:
        if key in first:
            found.append(problem(file, where(index), describe(key, first[key])))
        else:
            first[key] = where(index)
    return found


def unusable_text_problems(file: str, data, where: str = "") -> list[str]:
    """A problem for each key or text of the parsed YAML holding a character no database or
    export can hold (kpitrack.core.text): a YAML escape such as "\\0" can write one."""
    if isinstance(data, str):
        return [problem(file, where, _unusable_message())] if has_unusable(data) else []
    if isinstance(data, dict):
        found = []
        for key, value in data.items():
            name = str(key)
            inner = f"{where}.{name}" if where else name
            if has_unusable(name):
                found.append(problem(file, shown(inner), _unusable_message()))
            else:
                found += unusable_text_problems(file, value, inner)
        return found
    if isinstance(data, list):
        return [
            p
            for n, item in enumerate(data)
            for p in unusable_text_problems(file, item, f"{where}[{n}]")
        ]
    return []


def _unusable_message() -> str:
    return _("含有無法使用的控制字元，請移除。")


def agency_problems(file: str, document: AgencyFile) -> list[str]:
    units = document.agency.units
    found = _duplicates(
        file,
        [(unit.code, n) for n, unit in enumerate(units)],
        lambda n: f"agency.units[{n}].code",
        lambda code, other: (
            _("單位代碼「%(code)s」重複（已見於 %(other)s）。") % {"code": code, "other": other}
        ),
    )
    parents = {unit.code: unit.parent for unit in units}
    for n, unit in enumerate(units):
        where = f"agency.units[{n}].parent"
        if unit.parent is None:
            continue
        if unit.parent not in parents:
            found.append(
                problem(file, where, _("找不到單位代碼「%(code)s」。") % {"code": unit.parent})
            )
            continue
        # Follow the parents; coming back to this unit means the chain never reaches the head.
        chain, code = [unit.code], unit.parent
        while code is not None and code not in chain and code in parents:
            chain.append(code)
            code = parents[code]
        if code == unit.code:
            found.append(
                problem(
                    file,
                    where,
                    _("單位的上級形成循環：%(chain)s。")
                    % {"chain": " → ".join([*chain, unit.code])},
                )
            )
    return found


def year_problems(documents: list[tuple[str, YearFile]], unit_codes: set[str]) -> list[str]:
    """Problems within each year file and between files of the same year."""
    found = []
    by_year = defaultdict(list)
    for file, document in documents:
        by_year[document.year].append((file, document))
    for year, files in sorted(by_year.items()):
        found += _same_year_problems(year, files)
        for file, document in files:
            found += _file_problems(file, document, unit_codes)
    return found


def _same_year_problems(year: int, files: list[tuple[str, YearFile]]) -> list[str]:
    found = []
    seen_policy = None
    programmes, goals, indicators = {}, {}, {}
    for file, document in files:
        if document.policy is not None:
            if seen_policy:
                found.append(
                    problem(
                        file,
                        "policy",
                        _("%(year)s 年的施政目標與重點已寫在 %(other)s。")
                        % {"year": year, "other": seen_policy},
                    )
                )
            else:
                seen_policy = file
        for n, headcount in enumerate(document.headcount or []):
            here = f"{file}: headcount[{n}]"
            if headcount.programme in programmes:
                found.append(
                    problem(
                        file,
                        f"headcount[{n}].programme",
                        _("業務計畫「%(name)s」在 %(year)s 年重複（已見於 %(other)s）。")
                        % {
                            "name": headcount.programme,
                            "year": year,
                            "other": programmes[headcount.programme],
                        },
                    )
                )
            else:
                programmes[headcount.programme] = here
        for n, goal in enumerate(document.goals or []):
            here = f"{file}: goals[{n}]"
            if goal.code in goals:
                found.append(
                    problem(
                        file,
                        f"goals[{n}].code",
                        _("策略目標代碼「%(code)s」在 %(year)s 年重複（已見於 %(other)s）。")
                        % {"code": goal.code, "year": year, "other": goals[goal.code]},
                    )
                )
            else:
                goals[goal.code] = here
            for m, indicator in enumerate(goal.indicators or []):
                here = f"{file}: goals[{n}].indicators[{m}]"
                if indicator.code in indicators:
                    found.append(
                        problem(
                            file,
                            f"goals[{n}].indicators[{m}].code",
                            _("指標代碼「%(code)s」在 %(year)s 年重複（已見於 %(other)s）。")
                            % {
                                "code": indicator.code,
                                "year": year,
                                "other": indicators[indicator.code],
                            },
                        )
                    )
                else:
                    indicators[indicator.code] = here
    return found


def _file_problems(file: str, document: YearFile, unit_codes: set[str]) -> list[str]:
    found = []
    if document.policy is not None:
        goals = document.policy.goals or []
        found += _duplicates(
            file,
            [(goal.title, n) for n, goal in enumerate(goals)],
            lambda n: f"policy.goals[{n}].title",
            lambda title, other: (
                _("施政目標「%(title)s」重複（已見於 %(other)s）。")
                % {"title": title, "other": other}
            ),
        )
    for n, headcount in enumerate(document.headcount or []):
        found += _duplicates(
            file,
            [(line.category, m) for m, line in enumerate(headcount.lines or [])],
            lambda m, n=n: f"headcount[{n}].lines[{m}].category",
            lambda category, other: (
                _("員額類別「%(category)s」重複（已見於 %(other)s）。")
                % {"category": category, "other": other}
            ),
        )
    for n, goal in enumerate(document.goals or []):
        for m, indicator in enumerate(goal.indicators or []):
            found += _indicator_problems(file, f"goals[{n}].indicators[{m}]", indicator, unit_codes)
    return found


def _indicator_problems(
    file: str, where: str, indicator: IndicatorEntry, unit_codes: set[str]
) -> list[str]:
    found = []
    unit = indicator.responsible_unit
    if unit is not None and unit not in unit_codes:
        found.append(
            problem(
                file,
                f"{where}.responsible_unit",
                _("找不到單位代碼「%(code)s」。") % {"code": unit},
            )
        )
    inputs = [entry.key for entry in indicator.inputs or []]
    parts = [(entry.key, entry.target, entry.weight) for entry in indicator.parts or []]
    for shape in indicator_shape_problems(
        method=indicator.method,
        aggregation=indicator.aggregation or "latest",
        inputs=inputs,
        parts=parts,
        formula=indicator.formula,
        baseline=indicator.baseline,
    ):
        found.append(problem(file, f"{where}.{shape.field}", shape_problem_message(shape)))
    results = indicator.results or []
    found += _duplicates(
        file,
        [(result.quarter, r) for r, result in enumerate(results)],
        lambda r: f"{where}.results[{r}].quarter",
        lambda quarter, other: (
            _("第 %(quarter)s 季的執行成果重複（已見於 %(other)s）。")
            % {"quarter": quarter, "other": other}
        ),
    )
    part_keys = {key for key, _target, _weight in parts}
    for r, result in enumerate(results):
        for key in result.figures or {}:
            if key not in inputs:
                found.append(
                    problem(
                        file,
                        f"{where}.results[{r}].figures.{key}",
                        _("「%(key)s」不是此指標的填報項目。") % {"key": key},
                    )
                )
        for key in result.part_published or {}:
            if key not in part_keys:
                found.append(
                    problem(
                        file,
                        f"{where}.results[{r}].part_published.{key}",
                        _("「%(key)s」不是此指標的目標項目。") % {"key": key},
                    )
                )
    return found
