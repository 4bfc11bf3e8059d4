"""nbgrader's command line, as ``make grade`` and the tests start it: ``python -m course_grading.nbgrader_cli ...``.

The same as the ``nbgrader`` script, started after :mod:`course_grading`'s
package import, so that it skips a parser that no grading step uses (about 2 s
per process; see ``instructor/course_grading/__init__.py``), and with the garbage
collector kept out of nbgrader's own import.
"""

import gc

if __name__ == "__main__":
    gc.disable()  # (nbgrader's import makes a few hundred thousand objects that live as long as the process)
    from nbgrader.apps.nbgraderapp import main

    gc.freeze()  # and later collections, one at least per notebook, then leave them out
    gc.enable()
    main()
