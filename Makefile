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
# Each role's JupyterLab reads jupyter_config/<role>/ before any other Jupyter
# config (JUPYTER_CONFIG_PATH is searched before ~/.jupyter and .venv/etc/jupyter);
# that folder turns nbgrader's extensions on or off for the role, and no config
# outside it is written.
ROLE_CONFIG = JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter_config/$(1)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}"

.PHONY: install lab instructor test release execute grade clean standin bench bench-grading

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[course,test]"
	@$(BIN)/python -m course_grading.confine
	@touch $(STAMP)

# Students: the notebooks in notebooks/, with nbgrader's Validate button and
# Assignment List; no Formgrader, Create Assignment or Course List.
# A kernel idle for 30 minutes is shut down (five open notebooks hold about 4 GB).
lab: install
	$(call ROLE_CONFIG,student) $(BIN)/jupyter lab --notebook-dir=notebooks --no-browser --ip=127.0.0.1 --port=$(PORT) \
		--ServerApp.allow_root=True --MappingKernelManager.cull_idle_timeout=1800 \
		--MappingKernelManager.cull_interval=300 $(LAB_ARGS)

test: install
	$(BIN)/python -m pytest

# Instructor targets ---------------------------------------------------------

# JupyterLab at the repository root with Formgrader and Create Assignment, so
# that formgrader's links to the source notebooks in solutions/ open.
instructor: install
	$(call ROLE_CONFIG,instructor) $(BIN)/jupyter lab --notebook-dir=. --no-browser --ip=127.0.0.1 --port=$(PORT) \
		--ServerApp.allow_root=True $(LAB_ARGS)

# Run every solution notebook in place, so its stored outputs are current.
execute: install
	for a in $(ASSIGNMENTS); do \
		$(BIN)/jupyter nbconvert --to notebook --execute --inplace --NotebookClient.record_timing=False solutions/$$a/$$a.ipynb || exit 1; \
	done

# Regenerate the student version in notebooks/ from solutions/.
release: install
	for a in $(ASSIGNMENTS); do $(BIN)/nbgrader generate_assignment $$a --force || exit 1; done

# Grade a class: make grade ASSIGNMENT=01_sigmoid_bce SUBMISSIONS=path/to/download.zip
# Results in grading/<assignment>/: grades.csv, feedback/, report.txt.
grade: install
	@test -n "$(ASSIGNMENT)" -a -n "$(SUBMISSIONS)" || \
		{ echo "usage: make grade ASSIGNMENT=<id> SUBMISSIONS=<folder or .zip> [GRADE_ARGS=...]"; exit 2; }
	$(BIN)/python -m course_grading.grade $(ASSIGNMENT) $(SUBMISSIONS) $(GRADE_ARGS)

# Synthetic Fashion-MNIST stand-in for machines without network (the tests use it
# automatically), e.g.  COURSE_DATA_DIR=... make execute ASSIGNMENTS=04_softmax_fashion_mnist
STANDIN_DIR := $(abspath .cache/fashion-mnist-standin)
standin: install
	@$(BIN)/python -c "from conftest import ensure_standin; from pathlib import Path; ensure_standin(Path('$(STANDIN_DIR)'))"
	@echo "COURSE_DATA_DIR=$(STANDIN_DIR)"

# Data pipeline and notebook timings (the real Fashion-MNIST if present, else the stand-in).
bench: install
	$(BIN)/python benchmarks/bench.py

# Seconds to grade one full-course submission and a class of 30 with make grade.
bench-grading: install
	$(BIN)/python benchmarks/grading.py

clean:
	rm -rf $(VENV) .pytest_cache
