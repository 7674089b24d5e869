# circus: `make up` runs the platform, `make test` runs the test suite.
# Both work on a fresh Debian machine that has only python3: the venv, the project and (as root)
# the Docker engine are installed on first use. Docker is optional: without it plug-in jobs wait.
# `make test` also installs Debian's Chromium (as root) for the browser tests.

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
CIRCUS_ARGS ?=

.DEFAULT_GOAL := up
.PHONY: up test venv docker plugin-base chromium lint screenshots

up: venv docker
	$(VENV)/bin/circus up $(CIRCUS_ARGS)

test: venv docker plugin-base chromium
	$(VENV)/bin/python -m pytest -q --durations=15 $(PYTEST_ARGS)

venv: $(STAMP)

# The README's pictures (docs/screenshots/): the browser tests write them there only when asked.
screenshots: venv docker plugin-base chromium
	CIRCUS_SCREENSHOTS=1 $(VENV)/bin/python -m pytest -q tests/browser

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Never fails: the script warns and exits 0 when it cannot provide an engine.
docker:
	@bash scripts/docker-engine.sh

# Never fails: the script warns and exits 0 when it cannot provide /usr/bin/chromium (the browser
# tests then skip locally and fail under CI=true).
chromium:
	@bash scripts/chromium.sh

# The plug-in base image (debootstrap + docker import, about a minute, needs root and an engine);
# skipped when it exists. Never fails here: without it the Docker tests skip (and fail under CI=true).
plugin-base: venv docker
	@if docker info >/dev/null 2>&1; then \
	  bash plugins/base/build.sh || echo "make: circus-plugin-base:bookworm was not built (see above)"; \
	fi

# Debian's python3 lacks ensurepip until python3-venv is installed; as root we install it.
# A failed `venv` leaves a half-made directory behind, so it is removed before retrying.
$(VENV)/bin/python:
	@if ! $(PYTHON) -m venv $(VENV) >/dev/null 2>&1; then \
	  rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make: '$(PYTHON) -m venv' failed; installing python3-venv with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; \
	    $(PYTHON) -m venv $(VENV); \
	  else \
	    echo "make: '$(PYTHON) -m venv' failed; install python3-venv (sudo apt-get install python3-venv)" >&2; \
	    exit 1; \
	  fi; \
	fi
	@# Debian bundles pip 23.0; upgrading once keeps installs alike across machines (best effort).
	-$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@echo "make: created $(VENV) with $$($(VENV)/bin/python --version)"

# Reinstall only when pyproject.toml changed since the last install (the stamp is newer otherwise).
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)
