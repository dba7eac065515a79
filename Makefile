# Two commands: `make run` sets up and starts everything on embedded defaults;
# `make test` sets up and runs the checks. Both work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium

.PHONY: run test test-later lint bench setup browser imap nginx pango clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the declared or pinned dependencies change.
$(STAMP): $(BIN)/python setup.cfg pyproject.toml constraints.txt
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,test]'
	touch $(STAMP)

setup: $(STAMP) pango

# Debian's Pango for WeasyPrint (the bespreekkaart as PDF), and HarfBuzz-Subset:
# without it WeasyPrint warns at import, which the test suite treats as an error.
pango:
	@if ! /sbin/ldconfig -p | grep -q libpangoft2-1.0.so.0 || ! /sbin/ldconfig -p | grep -q libharfbuzz-subset.so.0; then \
	  echo "Installing Debian's Pango and HarfBuzz-Subset for WeasyPrint"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core >/dev/null; \
	fi

# Debian's chromium for the browser tests; never a downloaded browser build.
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# Debian's Dovecot for the bounce-mailbox tests: each test starts its own
# server in a temporary directory on a free port, never the system service.
imap:
	@if [ ! -x /usr/sbin/dovecot ]; then \
	  echo "Installing Debian's dovecot-imapd for the IMAP tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq dovecot-imapd >/dev/null; \
	fi

# Debian's nginx for the production-shape test (tests/test_production_shape.py
# runs deploy/nginx.conf with TLS in front of gunicorn). Each test starts its
# own nginx on free ports; Debian's policy keeps the packaged service stopped
# in containers, and the test never uses it.
nginx:
	@if [ ! -x /usr/sbin/nginx ]; then \
	  echo "Installing Debian's nginx for the production-shape test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx >/dev/null; \
	fi

# `python gunicorn.conf.py` prints the address the web process will use:
# QUIZ_BIND, else PORT (default 5000), from the environment or .env, as honcho
# hands them to it (e.g. `PORT=8000 make run`).
run: setup
	$(BIN)/flask --app wsgi quiz init-db
	$(BIN)/flask --app wsgi quiz questions import questions/meldcode.toml
	$(BIN)/flask --app wsgi quiz campaign ensure-default
	@PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/honcho run python gunicorn.conf.py
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/honcho start -f Procfile

lint: setup
	$(BIN)/ruff check .

test: setup browser imap nginx lint tests/js/node_modules
	$(BIN)/pytest

# The suite once more, a year from today (tests/conftest.py, QUIZ_TEST_SHIFT_DAYS):
# no test may depend on the date it runs on. CI runs it after `make test`.
test-later: setup browser imap nginx tests/js/node_modules
	QUIZ_TEST_SHIFT_DAYS=365 $(BIN)/pytest

# axe-core for the accessibility checks, pinned by tests/js/package-lock.json.
tests/js/node_modules: tests/js/package.json tests/js/package-lock.json
	@command -v npm >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm >/dev/null; }
	cd tests/js && npm ci --no-audit --no-fund
	touch $@

# The benchmarks of issue 18 (sending, answering, signup, the dashboard,
# scale-out); each rewrites its section of docs/benchmarks.md. On the local
# PostgreSQL, each in a database of its own, or all in QUIZ_BENCH_DATABASE_URL.
bench: setup
	@if ! command -v wrk >/dev/null; then \
	  echo "Installing Debian's wrk for the benchmarks"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -qq wrk >/dev/null || { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk >/dev/null; }; \
	fi
	$(BIN)/python bench/header.py
	$(BIN)/python bench/answer.py
	$(BIN)/python bench/signup.py
	@if [ ! -x /usr/sbin/smtp-sink ] && ! command -v smtp-sink >/dev/null; then \
	  echo "Installing Debian's postfix for its smtp-sink (the benchmark's SMTP sink)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postfix >/dev/null; \
	fi
	$(BIN)/python bench/send.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/scaleout.py

clean:
	rm -rf $(VENV) instance .pytest_cache
