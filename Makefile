# Suara: `make run` starts everything on this machine; `make test` runs every suite.
# Both create the environment first, from uv.lock, with nothing installed by hand.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_LINK_MODE := copy

MEMBERS := $(wildcard contracts/pyproject.toml services/*/pyproject.toml gateway/pyproject.toml)

.PHONY: help install run test test-fast lint contracts migration bench clean

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml $(MEMBERS) | $(UV)
	$(UV) sync --frozen --all-packages
	@touch $@

install: $(VENV)/.synced ## Create .venv from uv.lock (hash-checked)

run: install ## Start NATS, the dev OIDC issuer, the four services and the gateway; Ctrl-C stops
	$(PY) -m suara_kit.stack

test: install ## Run every suite (unit, integration on NATS + SQLite/PostgreSQL, contracts, end-to-end)
	$(VENV)/bin/pytest

test-fast: install ## Skip the end-to-end suites that start real processes
	$(VENV)/bin/pytest -m "not e2e"

lint: install ## Ruff
	$(VENV)/bin/ruff check .

contracts: install ## Regenerate contracts/ (OpenAPI, AsyncAPI, JSON Schemas) from code
	$(PY) contracts/generate.py

migration: install ## New Alembic revision: make migration PKG=suara_cases MSG="add x"
	$(PY) -m suara_kit.migrate $(PKG) "$(MSG)"

bench: install ## Print slot-proposal latency, then submission throughput (SQLite and PostgreSQL)
	$(PY) bench/bench_slots.py
	$(PY) bench/submissions.py

clean: ## Remove the environment and local state under var/
	rm -rf $(VENV) $(TOOLS) var
