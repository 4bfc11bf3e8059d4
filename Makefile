# Set-up is part of every target: `make lab` and `make test` work on a fresh
# machine with only Python 3.11, pip and make. A second run skips the install
# unless pyproject.toml changed. Each target installs what its user needs
# (course_utils/__main__.py's profiles): `make lab` and `make standin` what a
# student needs, `make instructor` and `make grade` also the grading tools, the
# other targets also the test tools (`make install`).

PYTHON ?= python3
# The environment: an active conda environment (not base), else .venv; the
# rule is course_utils/__main__.py's, which every target below goes through
# (on Windows, without make, run `py -m course_utils lab` and so on directly).
ENV    := $(shell $(PYTHON) -m course_utils where --relative)
BIN    := $(ENV)/bin
STAMP  := $(ENV)/.course-installed.json
ASSIGNMENTS := $(notdir $(wildcard solutions/[0-9][0-9]_*))  # course_utils.layout.ASSIGNMENT_PATTERN
# nbgrader runs helpers such as `alembic` from PATH: put the environment's first.
export PATH := $(abspath $(BIN)):$(PATH)

# JupyterLab options; override for a server, e.g. make lab LAB_ARGS="--ip=0.0.0.0"
PORT     ?= 8888
LAB_ARGS ?=

.PHONY: install lab instructor test test-fast lint release execute grade clean standin bench bench-grading site

install: $(STAMP)

# The test profile: the course, its test tools and, in the instructor's
# repository, the grading tools (instructor/).
$(STAMP): pyproject.toml $(wildcard instructor/pyproject.toml)
	$(PYTHON) -m course_utils install --profile test

# Students: the notebooks in notebooks/, with nbgrader's Validate button and
# Assignment List; no Formgrader, Create Assignment or Course List (each role's
# JupyterLab reads jupyter_config/<role>/ first). A kernel idle for 30 minutes
# is shut down (five open notebooks hold about 4 GB).
lab:
	$(PYTHON) -m course_utils lab --port=$(PORT) $(LAB_ARGS)

test: install
	$(PYTHON) -m course_utils test

# Unit tests only (no kernels, nbgrader, servers, sandboxes or installs).
test-fast: install
	$(PYTHON) -m course_utils test -m "not integration and not slow" tests

# ruff and mypy, configured in pyproject.toml (make test runs them too: tests/test_lint.py).
lint: install
	$(BIN)/python -m ruff check .
	$(BIN)/python -m mypy

# Instructor targets ---------------------------------------------------------

# JupyterLab at the repository root with Formgrader and Create Assignment, so
# that formgrader's links to the source notebooks in solutions/ open.
instructor:
	$(PYTHON) -m course_utils instructor --port=$(PORT) $(LAB_ARGS)

# Run every solution notebook in place, so its stored outputs are current.
execute: install
	for a in $(ASSIGNMENTS); do \
		$(BIN)/jupyter nbconvert --to notebook --execute --inplace --NotebookClient.record_timing=False solutions/$$a/$$a.ipynb || exit 1; \
	done

# Regenerate the student version in notebooks/ from solutions/.
release: install
	for a in $(ASSIGNMENTS); do $(BIN)/nbgrader generate_assignment $$a --force || exit 1; done

# Grade a class: make grade ASSIGNMENT=01_sigmoid_bce SUBMISSIONS=path/to/download.zip
# Results in grading/<assignment>/: grades.csv, feedback/, report.txt. After editing grades.csv by hand:
# make grade ASSIGNMENT=01_sigmoid_bce GRADE_ARGS=--rebuild (the report and platform files again, nothing graded).
grade:
	@test -n "$(ASSIGNMENT)" -a -n "$(SUBMISSIONS)$(findstring --rebuild,$(GRADE_ARGS))" || \
		{ echo "usage: make grade ASSIGNMENT=<id> SUBMISSIONS=<folder or .zip> [GRADE_ARGS=...]"; \
		  echo "   or: make grade ASSIGNMENT=<id> GRADE_ARGS=--rebuild  (the report again, after editing grades.csv)"; exit 2; }
	$(PYTHON) -m course_utils grade $(ASSIGNMENT) $(SUBMISSIONS) $(GRADE_ARGS)

# Synthetic Fashion-MNIST stand-in for machines without network (the tests use it
# automatically); load_fashion_mnist() finds it by itself when the real data are not there.
standin:
	@$(PYTHON) -m course_utils standin

# Data pipeline and notebook timings (the real Fashion-MNIST if present, else the stand-in).
bench: install
	$(BIN)/python benchmarks/bench.py

# Seconds to grade one full-course submission and a class of 30 with make grade.
bench-grading: install
	$(BIN)/python benchmarks/grading.py

# The course as a static website: the student notebooks (never solutions/) and the docs, built offline with
# Jupyter Book (installed on first use into .cache/site-venv); the last line is the built index.html.
site:
	$(PYTHON) site/build.py

clean:
	rm -rf .venv .pytest_cache  # never a conda environment
