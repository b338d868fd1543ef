"""A result entered in kpitrack (not transcribed from a document) prints a line worded from its
figures in the agency's phrasing: the value with the target's unit, 達成率 and the verdict, for
every method; a short result adds 未達成原因 and 改善措施. Read on the rendered report page."""

import html
import re
from decimal import Decimal

import pytest

from budget.models import Agency
from performance.models import (
    Indicator,
    IndicatorInput,
    Result,
    ResultFigure,
    StrategicGoal,
    TargetPart,
)

pytestmark = pytest.mark.django_db

YEAR = 2020  # a year the seeded documents do not hold
D = Decimal


def _indicator(goal, n, method, parts, figures, *, formula="", baseline=None, basis="rate"):
    indicator = Indicator.objects.create(
        goal=goal,
        code=f"i{n}",
        order=n,
        name=f"指標{n}",
        measurement_standard="衡量標準文字",
        method=method,
        formula=formula,
        baseline=baseline,
    )
    for m, (key, target, unit, weight) in enumerate(parts):
        TargetPart.objects.create(
            indicator=indicator, key=key, label=key, value=target, unit=unit, weight=weight, order=m
        )
    for m, key in enumerate(figures):
        IndicatorInput.objects.create(indicator=indicator, key=key, label=key, order=m)
    result = Result.objects.create(
        indicator=indicator,
        quarter=4,
        state=Result.State.APPROVED,
        progress="辦理情形文字",
        benefit="效益文字",
        published_basis=basis,
    )
    for key, value in figures.items():
        ResultFigure.objects.create(result=result, key=key, value=value)
    return indicator


@pytest.fixture
def entered_year():
    agency = Agency.objects.get(code="nia")
    goal = StrategicGoal.objects.create(agency=agency, year=YEAR, code="g", title="策略目標")
    cases = [
        ("count", [("value", D(160), "件", None)], {"value": D(165)}),
        ("lower", [("value", D(0), "件", None)], {"value": D(0)}),
        ("ratio", [("value", D(80), "%", None)], {"ok": D(9), "all": D(11)}),
        (
            "weighted",
            [("a", D(100), "%", D(60)), ("b", D(100), "%", D(40))],
            {"a": D(100), "b": D(50)},
        ),
        ("multi", [("a", D(12), "所", None), ("b", D(20), "場次", None)], {"a": D(19), "b": D(10)}),
        ("ordinal", [("value", D(2), "", None)], {"value": D(2)}),
        ("rating", [("value", D(1), "", None)], {"value": D(1)}),
    ]
    for n, (method, parts, figures) in enumerate(cases, start=1):
        _indicator(goal, n, method, parts, figures)
    _indicator(goal, 8, "growth", [("value", D(2), "%", None)], {"value": D(158)}, baseline=D(89))
    _indicator(
        goal,
        9,
        "growth",
        [("value", D(2), "%", None)],
        {"value": D(158)},
        baseline=D(89),
        basis="value",
    )
    _indicator(
        goal,
        10,
        "formula",
        [("value", D(2), "%", None)],
        {"a": D(102), "b": D(100)},
        formula="(a - b) / b * 100",
    )
    return agency


def _cells(client, bob):
    client.force_login(bob)
    response = client.get(f"/reports/nia/performance/{YEAR}/")
    assert response.status_code == 200
    page = response.content.decode()
    rows = re.findall(r'<div class="analysis">(.*?)</div>', page, re.S)
    flat = [html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<br>", "\n", row))) for row in rows]
    return [re.sub(r"\s*\n\s*", "\n", cell).strip() for cell in flat]


EXPECTED = [
    "三、目標達成值：165件，達成率103.13%，符合並超越年度目標值。",
    "三、目標達成值：0件，達成率100%，符合年度目標值。",
    "三、目標達成值：81.82%，達成率102.27%，符合並超越年度目標值。",
    "三、目標達成值：\n1.a：達成率100%（權重60%）\n2.b：達成率50%（權重40%）\n"
    "加權達成率80%，未達年度目標值。",
    # Each figure after its item's label: 「1.19所」 read as one-point-nineteen (issue 18 item 19).
    "三、目標達成值：\n1.a：19所，達成率158.33%。\n2.b：10場次，達成率50%。\n"
    "達成率50%（取各項最低者），未達年度目標值。",
    "三、目標達成值：2，達成率100%，符合年度目標值。",
    "三、目標達成值：已達成，符合年度目標值。",
    "三、目標達成值：成長率77.53%，達成率3,876.4%，符合並超越年度目標值。",
    "三、目標達成值：77.53%，符合並超越年度目標值。",
    "三、目標達成值：2%，達成率100%，符合年度目標值。",
]


@pytest.mark.parametrize(
    ("n", "line"),
    list(enumerate(EXPECTED)),
    ids=[
        "count",
        "lower",
        "ratio",
        "weighted",
        "multi",
        "ordinal",
        "rating",
        "growth",
        "growth-quoted",
        "formula",
    ],
)
def test_it_words_an_entered_result_from_its_figures(client, bob, entered_year, n, line):
    cell = _cells(client, bob)[n]
    assert line in cell, cell
    assert "重算" not in cell, "an entered result has no recomputation note"


@pytest.mark.parametrize("n", [3, 4])
def test_a_short_result_asks_for_its_reason_and_remedy(client, bob, entered_year, n):
    cell = _cells(client, bob)[n]
    assert "(一)未達成原因：（尚未填報）" in cell and "(二)改善措施：（尚未填報）" in cell, cell


def test_a_result_that_met_its_target_has_no_shortfall_parts(client, bob, entered_year):
    for cell in _cells(client, bob)[:3]:
        assert "未達成原因" not in cell and "改善措施" not in cell


def test_the_workbook_keeps_an_item_number_off_its_figure(entered_year):
    """Issue 18 item 19: 「1.」 before 「85次」 read as 1.85次 in the Excel export."""
    from io import BytesIO

    from openpyxl import load_workbook

    from kpitrack.reports.assembly import report_for
    from kpitrack.reports.render import xlsx_bytes

    wb = load_workbook(BytesIO(xlsx_bytes(report_for(entered_year, "performance", YEAR))))
    ws = wb["指標達成情形"]
    first = 1 if ws["A1"].value == "策略目標" else 2  # a draft has a banner above the header
    names = [c.value for c in ws[first]]
    rows = [
        dict(zip(names, r, strict=True)) for r in ws.iter_rows(min_row=first + 1, values_only=True)
    ]
    multi = next(r for r in rows if r["績效指標"] == "指標5")
    lines = multi["報告所列達成度"].splitlines()
    assert lines[:2] == ["1.a：19所，達成率158.33%。", "2.b：10場次，達成率50%。"], lines
    for row in rows:
        if row["績效指標"] in ("指標4", "指標5"):  # the multi-part lines
            for line in row["報告所列達成度"].splitlines():
                assert not re.match(r"\d+\.\d", line), line
