# Steward: `make demo` runs it with demo data, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install lint typecheck format bench-ingest bench-evaluate bench-api clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo
	@echo "Steward is serving on http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	DEBUG=1 $(BIN)/python manage.py runserver --noreload $(HOST):$(PORT)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

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
