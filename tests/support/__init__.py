"""What the tests share (imported as ``support.<module>``; pytest puts ``tests/`` on the path).

- :mod:`support.nbgrader_course`: the nbgrader driver of ``make grade``, as the round-trip tests use it.
- :mod:`support.wrong_submissions`: the catalogue of wrong answers, one module per notebook.
- :mod:`support.right_submissions`: right answers written differently, which must keep full marks.
- :mod:`support.hostile_submissions`: submissions that attack the grader.
- :mod:`support.tally`: the counts of those catalogues printed at the end of a run.
- :mod:`support.hub_config`: the hub's configuration with what a test on one machine changes.
"""
