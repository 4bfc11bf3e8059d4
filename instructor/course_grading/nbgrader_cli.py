"""nbgrader's command line, as ``make grade`` and the tests start it: ``python -m course_grading.nbgrader_cli ...``.

The same as the ``nbgrader`` script, started after :mod:`course_grading`'s
package import, so that it skips a parser that no grading step uses (about 2 s
per process; see ``instructor/course_grading/__init__.py``).
"""

from nbgrader.apps.nbgraderapp import main

if __name__ == "__main__":
    main()
