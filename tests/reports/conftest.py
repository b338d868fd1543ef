import pytest


@pytest.fixture(scope="session")
def seeded_pdf(django_db_setup, django_db_blocker):
    """seeded_pdf(kind, year, quarter) -> the PDF bytes of the seeded agency's report, as the
    source documents alone make it: rendered by WeasyPrint once per test session and shared by
    test_pdf.py, test_print_layout.py and test_reprint_published_lines.py, which read the same
    few reports many ways (each render costs seconds of CPU). Call it before the test writes
    anything: the report is read from the database as it is then, and kept."""
    from django.conf import settings
    from django.utils import translation

    from budget.models import Agency
    from kpitrack.reports.assembly import BUDGET, report_for
    from kpitrack.reports.render import pdf_bytes

    rendered = {}

    def render(kind: str, year: int, quarter: int = 2) -> bytes:
        # A performance report is the whole year's, whatever the quarter asked.
        key = (kind, year, quarter if kind == BUDGET else None)
        if key not in rendered:
            with django_db_blocker.unblock(), translation.override(settings.LANGUAGE_CODE):
                report = report_for(Agency.objects.get(code="nia"), kind, year, quarter)
                rendered[key] = pdf_bytes(report)
        return rendered[key]

    return render
