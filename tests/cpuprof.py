"""Where a test run's CPU goes, per file and per phase (docs/testing.md, "CI time"). Opt-in:

    CPUPROF_OUT=sqlite.json pytest -p tests.cpuprof -q -p no:cacheprovider …   (no -n)
    CPUPROF_OUT=pg.json CPUPROF_PG_DB=<name in DATABASE_URL> pytest -p tests.cpuprof …
    python -m tests.cpuprof sqlite.json pg.json      (the largest files and phases; TOP=25)

CPU is user + system time of the pytest process and of the children it waited for
(RUSAGE_SELF + RUSAGE_CHILDREN), around pytest_runtest_protocol (a test's fixtures' set-up and
teardown included). Module, class, package and session fixtures are counted apart (their own
set-up, without the fixtures they asked for), not in the test that happened to set them up;
module fixtures are then added to their file. Phases: the start (interpreter, imports, Django,
collection) up to the first test, and the end: after the last test up to the process's exit,
where servers a run keeps for itself (tests/interpreters.py's) are stopped and waited for.
With CPUPROF_PG_DB, the CPU of the PostgreSQL backends serving that database or `test_` + it
(their command lines, /proc), sampled around each test: the server's side.
"""

import atexit
import collections
import json
import os
import resource
import sys
import time

import pytest

_TICK = os.sysconf("SC_CLK_TCK")
_PG_DB = os.environ.get("CPUPROF_PG_DB")
_pg_seen = {}  # backend pid -> its CPU when last seen (a backend that exited keeps its last)


def _cpu():
    own = resource.getrusage(resource.RUSAGE_SELF)
    waited = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The fork server's children are waited for by the server, not by this process: their CPU,
    # as the server reports it, is counted when the test that asked for them gets its answer.
    served = sys.modules.get("tests.interpreters")
    unreaped = served.unreaped_cpu() if served else 0.0
    return own.ru_utime + own.ru_stime, waited.ru_utime + waited.ru_stime + unreaped


def _pg():
    if not _PG_DB:
        return 0.0
    names = (_PG_DB.encode(), b"test_" + _PG_DB.encode())
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                words = f.read().split()
            if not words or words[0] != b"postgres:" or not any(w in names for w in words[1:5]):
                continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            _pg_seen[int(pid)] = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
        except (OSError, IndexError):
            continue
    return sum(_pg_seen.values())


_W0 = time.monotonic()
_data = {"phases": {}, "tests": [], "fixtures": []}
_stack = []  # [start, CPU of the fixtures set up inside] of the fixtures being set up
_in_test = [0.0]  # CPU of the non-function fixtures set up during the current test


def _mark(name):
    own, waited = _cpu()
    _data["phases"][name] = {
        "self": own,
        "children": waited,
        "pg": _pg(),
        "wall": time.monotonic() - _W0,
    }


def _write():
    with open(os.environ.get("CPUPROF_OUT", "cpuprof.json"), "w") as f:
        json.dump(_data, f)


def pytest_configure(config):
    _mark("configure")
    # Registered before the servers' own atexit functions, so run after them: they are
    # stopped and waited for, their CPU counted as children's.
    atexit.register(_at_exit)


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    if fixturedef.scope == "function":
        yield
        return
    start = sum(_cpu())
    _stack.append([start, 0.0])
    yield
    _, nested = _stack.pop()
    total = sum(_cpu()) - start
    if _stack:
        _stack[-1][1] += total
    else:
        _in_test[0] += total
    _data["fixtures"].append(
        {
            "name": fixturedef.argname,
            "scope": fixturedef.scope,
            "where": request.node.nodeid.split("::", 1)[0],
            "cpu": total - nested,
        }
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if "first_test" not in _data["phases"]:
        _mark("first_test")
    _in_test[0] = 0.0
    start, pg, wall = _cpu(), _pg(), time.monotonic()
    yield
    end = _cpu()
    _data["tests"].append(
        {
            "id": item.nodeid,
            "self": end[0] - start[0],
            "children": end[1] - start[1],
            "fixtures": _in_test[0],
            "pg": _pg() - pg,
            "wall": time.monotonic() - wall,
        }
    )
    _mark("last_test_end")


def pytest_unconfigure(config):
    _mark("unconfigure")
    _write()


def _at_exit():
    _mark("exit")
    _write()


def report(path, top=25):
    data = json.load(open(path))
    phases = data["phases"]
    files = collections.defaultdict(lambda: [0.0, 0.0, 0.0, 0, 0.0])  # own, waited, pg, n, wall
    for test in data["tests"]:
        row = files[test["id"].split("::")[0]]
        row[0] += test["self"] - test["fixtures"]
        row[1] += test["children"]
        row[2] += test["pg"]
        row[3] += 1
        row[4] += test["wall"]
    shared = collections.defaultdict(float)
    for fixture in data["fixtures"]:
        if fixture["scope"] == "module":
            files[fixture["where"]][0] += fixture["cpu"]
        else:
            shared[f"[{fixture['scope']} fixture] {fixture['name']}"] += fixture["cpu"]
    final = phases.get("exit", phases["unconfigure"])
    last = phases.get("last_test_end", phases["unconfigure"])
    start = phases.get("first_test", last)
    rows = [(r[0] + r[1], name, r) for name, r in files.items()]
    rows += [(cpu, name, [cpu, 0, 0, 0, 0]) for name, cpu in shared.items()]
    rows.append((sum(_of(start)), "[start] interpreter, imports, Django, collection", None))
    rows.append((sum(_of(final)) - sum(_of(last)), "[end] after the last test, to the exit", None))
    rows.sort(key=lambda row: -row[0])
    print(
        f"== {path}: {len(data['tests'])} tests, CPU {sum(_of(final)):.1f} s (process "
        f"{final['self']:.1f}, children {final['children']:.1f}), PostgreSQL backends "
        f"{final['pg']:.1f} s, wall {final['wall']:.1f} s"
    )
    print(f"{'CPU':>7} {'own':>7} {'child':>7} {'pg':>6} {'tests':>5} {'wall':>7}  what")
    for cpu, name, r in rows[:top]:
        if r is None:  # a phase: its CPU only
            print(f"{cpu:7.1f} {'':7} {'':7} {'':6} {'':5} {'':7}  {name}")
        else:
            print(f"{cpu:7.1f} {r[0]:7.1f} {r[1]:7.1f} {r[2]:6.1f} {r[3]:5d} {r[4]:7.1f}  {name}")


def _of(phase):
    return phase["self"], phase["children"]


if __name__ == "__main__":
    for path in sys.argv[1:]:
        report(path, int(os.environ.get("TOP", 25)))
