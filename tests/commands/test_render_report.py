"""`manage.py render_report`: the same reports as files, and clear refusals for bad requests."""

import errno
import os
import resource
import signal
import stat
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

pytestmark = pytest.mark.django_db


def render(*args) -> str:
    out = StringIO()
    call_command("render_report", *args, stdout=out)
    return out.getvalue()


BUDGET_2013 = ["budget", "--year", "2013", "--through-quarter", "2"]


@pytest.mark.parametrize("fmt", ["html", pytest.param("pdf", marks=pytest.mark.pdf), "xlsx"])
def test_it_writes_the_budget_report_in_each_format(tmp_path, fmt):
    path = tmp_path / f"budget-2013.{fmt}"
    out = render(*BUDGET_2013, "--format", fmt, "--output", str(path))
    assert path.is_file(), f"no {fmt} file written"
    data = path.read_bytes()
    assert str(path) in out and str(len(data)) in out, f"unexpected output: {out!r}"
    if fmt == "html":
        html = data.decode("utf-8")
        assert "預算總說明" in html and "中華民國102年度" in html
        assert "(二)上(101)年度已過期間施政績效及達成情形（1-6月）" in html
        assert "與重算結果不符" not in html, "the print HTML carries the on-screen note"
    elif fmt == "pdf":
        assert data.startswith(b"%PDF-")
        assert len(data) > 100_000
    else:
        wb = load_workbook(path)
        assert "關鍵績效指標" in wb.sheetnames and "101年度1-6月績效" in wb.sheetnames
        assert wb["關鍵績效指標"].max_row == 12  # header + 11 KPIs


def test_it_renders_the_chosen_quarter(tmp_path):
    path = tmp_path / "budget-2013-q4.html"
    render(
        "budget",
        "--year",
        "2013",
        "--through-quarter",
        "4",
        "--format",
        "html",
        "--output",
        str(path),
    )
    html = path.read_text(encoding="utf-8")
    assert "(二)上(101)年度已過期間施政績效及達成情形（全年度）" in html
    assert "（1-6月）" not in html


def test_it_writes_the_performance_report(tmp_path):
    html = tmp_path / "performance-2010.html"
    render("performance", "--year", "2010", "--format", "html", "--output", str(html))
    text = html.read_text(encoding="utf-8")
    assert "99年度施政績效報告" in text and "中華民國99年度" in text
    assert "績效衡量暨達成情形分析" in text
    xlsx = tmp_path / "performance-2010.xlsx"
    render("performance", "--year", "2010", "--format", "xlsx", "--output", str(xlsx))
    assert load_workbook(xlsx).sheetnames == ["指標達成情形", "目標項目明細"]


def test_it_refuses_a_year_without_data(tmp_path):
    path = tmp_path / "budget-2030.html"
    with pytest.raises(CommandError, match="民國119"):
        render("budget", "--year", "2030", "--format", "html", "--output", str(path))
    assert not path.exists()


def test_it_refuses_a_year_outside_the_calendar(tmp_path):
    with pytest.raises(CommandError, match="1912"):
        render("budget", "--year", "1800", "--format", "html", "--output", str(tmp_path / "x"))


def test_it_refuses_an_unknown_agency(tmp_path):
    path = tmp_path / "nope.html"
    with pytest.raises(CommandError, match="nope"):
        render(*BUDGET_2013, "--format", "html", "--output", str(path), "--agency", "nope")
    assert not path.exists()


@pytest.mark.parametrize("jobs", ["0", "-2", "65"])
def test_it_refuses_a_number_of_processes_out_of_range(tmp_path, jobs):
    """--jobs 0 was taken for 1 without a word."""
    path = tmp_path / "all.zip"
    with pytest.raises(CommandError, match="--jobs 必須介於 1 與 64 之間"):
        render("performance", "--year", "2010", "--format", "pdf", "--all-agencies", "--jobs",
               jobs, "--output", str(path))  # fmt: skip
    assert not path.exists()


def test_it_refuses_an_output_folder_that_does_not_exist(tmp_path):
    path = tmp_path / "missing" / "budget-2013.html"
    with pytest.raises(CommandError, match="輸出資料夾不存在"):
        render(*BUDGET_2013, "--format", "html", "--output", str(path))
    assert not path.parent.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["budget", "--year", "2013", "--format", "docx"],
        ["budget", "--year", "2013", "--format", "html", "--through-quarter", "5"],
        ["budget", "--year", "abc", "--format", "html"],
        ["foo", "--year", "2013", "--format", "html"],
    ],
    ids=["format", "quarter", "year", "kind"],
)
def test_it_rejects_invalid_options(tmp_path, args):
    with pytest.raises((CommandError, SystemExit)):
        render(*args, "--output", str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_it_requires_an_output_file():
    with pytest.raises((CommandError, SystemExit)):
        render(*BUDGET_2013, "--format", "html")


def test_it_refuses_an_output_that_is_a_folder(tmp_path):
    with pytest.raises(CommandError, match="輸出路徑是資料夾"):
        render(*BUDGET_2013, "--format", "html", "--output", str(tmp_path))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_it_refuses_a_folder_it_may_not_write_to(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    with pytest.raises(CommandError, match="沒有權限寫入輸出資料夾"):
        render(*BUDGET_2013, "--format", "html", "--output", str(folder / "r.html"))


def test_a_failed_write_leaves_the_previous_file_and_no_temporary_file(tmp_path):
    """A full disk, simulated with a file-size limit: the old report stays whole, no debris."""
    path = tmp_path / "budget-2013.html"
    path.write_bytes(b"previous report")
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, limits[1]))
    try:
        with pytest.raises(CommandError, match="無法寫入"):
            render(*BUDGET_2013, "--format", "html", "--output", str(path))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, previous_handler)
    assert path.read_bytes() == b"previous report"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_it_replaces_an_existing_report_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "budget-2013.html"
    path.write_bytes(b"previous report")
    render(*BUDGET_2013, "--format", "html", "--output", str(path))
    assert "預算總說明" in path.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_it_escapes_quotes_and_angle_brackets_in_the_running_header(tmp_path):
    """The agency's name sits in a CSS string inside <style>: it must print as typed."""
    from budget.models import Agency

    name = '"A" <B>\'s\\'
    Agency.objects.filter(code="nia").update(name=name)
    path = tmp_path / "budget-2013.html"
    render(*BUDGET_2013, "--format", "html", "--output", str(path))
    html = path.read_text(encoding="utf-8")
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert '@top-left { content: "\\22 A\\22  \\3c B\\3e \\27 s\\5c ";' in style, style[:600]
    assert "&quot;" not in style and "&lt;" not in style


def _device_like_dev_full(tmp_path):
    # The same device as /dev/full (char 1,7), made where replacing it harms nothing.
    path = tmp_path / "full"
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    except PermissionError:
        pytest.skip("only root may make a device node")
    return path


def test_it_refuses_a_device_and_never_replaces_it(tmp_path):
    path = _device_like_dev_full(tmp_path)
    with pytest.raises(CommandError, match="不是一般檔案"):
        render(*BUDGET_2013, "--format", "html", "--output", str(path))
    assert stat.S_ISCHR(path.lstat().st_mode), "the device node was replaced"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


@pytest.mark.parametrize("kind", ["fifo", "symlink"])
def test_it_refuses_any_existing_path_that_is_not_a_regular_file(tmp_path, kind):
    path = tmp_path / "out.html"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        (tmp_path / "elsewhere.html").write_text("kept")
        path.symlink_to(tmp_path / "elsewhere.html")
    before = path.lstat().st_mode
    with pytest.raises(CommandError, match="不是一般檔案"):
        render(*BUDGET_2013, "--format", "html", "--output", str(path))
    assert path.lstat().st_mode == before
    if kind == "symlink":
        assert (tmp_path / "elsewhere.html").read_text() == "kept"


def test_a_write_that_fails_is_an_error_and_leaves_nothing(tmp_path, monkeypatch):
    path = tmp_path / "budget.html"

    def full_disk(fd):  # what a full disk answers when the written data is flushed
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(CommandError, match=os.strerror(errno.ENOSPC)):
        render(*BUDGET_2013, "--format", "html", "--output", str(path))
    assert list(tmp_path.iterdir()) == []


def test_it_refuses_a_quarter_for_the_performance_report(tmp_path):
    """The performance report covers the whole year: --through-quarter is refused, not ignored."""
    path = tmp_path / "performance-2010.html"
    args = ["performance", "--year", "2010", "--format", "html", "--output", str(path)]
    with pytest.raises(CommandError, match="--through-quarter.*預算總說明"):
        render(*args, "--through-quarter", "2")
    assert not path.exists()
    render(*args)  # without it, the report is written
    assert path.is_file()
