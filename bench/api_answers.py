"""The API's read and save answers on bench/requests.py's kept database, to compare two commits.

Run: KPITRACK_ENV_FILE= .venv/bin/python bench/api_answers.py OUT.jsonl
     [--database-url postgres://127.0.0.1:5432/bench_requests]
once in each worktree (the database built by `bench/requests.py --keep`), then `cmp` the files.

A change that only makes the API cheaper must answer the same bytes. This sends some 2,700
requests, each answer written as a line (status, content type, body with the request id
blanked, and for a save the history rows it wrote but their time): reads of every agency and
unit (and an unknown one), every quarter of two years, with and without an agency, as the
superuser, a ministry viewer who is a unit's staff, a viewer of one agency, another unit's
staff, a token, a user with no role and anonymous, and bad years, quarters and agencies; then
saves of the contested results (current, stale and missing versions, refused figures and
narrative, locked quarters, closed windows) as each of them, first drafts of the contested
units' other indicators, and bodies that do not fit. Before it, an indicator gets another unit
than last year's, one gets none, and a figure is emptied. Everything runs in one transaction,
rolled back at the end: each run starts from the same data.
"""

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import in_process_settings  # noqa: E402

QUARTER = 3  # bench/load.py's contested quarter
REQUEST_ID = re.compile(rb'"request_id": ?"[^"]*"')


class Rollback(Exception):
    pass


def _history_since(marks) -> list[dict]:
    """The history rows of results and figures written since `marks`, a result named by its
    (indicator, quarter): the ids of a new result differ from run to run."""
    from kpitrack.core.bulk import historical_model
    from performance.models import Result, ResultFigure

    def named(pk):
        return Result.objects.filter(pk=pk).values_list("indicator_id", "quarter").first()

    rows = []
    for model in (Result, ResultFigure):
        written = historical_model(model).objects.filter(history_id__gt=marks[model])
        for row in written.order_by("history_id").values():
            for name in ("history_id", "history_date", "updated_at"):
                row.pop(name, None)
            if model is Result:
                row["id"] = named(row["id"])
            else:
                del row["id"]
                row["result_id"] = named(row["result_id"])
            rows.append({name: str(value) for name, value in sorted(row.items())})
    return rows


def _marks() -> dict:
    from django.db.models import Max

    from kpitrack.core.bulk import historical_model
    from performance.models import Result, ResultFigure

    return {
        model: historical_model(model).objects.aggregate(top=Max("history_id"))["top"] or 0
        for model in (Result, ResultFigure)
    }


def _edge_cases(admin, agency_code):
    """An indicator whose unit changed since last year, one with no unit, an empty figure."""
    from performance.models import Indicator, ResultFigure

    indicators = Indicator.objects.filter(goal__agency__code=agency_code).order_by("id")
    year = max(indicators.values_list("goal__year", flat=True))
    moved = indicators.filter(goal__year=year, responsible_unit__code="u1").first()
    other = indicators.exclude(responsible_unit=moved.responsible_unit).first().responsible_unit
    indicators.filter(goal__year=year - 1, code=moved.code).update(responsible_unit=other)
    orphan = indicators.filter(goal__year=year).exclude(code=moved.code).first()
    Indicator.objects.filter(pk=orphan.pk).update(responsible_unit=None)
    emptied = ResultFigure.objects.filter(
        result__indicator__goal__agency__code=agency_code, result__indicator__goal__year=year - 1
    ).order_by("id")[3]
    ResultFigure.objects.filter(pk=emptied.pk).update(value=None)


def run(plan, out) -> int:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from budget.models import Agency, Membership, Unit
    from budget.services import membership_create
    from kpitrack.tokens import api_token_create
    from performance.models import Indicator, Result

    User = get_user_model()
    admin = User.objects.get(username="load-admin")
    agencies, years, hot = plan["agencies"], plan["years"], plan["hot"]
    third = Agency.objects.get(code=agencies[2])
    _edge_cases(admin, third.code)
    outsider = User.objects.create(username="answers-outsider")
    viewer = User.objects.create(username="answers-viewer")
    membership_create(
        member=viewer,
        agency=Agency.objects.get(code=agencies[1]),
        role=Membership.Role.VIEWER,
        user=admin,
        reason="bench/api_answers.py",
    )
    staff = User.objects.create(username="answers-staff")
    membership_create(
        member=staff,
        agency=third,
        unit=Unit.objects.get(agency=third, code="u1"),
        role=Membership.Role.STAFF,
        user=admin,
        reason="bench/api_answers.py",
    )
    clients = {}
    for user in [*User.objects.filter(username__in=["load000", "load001", "load002", "load004"])]:
        clients[user.username] = Client()
        clients[user.username].force_login(user)
    for user in (admin, outsider, viewer, staff):
        clients[user.username] = Client()
        clients[user.username].force_login(user)
    token = api_token_create(user=User.objects.get(username="load001"))
    clients["token"] = Client(HTTP_AUTHORIZATION=f"Token {token}")
    clients["anonymous"] = Client()
    units = [None, *sorted(Unit.objects.filter(agency=third).values_list("code", flat=True))]
    units.append("nope")
    every = [*agencies, plan["ministry"]]
    sent = 0

    def write(kind, who, what, response, history=None):
        nonlocal sent
        sent += 1
        line = {
            "kind": kind,
            "who": who,
            "what": what,
            "status": response.status_code,
            "type": response.get("Content-Type"),
            "body": REQUEST_ID.sub(b'"request_id":"-"', response.content).decode(),
        }
        if history is not None:
            line["history"] = history
        out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")

    def read(who, params):
        query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
        write("read", who, query, clients[who].get(f"/api/v1/results/?{query}", secure=True))

    def save(who, body=None, raw=None):
        before = _marks()
        data = raw if raw is not None else json.dumps(body)
        response = clients[who].post(
            "/api/v1/results/", data, content_type="application/json", secure=True
        )
        write("save", who, data, response, _history_since(before))

    for who in ("load000", admin.username, viewer.username, staff.username):
        for year in years[-2:]:
            for quarter in (1, 2, 3, 4):
                for agency in every:
                    for unit in units:
                        read(
                            who, {"year": year, "quarter": quarter, "agency": agency, "unit": unit}
                        )
    for who in ("load001", "load004", outsider.username, "token", "anonymous"):
        for year in (years[0], years[-1]):
            for quarter in (QUARTER, 4):
                for agency in [*agencies[:3], None]:
                    for unit in (None, "u1", "u4"):
                        read(
                            who, {"year": year, "quarter": quarter, "agency": agency, "unit": unit}
                        )
    for who in clients:
        for year in years:
            read(who, {"year": year, "unit": "u1"})
            read(who, {"year": year, "quarter": QUARTER})
    last = years[-1]
    for params in (
        {"year": "abc"},
        {"year": 1800},
        {"quarter": QUARTER},
        {"year": last, "quarter": 5},
        {"year": last, "quarter": "x"},
        {"year": last, "agency": "zzz"},
        {"year": last, "agency": "zzz", "unit": "u1"},
        {"year": last + 1, "agency": agencies[0]},
        {"year": last, "quarter": QUARTER, "agency": agencies[0], "unit": ""},
    ):
        for who in ("load000", admin.username, "anonymous"):
            read(who, params)

    def version(agency, code, year, quarter):
        return (
            Result.objects.filter(
                indicator__goal__agency__code=agency,
                indicator__goal__year=year,
                indicator__code=code,
                quarter=quarter,
            )
            .values_list("version", flat=True)
            .first()
        )

    savers = ["load000", "load001", "load002", "load004", admin.username, outsider.username]
    savers += [viewer.username, "token", "anonymous"]
    for agency, _unit, code in hot:
        base = {"agency": agency, "indicator": code, "year": last, "quarter": QUARTER}
        for who in savers:
            now = version(agency, code, last, QUARTER)
            save(who, {**base, "version": now, "figures": {"cases": "7"}})
            now = version(agency, code, last, QUARTER)
            narrative = {"progress": "進度 " + who, "remarks": None}
            save(who, {**base, "version": now, "figures": {"cases": "8"}, "narrative": narrative})
            save(who, {**base, "version": (now or 0) - 1, "figures": {"cases": "9"}})
            save(who, {**base, "version": None, "figures": {"cases": "9"}})
            save(who, {**base, "version": 999, "figures": {"cases": "9"}})
            now = version(agency, code, last, QUARTER)
            for refused in (
                {"figures": {"nope": "1"}},
                {"figures": {"cases": "abc"}},
                {"figures": {"cases": "-1"}},
                {"figures": {"cases": 1}},
                {"figures": {"cases": None}},
                {"narrative": {"foo": "x"}},
                {"narrative": {"progress": 5}},
                {},
            ):
                save(who, {**base, "version": now, **refused})
            for year, quarter in ((last, 1), (last, 2), (last, 4), (last - 1, 4), (years[0], 3)):
                then = version(agency, code, year, quarter)
                body = {**base, "year": year, "quarter": quarter, "version": then}
                save(who, {**body, "figures": {"cases": "3"}})
    # A unit's staff (load00n enters hot[n]'s unit, as bench/load.py gives them) and the admin.
    for (agency, unit, _code), who in (
        (hot[0], "load000"),
        (hot[1], "load001"),
        (hot[3], admin.username),
    ):
        codes = Indicator.objects.filter(
            goal__agency__code=agency, goal__year=last, responsible_unit__code=unit
        ).values_list("code", flat=True)
        for code in sorted(codes):
            entered = clients[admin.username].get(
                f"/api/v1/results/?year={last}&quarter={QUARTER}&agency={agency}", secure=True
            )
            row = next(r for r in json.loads(entered.content)["results"] if r["indicator"] == code)
            keys = [item["key"] for item in row["inputs"]]
            figures = {key: str(n + 1) for n, key in enumerate(keys)}
            base = {"agency": agency, "indicator": code, "year": last, "quarter": QUARTER}
            now = version(agency, code, last, QUARTER)
            save(
                who, {**base, "version": now, "figures": figures, "narrative": {"benefit": "效益"}}
            )
            save(who, {**base, "version": None, "figures": figures})
            now = version(agency, code, last, QUARTER)
            save(who, {**base, "version": now, "figures": {keys[0]: "0"}})
            save(who, {**base, "version": now, "figures": {keys[0]: "1.5"}})
            save("load004", {**base, "version": now, "figures": figures})
    agency, _unit, code = hot[0]
    for who in ("load000", admin.username):
        for body in (
            {"agency": agency, "indicator": "k999", "year": last, "quarter": QUARTER},
            {"agency": "zzz", "indicator": code, "year": last, "quarter": QUARTER},
            {"agency": agency, "indicator": code, "year": 1800, "quarter": QUARTER},
            {"agency": agency, "indicator": code, "year": last, "quarter": 5},
            {"agency": agency, "indicator": code, "year": last},
            {"agency": "", "indicator": code, "year": last, "quarter": QUARTER},
            {"agency": f" {agency} ", "indicator": code, "year": last, "quarter": QUARTER},
            {"agency": agency.upper(), "indicator": code, "year": last, "quarter": QUARTER},
            {"agency": agency, "indicator": f" {code}", "year": last, "quarter": QUARTER},
            {"indicator": code, "year": "x", "quarter": QUARTER},
            {"agency": agency, "indicator": code, "year": last, "quarter": QUARTER, "figures": "x"},
        ):
            save(who, body)
        save(who, raw="[1]")
        save(who, raw="not json")
    for who in ("load000", admin.username, "load001"):
        for agency in agencies[:2]:
            for unit in (None, "u1", "u5"):
                read(who, {"year": last, "quarter": QUARTER, "agency": agency, "unit": unit})
    return sent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", help="the answers, one JSON line each")
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/bench_requests",
        help="the database bench/requests.py --keep built",
    )
    args = parser.parse_args()
    in_process_settings(
        args.database_url, media_root=tempfile.mkdtemp(prefix="kpitrack-answers-"), name="answers"
    )
    import django

    django.setup()
    import logging

    from django.db import transaction

    logging.disable(logging.CRITICAL)
    name = args.database_url.rsplit("/", 1)[-1]
    plan = json.loads((Path(tempfile.gettempdir()) / f"kpitrack-requests-{name}.json").read_text())
    with open(args.out, "w", encoding="utf-8") as out:
        try:
            with transaction.atomic():
                sent = run(plan, out)
                raise Rollback
        except Rollback:
            pass
    print(f"{sent} requests answered, in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
