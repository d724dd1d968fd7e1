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

# The unconditional baseline's seed is its generator's: seed s = the GAN trained with seed s.
bench: $(STAMP) ## the default sweep (PROFILE=toy|paper, SEEDS=0,1,2)
	$(BIN)/ganctrl -m experiment=$(PROFILE) data=mnist_subset,shapes seed=$(SEEDS) \
		method=unconditional,imle_clusters,imle_clusters_on_z,imle_clusters_random \
		'generator.seed=$${seed}'

smoke: $(STAMP) ## one job end to end in seconds
	$(BIN)/ganctrl experiment=smoke

test: $(STAMP) ## the test suite (what CI runs)
	$(BIN)/pytest

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean: ## remove the venv, outputs and caches
	rm -rf $(VENV) outputs .cache .pytest_cache .ruff_cache *.egg-info
