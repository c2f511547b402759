# Two commands on a fresh machine: `make grade` and `make test`.
# Each creates .venv from requirements.lock on first use, with python3:
# CPython 3.11 (from 3.11.2), 3.12 or 3.13, the range the lock is resolved
# for. Another one, in its own venv, one assignment, elsewhere than reports/:
#   make grade PYTHON=python3.13 VENV=.venv-3.13 ASSIGNMENTS=01_tensors OUT=/tmp/out
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSIGNMENTS := $(notdir $(wildcard solutions/[0-9]*))
OUT := reports

.PHONY: grade check test test-fast release lint docs bench clean

# npm tools of the browser tests (tests/test_browser.py): pinned in
# package-lock.json, installed without install scripts (no browser or JRE
# downloads: the tests use the system's chromium and java). Without npm the
# browser tests skip, or fail when CI=true.
NODE_STAMP := node_modules/.installed

$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund \
			&& touch $(NODE_STAMP); \
	else \
		echo "npm not found: the browser tests will skip (CI=true makes them fail)"; \
	fi

# The venv is made with a supported $(PYTHON) (else a message, not pip's
# "no matching distribution"), and made again when it has no pip, as after
# `python3 -m venv` failed half-way on a Debian without python3-venv.
SUPPORTED := import sys; v = sys.version_info[:2]; sys.exit(None if (3, 11) <= v <= (3, 13) \
	else "tfgrade needs CPython 3.11 to 3.13 and $(PYTHON) is %d.%d: run make with PYTHON=python3.13, say" % v)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/pip || $(PYTHON) -c '$(SUPPORTED)'
	test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The ray extra (--backend ray), for its tests: pinned in requirements-ray.lock,
# resolved with requirements.lock as constraints. `make grade` does not need it.
RAY_STAMP := $(VENV)/.ray-installed

$(RAY_STAMP): requirements-ray.lock $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-ray.lock
	touch $(RAY_STAMP)

grade: $(STAMP)
	@for a in $(ASSIGNMENTS); do $(BIN)/grader grade $$a --out $(OUT) || exit $$?; done

# A student's check before submitting: make check NB=path/to/notebook.ipynb
# (NB is checked before the venv is made, so a typo costs no install). Its
# page goes to reports/check/, not beside the notebook in the course's tree.
CHECK_REPORTS := reports/check

check:
	@test -n "$(NB)" || { echo "usage: make check NB=path/to/notebook.ipynb" >&2; exit 2; }
	@$(MAKE) --no-print-directory $(STAMP)
	$(BIN)/grader check --report $(CHECK_REPORTS) "$(NB)"

release: $(STAMP)
	@for a in $(ASSIGNMENTS); do $(BIN)/grader release $$a || exit $$?; done

lint: $(STAMP) $(RAY_STAMP)
	$(BIN)/ruff check grader tests bench
	$(BIN)/ruff format --check grader tests bench
	$(BIN)/mypy

# The suite on TEST_WORKERS pytest-xdist workers, each taking whole modules
# (or test classes), so what a module grades once it grades once; example
# classes are graded once per run whichever worker asks (tests/conftest.py).
# test-fast leaves out every test marked slow or with a cost marker
# (pyproject.toml; docs/contributing.md has the tiers).
TEST_WORKERS := 2
PYTEST := $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadscope

test: lint $(NODE_STAMP) $(RAY_STAMP)
	$(PYTEST)

test-fast: $(STAMP)
	$(PYTEST) -m "not slow"

# docs/reference/cli.md from the commands' own help (tests/test_clidoc.py
# fails when it is out of date).
docs: $(STAMP)
	$(BIN)/python -m grader.clidoc docs/reference/cli.md

bench: $(STAMP) $(RAY_STAMP)
	$(BIN)/python bench/zygote_vs_fresh.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/mutation.py

clean:
	rm -rf $(VENV) reports node_modules
