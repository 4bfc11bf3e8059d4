"""Assertion helpers used by the exercises' visible tests.

Every helper returns ``None`` when the check passes and raises
:class:`AssertionError` when it fails. The message says what was expected,
what was got, and gives a hint. Nothing is written to stderr, so a helper
never costs marks by itself when nbgrader runs a test cell.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch

__all__ = ["check_tensor", "check_close", "check_warning_free"]

# References taken when this module is imported (before any student code runs),
# so that rebinding torch functions, tensor methods or builtins later cannot
# change what a check computes. Values are compared as plain Python floats.
_TENSOR_TYPES = (torch.Tensor, torch.nn.Parameter)
_TensorBase = torch._C.TensorBase
_shape = _TensorBase.shape.__get__
_dtype = _TensorBase.dtype.__get__
_is_floating_point = _TensorBase.is_floating_point
_detach = _TensorBase.detach
_to = _TensorBase.to
_reshape = _TensorBase.reshape
_tolist = _TensorBase.tolist
_float64 = torch.float64
_isfinite = math.isfinite
_isnan = math.isnan
_type, _tuple, _len, _float, _abs, _int, _str = type, tuple, len, float, abs, int, str
_isinstance, _zip, _enumerate, _sum = isinstance, zip, enumerate, sum


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

    if _type(value) not in _TENSOR_TYPES:
        got = _type(value).__name__
        if _isinstance(value, torch.Tensor):
            got += " (a subclass of torch.Tensor)"
        _fail(name, "a torch.Tensor", got,
              hint or "build the result with torch operations and return the tensor itself, "
                      "not a Python number, a list, a NumPy array or a subclass")
    got_shape = _tuple(_shape(value))
    if shape is not None and got_shape != shape:
        _fail(name, f"shape {shape}", f"shape {got_shape}",
              hint or "look for a missing or extra dimension: (n,) and (n, 1) are different "
                      "and broadcast to (n, n) when compared")
    got_dtype = _dtype(value)
    if dtype is not None and got_dtype != dtype:
        _fail(name, f"dtype {dtype}", f"dtype {got_dtype}",
              hint or "keep the dtype of the input; avoid mixing in float64 NumPy values or Python ints")
    if finite and _is_floating_point(value):
        count = _sum(1 for v in _values(value) if not _isfinite(v))
        if count:
            _fail(name, "only finite values", f"{count} inf or nan value(s)",
                  hint or "an exp() that overflows or a log(0) somewhere; see the numerically "
                          "stable formulas in the notebook")


def _values(t: torch.Tensor) -> list[float]:
    """The tensor's values as a flat list of Python floats (real tensors only)."""
    return _tolist(_reshape(_to(_detach(t), _float64), (-1,)))


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
    if _isinstance(expected, (int, float)) and not _isinstance(expected, bool):
        expected_shape: tuple[int, ...] = ()
        expected_values = [_float(expected)]
    elif _isinstance(expected, torch.Tensor):
        expected_shape = _tuple(_shape(expected))
        expected_values = _values(expected)
    else:
        raise TypeError(f"expected must be a torch.Tensor or a number, got {_type(expected).__name__}")

    if _type(actual) in (int, float) and expected_shape == ():
        actual_values = [_float(actual)]
    else:
        check_tensor(actual, name=name, shape=expected_shape, finite=False, hint=hint)
        actual_values = _values(actual)  # type: ignore[arg-type]

    worst, worst_excess, mismatches = -1, -1.0, 0
    for i, (a, e) in _enumerate(_zip(actual_values, expected_values)):
        diff = _abs(a - e)
        allowed = atol + rtol * _abs(e)
        if not diff <= allowed:  # nan compares False, so nan counts as a mismatch
            mismatches += 1
            excess = math.inf if _isnan(diff) else diff - allowed
            if excess > worst_excess:
                worst, worst_excess = i, excess
    if mismatches:
        index = _unravel(worst, expected_shape)
        where = f" at index {index}" if index else ""
        _fail(name, f"{expected_values[worst]:.6g}{where} (within {atol:g} + {rtol:g}*|expected|)",
              f"{actual_values[worst]:.6g} ({mismatches} of {_len(expected_values)} value(s) differ)", hint)


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    index = []
    for size in reversed(shape):
        index.append(flat % size)
        flat //= size
    return _tuple(reversed(index))


# Warnings that correct code may raise and that say nothing about its correctness: the checks
# ignore them, and so does the grading kernel (they would otherwise reach stderr and zero a test).
HARMLESS_WARNINGS = (
    r"Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior",
)


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
    caught = [w for w in caught if not any(re.search(p, str(w.message)) for p in HARMLESS_WARNINGS)]
    if caught:
        first = caught[0]
        _fail(name, "no warnings", f"{len(caught)} warning(s), the first: "
              f"{first.category.__name__}: {first.message}",
              hint or "compute with torch operations that cannot overflow; warnings are printed "
                      "to stderr, and a test cell that writes to stderr scores zero")
