"""Pre-rendering on approval (settings.PRERENDER_ON_APPROVAL, off by default): when the approval
of an agency's last result of a quarter commits, jobs render the reports that print that
quarter, so the first download is served from storage. From the workflow agency of
tests/performance/conftest.py (three indicators, quarter 1)."""

import pytest

from budget.models import Agency, Membership
from budget.services import membership_create
from kpitrack.jobs.execution import job_execute
from kpitrack.jobs.models import Job
from kpitrack.reports.exports import prerender, printing
from performance.models import Result
from performance.services import result_final_approve
from tests.performance.conftest import _workflow_rows, workflow  # noqa: F401 (fixtures)
from tests.reports.test_quarterly import _enter

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(workflow, alice):  # noqa: F811
    """Every result entered and first-approved, waiting for 複核."""
    _enter(workflow, alice, everything=True)
    Result.objects.filter(indicator__goal__agency=workflow.agency).update(
        state=Result.State.FIRST_APPROVED
    )
    return workflow


def _approve(flow, alice, indicators, django_capture_on_commit_callbacks):
    """複核 of each; then what the transaction's commit would run. Only those: the jobs they
    start hand themselves to the pool on a commit the test never makes (tests/jobs/running.py
    runs them in the test's thread)."""
    with django_capture_on_commit_callbacks() as callbacks:
        for indicator in indicators:
            result = Result.objects.get(indicator=indicator, quarter=1)
            result_final_approve(result=result, expected_version=result.version, user=alice)
    for callback in callbacks:
        callback()


def test_off_by_default_the_last_approval_renders_nothing(
    reviewed, alice, django_capture_on_commit_callbacks
):
    flow = reviewed
    _approve(
        flow, alice, [flow.count, flow.ratio, flow.elsewhere], django_capture_on_commit_callbacks
    )
    assert not Job.objects.exists()


def test_the_last_approval_of_the_quarter_queues_its_reports(
    reviewed, alice, client, settings, django_capture_on_commit_callbacks
):
    settings.PRERENDER_ON_APPROVAL = True
    flow = reviewed
    _approve(flow, alice, [flow.count, flow.ratio], django_capture_on_commit_callbacks)
    assert not Job.objects.exists()  # one result still waits
    _approve(flow, alice, [flow.elsewhere], django_capture_on_commit_callbacks)
    jobs = list(Job.objects.order_by("pk"))
    assert [(job.params["kind"], job.params["format"]) for job in jobs] == [
        ("quarterly", "pdf"),
        ("quarterly", "xlsx"),
    ]
    assert all(job.user == alice and job.agency == flow.agency for job in jobs)
    assert all(job.params["prerender"] and job.title.startswith("預先產生：") for job in jobs)
    xlsx = jobs[1]
    job_execute(xlsx.pk)
    xlsx.refresh_from_db()
    assert xlsx.state == "done", xlsx.error
    # The first download is the stored file: no job, no render.
    client.force_login(alice)
    response = client.get(f"/reports/wf/quarterly/{flow.year}/q1/xlsx/")
    assert response.status_code == 200
    assert Job.objects.count() == 2
    # Nothing is queued twice: the xlsx is stored, the pdf is being made.
    assert prerender(agency=flow.agency, year=flow.year, quarter=1, user=alice) == []


def test_a_reader_asking_while_the_pre_render_waits_joins_it(
    reviewed, alice, client, settings, django_user_model, django_capture_on_commit_callbacks
):
    """The approver owns the pre-render; a reader of the agency asking for the same file is
    shown that job, not a second render of it."""
    settings.PRERENDER_ON_APPROVAL = True
    flow = reviewed
    _approve(
        flow, alice, [flow.count, flow.ratio, flow.elsewhere], django_capture_on_commit_callbacks
    )
    pdf = Job.objects.get(params__format="pdf")
    erin = django_user_model.objects.create_user("erin", "erin@example.org", "erin-password")
    membership_create(
        member=erin, agency=flow.agency, role=Membership.Role.VIEWER, user=None, reason="測試"
    )
    client.force_login(erin)
    response = client.get(f"/reports/wf/quarterly/{flow.year}/q1/pdf/")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{pdf.pk}/"
    assert Job.objects.count() == 2


def test_nothing_is_queued_before_the_commit(
    reviewed, alice, settings, django_capture_on_commit_callbacks
):
    settings.PRERENDER_ON_APPROVAL = True
    flow = reviewed
    _approve(flow, alice, [flow.count, flow.ratio], django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks() as callbacks:
        result = Result.objects.get(indicator=flow.elsewhere, quarter=1)
        result_final_approve(result=result, expected_version=result.version, user=alice)
    assert callbacks  # run only by a commit: not here
    assert not Job.objects.exists()


def test_the_reports_that_print_a_quarter():
    nia = Agency.objects.get(code="nia")
    assert printing(nia, 2012, 4) == [
        ("quarterly", 2012, 4, [nia.pk]),
        ("budget", 2013, 4, None),  # its elapsed part: 2012 through the quarter
        ("performance", 2012, 4, None),
    ]
    assert printing(nia, 2013, 2) == [("quarterly", 2013, 2, [nia.pk])]
