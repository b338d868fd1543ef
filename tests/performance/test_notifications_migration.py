"""Migration 0010 replaces ReminderSent with Notification: every reminder already sent becomes a
notification, read and e-mailed, so the daily run does not send it again."""

from datetime import date

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("performance", "0009_milestones")
AFTER = ("performance", "0010_notifications")


@pytest.fixture(autouse=True)
def _the_latest_schema_afterwards():
    # Going back to BEFORE also unapplies every later migration (0011 and on), which going
    # forward to AFTER does not redo: the tests after this one need the whole schema back.
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


def test_reminders_sent_before_are_not_sent_again(django_user_model):
    old = _migrate(BEFORE)
    try:
        # budget's tables are as they are now (only performance went back a step).
        from budget.models import Agency

        agency = Agency.objects.create(code="mig", name="遷移署")
        period = old.get_model("performance", "ReportingPeriod").objects.create(
            agency_id=agency.pk,
            year=2026,
            quarter=3,
            opens_on=date(2026, 10, 1),
            closes_on=date(2026, 10, 31),
            first_review_due=date(2026, 11, 10),
            final_review_due=date(2026, 11, 20),
        )
        user = django_user_model.objects.create_user("told", "told@example.org")
        old.get_model("performance", "ReminderSent").objects.create(
            user_id=user.pk, kind="entry_overdue", period=period
        )
    finally:
        new = _migrate(AFTER)
    (carried,) = new.get_model("performance", "Notification").objects.all()
    assert (carried.recipient_id, carried.kind, carried.event) == (
        user.pk,
        "entry_overdue",
        f"period:{period.pk}",
    )
    assert carried.read_at is not None and carried.emailed_at is not None
    assert carried.params == {"year": 2026, "quarter": 3}

    from performance.models import Notification
    from performance.services.notifications import notifications_for_period

    current = Notification.objects.get().period
    made = notifications_for_period(
        [user], kind="entry_overdue", period=current, params={"closes": "", "count": 1}
    )
    assert made == [] and mail.outbox == []
