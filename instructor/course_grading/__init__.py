"""Instructor-side grading tools for the course (not imported by notebooks).

- :mod:`course_grading.kernel`: the grading kernel, an IPython kernel run in a sandbox.
- :mod:`course_grading.sandbox`: the limits that kernel applies to itself.
- :mod:`course_grading.scan`: a scan of submissions for code a human should review.
- :mod:`course_grading.grade`: ``make grade``: collect, autograde, feedback, export.
- :mod:`course_grading.nbgrader_cli`: nbgrader's command line as the grader starts it.
"""

import sys

# jsonschema imports the optional package rfc3987_syntax whenever it is installed (Jupyter's
# "format-nongpl" extra installs it), and that import builds a parser: about 2 s in every
# process that imports nbformat. Neither nbformat nor nbgrader checks IRIs, so the grader's own
# processes skip it (jsonschema then leaves the "iri" format unchecked).
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
