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

# Every benchmark, printing its figures (about an hour on 2 cores). The lightly side of the
# SSL throughput comparison needs .venv-bench (see docs/ssl_pretrain.md).
BENCHES := "query_engine.py" "digits_lab.py" "import_images.py" "al_round.py" \
	"label_latency.py" "label_cpu.py" "annotate_load.py" "export_memory.py" "fuzz_api.py" \
	"ssl_pretrain.py throughput" "ssl_pretrain.py quality --budget-min 15"
bench: dev
	@for b in $(BENCHES); do echo "== bench/$$b"; $(PY) bench/$$b || exit 1; done

clean:
	rm -rf var/test_* .pytest_cache .ruff_cache .mypy_cache
