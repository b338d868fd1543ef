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
