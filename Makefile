# Two commands on a fresh machine: `make grade` and `make test`.
# Each creates .venv from requirements.lock on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSIGNMENTS := $(notdir $(wildcard solutions/[0-9]*))

.PHONY: grade test test-fast release lint bench clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

grade: $(STAMP)
	@for a in $(ASSIGNMENTS); do $(BIN)/grader grade $$a || exit $$?; done

release: $(STAMP)
	@for a in $(ASSIGNMENTS); do $(BIN)/grader release $$a || exit $$?; done

lint: $(STAMP)
	$(BIN)/ruff check grader tests bench
	$(BIN)/ruff format --check grader tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python bench/zygote_vs_fresh.py
	$(BIN)/python bench/mutation.py

clean:
	rm -rf $(VENV) reports
