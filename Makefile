# Steward: `make demo` runs it with demo data, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test smoke install lint typecheck format bench-ingest bench-evaluate bench-api clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# STEWARD_DEMO=1: Steward serves the demo's automation receiver and may call its own address
# (config/settings.py); STEWARD_BASE_URL is where this server answers, unless set.
DEMO_ENV = DEBUG=1 STEWARD_DEMO=1 STEWARD_BASE_URL="$${STEWARD_BASE_URL:-http://$(HOST):$(PORT)}"

demo: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo
	@echo "Steward is serving on http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	$(DEMO_ENV) $(BIN)/python manage.py runserver --noreload $(HOST):$(PORT)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# The quick start from a fresh clone of HEAD: `make demo`, log in, every nav page, a firing
# on-call page (.ci/smoke_quickstart.py). SMOKE_FRESH_INSTALL=1 also installs a new venv.
smoke: install
	$(BIN)/python .ci/smoke_quickstart.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	DEBUG=1 $(BIN)/mypy .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks need PostgreSQL: DATABASE_URL=postgres://… make bench-ingest (see README).
bench-ingest: install
	DEBUG=1 $(BIN)/python bench/ingest.py $(BENCH_ARGS)

bench-evaluate: install
	DEBUG=1 $(BIN)/python bench/evaluate.py $(BENCH_ARGS)

bench-api: install
	DEBUG=1 $(BIN)/python bench/api.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles db.sqlite3
