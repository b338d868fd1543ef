"""kpitrack.core.prepared: a read built once per shape answers what Django's queryset answers,
with other values, and refuses what it cannot run as built."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Q
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from budget.models import AchievementPolicy, Agency, Unit
from kpitrack.core.prepared import Prepared

pytestmark = pytest.mark.django_db


@pytest.fixture
def agencies():
    moi = Agency.objects.create(code="prep-a", name="甲")
    nia = Agency.objects.create(code="prep-b", name="乙", parent=moi)
    for agency in (moi, nia):
        for n in (1, 2, 3):
            Unit.objects.create(agency=agency, code=f"u{n}", name=f"{agency.code} 第{n}組", order=n)
    return moi, nia


def units(agency_id, codes, kind):
    found = Unit.objects.filter(agency_id=agency_id, code__in=codes)
    if kind is not None:
        found = found.filter(kind=kind)
    return found.order_by("order").values_list("code", "name")


UNITS = Prepared(units)


def test_it_answers_what_the_queryset_answers_with_other_values(agencies):
    moi, nia = agencies
    for agency, codes in ((moi, ["u1", "u3"]), (nia, ["u2", "u3"]), (nia, ("u1", "u9"))):
        assert UNITS(agency.pk, codes, None) == list(units(agency.pk, codes, None))
    assert UNITS(nia.pk, {"u2"}, "division") == [("u2", "prep-b 第2組")]
    assert UNITS(nia.pk, ["u1", "u2", "u3"], "section") == []


def test_its_sql_is_built_once_per_shape(agencies, monkeypatch):
    moi, nia = agencies
    prepared = Prepared(units)
    built = []
    monkeypatch.setattr(prepared, "build", lambda *args: built.append(args) or units(*args))
    prepared(moi.pk, ["u1"], None)
    prepared(nia.pk, ["u2"], None)  # same shape: not built again
    assert len(built) == 2  # compiled with two sets of markers, once
    prepared(nia.pk, ["u2", "u3"], None)  # another length
    prepared(nia.pk, ["u2"], "division")  # a bool or None is part of the shape, as is
    assert len(built) == 6
    with CaptureQueriesContext(connection) as queries:
        assert prepared(nia.pk, ["u3"], None) == [("u3", "prep-b 第3組")]
    assert len(built) == 6 and len(queries) == 1


def test_an_empty_list_is_decided_by_django(agencies):
    with CaptureQueriesContext(connection) as queries:
        assert UNITS(agencies[0].pk, [], None) == []
    assert len(queries) == 0


def test_values_are_converted_as_django_converts_them(agencies):
    moi, nia = agencies
    AchievementPolicy.objects.create(agency=moi, year=2024, green_threshold=Decimal("95.5"))
    policies = Prepared(
        lambda agency_ids: (
            AchievementPolicy.objects.filter(agency_id__in=agency_ids)
            .order_by()
            .values_list("green_threshold", "yellow_threshold", flat=False)
        )
    )
    expected = list(
        AchievementPolicy.objects.filter(agency_id__in=[moi.pk]).values_list(
            "green_threshold", "yellow_threshold"
        )
    )
    assert policies([moi.pk]) == expected
    assert [type(value) for value in policies([moi.pk])[0]] == [Decimal, Decimal]
    assert policies([nia.pk]) == []
    flat = Prepared(lambda pk: Agency.objects.filter(pk=pk).values_list("code", flat=True))
    assert flat(nia.pk) == ["prep-b"]


def test_an_argument_used_twice_fills_both_places(agencies):
    moi, nia = agencies
    both = Prepared(
        lambda code: (
            Unit.objects.filter(Q(code=code) | Q(name__startswith="x"), agency__code="prep-b")
            .order_by()
            .values_list("name")
            .union(
                Unit.objects.filter(code=code, agency__code="prep-a")
                .order_by()
                .values_list("name"),
                all=True,
            )
            .order_by("name")
        )
    )
    assert both("u2") == [("prep-a 第2組",), ("prep-b 第2組",)]
    assert both("u1") == [("prep-a 第1組",), ("prep-b 第1組",)]


def test_it_refuses_an_argument_its_lookup_changes(agencies):
    contains = Prepared(lambda code: Unit.objects.filter(code__contains=code).values_list("pk"))
    with pytest.raises(ValueError, match="changed by its lookup"):
        contains("u1")


def test_it_refuses_instances_and_other_arguments(agencies):
    instances = Prepared(lambda pk: Agency.objects.filter(pk=pk))
    with pytest.raises(ValueError, match="values_list"):
        instances(agencies[0].pk)
    with pytest.raises(TypeError):
        UNITS(agencies[0], ["u1"], None)


@pytest.mark.django_db(transaction=True)
def test_a_locking_read_needs_a_transaction(agencies):
    locked = Prepared(
        lambda pk: Agency.objects.select_for_update().filter(pk=pk).values_list("code")
    )
    with transaction.atomic():
        assert locked(agencies[1].pk) == [("prep-b",)]
    if connection.features.has_select_for_update:
        with pytest.raises(TransactionManagementError):
            locked(agencies[1].pk)
