# Two commands do all set-up on a fresh Debian machine: `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
# Pango/HarfBuzz for WeasyPrint, a CJK font for Chinese glyphs in PDFs, poppler to check PDFs,
# gettext to compile translations, chromium for the browser tests, LibreOffice Calc to check
# what the xlsx exports show and print, Java for the HTML validator (vnu-jar).
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk \
	poppler-utils gettext chromium libreoffice-calc-nogui openjdk-17-jre-headless
# Deploy: nginx and openssl run deploy/nginx/kpitrack.conf in front of kpitrack in
# tests/deploy/test_nginx.py (each test starts its own nginx on free ports).
SYSTEM_PACKAGES += nginx openssl
# Backups (manage.py backup / restore, README "Backups"): pg_dump and pg_restore on PostgreSQL.
SYSTEM_PACKAGES += postgresql-client
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
STAMP := .venv/.installed-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
PORT ?= 8000
# Steps whose result must not depend on a developer's .env (tests, CI, translations, bench):
# read no .env file, and run with the development defaults of DEBUG on.
NO_ENV := KPITRACK_ENV_FILE= DEBUG=1

# uv (requirements-uv.txt), which installs the venv and writes the lock, in a venv of its own.
UV_DIR := .tools/uv

# The Nu HTML checker that tests/performance/test_html_valid.py runs (npm's vnu-jar), git-ignored.
VNU_VERSION := 26.9.27
VNU_DIR := .tools/vnu
VNU_JAR := $(VNU_DIR)/node_modules/vnu-jar/build/dist/vnu.jar

.PHONY: run serve test bench bench-import bench-ministry bench-load system-packages venv messages migrate demo-data static clean vnu

run: system-packages venv .env messages migrate demo-data static
	@$(PY) manage.py ensure_demo_users
	@echo "kpitrack is at http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

# kpitrack as deployed on this machine (kpitrack/serve.py): DEBUG off whatever .env says,
# migrations and collectstatic, then gunicorn (kpitrack/gunicorn.conf.py) on PORT with
# WEB_CONCURRENCY workers. README, "Running as a service".
serve: system-packages venv .env messages
	@mkdir -p var
	$(PY) -m kpitrack.serve

# On SQLite by default; DATABASE_URL=postgres://… runs it on PostgreSQL, leaving out what does not
# touch the database (docs/testing.md). .ci/run runs both passes at once.
test: system-packages venv messages vnu
	$(NO_ENV) $(PY) -m pytest -q $(PYTEST_ARGS)

vnu: $(VNU_JAR)

$(VNU_JAR):
	@# Debian's nodejs has no npm of its own; NodeSource's does.
	@command -v npm >/dev/null || (DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
		--no-install-recommends npm)
	npm install -s --no-save --no-audit --no-fund --prefix $(VNU_DIR) vnu-jar@$(VNU_VERSION)

# Written once, never overwritten: the settings every later `manage.py` command reads.
.env:
	@umask 077 && printf '%s\n' \
		"# Written once by make run for this machine; git-ignored. Real environment variables win." \
		"# DEBUG=0 shows the site as deployed: its own 404/500 pages, static files from staticfiles/." \
		"DEBUG=1" \
		"SECRET_KEY=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')" \
		"ALLOWED_HOSTS=127.0.0.1,localhost,[::1]" > .env.tmp && mv .env.tmp .env
	@echo "Wrote .env (settings for manage.py)."

system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing system packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(STAMP)

# Every package pinned with its hashes (requirements*.txt, written by `make lock`): the installer
# refuses a file whose hash differs from the locked one, and a package the lock does not name.
# uv makes the venv (with pip in it, for whoever wants it) and installs them: ~2 s from its
# cache, where `python3 -m venv` and pip took ~25 s, a tenth of CI's budget. Compiled to
# bytecode as it is installed (~6 s more), as pip does and uv by default does not: a service
# whose code is read-only to it (deploy/systemd: ProtectSystem=strict), or any process run
# with PYTHONDONTWRITEBYTECODE, otherwise compiled Django, Celery and WeasyPrint from source
# at every start and every first import (a worker's first report job: its broker's modules
# 0.8 s instead of 0.13 s, measured).
$(STAMP): requirements.txt requirements-dev.txt $(UV_DIR)/bin/uv
	@[ -x $(PY) ] || $(UV_DIR)/bin/uv venv -q --seed --python python3 .venv
	$(UV_DIR)/bin/uv pip install -q --compile-bytecode --python $(PY) --require-hashes -r requirements-dev.txt
	@rm -f .venv/.installed-*; touch $(STAMP)

# Dependency lock (deploy): requirements*.in are edited by hand (pins and reasons);
# `make lock` writes requirements*.txt from them with every package they pull in, pinned, with
# the hashes of all its files on PyPI, for any Python from 3.11 (markers say where a package is
# needed). Versions already locked stay as they are unless an .in file asks for another one;
# LOCK_ARGS="--upgrade-package NAME" moves one transitive package. Extras stay in the lock
# (fonttools[woff]): pip's hash mode refuses a dependency asked for with an extra the lock does
# not spell. uv runs from its own venv.
LOCK := $(UV_DIR)/bin/uv pip compile -q --universal --no-strip-extras --generate-hashes --python-version 3.11 \
	--custom-compile-command "make lock" $(LOCK_ARGS)

.PHONY: lock
lock: $(UV_DIR)/bin/uv
	$(LOCK) requirements.in -o requirements.txt
	$(LOCK) requirements-dev.in -o requirements-dev.txt
	$(LOCK) requirements-uv.in -o requirements-uv.txt

# uv itself, pinned with its hashes in requirements-uv.txt (from requirements-uv.in).
$(UV_DIR)/bin/uv: requirements-uv.txt
	python3 -m venv $(UV_DIR)
	$(UV_DIR)/bin/pip install -q --disable-pip-version-check --require-hashes -r requirements-uv.txt
	@touch $@

messages: venv
	@$(NO_ENV) $(PY) manage.py compilemessages -v 0 --ignore=.venv

migrate: venv .env
	@mkdir -p var
	$(PY) manage.py migrate --no-input -v 0

demo-data: migrate
	$(PY) manage.py load_documents fixtures/nia --if-missing
	@# A database migrated from an older kpitrack has no stored outcomes yet; this fills them.
	@$(PY) manage.py rebuild_outcomes

# What WhiteNoise serves with DEBUG off.
static: venv .env
	$(PY) manage.py collectstatic --no-input -v 0

clean:
	rm -rf .venv var test-artifacts staticfiles .tools

bench: system-packages venv messages
	$(NO_ENV) $(PY) bench/reports.py $(BENCH_ARGS)

# A ministry's reports rendered by N processes against one, and a stored export's second
# download against the sign-in page (issue 16; docs/benchmarks.md). BENCH_ARGS="--jobs 4".
bench-ministry: system-packages venv messages
	$(NO_ENV) $(PY) bench/reports.py --ministry $(BENCH_ARGS)

# 50 simulated users against gunicorn as `make serve` runs it, on a generated ministry in a
# throwaway PostgreSQL database (a server on 127.0.0.1:5432, as the tests use); a few minutes.
# BENCH_ARGS="--users 10 --duration 60 --agencies 50" and so on (bench/load.py --help).
bench-load: system-packages venv messages
	KPITRACK_ENV_FILE= $(PY) bench/load.py $(BENCH_ARGS)

# The Excel import of 10,000 figures against openpyxl's parse of the same file (runs as
# deployed, with DEBUG off, in a throwaway database).
bench-import: system-packages venv messages
	KPITRACK_ENV_FILE= $(PY) bench/import.py

# Mutation testing, not in CI (docs/testing.md, "Mutation testing"): mutmut over the engine,
# the permissions, the workflow services and the workbook checks, one group at a time, each
# mutant against the tests that run its code. Resumes where it stopped; MUTANTS="engine" runs
# one group, MUTANTS="workflow --only 'performance.services.entry.*'" some of its mutants.
.PHONY: mutants
mutants: venv messages
	$(NO_ENV) $(PY) tests/mutation.py $(MUTANTS)

# Background jobs (issue 16; README "Background jobs"): a Celery worker, for a site whose
# CELERY_BROKER_URL is set (.env or the environment); without one, jobs run in the web process.
.PHONY: worker
worker: venv .env messages migrate
	$(PY) -m celery -A kpitrack worker -l info $(WORKER_ARGS)
