# One-command set-up and run on a fresh machine with Python >= 3.11 and make (no conda).
# `make run`: set up, then build every output. `make test`: set up, then every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
CORES  ?= all

.PHONY: setup run test lint format lock environment clean help

help:
	@echo "make run    set up .venv from requirements.lock, then run the whole pipeline"
	@echo "make test   set up, then lint, format check, dry run and pytest"
	@echo "make lock   re-resolve requirements.in into requirements.lock and environment.yml"

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("innopanel needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

setup: $(STAMP)

run: setup
	$(BIN)/snakemake --cores $(CORES)

lint: setup
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/ruff check workflow tests
	$(BIN)/ruff format --check workflow tests
	$(BIN)/snakemake --dry-run --quiet

test: lint
	$(BIN)/python -m pytest

format: setup
	$(BIN)/snakefmt Snakefile workflow/rules
	$(BIN)/ruff check --fix workflow tests
	$(BIN)/ruff format workflow tests

# Maintainers only: needs the uv resolver (pip install uv) and the package registry.
lock:
	uv pip compile requirements.in --python-version 3.11 --generate-hashes --no-header -o requirements.lock
	$(MAKE) environment

environment:
	$(PYTHON) workflow/scripts/write_environment_yml.py requirements.lock environment.yml

clean:
	rm -rf .snakemake data/staged data/processed logs
	find results -mindepth 1 ! -name README.md -delete
