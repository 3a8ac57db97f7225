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

.PHONY: bootstrap sandbox-tools repro lint test test-fast bench bench-sandbox clean-venv

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $(STAMP)

bootstrap: $(STAMP) sandbox-tools

# The downstream stage runs candidate programs in a bubblewrap container (codelewm/sandbox) and refuses
# to run them without it. Installed with apt-get when missing and running as root (CI: a fresh Debian).
sandbox-tools:
	@if command -v bwrap >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing bubblewrap (the sandbox for candidate programs)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
	else \
		echo "WARNING: bwrap (bubblewrap) is missing: the sandbox refuses to run candidates without it."; \
		echo "  install it: sudo apt-get install bubblewrap   (or dnf/pacman install bubblewrap)"; \
		echo "  or accept weaker isolation: downstream.sandbox: weak in params.yaml"; \
	fi

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

# ms per trivial sandboxed run, strict (bubblewrap) vs the older layers, interleaved in one process
bench-sandbox: bootstrap
	source $(VENV)/bin/activate && python -m bench sandbox --runs 30

clean-venv:
	rm -rf $(VENV)
