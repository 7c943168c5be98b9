# Every target sets itself up: a fresh clone needs only Python 3.11+ and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: install run demo test check lint typecheck format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Huella needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: install
	$(BIN)/huella demo --host $(HOST) --port $(PORT)

test: install
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

lint: install
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check app connectors tests bench
	$(BIN)/ruff format --check app connectors tests bench

typecheck: install
	$(BIN)/mypy app connectors

check: lint typecheck test

format: install
	$(BIN)/ruff format app connectors tests bench
	$(BIN)/ruff check --fix app connectors tests bench

bench: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .hypothesis
