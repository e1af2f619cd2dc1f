# gcnotify — every set-up step a new machine needs is here: `make demo` and `make test`.
# The Lambda runtime is Python 3.12: use python3.12 when it can be found, else python3 (>= 3.11).
PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install demo test lint typecheck unit bench clean

help:
	@echo "make demo   - create .venv, install, run the nightly report on local stand-ins (writes out/)"
	@echo "make test   - create .venv, install, run lint, type check and every test with coverage"
	@echo "make bench  - cold-start import and API-call/wall-time benchmarks (numbers only, no asserts)"

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11+ not found (3.12 recommended: the Lambda runtime)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/gcnotify demo --out out

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n auto --cov=gcnotify --cov-report=term --cov-fail-under=90

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/report_run.py

clean:
	rm -rf $(VENV) out .aws-sam .pytest_cache .mypy_cache .ruff_cache .coverage

# The SAM build target (template.yaml: Metadata BuildMethod makefile) lives in build.mk.
-include build.mk
