"""kpitrack.core.writes: what a transaction touched reaches the handler once, after commit, and
a rollback never loses the touches of the writes that stand."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from kpitrack.core import writes

pytestmark = pytest.mark.django_db


class Undo(Exception):
    pass


@pytest.fixture
def handled(monkeypatch):
    calls = []
    monkeypatch.setattr(writes, "_handlers", [calls.append])
    return calls


def test_a_transaction_hands_over_what_it_touched_once_after_commit(handled):
    with transaction.atomic():
        writes.touch({(1, 2020)})
        with transaction.atomic():
            writes.touch({(1, 2020), (2, 2021)})
        assert handled == []
    assert handled == [{(1, 2020), (2, 2021)}]


def test_a_rolled_back_transaction_hands_over_nothing(handled):
    with pytest.raises(Undo), transaction.atomic():
        writes.touch({(1, 2020)})
        raise Undo
    assert handled == []


def test_a_savepoint_rolled_back_takes_its_keys_and_loses_none_of_the_others(handled):
    """The callback was scheduled inside the savepoint and went with it: the next write
    schedules it again."""
    with transaction.atomic():
        with pytest.raises(Undo), transaction.atomic():
            writes.touch({"inside"})
            raise Undo
        writes.touch({"after"})
    assert handled == [{"after"}]


def test_keys_touched_before_a_savepoint_survive_its_rollback(handled):
    with transaction.atomic():
        writes.touch({"before"})
        with pytest.raises(Undo), transaction.atomic():
            writes.touch({"inside"})
            raise Undo
    # "inside" joined the callback scheduled outside the savepoint: refreshed needlessly, a
    # recomputation of committed data, never wrong.
    assert handled == [{"before", "inside"}]


def test_a_change_needs_a_reason_and_unknown_fields_are_refused():
    with pytest.raises(ValidationError) as refused:
        writes.require_reason("  ")
    assert refused.value.error_dict["reason"][0].code == "reason_required"
    assert writes.require_reason(" 更正 ") == "更正"
    with pytest.raises(ValidationError, match="bogus"):
        writes.check_fields({"name": 1, "bogus": 2}, ("name",))
