"""Instructor-side grading tools for the course (not imported by notebooks); the distribution
``logistic-softmax-course-grading`` in ``instructor/``.

- :mod:`course_grading.allowlist`: Which answer code the grader runs: an allowlist checked on the syntax tree.
- :mod:`course_grading.boundary`: The trusted side of the grading boundary: the student's names, bound to
  stand-ins for a worker's objects.
- :mod:`course_grading.cells`: nbgrader's cell metadata, read in one place, safely for cells a student may
  have edited.
- :mod:`course_grading.confine`: Operating-system confinement of a grading kernel, with bubblewrap.
- :mod:`course_grading.course`: The one nbgrader driver: a course folder, generate, submit, autograde, read
  scores.
- :mod:`course_grading.exports`: Grades in the files the learning platforms import, matched by the ids their
  downloads gave.
- :mod:`course_grading.feedback`: Feedback a student can read safely: text and images only, hidden tests
  removed.
- :mod:`course_grading.forkserver`: Warm grading kernels: import torch once per batch, fork a confined kernel
  per submission.
- :mod:`course_grading.grade`: Grade a class's submissions for one assignment in one command.
- :mod:`course_grading.formgrader`: formgrader's student totals with the late penalty taken off, as ``nbgrader
  export`` and grades.csv give them.
- :mod:`course_grading.gradebook`: make grade's results in the course's own nbgrader gradebook, as after
  ``nbgrader autograde``.
- :mod:`course_grading.kernel`: The grading kernel: an IPython kernel that confines and limits itself before
  the first cell.
- :mod:`course_grading.lateness`: Late submissions: days late against a due date, and the penalty a policy
  takes off the total.
- :mod:`course_grading.nbgrader_cli`: nbgrader's command line, as ``make grade`` and the tests start it:
  ``python -m course_grading.nbgrader_cli ...``.
- :mod:`course_grading.preprocessors`: nbgrader preprocessors that keep the verdict out of the student's
  reach.
- :mod:`course_grading.processes`: How make grade's processes start one another, and the settings they pass
  on, each named once.
- :mod:`course_grading.reference`: Submissions built from the reference solution: for checking the grader
  itself.
- :mod:`course_grading.results`: The results folder of one assignment, merged student by student: nothing in
  it is ever deleted.
- :mod:`course_grading.sandbox`: What the grading kernel does to itself before the first cell runs.
- :mod:`course_grading.scan`: Flag code in a submission that a human should look at: a scan of the syntax
  tree.
- :mod:`course_grading.stats`: What the class got right and wrong: per test cell, who got its points and the
  commonest failures.
- :mod:`course_grading.submissions`: Who handed in what: each student's notebook in a learning platform's
  download, keyed by the platform's id.
- :mod:`course_grading.wire`: The grading boundary's wire: what a worker sends reaches the trusted process as
  data, never as code.
- :mod:`course_grading.worker`: The grading worker: the only process that runs a student's code, and what it
  answers.
"""

import sys

# jsonschema imports the optional package rfc3987_syntax whenever it is installed (Jupyter's
# "format-nongpl" extra installs it), and that import builds a parser: about 2 s in every
# process that imports nbformat. Neither nbformat nor nbgrader checks IRIs, so the grader's own
# processes skip it (jsonschema then leaves the "iri" format unchecked).
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
