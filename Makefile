# Thin wrappers; a fresh clone needs only `make bench` or `make test` (both install first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= toy
SEEDS ?= 0
METHODS ?=
DATA ?=
WANDB_PROJECT ?=

.PHONY: help install bench bench-full smoke perf test lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the package with dev extras

# A sweep (its rows: conf/bench/NAME.yaml) into outputs/bench/$(PROFILE), then the leaderboard
# of everything finished there, also when a job failed (the sweep's exit status is kept).
sweep = $(BIN)/ganctrl -m bench=$(1) experiment=$(PROFILE) seed=$(SEEDS) \
	$(if $(METHODS),method=$(METHODS)) $(if $(DATA),data=$(DATA)); status=$$?; \
	$(BIN)/python -m ganctrl.benchmarks.leaderboard outputs/bench/$(PROFILE) \
	--out results/$(PROFILE) $(if $(WANDB_PROJECT),--wandb-project $(WANDB_PROJECT)) && exit $$status

bench: $(STAMP) ## five methods beside their baselines (PROFILE=smoke|toy|paper SEEDS=0,1,2 METHODS= DATA= WANDB_PROJECT=)
	$(call sweep,default)

bench-full: $(STAMP) ## every method and ablation row on both data sets (same variables)
	$(call sweep,full)

smoke: $(STAMP) ## one job end to end in seconds
	$(BIN)/ganctrl experiment=smoke

perf: $(STAMP) ## fidelity layer vs bare pass and torch-fidelity, radii vs scikit-learn (docs/PERFORMANCE.md)
	$(BIN)/python -m ganctrl.benchmarks.perf.fidelity --sweep outputs/bench/$(PROFILE)

test: $(STAMP) ## the test suite (what CI runs); the quick loop: .venv/bin/pytest -m "not slow"
	$(BIN)/pytest --durations=15

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean: ## remove the venv, outputs and caches
	rm -rf $(VENV) outputs .cache .pytest_cache .ruff_cache *.egg-info
