"""Instructor-side grading tools for the course (not imported by notebooks).

- :mod:`course_grading.kernel`: the grading kernel, an IPython kernel run in a sandbox.
- :mod:`course_grading.sandbox`: the limits that kernel applies to itself.
- :mod:`course_grading.scan`: a scan of submissions for code a human should review.
- :mod:`course_grading.grade`: ``make grade``: collect, autograde, feedback, export.
"""
