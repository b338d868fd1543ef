# Two commands do all set-up on a fresh Debian machine: `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
# Pango/HarfBuzz for WeasyPrint, a CJK font for Chinese glyphs in PDFs, poppler to check PDFs,
# gettext to compile translations, chromium for the browser tests.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk \
	poppler-utils gettext chromium
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
STAMP := .venv/.installed-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)

.PHONY: run test bench system-packages venv messages migrate demo-data clean

run: system-packages venv messages migrate demo-data
	@DEBUG=1 $(PY) manage.py ensure_demo_user
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

test: system-packages venv messages
	DEBUG=1 $(PY) -m pytest -q $(PYTEST_ARGS)

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

$(STAMP): requirements.txt requirements-dev.txt
	@[ -x $(PY) ] || python3 -m venv .venv
	$(PIP) install -q --disable-pip-version-check -r requirements-dev.txt
	@rm -f .venv/.installed-*; touch $(STAMP)

messages: venv
	@DEBUG=1 $(PY) manage.py compilemessages -v 0 --ignore=.venv

migrate: venv
	@mkdir -p var
	DEBUG=1 $(PY) manage.py migrate --no-input -v 0

demo-data: migrate
	DEBUG=1 $(PY) manage.py load_documents fixtures/nia --if-missing

clean:
	rm -rf .venv var test-artifacts

bench: system-packages venv messages
	DEBUG=1 $(PY) bench/reports.py
