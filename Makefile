# One-command set-up and run on a fresh machine with Python >= 3.11 and make (no conda).
# Each study is one config, config/studies/<study>.yaml, with its outputs under
# results/<study>/; the bundled studies are listed in config/studies/bundled.txt.
# `make run`: set up, then build every bundled study. `make test`: set up, then every
# check. `make verify`: rebuild every bundled study from scratch in a temporary copy and
# compare every output with its reference by the policy in results/<study>/MANIFEST.sha256
# (exact, numeric within tolerance, figures as renderings). `make reference`: regenerate
# those references. `STUDY=<name>` limits verify and reference to one study.
# `make bench`: time the pipeline and the two-way FE estimate (installs pyfixest apart).
# `make setup-slurm`: add the pinned SLURM executor plugin to .venv (profiles/slurm).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
CORES  ?= all
# The bundled studies (comment lines start with #); one study: `make verify STUDY=<name>`.
STUDIES := $(shell sed -e '/^\#/d' config/studies/bundled.txt)
STUDY  ?=
ONLY_STUDY = $(if $(STUDY),--study $(STUDY))
# pyfixest, the speed reference of `make bench`, lives in its own environment, so that
# the pinned .venv (whose figures `make verify` compares byte for byte) stays as locked.
# The SLURM executor plugin, installed only where the workflow runs on a cluster: at import
# it asks the cluster for its configuration, which costs every Snakemake start about 10 s
# on a machine with SLURM's client tools and no controller answering (README).
SLURM_STAMP := $(VENV)/.slurm-installed-$(shell cat requirements-slurm.lock | cksum | cut -d' ' -f1)
BENCH_VENV  := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed-$(shell cat requirements-bench.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup setup-slurm remove-slurm run test lint format verify reference bench lock environment clean help

help:
	@echo "make run    set up .venv from requirements.lock, then build every bundled study"
	@echo "            ($(STUDIES)); one study: snakemake --cores all --config study=<name>"
	@echo "make test   set up, then lint, format check, dry run and pytest"
	@echo "make verify rebuild every bundled study in a temporary copy; fail on any output that"
	@echo "            differs from its reference beyond the manifest's policy, naming file and"
	@echo "            cell (STUDY=<name>: that study only)"
	@echo "make reference  rebuild and rewrite results/<study>/, reference/<study>/ and the"
	@echo "            manifest of every bundled study or STUDY=<name> (commit them with the"
	@echo "            change that moved the numbers)"
	@echo "make setup-slurm  set up, then add the pinned SLURM executor plugin"
	@echo "            (requirements-slurm.lock) for snakemake --profile profiles/slurm"
	@echo "make remove-slurm  take the SLURM executor plugin out of .venv again"
	@echo "make bench  print end-to-end, no-op, per-rule and two-way FE timings"
	@echo "make lock   re-resolve requirements*.in into their .lock files and environment.yml"

CHECK_PYTHON = @$(PYTHON) -c 'import sys; sys.exit("innopanel needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
PIP = python -m pip install --quiet --disable-pip-version-check

$(STAMP): requirements.lock pyproject.toml
	$(CHECK_PYTHON)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/$(PIP) --require-hashes -r requirements.lock
	$(BIN)/$(PIP) --no-deps --no-build-isolation -e .
	touch $@

$(BENCH_STAMP): requirements-bench.lock pyproject.toml
	$(CHECK_PYTHON)
	rm -rf $(BENCH_VENV)
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/$(PIP) --require-hashes -r requirements-bench.lock
	$(BENCH_VENV)/bin/$(PIP) --no-deps --no-build-isolation -e .
	touch $@

setup: $(STAMP)

# Rebuilding .venv (a new requirements.lock) removes this stamp with it.
$(SLURM_STAMP): $(STAMP) requirements-slurm.lock
	$(BIN)/$(PIP) --require-hashes -r requirements-slurm.lock
	touch $@

setup-slurm: $(SLURM_STAMP)

# Take out of .venv what setup-slurm added (the packages requirements-slurm.lock pins
# beyond requirements.lock), so that Snakemake's starts no longer import the plugin and
# its cluster probe: CI leaves .venv as `make setup` made it.
SLURM_ONLY = $(BIN)/python -c 'from pathlib import Path; from innopanel.reproducibility.environment import pinned_packages as pins; print(*sorted(set(pins(Path("requirements-slurm.lock"))) - set(pins(Path("requirements.lock")))))'
remove-slurm:
	$(BIN)/python -m pip uninstall --yes --quiet $$($(SLURM_ONLY))
	rm -f $(VENV)/.slurm-installed-*

# A console a person reads: the plan, one progress line per finished job ("12 of 43 steps
# (28%) done") and, on failure, the project's message last; Snakemake's per-job blocks
# (inputs, outputs, reasons) stay in .snakemake/log/ and each rule's log.
run: setup
	set -e; for study in $(STUDIES); do echo "== $$study =="; $(BIN)/snakemake --cores $(CORES) --quiet rules host --config study=$$study; done

lint: setup
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/ruff check workflow tests
	$(BIN)/ruff format --check workflow tests
	set -e; for study in $(STUDIES); do $(BIN)/snakemake --dry-run --quiet --config study=$$study; done

# Every core runs tests (pytest-xdist); a test file's tests stay on one worker, so a
# file's module fixtures (a built study) are built once.
test: lint
	$(BIN)/python -m pytest -n auto --dist loadfile

verify: setup
	$(BIN)/python -m innopanel.reproducibility.reference verify --cores $(CORES) $(ONLY_STUDY)

reference: setup
	$(BIN)/python -m innopanel.reproducibility.reference update --cores $(CORES) $(ONLY_STUDY)

# The pipeline is timed in the pinned .venv (on the demo, then on growing generated
# panels: growth.py, about 4 minutes; at 10,000 cities PPML takes CV1, as the jackknife's
# cluster cap asks); the estimates beside pyfixest in .venv-bench.
# What the benchmarks measure goes to docs/measured/, which docs/benchmarks.md quotes
# (innopanel.reproducibility.quotes); `set -o pipefail` keeps a failed benchmark failed.
MEASURED := docs/measured
bench: SHELL := /bin/bash
bench: setup $(BENCH_STAMP)
	mkdir -p $(MEASURED)
	$(BIN)/python workflow/benchmarks/pipeline.py --cores $(CORES) --record $(MEASURED)/pipeline.json
	set -o pipefail; $(BIN)/python workflow/benchmarks/growth.py --cores $(CORES) | tee $(MEASURED)/growth.txt
	set -o pipefail; $(BIN)/python workflow/benchmarks/growth.py --cores $(CORES) --sizes 10000x20 --ppml-covariance clustered | tee $(MEASURED)/growth_ppml_cv1.txt
	$(BENCH_VENV)/bin/python workflow/benchmarks/within.py --record $(MEASURED)/within.csv
	set -o pipefail; $(BENCH_VENV)/bin/python workflow/benchmarks/ppml.py | tee $(MEASURED)/ppml.txt
	set -o pipefail; $(BENCH_VENV)/bin/python workflow/benchmarks/multiverse.py | tee $(MEASURED)/multiverse.txt
	$(BIN)/python -m innopanel.reproducibility.quotes README.md docs/*.md

format: setup
	$(BIN)/snakefmt Snakefile workflow/rules
	$(BIN)/ruff check --fix workflow tests
	$(BIN)/ruff format workflow tests

# Maintainers only: needs the uv resolver (pip install uv) and the package registry.
lock:
	uv pip compile requirements.in --python-version 3.11 --generate-hashes --no-header -o requirements.lock
	uv pip compile requirements-slurm.in -c requirements.lock --python-version 3.11 --generate-hashes --no-header -o requirements-slurm.lock
	uv pip compile requirements-bench.in -c requirements.lock --python-version 3.11 --generate-hashes --no-header -o requirements-bench.lock
	$(MAKE) environment

environment:
	$(PYTHON) workflow/scripts/write_environment_yml.py requirements.lock environment.yml

# The committed outputs under results/<study>/ and the references under reference/ stay;
# the outputs git ignores go.
clean:
	rm -rf .snakemake data/staged data/processed logs benchmarks results/*/estimates \
	  results/*/figures results/*/provenance results/*/paper/paper.pdf
