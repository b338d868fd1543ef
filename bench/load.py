"""kpitrack under load: a generated ministry served by gunicorn on PostgreSQL, and simulated users.

Run: make bench-load   (or KPITRACK_ENV_FILE= .venv/bin/python bench/load.py [options])
     e.g. --users 50 --duration 120 --speed 1     (the defaults)
          --agencies 50 --indicators 40 --years 10 --workers 5   (the ministry of issue 16)
          --users 2 --duration 10 --speed 4 --agencies 2 --indicators 9 --years 2   (a smoke run)
          --broker-url redis://127.0.0.1:6379/12 --redis-url redis://127.0.0.1:6379/13
              (as the deploy kit runs it: jobs on a Celery worker, pages cached in Redis)

What it does, all on this machine and all removed at the end (killed outright, it leaves the
database, which the next run of that name drops first):
1. creates the PostgreSQL database `--database-url` names (loopback only; dropped first if an
   earlier run left it), migrates it and fills it with `manage.py generate_demo` (default 5
   agencies x 20 indicators x 3 years), then gives every simulated user a sign-in of its own:
   填報人 (staff) of the unit responsible for one of `--hot` count indicators of the last year's
   third quarter (so several users share each of them and their saves collide), and viewer of
   the whole ministry. Those units get an entry exception for that quarter, and each contested
   result starts as a draft with the figure 0.
2. starts kpitrack as `make serve` does (`python -m kpitrack.serve`: DEBUG off, migrate,
   collectstatic, gunicorn with kpitrack/gunicorn.conf.py) on a free 127.0.0.1 port, with
   `--workers` sync workers, background jobs in-process (no broker; with `--broker-url`, on a
   Celery worker of two processes started beside it, as `make worker` runs one), files in a
   temporary MEDIA_ROOT; its log goes to a file in the temporary folder.
3. measures the *floor*: the anonymous sign-in page, 30 requests one at a time, 0.25 s apart,
   on the idle server (once every worker has started and the machine is quiet, after a few to
   warm the workers); its p50 is what a trivial page costs here, now.
4. signs every user in once (its own session cookie); once all have, for `--duration` seconds
   each user repeats: think 3-8 s (divided by `--speed`), then one of: my work page, the
   ministry overview, the ministry indicator table, an indicator's page, or an API save. A save
   reads the result's version and figure (GET /api/v1/results/), writes figure+1 with that
   version (POST), and on 409 reads again and retries (up to 5 times). The duration is cut in
   four phases, quiet, pdf, pdf, quiet (so a drift of the machine's load weighs on both kinds
   alike); in a *pdf* phase a `--pdf-share` of the actions is instead a report PDF as a job:
   start, poll the job's status every 1-2 s, download. An anonymous user requests the sign-in
   page about once a second throughout. The run stops early after `--max-requests` requests.
5. prints per endpoint n, errors, p50/p95/p99 and p95 / floor; beside them p95 / the sign-in
   page's p50 under the same load (not the goal's floor: it shows how much of a page's p95 is
   what the load adds to every request), and the p50/p95 of the same requests' time in the
   worker (gunicorn's access log: from the request read to the answer sent), which tells the
   worker's share from the waiting around it; the pages' pooled p95 in each phase; lost and
   doubled writes (each contested figure in the database against the sum of the saves users
   were told succeeded, and its version against the number of saves; a save whose answer never
   came is counted apart, as it may have happened); the peak RSS of each gunicorn worker
   (VmHWM from /proc), and the goals beside the numbers.

Goals (issue 16): 0 errors, 0 lost or doubled writes, every page's p95 within 10 x the floor, and
PDF jobs not moving the other pages: pooled page p95 in the pdf phase at most 1.25 x the quiet
phase's. The sign-in POST is not held to the 10 x goal: its cost is the password hash, chosen
to be slow.

Exit status: 1 if a correctness goal is missed (an error, a lost or doubled write); a missed
timing goal is printed as MISSED but exits 0 unless `--strict`, because on a shared machine the
timings move with whatever else runs. 2 if the set-up fails.
"""

import argparse
import json
import logging
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from http.client import HTTPConnection
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import build_ministry, ministry_options, postgresql  # noqa: E402

PASSWORD = "bench-load-password-1"
PAGE_GOAL = 10.0  # each page's p95 within this many floors
PDF_GOAL = 1.25  # pooled page p95, pdf phase / quiet phase
SAVE_TRIES = 5
TIMEOUT = 120  # one request; above gunicorn's own 90 s, so a stuck worker shows as its 502
QUARTER = 3  # generate_demo leaves the last year's third quarter unentered
# Endpoints not held to the page goal: the floor itself, and the sign-in (a slow hash by design).
FLOOR = "floor: sign-in page, idle server"
SIGN_IN_PAGE = "sign-in page (anonymous)"
NOT_PAGES = {FLOOR, "sign-in (POST)"}
FLOOR_REQUESTS = 30
# Between two of the floor's requests, as between a person's clicks: each finds its worker idle,
# as a request under load does (each of five workers answers one about every 0.4 s there).
# Asked back to back, the same page took 1.1-1.3 ms when one worker answered them all (its
# memory stayed in the processor's caches) and 2-4 ms when the workers took turns, and which of
# the two happened was the kernel's choice: floors of 1.5 to 4.0 ms on a quiet machine.
FLOOR_PAUSE = 0.25
# Sign-in pages before the floor's, per worker: the kernel hands connections to whichever worker
# accepts first, not in turn, so two each left a worker's first request (its templates, its
# translations) among the floor's now and then: a p95 of 120 ms and a p50 a third higher.
WARM_UP_PER_WORKER = 10


BENCH_HEADER = "X-Bench-Endpoint"
# The access log's line for a bench request: the endpoint, then the request's time in the worker
# (gunicorn's %(D)s, microseconds, from the request parsed to the response sent).
ACCESS_FORMAT = "bench-time %({x-bench-endpoint}i)s %(D)s %(p)s"
ACCESS_LINE = re.compile(r"bench-time (\S+) (\d+) <(\d+)>")


class Terminated(Exception):
    pass


class SetupFailed(Exception):
    pass


def _terminate(signum, frame):
    raise Terminated(f"signal {signum}")


# --- what is recorded -----------------------------------------------------------------------------


class Recorder:
    """Every request's endpoint, phase, time and outcome; thread-safe."""

    def __init__(self, max_requests: int):
        self.lock = threading.Lock()
        self.samples = defaultdict(list)  # (endpoint, phase) -> [seconds]
        self.errors = defaultdict(list)  # endpoint -> [what]
        self.count = 0
        self.max_requests = max_requests
        self.stop = threading.Event()
        self.phase = "ramp"

    def add(self, endpoint: str, seconds: float, error: str | None = None, phase=None):
        with self.lock:
            self.samples[(endpoint, phase or self.phase)].append(seconds)
            if error:
                self.errors[endpoint].append(error)
            self.count += 1
            if self.count >= self.max_requests:
                self.stop.set()

    def fail(self, endpoint: str, what: str):
        """An error found after the request's answer (a job failed, a file not a PDF)."""
        with self.lock:
            self.errors[endpoint].append(what)

    def times(self, endpoint, phases=("quiet", "pdf")) -> list[float]:
        return [t for p in phases for t in self.samples.get((endpoint, p), [])]

    def endpoints(self) -> list[str]:
        seen = []
        for endpoint in [e for e, _phase in self.samples] + list(self.errors):
            if endpoint not in seen:
                seen.append(endpoint)
        return seen


def pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


# --- a plain HTTP client with its own cookies -----------------------------------------------------


class Client:
    def __init__(self, port: int, recorder: Recorder):
        self.port = port
        self.recorder = recorder
        self.cookies: dict[str, str] = {}

    def request(self, endpoint, method, path, *, body=None, headers=None, ok=(200,)):
        """(status, headers, body); records the time, and an error when the status is not in
        `ok` or the connection fails. Redirects are not followed."""
        headers = dict(headers or {})
        # Named in the server's access log with the worker's own time (start_server), so the
        # report can tell the time in the worker from the time around it.
        headers[BENCH_HEADER] = f"{self.recorder.phase}|{endpoint}".replace(" ", "_")
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        start = time.perf_counter()
        try:
            conn = HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            finally:
                conn.close()
        except OSError as exc:
            self.recorder.add(endpoint, time.perf_counter() - start, f"{type(exc).__name__}")
            return None, {}, b""
        elapsed = time.perf_counter() - start
        for value in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(value)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        error = None if response.status in ok else f"{response.status} {method} {path}"
        self.recorder.add(endpoint, elapsed, error)
        return response.status, response.headers, data


CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def sign_in(client: Client, username: str) -> bool:
    status, _h, page = client.request(SIGN_IN_PAGE, "GET", "/accounts/login/")
    token = CSRF_FIELD.search(page or b"")
    if status != 200 or not token:
        return False
    form = {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)}
    status, _h, _b = client.request(
        "sign-in (POST)",
        "POST",
        "/accounts/login/",
        body=urlencode({k: v if isinstance(v, str) else v.decode() for k, v in form.items()}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        ok=(302,),
    )
    return status == 302 and "sessionid" in client.cookies


# --- one simulated user ---------------------------------------------------------------------------


class User:
    def __init__(self, n, port, recorder, plan, args, saved):
        self.n = n
        self.name = f"load{n:03d}"
        self.client = Client(port, recorder)
        self.recorder = recorder
        self.plan = plan
        self.args = args
        self.rng = random.Random(n)
        self.hot = plan["hot"][n % len(plan["hot"])]  # (agency, unit, indicator) it enters
        self.saved = saved  # shared: indicator key -> saves this run was told succeeded
        self.unknown = 0  # saves whose answer never came: they may or may not have happened
        self.pdf_jobs: list[float] = []

    def think(self, stop: threading.Event) -> bool:
        """Waits 3-8 s / speed; False when the run ends meanwhile."""
        return not stop.wait(self.rng.uniform(3, 8) / self.args.speed)

    def run(self, start_at: float, stop: threading.Event, signed_in: list, arrived: list):
        time.sleep(max(0.0, start_at - time.monotonic()))
        try:
            if not sign_in(self.client, self.name):
                return
            signed_in.append(self.name)
        finally:
            arrived.append(self.name)
        while self.think(stop):
            try:
                self.act()
            except Exception as exc:  # an answer not as expected: counted, and the user goes on
                self.recorder.fail("unexpected answer", f"{type(exc).__name__}: {exc}"[:120])

    def act(self):
        plan, rng = self.plan, self.rng
        if self.recorder.phase == "pdf" and rng.random() < self.args.pdf_share:
            return self.pdf()
        choice = rng.random()
        c = self.client
        if choice < 0.25:
            c.request("my work", "GET", f"/work/?year={plan['year']}&quarter={QUARTER}")
        elif choice < 0.40:
            c.request("ministry overview", "GET", f"/dashboards/{plan['ministry']}/")
        elif choice < 0.55:
            table = f"/dashboards/{plan['ministry']}/indicators/"
            c.request("ministry indicator table", "GET", table)
        elif choice < 0.75:
            agency = rng.choice(plan["agencies"])
            code = rng.choice(plan["codes"])
            c.request("indicator page", "GET", f"/dashboards/{agency}/indicators/{code}/")
        else:
            self.save()

    def _read(self):
        agency, unit, code = self.hot
        query = urlencode({"year": self.plan["year"], "quarter": QUARTER, "agency": agency})
        status, _h, body = self.client.request(
            "API results (read)", "GET", f"/api/v1/results/?{query}&unit={unit}"
        )
        if status != 200:
            return None
        for row in json.loads(body)["results"]:
            if row["indicator"] == code:
                return row["version"], int(row["figures"].get("cases", "0"))
        return None

    def save(self):
        agency, _unit, code = self.hot
        for _try in range(SAVE_TRIES):
            read = self._read()
            if read is None:
                return
            version, value = read
            payload = {
                "agency": agency,
                "indicator": code,
                "year": self.plan["year"],
                "quarter": QUARTER,
                "figures": {"cases": str(value + 1)},
                "version": version,
            }
            status, _h, body = self.client.request(
                "API save",
                "POST",
                "/api/v1/results/",
                body=json.dumps(payload),
                headers={
                    "Content-Type": "application/json",
                    "X-CSRFToken": self.client.cookies.get("csrftoken", ""),
                },
                ok=(200, 409),
            )
            if status == 200:
                with self.recorder.lock:
                    self.saved[(agency, code)] += 1
                return
            if status != 409:
                if status is None:  # no answer: the write may have happened
                    self.unknown += 1
                return
            with self.recorder.lock:
                self.saved["conflicts"] += 1
        with self.recorder.lock:
            self.saved["gave up"] += 1

    def pdf(self):
        plan, rng, c = self.plan, self.rng, self.client
        agency = rng.choice(plan["agencies"])
        year = rng.choice(plan["years"])
        begun = time.perf_counter()
        status, headers, _b = c.request(
            "report PDF (start)",
            "GET",
            f"/reports/{agency}/performance/{year}/pdf/",
            ok=(200, 302),
        )
        if status == 200:  # stored: served at once
            self.pdf_jobs.append(time.perf_counter() - begun)
            return
        if status != 302:
            return
        job = re.fullmatch(r"/jobs/(\d+)/", headers.get("Location", ""))
        if not job:
            self.recorder.fail("report PDF (start)", f"redirect to {headers.get('Location')}")
            return
        deadline = time.monotonic() + self.args.pdf_wait
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(1, 2))
            status, _h, body = c.request("job status", "GET", f"/jobs/{job.group(1)}/status/")
            if status != 200:
                return
            answer = json.loads(body)
            if answer["finished"]:
                if answer["state"] != "done":
                    self.recorder.fail("report PDF job", f"job {answer['state']}")
                    return
                status, _h, data = c.request("job download", "GET", answer["download_url"])
                if status == 200 and not data.startswith(b"%PDF-"):
                    self.recorder.fail("job download", "not a PDF")
                self.pdf_jobs.append(time.perf_counter() - begun)
                return
        self.recorder.fail("report PDF job", f"unfinished after {self.args.pdf_wait} s")


def prober(port, recorder: Recorder, speed: float, stop: threading.Event):
    """The anonymous sign-in page about once a second, under the load (a page like the others)."""
    client = Client(port, recorder)
    rng = random.Random(0)
    while not stop.wait(rng.uniform(0.5, 1.5) / max(1.0, speed)):
        client.cookies.clear()
        client.request(SIGN_IN_PAGE, "GET", "/accounts/login/")


# --- peak RSS per gunicorn worker -----------------------------------------------------------------


def _process_tree() -> dict[int, list[int]]:
    """Each process's children (from /proc), read once."""
    tree = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree[int(fields[1])].append(int(entry))
    return tree


def _children(pid: int) -> list[int]:
    return _process_tree().get(pid, [])


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# How long to wait for the server's workers to start and the machine to settle before the floor,
# and how busy (a share of one core, over a second) still counts as quiet.
QUIET_BOUND = 60.0
QUIET_SHARE = 0.10


def _busy_jiffies() -> tuple[int, int]:
    """(busy, all) clock ticks of every core since boot (/proc/stat's first line)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


def wait_until_quiet(master: int, workers: int, bound: float = QUIET_BOUND) -> float:
    """Waits until `workers` workers of the gunicorn master have started and the whole machine
    spent under QUIET_SHARE of a core over the last second; returns that share (the last one
    seen when `bound` runs out: the floor is then measured on a busy machine, as printed).

    /healthz/ answers as soon as one worker has started; the others were still starting (each
    imports Django and kpitrack and warms itself, kpitrack.warmup) while the floor's requests
    ran, and a floor measured then was up to twice the idle one (3.8 ms against 1.5)."""
    cores = os.cpu_count() or 1
    deadline = time.monotonic() + bound
    share = float("nan")
    while time.monotonic() < deadline:
        busy, total = _busy_jiffies()
        time.sleep(1.0)
        busy2, total2 = _busy_jiffies()
        share = (busy2 - busy) / max(1, total2 - total) * cores
        if len(_children(master)) >= workers and share < QUIET_SHARE:
            return share
    return share


def rss_sampler(master: int, peaks: dict, stop: threading.Event):
    while True:
        tree = _process_tree()
        for pid in tree.get(master, []):
            peaks[pid] = max(peaks.get(pid, 0), _hwm_kb(pid))
            # A worker's own children: the helper that lays its reports out (JOBS_PDF_APART).
            for helper in tree.get(pid, []):
                key = f"helper of {pid}"
                peaks[key] = max(peaks.get(key, 0), _hwm_kb(helper))
        peaks["master"] = max(peaks.get("master", 0), _hwm_kb(master))
        if stop.wait(1.0):
            return


# --- set-up ---------------------------------------------------------------------------------------


def prepare(args) -> dict:
    """The generated ministry, the users and the contested drafts; what the users need to know."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from budget.models import Agency, Membership, Unit
    from budget.services import membership_create
    from performance.models import Indicator
    from performance.services import entry_exception_grant, result_save_draft

    # The security log's line per role granted would bury the results.
    logging.disable(logging.INFO)
    built = build_ministry(args)
    User = get_user_model()
    admin = User.objects.create_superuser("load-admin", password=PASSWORD)
    ministry = Agency.objects.get(code="demo")
    last = max(Indicator.objects.values_list("goal__year", flat=True))
    counts = list(
        Indicator.objects.filter(goal__year=last, method="count", goal__agency__parent=ministry)
        .select_related("goal__agency", "responsible_unit")
        .order_by("goal__agency__code", "code")[: args.hot]
    )
    if not counts:
        raise SetupFailed("the ministry has no count indicator: use --indicators 9 or more")
    until = timezone.localdate() + timedelta(days=30)
    for unit in {i.responsible_unit for i in counts}:
        entry_exception_grant(
            agency=unit.agency,
            unit=unit,
            year=last,
            quarter=QUARTER,
            until=until,
            user=admin,
            reason="bench/load.py",
        )
    for indicator in counts:
        result_save_draft(
            indicator=indicator,
            quarter=QUARTER,
            figures={"cases": "0"},
            narrative={},
            expected_version=None,
            user=admin,
        )
    # One hash for every user: hashing 50 passwords one by one would take a minute here.
    password = make_password(PASSWORD)
    users = User.objects.bulk_create(
        User(username=f"load{n:03d}", password=password) for n in range(args.users)
    )
    for n, user in enumerate(users):
        indicator = counts[n % len(counts)]
        membership_create(
            member=user,
            agency=indicator.goal.agency,
            unit=Unit.objects.get(pk=indicator.responsible_unit_id),
            role=Membership.Role.STAFF,
            user=admin,
            reason="bench/load.py",
        )
        membership_create(
            member=user, agency=ministry, role=Membership.Role.VIEWER, user=admin, reason="bench"
        )
    return {
        "built": built,
        "ministry": ministry.code,
        "year": last,
        "years": sorted(set(Indicator.objects.values_list("goal__year", flat=True))),
        "agencies": sorted(Agency.objects.filter(parent=ministry).values_list("code", flat=True)),
        "codes": sorted(set(Indicator.objects.values_list("code", flat=True))),
        "hot": [(i.goal.agency.code, i.responsible_unit.code, i.code) for i in counts],
    }


def final_state(plan) -> dict:
    """(agency, indicator) -> (figure, version) of each contested result, read from the database."""
    from performance.models import Result

    state = {}
    for agency, _unit, code in plan["hot"]:
        result = Result.objects.get(
            indicator__goal__agency__code=agency,
            indicator__goal__year=plan["year"],
            indicator__code=code,
            quarter=QUARTER,
        )
        figure = result.figures.get(key="cases").value
        state[(agency, code)] = (int(figure), result.version)
    return state


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# One per run, for the server and the worker alike: what one signs, the other reads.
SECRET_KEY = "bench-load-" + secrets.token_urlsafe(40)


def _service_env(args, tmp: Path) -> dict:
    """The settings of the server and of the worker: the bench's own, not its caller's."""
    env = {
        k: v
        for k, v in os.environ.items()
        # PYTHONDONTWRITEBYTECODE too: a deployed service reads its bytecode (make venv, the
        # image), and a server that compiled what it imports first mid-run measured that.
        if not k.startswith(("DB_POOL", "GUNICORN", "WEB_CONC", "CELERY", "REDIS", "JOBS_"))
        and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        KPITRACK_ENV_FILE="",
        DEBUG="0",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=args.database_url,
        MEDIA_ROOT=str(tmp / "media"),
    )
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    if args.broker_url:
        env["CELERY_BROKER_URL"] = args.broker_url
    return env


def _start(command: list[str], env: dict, log) -> subprocess.Popen:
    # Its own session (process group): stopped by its id at the end. Should this process be
    # killed outright, the kernel sends it SIGTERM (a gunicorn master's workers follow).
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )


def start_server(args, tmp: Path, port: int, log) -> subprocess.Popen:
    env = _service_env(args, tmp)
    env.update(
        PORT=str(port),
        BIND_HOST="127.0.0.1",
        WEB_CONCURRENCY=str(args.workers),
        GUNICORN_CMD_ARGS=f"--access-logformat '{ACCESS_FORMAT}'",
    )
    return _start([sys.executable, "-m", "kpitrack.serve"], env, log)


def start_worker(args, tmp: Path, log) -> subprocess.Popen:
    """A Celery worker as `make worker` and the deploy kit run one (two pool processes, at
    JOBS_NICE below the server's priority), with the server's settings."""
    command = [sys.executable, "-m", "celery", "-A", "kpitrack", "worker", "-l", "warning"]
    command += ["--concurrency", "2", "--without-mingle", "--without-gossip"]
    return _start(command, _service_env(args, tmp), log)


def _die_with_parent():
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def wait_ready(server: subprocess.Popen, port: int, bound: float = 180):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SetupFailed(f"the server exited with {server.returncode}")
        try:
            conn = HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SetupFailed(f"the server did not answer /healthz/ within {bound} s")


def stop_server(server: subprocess.Popen):
    if server.poll() is None:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        except ProcessLookupError:
            pass


# --- the run --------------------------------------------------------------------------------------


def drive(args, plan, port, server_pid) -> tuple[Recorder, list, dict, dict, list]:
    recorder = Recorder(args.max_requests)
    saved = defaultdict(int)
    users = [User(n, port, recorder, plan, args, saved) for n in range(args.users)]
    peaks: dict = {}
    signed_in: list = []
    arrived: list = []
    # The floor: the sign-in page on the idle server, one request at a time, before anyone
    # comes (after a few to warm the workers): what a trivial page costs here, now. Measured
    # once every worker has started and the machine is quiet (wait_until_quiet).
    busy = wait_until_quiet(server_pid, args.workers)
    print(f"machine before the floor: {busy:.0%} of a core busy", flush=True)
    floor_client = Client(port, recorder)
    for n in range(FLOOR_REQUESTS + WARM_UP_PER_WORKER * args.workers):
        floor_client.cookies.clear()
        name = FLOOR if n >= WARM_UP_PER_WORKER * args.workers else "warm-up"
        if name == FLOOR:
            time.sleep(FLOOR_PAUSE)
        floor_client.request(name, "GET", "/accounts/login/")
    recorder.samples.pop(("warm-up", "ramp"), None)
    sampler_stop = threading.Event()
    sampler = threading.Thread(target=rss_sampler, args=(server_pid, peaks, sampler_stop))
    sampler.start()
    stop = recorder.stop
    # Daemons: an interrupted run does not wait on a request the stopped server never answers.
    threads = [
        threading.Thread(target=prober, args=(port, recorder, args.speed, stop), daemon=True)
    ]
    # Sign-ins spread over the first seconds, as people arrive.
    ramp = min(10.0, args.users * 0.2)
    now = time.monotonic()
    for user in users:
        at = now + ramp * user.n / max(1, args.users)
        threads.append(
            threading.Thread(target=user.run, args=(at, stop, signed_in, arrived), daemon=True)
        )
    for t in threads:
        t.start()
    try:
        # Measured phases begin once everyone has signed in (a loaded server takes a while).
        deadline = time.monotonic() + ramp + 180
        while len(arrived) < args.users and time.monotonic() < deadline and not stop.is_set():
            time.sleep(0.2)
        stop.wait(2)
        for phase in ("quiet", "pdf", "pdf", "quiet"):
            recorder.phase = phase
            stop.wait(args.duration / 4)
    finally:
        stop.set()
        deadline = time.monotonic() + TIMEOUT + 10
        for t in threads:
            t.join(max(0.1, deadline - time.monotonic()))
        sampler_stop.set()
        sampler.join()
    return recorder, users, dict(saved), peaks, signed_in


def server_times(path: Path) -> tuple[dict, dict]:
    """(endpoint, phase) -> [seconds in the worker], and (endpoint, phase) -> {worker pid:
    requests}, from the access log's bench lines."""
    times, workers = defaultdict(list), defaultdict(Counter)
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return times, workers
    for line in lines:
        match = ACCESS_LINE.search(line)
        if match and "|" in match.group(1):
            phase, endpoint = match.group(1).replace("_", " ").split("|", 1)
            times[(endpoint, phase)].append(int(match.group(2)) / 1e6)
            workers[(endpoint, phase)][match.group(3)] += 1
    return times, workers


def log_problems(path: Path, limit: int = 12) -> list[str]:
    problem = re.compile(r'" 5\d\d |ERROR|CRITICAL|WARNING|Traceback|Error:')
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line[:200] for line in lines if problem.search(line)][:limit]


def report(args, plan, recorder, users, saved, peaks, signed_in, state, tmp) -> int:
    floor = statistics.median(recorder.times(FLOOR, ("ramp",)) or [float("nan")])
    print(
        f"\nkpitrack under load: {len(signed_in)}/{args.users} users signed in, gunicorn with "
        f"{args.workers} sync workers, PostgreSQL, "
        + ("jobs on a Celery worker (2 processes)" if args.broker_url else "jobs in-process")
        + (", Redis cache" if args.redis_url else "")
    )
    print(
        f"ministry {args.agencies} agencies x {args.indicators} indicators x {args.years} years "
        f"(generated in {plan['built']:.0f} s); {args.duration:g} s at speed {args.speed:g} "
        f"(think {3 / args.speed:.2g}-{8 / args.speed:.2g} s); {recorder.count} requests"
    )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end")
    print(
        f"floor: the anonymous sign-in page's p50 on the idle server, {FLOOR_REQUESTS} requests "
        f"one at a time, {FLOOR_PAUSE:g} s apart, before the users came = {floor * 1000:.1f} ms\n"
    )
    in_worker, served_by = server_times(tmp / "server.log")
    # One worker answering the floor's requests back to back is faster than the workers taking
    # turns as they do under load (its memory stays in the processor's caches): 1.1-1.3 ms
    # against 2-4 ms in the worker, seen when the others were still starting.
    by = served_by.get((FLOOR, "ramp"), Counter())
    print(
        f"the floor's requests by worker: {sorted(by.values(), reverse=True)}"
        f" ({len(by)} of {args.workers} workers)\n"
    )
    loaded = statistics.median(recorder.times(SIGN_IN_PAGE) or [float("nan")])
    print(
        f"the sign-in page's p50 under load (the users' phases) = {loaded * 1000:.1f} ms: "
        "'/loaded' divides by it\n"
    )
    head = f"{'endpoint':34} {'n':>5} {'err':>4} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    print(head + f" {'p95/floor':>9}  {'goal':12} {'/loaded':>7} {'worker p50':>10} {'p95':>6}")
    missed_timing, missed_correct = [], []
    page_names = [e for e in recorder.endpoints() if e not in NOT_PAGES]
    for endpoint in recorder.endpoints():
        # Pages over the measured phases; the floor before them, the sign-ins whenever they came.
        phases = ("ramp", "quiet", "pdf") if endpoint in NOT_PAGES else ("quiet", "pdf")
        times = recorder.times(endpoint, phases)
        errors = len(recorder.errors.get(endpoint, []))
        if not times and not errors:
            continue
        p95 = pct(times, 95)
        ratio = p95 / floor
        goal = ""
        if endpoint in page_names:
            goal = f"<= {PAGE_GOAL:g} " + ("ok" if ratio <= PAGE_GOAL else "MISSED")
            if ratio > PAGE_GOAL:
                missed_timing.append(f"{endpoint} p95")
        worker = [t for phase in phases for t in in_worker.get((endpoint, phase), [])]
        worker_pct = (
            f"{pct(worker, 50) * 1000:10.1f} {pct(worker, 95) * 1000:6.1f}" if worker else ""
        )
        print(
            f"{endpoint:34} {len(times):5} {errors:4} {pct(times, 50) * 1000:8.1f} "
            f"{p95 * 1000:8.1f} {pct(times, 99) * 1000:8.1f} {ratio:9.1f}  {goal:12} "
            f"{p95 / loaded:7.1f} {worker_pct}"
        )
        if errors:
            missed_correct.append(f"{endpoint} errors")
    jobs = [t for u in users for t in u.pdf_jobs]
    if jobs:
        print(
            f"{'report PDF, start to download':34} {len(jobs):5} {'':4} "
            f"{pct(jobs, 50) * 1000:8.1f} {pct(jobs, 95) * 1000:8.1f} {pct(jobs, 99) * 1000:8.1f}"
        )
    for endpoint, errors in recorder.errors.items():
        shown = ", ".join(sorted(set(errors))[:5])
        print(f"  errors of {endpoint}: {shown}")
    if recorder.errors:
        print("  the server log's first lines about them:")
        for line in log_problems(tmp / "server.log"):
            print(f"    {line}")

    print("\npages pooled, by phase (every endpoint above but the floor and the sign-in POST):")
    phase_p95 = {}
    for phase in ("quiet", "pdf"):
        pooled = [t for e in page_names for t in recorder.samples.get((e, phase), [])]
        sign_in_page = statistics.median(
            recorder.samples.get((SIGN_IN_PAGE, phase)) or [float("nan")]
        )
        phase_p95[phase] = pct(pooled, 95)
        print(
            f"  {phase:6} n={len(pooled):5}  p50 {pct(pooled, 50) * 1000:8.1f} ms  "
            f"p95 {phase_p95[phase] * 1000:8.1f} ms  sign-in page p50 {sign_in_page * 1000:6.1f} ms"
        )
    started_pdfs = len(recorder.samples.get(("report PDF (start)", "pdf"), []))
    if started_pdfs:
        moved = phase_p95["pdf"] / phase_p95["quiet"]
        verdict = "ok" if moved <= PDF_GOAL else "MISSED"
        if moved > PDF_GOAL:
            missed_timing.append("PDF phase moves page p95")
        print(
            f"  pdf/quiet p95 {moved:.2f}   (goal: at most {PDF_GOAL:g}) {verdict}; "
            f"{started_pdfs} PDF requests"
        )
    else:
        print("  no PDF was asked for in the pdf phase: not compared (longer run or --pdf-share)")

    print("\nwrites to the contested results (each +1 on the figure read, with its version):")
    unknown = sum(u.unknown for u in users)
    lost = doubled = 0
    for agency, unit, code in plan["hot"]:
        told = saved.get((agency, code), 0)
        figure, version = state[(agency, code)]
        # The draft made at set-up is version 1 with figure 0; each save adds one to both.
        lost += max(0, told - figure)
        doubled += max(0, figure - told)
        mark = "" if figure == told == version - 1 else "  !"
        print(
            f"  {agency}/{unit}/{code}: saves told ok {told:4}, figure {figure:4}, "
            f"version {version:4}{mark}"
        )
    print(
        f"  conflicts (409, read again) {saved.get('conflicts', 0)}, gave up after "
        f"{SAVE_TRIES} tries {saved.get('gave up', 0)}, no answer {unknown}"
    )
    print(f"  lost writes {lost}, doubled writes {doubled}   (goal: 0 and 0)")
    if lost or doubled:
        missed_correct.append("lost or doubled writes")

    print("\npeak RSS (VmHWM) per gunicorn process:")
    for pid, kb in sorted(peaks.items(), key=lambda item: str(item[0])):
        name = pid if isinstance(pid, str) else f"worker {pid}"
        print(f"  {name:20} {kb / 1024:7.1f} MB")

    if args.keep:
        print(f"\nserver log: {tmp / 'server.log'}")
    print("Goals: 0 errors, 0 lost or doubled writes, every page's p95 within 10x the floor,")
    print(f"PDF jobs not moving the other pages (pooled page p95 pdf/quiet <= {PDF_GOAL:g}).")
    print("Missed: " + (", ".join(missed_correct + missed_timing) or "none"))
    if missed_correct:
        return 1
    return 1 if (missed_timing and args.strict) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=120, help="seconds, both phases")
    parser.add_argument("--speed", type=float, default=1.0, help="think time 3-8 s divided by it")
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--pdf-share", type=float, default=0.02, help="of actions, pdf phase")
    parser.add_argument("--pdf-wait", type=float, default=120, help="longest wait for one job")
    parser.add_argument("--hot", type=int, default=6, help="contested count indicators")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn sync workers")
    ministry_options(parser, agencies=5, indicators=20, years=3)
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/bench_load",
        help="postgres://…/<name> on a loopback server: created, used, dropped",
    )
    parser.add_argument("--redis-url", default="", help="redis:// cache for the server")
    parser.add_argument(
        "--broker-url",
        default="",
        help="redis:// broker (loopback): jobs run on a Celery worker the bench starts, as with "
        "the deploy kit, instead of the web processes' pool",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 on a missed timing goal")
    parser.add_argument("--keep", action="store_true", help="keep the database and the log")
    args = parser.parse_args()
    if not (1 <= args.users <= 500 and 1 <= args.workers <= 32 and args.speed > 0):
        parser.error("--users 1-500, --workers 1-32, --speed above 0")
    if not (1 <= args.agencies <= 500 and 1 <= args.indicators <= 200 and 2 <= args.years <= 20):
        parser.error("--agencies 1-500, --indicators 1-200, --years 2-20")
    for url in (args.redis_url, args.broker_url):
        if url and not re.match(r"redis://(127\.0\.0\.1|localhost)(:\d+)?(/\d+)?$", url):
            parser.error(f"{url}: only a redis:// URL on this machine (127.0.0.1)")
    if args.duration <= 0 or args.max_requests < 1 or args.hot < 1:
        parser.error("--duration, --max-requests and --hot must be positive")

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    create, drop = postgresql(args.database_url)
    tmp = Path(tempfile.mkdtemp(prefix="kpitrack-load-"))
    server = worker = None
    try:
        create()
        os.environ.update(
            KPITRACK_ENV_FILE="",
            DEBUG="1",
            DATABASE_URL=args.database_url,
            DJANGO_SETTINGS_MODULE="kpitrack.settings",
            MEDIA_ROOT=str(tmp / "media"),
        )
        import django

        django.setup()
        from django.db import connections

        print(f"generating the ministry in {args.database_url} …", flush=True)
        plan = prepare(args)
        connections.close_all()
        port = free_port()
        with open(tmp / "server.log", "wb") as log, open(tmp / "worker.log", "wb") as wlog:
            if args.broker_url:
                worker = start_worker(args, tmp, wlog)
            server = start_server(args, tmp, port, log)
            wait_ready(server, port)
            print(f"serving on 127.0.0.1:{port}; {args.users} users for {args.duration:g} s …")
            recorder, users, saved, peaks, signed_in = drive(args, plan, port, server.pid)
            stop_server(server)
            if worker is not None:
                stop_server(worker)
        state = final_state(plan)
        connections.close_all()
        if not signed_in:
            print((tmp / "server.log").read_text(errors="replace")[-3000:])
            return 2
        return report(args, plan, recorder, users, saved, peaks, signed_in, state, tmp)
    except (KeyboardInterrupt, Terminated) as exc:
        print(f"stopped: {exc or 'interrupted'}", file=sys.stderr)
        return 2
    except (SetupFailed, OSError) as exc:
        print(f"set-up failed: {exc}", file=sys.stderr)
        for line in log_problems(tmp / "server.log", limit=20):
            print(f"  {line}", file=sys.stderr)
        return 2
    except Exception as exc:
        if type(exc).__module__.startswith("psycopg"):  # no PostgreSQL to create the database
            print(f"set-up failed: {exc}", file=sys.stderr)
            return 2
        raise
    finally:
        if server is not None:
            stop_server(server)
        if worker is not None:
            stop_server(worker)
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not args.keep:
            try:
                drop()
            except Exception as exc:  # noqa: BLE001 - the database may never have been made
                print(f"could not drop the database: {exc}", file=sys.stderr)
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept: database {args.database_url}, folder {tmp}")


if __name__ == "__main__":
    sys.exit(main())
