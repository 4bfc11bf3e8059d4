"""Helpers for the course "Logistic and softmax regression with PyTorch".

- :mod:`course_utils.data`: where data lives, toy data sets, Fashion-MNIST.
- :mod:`course_utils.plots`: the figures the notebooks draw.
- :mod:`course_utils.checks`: assertion helpers for the exercises' visible tests.
"""

__version__ = "0.1.0"
