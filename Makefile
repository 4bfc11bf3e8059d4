# Set-up is part of every target: `make lab` and `make test` work on a fresh
# machine with only Python 3.11, pip and make. A second run skips the install
# unless pyproject.toml changed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ASSIGNMENTS := $(notdir $(wildcard solutions/[0-9]*))
# nbgrader runs helpers such as `alembic` from PATH: put the venv's first.
export PATH := $(abspath $(BIN)):$(PATH)

# JupyterLab options; override for a server, e.g. make lab LAB_ARGS="--ip=0.0.0.0"
PORT     ?= 8888
LAB_ARGS ?=

.PHONY: install lab test release execute clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[course,test]"
	@touch $(STAMP)

lab: install
	$(BIN)/jupyter lab --notebook-dir=notebooks --no-browser --ip=127.0.0.1 --port=$(PORT) \
		--ServerApp.allow_root=True $(LAB_ARGS)

test: install
	$(BIN)/python -m pytest

# Instructor targets ---------------------------------------------------------

# Run every solution notebook in place, so its stored outputs are current.
execute: install
	for a in $(ASSIGNMENTS); do \
		$(BIN)/jupyter nbconvert --to notebook --execute --inplace solutions/$$a/$$a.ipynb || exit 1; \
	done

# Regenerate the student version in notebooks/ from solutions/.
release: install
	for a in $(ASSIGNMENTS); do $(BIN)/nbgrader generate_assignment $$a --force || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
