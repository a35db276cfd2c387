# derivlearn: `make book` builds the book, `make test` runs the tests.
# Both create .venv from requirements.txt on first use (and again when it changes).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= book
PIP_QUIET := grep -v -e "is ignored: it is neither" || true

.PHONY: book test lint bench venv clean help
help:
	@echo "make book [PROFILE=smoke|book|full]  execute the chapters and build the HTML book"
	@echo "make test                            run the test suite"
	@echo "make lint                            ruff"
	@echo "make bench                           run the benchmark scripts"

book: $(STAMP)
	$(PY) -m derivlearn.book --profile $(PROFILE)

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check lib tests benchmarks notebooks

bench: $(STAMP)
	@for f in benchmarks/*.py; do echo "== $$f"; $(PY) $$f; done

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "derivlearn needs Python >= 3.11 (the pinned numpy/scipy/pandas do); set PYTHON=python3.11 or newer")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "[make] installing requirements.txt into $(VENV) (first run: a few minutes)"
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt 2>&1 | { $(PIP_QUIET); }
	@touch $(STAMP)

clean:
	rm -rf _build book/generated .cache
