"""`make mutants`: mutmut over the engine, the permissions, the workflow services and the
workbook checks, one group at a time (not in CI; see docs/testing.md, "Mutation testing").

Each group runs in its own folder under var/mutants/<group>/ with its own mutmut settings,
because mutmut picks the tests of a mutant by which tests ran the mutated function: with one
shared selection, a mutant of the pure engine would also run every database test that happens
to evaluate an indicator (seconds of set-up each instead of milliseconds). The folder links to
the project and adds a [tool.mutmut] section to a copy of pyproject.toml; mutmut keeps its
results there, so an interrupted run resumes where it stopped.

    python tests/mutation.py [GROUP ...] [--max-children N] [--only NAME ...] [--survivors]

prints killed/total per file and every surviving mutant, and writes the same to
var/mutants/<group>.txt (`mutmut show NAME` in the group's folder shows a mutant's diff).
"""

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "mutants"
PROJECT = ("kpitrack", "budget", "performance", "templates", "locale", "static", "fixtures")

# group: (files mutated, tests that may kill their mutants). A group whose tests use the database
# spends seconds on its set-up before the first test (migrations, the loaded documents), which
# mutmut's timeout, scaled from the tests' own durations, does not expect: DATABASE_GROUPS get a
# fixed allowance instead.
GROUPS = {
    "engine": (
        [
            "kpitrack/core/engine/achievement.py",
            "kpitrack/core/engine/formula.py",
            "kpitrack/core/engine/calendar.py",
            "kpitrack/core/engine/numbers.py",
            "kpitrack/core/engine/shape.py",
            "kpitrack/core/engine/milestones.py",
        ],
        [
            "tests/core/engine",
            # numbers.py's own tests, without their database round trips
            "tests/performance/test_figures.py::test_parse_figure_reads_what_people_type",
            "tests/performance/test_figures.py::test_parse_figure_says_why_it_refuses",
        ],
    ),
    "permissions": (
        ["performance/permissions.py"],
        [
            "tests/performance/test_permissions.py",
            "tests/performance/test_review_transitions.py",
            # the rules' callers added since, through the pages and services that ask them: every
            # address for every role (the access_* functions' 404 and 403), the actions a result
            # offers, the unit's quarter page and a result's entry page (which result an address
            # finds), the review queue and separation of duties, the management screens, the
            # milestones (can_plan), my work and the menu
            "tests/test_permission_matrix.py",
            "tests/performance/test_allowed_actions.py",
            "tests/performance/test_allowed_actions_in_the_workflow.py",
            "tests/performance/test_page_refusals.py",
            "tests/performance/test_unit_quarter.py",
            "tests/performance/test_view_entry.py",
            "tests/performance/test_review_queue.py",
            "tests/performance/test_separation_of_duties.py",
            "tests/performance/test_manage_views.py",
            "tests/performance/test_view_milestones.py",
            "tests/performance/test_view_my_work.py",
            "tests/performance/test_work_page.py",
            # the unit's page reads its agency with the unit (access_unit), counted
            "tests/performance/test_unit_quarter_queries.py::test_the_page_and_its_save_do_not_grow",
            # the API's list of a quarter, the one reader of visible_agency_ids outside my work
            "tests/api/test_results.py::test_get_shows_nothing_of_an_agency_the_user_does_not_belong_to",
        ],
    ),
    "workflow": (
        [
            "performance/services/entry.py",
            "performance/services/review.py",
            "performance/services/periods.py",
        ],
        [
            "tests/performance/test_entry_windows.py",
            "tests/performance/test_review_outcomes.py",
            "tests/performance/test_periods.py",
            "tests/performance/test_review_transitions.py",
            "tests/performance/test_result_save_draft.py",
            "tests/performance/test_results_save_drafts.py",
            "tests/performance/test_milestones.py",
            "tests/performance/test_clean_figures.py",
            # the review services' helpers added since: separation of duties (issue 15), the
            # quarter-approved signal (issue 16), and the year and quarter a manager types
            "tests/performance/test_separation_of_duties.py",
            "tests/jobs/test_prerender.py",
            "tests/performance/test_manage_views.py",
            # the evidence services, the one caller of _locked_result with a bare primary key
            "tests/performance/test_evidence.py",
        ],
    ),
    "workbook": (
        ["performance/workbook.py", "performance/workbook_import.py"],
        [
            "tests/performance/test_workbook_file.py",
            "tests/performance/test_workbook_import.py",
            # the checks' own tests beside those two: the milestones sheet's rows, the bounds
            # each input states, a hostile sheet
            "tests/performance/test_workbook_milestones.py",
            "tests/performance/test_workbook_numbers.py",
            "tests/performance/test_workbook_xml_bombs.py",
        ],
    ),
}

# The mutants a group runs when no --only is given, where the issue names less than its files:
# "the workbook checks" are the reading of an uploaded workbook (the file-level refusals, the
# signed layout, each row's and cell's validation, the limits they use, how a problem is said)
# and the import's refusals of a whole file or a row (scope gone or not the person's, a row's
# indicator gone, a service's refusal put on its row and column). Building the workbook, the
# preview's table of changes and the writing are left out.
CHECKS = {
    "workbook": [
        f"performance.workbook.{name}__mutmut_*"
        for name in (
            "x_limit",
            "x_max_bytes",
            "x_max_uncompressed",
            "x_max_ratio",
            "x_max_rows",
            "xǁProblemǁwhere",
            "xǁProblemǁ__str__",
            "xǁRefusedǁ__init__",
            "x_too_big",
            "x__save_as_xlsx",
            "x_check_archive",
            "x__archive_messages",
            "x__read_signed",
            "x__is_formula",
            "x_read",
            "x__read_rows",
            "x__read_milestones",
            "x__too_many_rows",
            "x__typed",
            "x__figure",
            "x__text",
        )
    ]
    + [
        f"performance.workbook_import.{name}__mutmut_*"
        for name in (
            "x_may_use_scope",
            "x__scope_from",
            "x__resolve",
            "x__import_parsed",
            "x__plan",
            "x__plan_milestones",
            "x__service_problems",
            "x__milestone_refusal",
        )
    ],
}


DATABASE_GROUPS = {"permissions", "workflow", "workbook"}


def _toml_list(items) -> str:
    return "[" + ", ".join(json.dumps(str(i)) for i in items) + "]"


def prepare(group: str) -> Path:
    files, tests = GROUPS[group]
    folder = WORK / group
    folder.mkdir(parents=True, exist_ok=True)
    for name in (*PROJECT, "tests", "manage.py"):
        link = folder / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    settings = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    settings += (
        "\n[tool.mutmut]\n"
        f"source_paths = {_toml_list(['kpitrack', 'budget', 'performance'])}\n"
        f"only_mutate = {_toml_list(files)}\n"
        f"also_copy = {_toml_list([*PROJECT[3:], 'manage.py'])}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider"]\n'
        "use_git_change_detection = false\n"
    )
    if group in DATABASE_GROUPS:
        settings += "timeout_constant = 40.0\ntimeout_multiplier = 3.0\n"
    target = folder / "pyproject.toml"
    if not target.exists() or target.read_text(encoding="utf-8") != settings:
        target.write_text(settings, encoding="utf-8")
    return folder


def results(folder: Path) -> dict[str, str]:
    """Mutant name -> status, from mutmut's own records."""
    from mutmut.stats import status_by_exit_code

    statuses = {}
    for meta in (folder / "mutants").rglob("*.py.meta"):
        data = json.loads(meta.read_text(encoding="utf-8"))
        for name, code in data.get("exit_code_by_key", {}).items():
            statuses[name] = status_by_exit_code[code]
    return statuses


def report(group: str, folder: Path) -> str:
    statuses = results(folder)
    lines = [f"== {group}"]
    by_module = {}
    for name, status in statuses.items():
        module = name.split(".x_")[0].split(".xǁ")[0]
        by_module.setdefault(module, Counter())[status] += 1
    for module, counts in sorted(by_module.items()):
        run = counts.total() - counts["not checked"]
        lines.append(
            f"{module}: killed {counts['killed'] + counts['timeout']}/{run} run"
            f" ({counts.total()} mutants; " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")"
        )
    by_function = {}
    for name, status in statuses.items():
        if status != "not checked":
            by_function.setdefault(name.rsplit("__mutmut_", 1)[0], Counter())[status] += 1
    for function, counts in sorted(by_function.items()):
        killed = counts["killed"] + counts["timeout"]
        lines.append(f"  {function}: killed {killed}/{counts.total()} run")
    for name, status in sorted(statuses.items()):
        if status in ("survived", "no tests"):
            lines.append(f"  {status}: {name}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", default=list(GROUPS), choices=[[], *GROUPS])
    parser.add_argument("--max-children", type=int, default=1)
    parser.add_argument("--only", nargs="+", default=[], help="mutant names (mutmut's globs)")
    parser.add_argument(
        "--survivors", action="store_true", help="run the surviving mutants again (after new tests)"
    )
    args = parser.parse_args()
    env = {**os.environ, "KPITRACK_ENV_FILE": "", "DEBUG": "1"}
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    for group in args.groups:
        folder = prepare(group)
        command = [mutmut, "run", "--max-children", str(args.max_children)]
        names = list(args.only)
        if not names and not args.survivors:
            names = list(CHECKS.get(group, []))
        if args.survivors:
            names += [name for name, status in results(folder).items() if status == "survived"]
        if (args.only or args.survivors or group in CHECKS) and not names:
            print(f"== {group}: nothing to run")
            continue
        command += names
        subprocess.run(command, cwd=folder, env=env, check=False)
        text = report(group, folder)
        (WORK / f"{group}.txt").write_text(text + "\n", encoding="utf-8")
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
