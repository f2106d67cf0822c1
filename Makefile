# ipcsim: two commands on a fresh machine with python3 (3.11+) and the package registries.
#   make run    set up .venv and run the demonstrator scenario
#   make test   set up .venv, lint, type-check and run the fast test suite
#   make validate / make bench   slow validation tests / benchmarks (never part of make test)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
CONFIG ?= configs/demonstrator_site.toml
OUT    ?= outputs/$(basename $(notdir $(CONFIG)))
LINT   := ipcsim tests $(wildcard benchmarks)

.PHONY: setup run test lint validate bench bench-quick lock clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $@

run: setup
	$(BIN)/ipcsim run $(CONFIG) --out $(OUT)
	$(BIN)/ipcsim report $(OUT)

lint: setup
	$(BIN)/ruff check $(LINT)
	$(BIN)/ruff format --check $(LINT)
	$(BIN)/mypy ipcsim

test: lint
	$(BIN)/python -m pytest -m "not slow" -q

validate: setup
	$(BIN)/python -m pytest -m "validation" -q

bench: setup
	$(BIN)/python benchmarks/run_all.py

bench-quick: setup
	$(BIN)/python benchmarks/run_all.py --quick

lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v "^ipcsim" > requirements.lock.new; $(BIN)/python -m pip freeze --all | grep -E "^(setuptools|wheel)==" >> requirements.lock.new
	(echo "# Exact versions CI installs (make setup). Regenerate: make lock"; cat requirements.lock.new) > requirements.lock
	rm requirements.lock.new

clean:
	rm -rf $(VENV) outputs .pytest_cache .mypy_cache .ruff_cache .hypothesis
