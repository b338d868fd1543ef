"""A unit's quarter on one page (performance/unit_views.py): every row saved at once; a refused
row keeps what was typed and writes nothing while the others are saved; warnings asked before
anything is written; evidence before the first save and deleted with a reason; the unit head's
submission of every complete row, a stale one refused by name."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from budget.services import agency_create
from performance.models import Evidence, Result
from performance.services import DraftEntry, result_save_draft, results_save_quarter

from .cast import Role, member

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BEHIND = {"shortfall_reason": "人力不足", "improvement": "增派人力"}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _url(flow, name="unit-quarter", *extra):
    args = [flow.agency.code, flow.unit.code, flow.year, flow.quarter, *extra]
    return reverse(name, args=args)


def _post(flow, *, count=None, ratio=None, **extra) -> dict:
    """The page's save form: `count` and `ratio` are each row's fields (unprefixed)."""
    data = {}
    for indicator, fields in ((flow.count, count), (flow.ratio, ratio)):
        prefix = f"i{indicator.pk}-"
        base = {"version": "", "f_value": "", "f_num": "", "f_den": ""}
        for name, value in {**base, **(fields or {})}.items():
            data[prefix + name] = value
    data.update(extra)
    return data


def _figures(indicator, quarter=1):
    result = Result.objects.filter(indicator=indicator, quarter=quarter).first()
    return {f.key: f.value for f in result.figures.all()} if result else None


def test_every_row_is_saved_at_once(client, django_user_model, workflow):
    staff = member(django_user_model, workflow, Role.STAFF)
    client.force_login(staff)
    page = client.get(_url(workflow))
    assert page.status_code == 200
    assert workflow.count.name in page.text and workflow.ratio.name in page.text
    assert workflow.elsewhere.name not in page.text  # the other unit's
    response = client.post(
        _url(workflow),
        _post(
            workflow,
            count={"f_value": "10", **BEHIND},  # behind its milestone (25, the default)
            ratio={"f_num": "95", "f_den": "100"},  # ahead of its target
        ),
    )
    assert response.status_code == 302
    assert _figures(workflow.count) == {"value": Decimal("10")}
    assert _figures(workflow.ratio) == {"num": Decimal("95"), "den": Decimal("100")}
    count = Result.objects.get(indicator=workflow.count, quarter=1)
    assert count.shortfall_reason == "人力不足"
    assert count.history.first().history_user == staff


def test_a_refused_row_keeps_what_was_typed_and_writes_nothing(client, django_user_model, workflow):
    client.force_login(member(django_user_model, workflow, Role.STAFF))
    response = client.post(
        _url(workflow),
        _post(
            workflow,
            count={"f_value": "30", "progress": "順利"},
            ratio={"f_num": "120", "f_den": "100", "progress": "查獲說明"},  # num > den
        ),
    )
    assert response.status_code == 400
    assert _figures(workflow.count) == {"value": Decimal("30")}  # the other row is saved
    assert _figures(workflow.ratio) is None  # nothing of the refused row
    text = response.text
    assert "分子「查獲件數」不可大於分母「受理件數」。" in text
    ratio = f"i{workflow.ratio.pk}-"
    assert f'name="{ratio}f_num" value="120"' in text
    assert "查獲說明" in text
    # The saved row comes back with its new version, so the next save is not stale.
    count = Result.objects.get(indicator=workflow.count, quarter=1)
    assert f'name="i{workflow.count.pk}-version" value="{count.version}"' in text


def test_a_stale_row_is_refused_by_name_and_the_other_saved(client, django_user_model, workflow):
    staff = member(django_user_model, workflow, Role.STAFF)
    first = result_save_draft(
        indicator=workflow.ratio,
        quarter=1,
        figures={"num": Decimal("1"), "den": Decimal("2")},
        narrative={},
        expected_version=None,
        user=staff,
    )
    client.force_login(staff)
    response = client.post(
        _url(workflow),
        _post(
            workflow,
            count={"f_value": "30"},
            ratio={"f_num": "5", "f_den": "9", "version": str(first.version - 1)},
        ),
    )
    assert response.status_code == 409
    assert "在您開啟本頁後已被其他人修改" in response.text
    assert workflow.ratio.name in response.text
    assert _figures(workflow.ratio) == {"num": Decimal("1"), "den": Decimal("2")}
    assert _figures(workflow.count) == {"value": Decimal("30")}


def test_the_service_writes_the_valid_entries_only(workflow, alice):
    refusals = results_save_quarter(
        quarter=1,
        entries=[
            DraftEntry(workflow.count.pk, {"value": "40"}, {}, None),
            DraftEntry(workflow.ratio.pk, {"num": "-1", "den": "3"}, {}, None),
        ],
        user=alice,
        reason="測試",
    )
    assert list(refusals) == [1]
    assert _figures(workflow.count) == {"value": Decimal("40")}
    assert _figures(workflow.ratio) is None


def test_warnings_are_asked_before_anything_is_written(client, django_user_model, workflow):
    client.force_login(member(django_user_model, workflow, Role.STAFF))
    data = _post(workflow, count={"f_value": "400"}, ratio={"f_num": "1", "f_den": "2"})
    asked = client.post(_url(workflow), data)
    assert asked.status_code == 200
    assert "超過本季預定進度 25 的 3 倍" in asked.text
    assert _figures(workflow.count) is None and _figures(workflow.ratio) is None
    confirm = asked.context["confirm"]
    # A confirmation of other figures confirms nothing.
    changed = {**data, f"i{workflow.count.pk}-f_value": "500", "confirmed": confirm}
    assert client.post(_url(workflow), changed).status_code == 200
    assert _figures(workflow.count) is None
    assert client.post(_url(workflow), {**data, "confirmed": confirm}).status_code == 302
    assert _figures(workflow.count) == {"value": Decimal("400")}


def test_a_cumulative_figure_below_last_quarter_asks(client, django_user_model, workflow, alice):
    staff = member(django_user_model, workflow, Role.STAFF)
    result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": Decimal("20")},
        narrative={},
        expected_version=None,
        user=staff,
    )
    from performance.models import Indicator

    Indicator.objects.filter(pk=workflow.count.pk).update(aggregation="latest")
    client.force_login(staff)
    url = reverse("unit-quarter", args=[workflow.agency.code, workflow.unit.code, workflow.year, 2])
    data = {f"i{workflow.count.pk}-version": "", f"i{workflow.count.pk}-f_value": "15"}
    asked = client.post(url, data)
    assert "累計值 15 低於上一季的 20" in asked.text
    assert _figures(workflow.count, 2) is None


def test_evidence_before_the_first_save_and_deleted_with_a_reason(
    client, django_user_model, workflow, media
):
    client.force_login(member(django_user_model, workflow, Role.STAFF))
    url = _url(workflow, "unit-evidence-upload", workflow.count.pk)
    upload = client.post(
        url, {"file": SimpleUploadedFile("紀錄.pdf", PDF)}, headers={"HX-Request": "true"}
    )
    assert upload.status_code == 200
    result = Result.objects.get(indicator=workflow.count, quarter=1)
    assert result.state == Result.State.DRAFT
    evidence = Evidence.objects.get(result=result)
    assert "紀錄.pdf" in upload.text
    # The row's version goes back with the list, so the page's next save is not stale.
    assert f'id="id_i{workflow.count.pk}-version" value="{result.version}"' in upload.text
    delete = _url(workflow, "unit-evidence-delete", evidence.pk)
    refused = client.post(delete, {"reason": " "}, headers={"HX-Request": "true"})
    assert "請說明修改理由" in refused.text
    assert Evidence.objects.filter(pk=evidence.pk).exists()
    client.post(delete, {"reason": "傳錯檔案"}, headers={"HX-Request": "true"})
    assert not Evidence.objects.filter(pk=evidence.pk).exists()
    assert Evidence.history.filter(
        id=evidence.pk, history_type="-"
    ).get().history_change_reason == ("傳錯檔案")


def test_a_refused_upload_creates_no_draft(client, django_user_model, workflow, media):
    client.force_login(member(django_user_model, workflow, Role.STAFF))
    url = _url(workflow, "unit-evidence-upload", workflow.ratio.pk)
    answer = client.post(
        url, {"file": SimpleUploadedFile("a.pdf", b"not a pdf")}, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 200
    assert "不是可接受的檔案類型" in answer.text
    assert not Result.objects.filter(indicator=workflow.ratio).exists()


def test_the_head_submits_every_complete_row(client, django_user_model, workflow):
    head = member(django_user_model, workflow, Role.HEAD)
    count = result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": Decimal("10")},  # behind: needs its explanation
        narrative={},
        expected_version=None,
        user=head,
    )
    client.force_login(head)
    page = client.get(_url(workflow))
    assert f'name="v{count.pk}" value="{count.version}"' in page.text
    answer = client.post(_url(workflow, "unit-quarter-submit"), {f"v{count.pk}": count.version})
    shown = client.get(answer.url).text
    assert "「指標count」：" in shown and "未達成原因" in shown
    assert "「指標ratio」：尚未填報。" in shown
    count.refresh_from_db()
    assert count.state == Result.State.DRAFT
    count = result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": Decimal("30")},
        narrative={},
        expected_version=count.version,
        user=head,
    )
    client.post(_url(workflow, "unit-quarter-submit"), {f"v{count.pk}": count.version})
    count.refresh_from_db()
    assert count.state == Result.State.SUBMITTED


def test_a_stale_row_in_the_bulk_submit_is_refused_by_name(client, django_user_model, workflow):
    head = member(django_user_model, workflow, Role.HEAD)
    rows = {}
    for indicator, figures in (
        (workflow.count, {"value": Decimal("30")}),
        (workflow.ratio, {"num": Decimal("95"), "den": Decimal("100")}),
    ):
        rows[indicator.code] = result_save_draft(
            indicator=indicator,
            quarter=1,
            figures=figures,
            narrative={},
            expected_version=None,
            user=head,
        )
    count, ratio = rows["count"], rows["ratio"]
    client.force_login(head)
    answer = client.post(
        _url(workflow, "unit-quarter-submit"),
        {f"v{count.pk}": count.version, f"v{ratio.pk}": ratio.version - 1},
    )
    shown = client.get(answer.url).text
    assert "「指標ratio」：在您開啟本頁後已被其他人修改" in shown
    count.refresh_from_db()
    ratio.refresh_from_db()
    assert (count.state, ratio.state) == (Result.State.SUBMITTED, Result.State.DRAFT)


def test_staff_may_not_submit_the_quarter(client, django_user_model, workflow):
    client.force_login(member(django_user_model, workflow, Role.STAFF))
    assert "submit-all" not in client.get(_url(workflow)).text
    assert client.post(_url(workflow, "unit-quarter-submit"), {}).status_code == 403


def test_another_unit_is_refused_and_an_unknown_one_not_found(client, django_user_model, workflow):
    other = member(django_user_model, workflow, Role.STAFF, unit=workflow.other_unit, name="o")
    client.force_login(other)
    assert client.get(_url(workflow)).status_code == 403
    missing = reverse("unit-quarter", args=[workflow.agency.code, "nope", workflow.year, 1])
    assert client.get(missing).status_code == 404
    bad = reverse("unit-quarter", args=[workflow.agency.code, workflow.unit.code, workflow.year, 5])
    assert client.get(bad).status_code in (403, 404)


def test_the_row_preview_is_the_engine_on_the_typed_row(client, django_user_model, workflow):
    client.force_login(member(django_user_model, workflow, Role.STAFF))
    url = _url(workflow, "unit-row-preview", workflow.count.pk)
    answer = client.post(url, {f"i{workflow.count.pk}-f_value": "10"})
    assert answer.status_code == 200
    assert "落後預定進度" in answer.text
    wrong = client.post(url, {f"i{workflow.count.pk}-f_value": "abc"})
    assert "請先修正下列數值" in wrong.text


def test_my_work_and_the_entry_page_link_the_unit_page(client, django_user_model, workflow):
    client.force_login(member(django_user_model, workflow, Role.STAFF))
    work = client.get(reverse("my-work"), {"year": workflow.year, "quarter": 1}).text
    assert f'href="{_url(workflow)}"' in work
    entry = client.get(reverse("result-entry", args=[workflow.count.pk, 1])).text
    assert f'href="{_url(workflow)}"' in entry


def test_reviewers_get_no_link_to_a_page_they_may_not_open(client, django_user_model, workflow):
    client.force_login(member(django_user_model, workflow, Role.PLANNER))
    work = client.get(reverse("my-work"), {"year": workflow.year, "quarter": 1}).text
    assert "unit-page" not in work
    assert client.get(_url(workflow)).status_code == 403


def test_the_unit_page_links_the_workbook_of_its_unit_and_quarter(
    client, django_user_model, workflow
):
    client.force_login(member(django_user_model, workflow, Role.STAFF))
    page = client.get(_url(workflow))
    link = page.text.split('data-testid="workbook-link"')[0].rsplit('href="', 1)[1].split('"')[0]
    workbook = client.get(link.replace("&amp;", "&"))
    assert workbook.status_code == 200
    # The workbook page opens on this unit and quarter: its download is this scope's.
    scope = workbook.context["scope"]
    assert (scope.agency_id, scope.unit_id, scope.year, scope.quarter) == (
        workflow.agency.pk,
        workflow.unit.pk,
        workflow.year,
        workflow.quarter,
    )


def test_a_units_page_is_found_under_its_own_agency_only(client, alice, workflow):
    """The same unit code under another agency's address is no page (alice, a superuser, may
    enter every unit: what answers is the address, not a right)."""
    other = agency_create(code="other-agency", name="他機關", user=None)
    client.force_login(alice)
    assert client.get(_url(workflow)).status_code == 200
    url = reverse("unit-quarter", args=[other.code, workflow.unit.code, workflow.year, 1])
    assert client.get(url).status_code == 404
