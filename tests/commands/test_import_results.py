"""`manage.py import_results`: an input that never ends (a device, a pipe) is read no further than
the size limit, and refused."""

import os
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db
LIMIT = 1000


@pytest.fixture
def small_limit(settings):
    settings.KPITRACK_WORKBOOK_MAX_BYTES = LIMIT


def test_dev_zero_is_refused_at_once(alice, small_limit):
    with pytest.raises(CommandError, match="上限"):
        call_command("import_results", "/dev/zero", user="alice")


def test_a_pipe_is_read_no_further_than_the_limit(alice, small_limit, tmp_path):
    # A pipe, like /dev/zero, says size 0; its writer counts what the command took from it
    # (at most the limit, a byte more, and what the pipe's buffer held).
    fifo = tmp_path / "endless"
    os.mkfifo(fifo)
    written = []

    def feed():
        with open(fifo, "wb", buffering=0) as pipe:
            total = 0
            try:
                while total < 10 * 1024 * 1024:
                    total += pipe.write(b"\0" * 4096)
            except BrokenPipeError:
                pass
            written.append(total)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    with pytest.raises(CommandError, match="上限"):
        call_command("import_results", str(fifo), user="alice")
    writer.join(timeout=10)
    assert written and written[0] < LIMIT + 1 + 1024 * 1024, written
