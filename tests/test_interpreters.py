"""tests/interpreters.py answers as subprocess.run would, however fast or slow its child."""

import os
import subprocess
import time

import pytest

from tests import interpreters
from tests.conftest import ROOT


def _run(code, **kwargs):
    return interpreters.run(["-c", code], cwd=ROOT, env=dict(os.environ), **kwargs)


def test_a_child_that_ends_before_its_pid_is_read(monkeypatch):
    # Both of the server's lines are then in the pipe at once: the exit code must still be read
    # at once, not after the timeout, and the next run must get its own answers.
    send = interpreters._send

    def send_then_wait(request):
        send(request)
        time.sleep(0.5)

    _run("pass")  # the server started
    monkeypatch.setattr(interpreters, "_send", send_then_wait)
    started = time.monotonic()
    done = _run("raise SystemExit(3)", timeout=30)
    assert done.returncode == 3
    assert time.monotonic() - started < 10
    monkeypatch.undo()
    done = _run("print('next')", timeout=30)
    assert (done.returncode, done.stdout) == (0, "next\n")


def test_a_child_past_its_timeout_is_killed_and_the_next_runs():
    with pytest.raises(subprocess.TimeoutExpired):
        _run("import time; print('started', flush=True); time.sleep(60)", timeout=1)
    done = _run("import sys; print('after'); sys.exit(5)", timeout=30)
    assert (done.returncode, done.stdout) == (5, "after\n")


def test_a_childs_cpu_is_reported_when_it_ends():
    # tests/cpuprof.py charges it to the test that ran the child, not to the run's exit (where
    # the server, waited for, would bring it in all at once).
    _run("pass")
    before = interpreters.unreaped_cpu()
    done = _run(
        "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    )
    assert done.returncode == 0, done.stderr
    assert interpreters.unreaped_cpu() - before >= 0.25


def test_a_started_child_runs_beside_others_until_it_is_stopped(tmp_path):
    log = tmp_path / "server.log"
    code = "import time; print('up', flush=True); time.sleep(60)"
    server = interpreters.start(["-c", code], cwd=ROOT, env=dict(os.environ), log=log)
    deadline = time.monotonic() + 30
    while "up" not in log.read_text():
        assert server.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    # run() answers while the started child still runs, and a child that ends at once too.
    assert _run("print('beside')", timeout=30).stdout == "beside\n"
    ended = interpreters.start(
        ["-c", "raise SystemExit(4)"], cwd=ROOT, env={}, log=log.parent / "e"
    )
    assert ended.wait(timeout=30) == 4
    assert server.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        server.wait(timeout=0.1)
    server.terminate()
    assert server.wait(timeout=30) == -15
    server.kill()  # ended: its pid is not signalled again
