# Thin wrappers; a fresh clone needs only `make bench` or `make test` (both install first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= toy
SEEDS ?= 0

.PHONY: help install bench smoke test lint clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the package with dev extras

# The rows it sweeps live in conf/bench/default.yaml.
bench: $(STAMP) ## the default sweep (PROFILE=smoke|toy|paper, SEEDS=0,1,2)
	$(BIN)/ganctrl -m bench=default experiment=$(PROFILE) seed=$(SEEDS)

smoke: $(STAMP) ## one job end to end in seconds
	$(BIN)/ganctrl experiment=smoke

test: $(STAMP) ## the test suite (what CI runs); the quick loop: .venv/bin/pytest -m "not slow"
	$(BIN)/pytest --durations=15

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean: ## remove the venv, outputs and caches
	rm -rf $(VENV) outputs .cache .pytest_cache .ruff_cache *.egg-info
