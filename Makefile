# Filial — the two quick-start commands are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=

.PHONY: run test test-scale test-fast lint typecheck check messages bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The emulators (emulators/: the networks' and library systems' local servers) are a distribution of their own,
# outside the filial package and its wheel; the demo and the tests use them, so both targets install them.
$(VENV)/.installed: pyproject.toml emulators/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e . -e ./emulators
	touch $@

$(VENV)/.dev-installed: pyproject.toml emulators/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev,scale]" -e ./emulators
	touch $@ $(VENV)/.installed

## make run: install, migrate, load the demo network (empty database only), start web + worker.
run: $(VENV)/.installed
	$(BIN)/filial run

## make test: install the test tools and run the whole suite on the embedded default (SQLite).
test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

## make test-scale: the same suite on PostgreSQL + Redis.
test-scale: $(VENV)/.dev-installed
	FILIAL_DATABASE_URL=$(PG_URL) FILIAL_REDIS_URL=$(REDIS_URL) $(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check filial bench emulators
	$(BIN)/lint-imports --no-cache

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy filial emulators

check: lint typecheck test

## make messages: refresh the translation catalogues (needs GNU gettext) and compile them (pure Python).
messages: $(VENV)/.dev-installed
	cd filial && ../$(BIN)/django-admin makemessages -l ru -l en --no-obsolete --settings=filial.settings
	$(BIN)/python -m filial.core.compilemessages

## make bench: every benchmark (bench/README.md), embedded and PostgreSQL + Redis, one JSON line each (~40 min);
## BENCH_ARGS="--quick" for a few minutes, "--only messages" for one, "--embedded-only" without PostgreSQL.
bench: $(VENV)/.dev-installed
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var/test-*
