"""Helpers for the course "Logistic and softmax regression with PyTorch": the student package
``logistic-softmax-course``.

- :mod:`course_utils.data`: Where the course's data lives, and the small data sets the notebooks use.
- :mod:`course_utils.plots`: The figures the notebooks draw.
- :mod:`course_utils.checks`: Assertion helpers used by the exercises' tests.
- :mod:`course_utils.training`: The training set-up of notebook 04, shared with its tests and the benchmark.
- :mod:`course_utils.standin`: A synthetic stand-in for Fashion-MNIST, for machines without a network (and the
  tests).
- :mod:`course_utils.kernels`: Kernels that talk over Unix sockets, so that two kernels starting at once never
  collide.
- :mod:`course_utils.layout`: Where things are in a copy of the course repository, defined once.
- :mod:`course_utils._validation`: Argument checks shared by the course's public functions: one exception
  type, one seed convention.
- ``python -m course_utils``: The course's commands, on any platform: ``python -m course_utils <command>``.
"""

__version__ = "0.1.0"  # the only place the version is written (pyproject.toml reads it)
