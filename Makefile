# ipcsim: two commands on a fresh machine with python3 (3.11+) and the package registries.
#   make run    set up .venv (runtime packages only) and run the demonstrator scenario
#   make test   set up .venv, lint, type-check and run the fast test suite
#   make validate / make bench   slow and validation tests / benchmarks (never part of make test)
#   make docs   the documentation site in site/ (warnings and broken links fail the build)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Two pinned sets: what running ipcsim needs, and what testing and linting add.
RUN_STAMP := $(VENV)/.run-$(shell cat requirements-run.lock pyproject.toml | cksum | cut -d' ' -f1)
DEV_STAMP := $(VENV)/.dev-$(shell cat requirements-run.lock requirements-dev.lock pyproject.toml | cksum | cut -d' ' -f1)
CONFIG ?= configs/demonstrator_site.toml
OUT    ?= outputs/$(basename $(notdir $(CONFIG)))
LINT   := ipcsim tests scripts $(wildcard benchmarks)

.PHONY: setup setup-run run test lint docs validate bench bench-quick lock clean

setup-run: $(RUN_STAMP)

setup: $(DEV_STAMP)

$(RUN_STAMP): requirements-run.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-run.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.run-* $(VENV)/.installed-*
	touch $@

$(DEV_STAMP): $(RUN_STAMP) requirements-dev.lock
	$(BIN)/python -m pip install --quiet -r requirements-run.lock -r requirements-dev.lock
	rm -f $(VENV)/.dev-*
	touch $@

run: setup-run
	$(BIN)/ipcsim run $(CONFIG) --out $(OUT)
	$(BIN)/ipcsim report $(OUT)

lint: setup
	$(BIN)/ruff check $(LINT)
	$(BIN)/ruff format --check $(LINT)
	$(BIN)/mypy ipcsim

test: lint
	$(BIN)/python -m pytest -m "not slow" -q -n auto --dist loadfile

# Strict: any warning (a broken link or anchor, a page left out of the nav) fails the build.
# The reference pages are written from the code by scripts/docs_reference.py (a MkDocs hook).
# NO_MKDOCS_2_WARNING silences Material's end-of-life banner (not a build warning).
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

validate: setup
	$(BIN)/python -m pytest -m "slow or validation" -q

bench: setup
	$(BIN)/python benchmarks/run_all.py

bench-quick: setup
	$(BIN)/python benchmarks/run_all.py --quick

lock:
	$(BIN)/python scripts/lock.py

clean:
	rm -rf $(VENV) outputs site .pytest_cache .mypy_cache .ruff_cache .hypothesis
