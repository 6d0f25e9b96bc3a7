# Two commands set up a fresh machine: `make demo` runs the service with its demo on the
# embedded SQLite database; `make test` runs every check on SQLite and PostgreSQL.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo serve test lint typecheck imports unit bench clean

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

unit: install
	scripts/ensure-postgres
	$(BIN)/pytest

test: lint typecheck imports unit

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache lifeline.db*
