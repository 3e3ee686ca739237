# Quarry: `make demo` runs it, `make test` proves it.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The second test pass (marker `services`) runs against these real servers.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/quarry
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15

.PHONY: venv dev demo stop test test-fast lint format bench browser-deps clean

# The stamp changes whenever pyproject.toml does, so a new dependency reinstalls.
$(VENV)/.stamp-base: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-base
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.stamp-base
dev: $(VENV)/.stamp-dev

demo: venv
	@bash scripts/demo.sh "$(PY)" "$(HOST)" "$(PORT)"

stop:
	@bash scripts/stop.sh

browser-deps:
	@bash scripts/browser_deps.sh

test: dev browser-deps
	$(PY) -m pytest -m "not services"
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(PY) -m pytest -m services

test-fast: dev
	$(PY) -m pytest -m "not services and not slow and not browser"

lint: dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: dev
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf var/test_* .pytest_cache .ruff_cache .mypy_cache
