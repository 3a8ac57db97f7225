# Two entry points for a fresh machine: `make repro` and `make test`. Both bootstrap .venv from the
# project's own files. torch is installed first at the pinned version (a CPU wheel is available
# locally) so that pip never resolves an unpinned torch with multi-GB CUDA dependencies.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.bootstrap-stamp
TORCH := torch==2.13.0
PYTEST_ARGS ?=

.PHONY: bootstrap repro lint test test-fast bench clean-venv

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $(STAMP)

bootstrap: $(STAMP)

# Full pipeline on the embedded default data (synthetic edits over the local stdlib).
repro: bootstrap
	source $(VENV)/bin/activate && dvc repro

# Formatting and lint (ruff, configured in pyproject.toml); part of `make test`.
lint: bootstrap
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

# Whole suite, slow end-to-end tests included (CI runs this). Tests that start sandboxed processes
# run serially afterwards: concurrent sandboxes share uid nobody's process limit.
test: lint
	source $(VENV)/bin/activate && python -m pytest -n 2 -m "not sandbox" $(PYTEST_ARGS)
	source $(VENV)/bin/activate && python -m pytest -m sandbox $(PYTEST_ARGS)

test-fast: lint
	source $(VENV)/bin/activate && python -m pytest -n 2 -m "not slow and not sandbox" $(PYTEST_ARGS)
	source $(VENV)/bin/activate && python -m pytest -m "sandbox and not slow" $(PYTEST_ARGS)

bench: bootstrap
	source $(VENV)/bin/activate && python -m bench all

clean-venv:
	rm -rf $(VENV)
