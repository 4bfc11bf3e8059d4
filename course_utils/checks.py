"""Assertion helpers used by the exercises' visible tests.

Every helper returns ``None`` when the check passes and raises
:class:`AssertionError` when it fails. The message says what was expected,
what was got, and gives a hint. Nothing is written to stderr, so a helper
never costs marks by itself when nbgrader runs a test cell.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch

__all__ = ["check_tensor", "check_close", "check_warning_free"]


def _require_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string describing the value, got {name!r}")
    return name


def _fail(name: str, expected: str, got: str, hint: str) -> None:
    __tracebackhide__ = True  # IPython and pytest show the caller, not this helper
    message = f"{name}: expected {expected}, got {got}."
    if hint:
        message += f"\nHint: {hint}"
    raise AssertionError(message)


def check_tensor(
    value: object,
    *,
    name: str,
    shape: Sequence[int] | None = None,
    dtype: torch.dtype | None = None,
    finite: bool = True,
    hint: str = "",
) -> None:
    """Check that ``value`` is a tensor with the given shape and dtype.

    With ``finite=True`` (the default) a floating tensor must also hold no
    ``inf`` or ``nan``.
    """
    __tracebackhide__ = True
    name = _require_name(name)
    if shape is not None:
        if not isinstance(shape, (tuple, list, torch.Size)) or not all(
            isinstance(d, int) and d >= 0 for d in shape
        ):
            raise TypeError(f"shape must be a tuple of non-negative ints such as (5,) or (), got {shape!r}")
        shape = tuple(shape)
    if dtype is not None and not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype such as torch.float32, got {dtype!r}")

    if not isinstance(value, torch.Tensor):
        _fail(name, "a torch.Tensor", f"{type(value).__name__}",
              hint or "build the result with torch operations and return the tensor itself, "
                      "not a Python number, a list or a NumPy array")
    assert isinstance(value, torch.Tensor)
    if shape is not None and tuple(value.shape) != shape:
        _fail(name, f"shape {shape}", f"shape {tuple(value.shape)}",
              hint or "look for a missing or extra dimension: (n,) and (n, 1) are different "
                      "and broadcast to (n, n) when compared")
    if dtype is not None and value.dtype != dtype:
        _fail(name, f"dtype {dtype}", f"dtype {value.dtype}",
              hint or "keep the dtype of the input; avoid mixing in float64 NumPy values or Python ints")
    if finite and value.is_floating_point():
        bad = ~torch.isfinite(value.detach())
        if bool(bad.any()):
            count = int(bad.sum())
            _fail(name, "only finite values", f"{count} inf or nan value(s)",
                  hint or "an exp() that overflows or a log(0) somewhere; see the numerically "
                          "stable formulas in the notebook")


def check_close(
    actual: object,
    expected: torch.Tensor | float,
    *,
    name: str,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    hint: str = "",
) -> None:
    """Check that ``actual`` matches ``expected`` within ``atol + rtol * |expected|``.

    ``actual`` must be a tensor (or, when ``expected`` is a float, a 0-d tensor
    or a float) of the same shape as ``expected``.
    """
    __tracebackhide__ = True
    name = _require_name(name)
    for arg, tol in (("atol", atol), ("rtol", rtol)):
        if not isinstance(tol, (int, float)) or isinstance(tol, bool) or not tol >= 0:
            raise ValueError(f"{arg} must be a non-negative number, got {tol!r}")
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        expected_t = torch.tensor(float(expected), dtype=torch.float64)
    elif isinstance(expected, torch.Tensor):
        expected_t = expected.detach().to(torch.float64)
    else:
        raise TypeError(f"expected must be a torch.Tensor or a number, got {type(expected).__name__}")

    if isinstance(actual, (int, float)) and not isinstance(actual, bool) and expected_t.dim() == 0:
        actual_t = torch.tensor(float(actual), dtype=torch.float64)
    else:
        check_tensor(actual, name=name, shape=tuple(expected_t.shape), finite=False, hint=hint)
        assert isinstance(actual, torch.Tensor)
        actual_t = actual.detach().to(torch.float64)

    diff = (actual_t - expected_t).abs()
    allowed = atol + rtol * expected_t.abs()
    mismatch = ~(diff <= allowed)  # nan compares False, so nan counts as a mismatch
    if bool(mismatch.any()):
        flat = int(torch.argmax(torch.where(mismatch, diff.nan_to_num(math.inf), -1.0)))
        index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), expected_t.shape)) \
            if expected_t.dim() else ()
        where = f" at index {index}" if index else ""
        _fail(name, f"{_fmt(expected_t[index])}{where} (within {atol:g} + {rtol:g}*|expected|)",
              f"{_fmt(actual_t[index])} ({int(mismatch.sum())} of {expected_t.numel()} value(s) differ)",
              hint)


def _fmt(x: torch.Tensor) -> str:
    return f"{float(x):.6g}"


def check_warning_free(func: Callable[..., Any], *args: Any, name: str, hint: str = "", **kwargs: Any) -> None:
    """Call ``func(*args, **kwargs)`` and check that it raises no warning.

    A warning on stderr (for example NumPy's "overflow encountered in exp")
    would cost the whole test cell its points at grading time.
    """
    __tracebackhide__ = True
    name = _require_name(name)
    if not callable(func):
        raise TypeError(f"func must be callable, got {type(func).__name__}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        func(*args, **kwargs)
    if caught:
        first = caught[0]
        _fail(name, "no warnings", f"{len(caught)} warning(s), the first: "
              f"{first.category.__name__}: {first.message}",
              hint or "compute with torch operations that cannot overflow; warnings are printed "
                      "to stderr, and a test cell that writes to stderr scores zero")
