# Two commands set up a fresh machine: `make demo` runs the service with its demo on the
# embedded SQLite database; `make test` runs every check on SQLite and PostgreSQL.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo serve test lint typecheck imports unit bench clean audit

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: install
	$(BIN)/lifeline demo --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/lifeline serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

# The suite runs in random order (pytest-randomly), once per seed, SQLite and PostgreSQL side by
# side; each run prints its seed. A new seed each time unless given: `make test SEEDS=1234`
# repeats a run, `SEEDS="1 2 3"` runs three orders (one a run keeps the test command within its
# time budget; every run is a new order). The contract fuzzing has a fixed seed of its own: it
# runs once, after them, and so do the fault tests (they kill processes and restart a database
# of their own) and the browser tests.
SEEDS ?= $(shell od -An -N2 -tu2 /dev/urandom)

unit: install
	scripts/ensure-postgres
	scripts/suite $(BIN)/pytest $(SEEDS)
	$(BIN)/pytest -m fuzz
	$(BIN)/pytest -m faults
	$(BIN)/pytest -m browser

test: lint typecheck imports unit

# Known vulnerabilities in the installed dependencies (pip-audit), less those allowed in
# deploy/audit-allowlist.toml, each with its reason and review-by date. Fails on a finding or on
# an entry past its date; when no vulnerability service answers it says "dependencies NOT
# audited" and goes on, since a network down says nothing about the dependencies.
audit: install
	$(BIN)/python scripts/audit.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache lifeline.db*
