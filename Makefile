# Two entry points for a fresh machine (see README.md):
#   make build   install policygraph in .venv and build the bundled document into build/
#   make test    install everything the tests need (Python and Debian packages) and run them
#
# SOURCE_DATE_EPOCH defaults to the time of the last commit that changed anything
# outside build/, so `make build` on a clean
# checkout reproduces the committed build/ byte for byte.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct -- . ':!build' 2>/dev/null)
export SOURCE_DATE_EPOCH

.PHONY: build test install install-test system-deps lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'

build: install
	$(BIN)/policygraph build

system-deps:
	bash scripts/install-system-deps

test: install-test system-deps
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

format: install-test
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
