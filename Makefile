# The two commands: `make demo` runs the application, `make test` runs the whole suite.
# Both work on a fresh machine with Python 3.11+, pip and make.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-app
INSTALLED_TEST := $(VENV)/.installed-test

.PHONY: demo test install browser lint typecheck format bench clean

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is required (found $$($(PYTHON) --version))."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $(INSTALLED)

$(INSTALLED_TEST): $(INSTALLED)
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(INSTALLED_TEST)

install: $(INSTALLED)

demo: install
	$(PY) manage.py demo

# Browser tests drive Debian's chromium through Playwright (Playwright cannot download its own
# browser here). Installed when missing and we are root; otherwise we say what to install.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "The browser tests need Chromium at /usr/bin/chromium: run 'sudo apt-get install chromium' and try again."; \
		exit 1; \
	fi

# Two workers (pytest-xdist), each with its own test database and CRM sandbox: on 2 cores the suite
# takes about half the time of one. PYTEST_WORKERS=0 runs it in this process (for pdb).
PYTEST_WORKERS ?= 2
test: $(INSTALLED_TEST) browser
	$(PY) -m pytest --numprocesses=$(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: $(INSTALLED_TEST)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# mypy checks the packages listed once, in pyproject.toml ([tool.mypy] files), with the django-stubs plugin.
typecheck: $(INSTALLED_TEST)
	$(VENV)/bin/mypy

format: $(INSTALLED_TEST)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache

# Benchmarks print their figures as a table (add ARGS=--json for one JSON object on the last line).
bench: $(INSTALLED_TEST)
	$(PY) bench/sandbox_ingest.py $(ARGS)
	$(PY) bench/sync_throughput.py $(ARGS)
	$(PY) bench/incremental.py $(ARGS)
	$(PY) bench/sync_memory.py $(ARGS)
	$(PY) bench/order_intake.py $(ARGS)
