"""Assertion helpers used by the exercises' tests.

Every ``check_*`` helper returns ``None`` when the check passes and raises
:class:`AssertionError` when it fails. The message says what was got, then
what was expected, names a common mistake the values look like, and gives a
hint. Nothing is written to stderr, so a helper never costs marks by itself
when nbgrader runs a test cell.

Two helpers shape how an exercise is tested rather than what it returns:
:func:`check_avoids` fails when a function calls what the exercise asks the
student to write by hand (``torch.sigmoid``, autograd, ...), and
:func:`using_reference` runs a later exercise with the reference version of an
earlier one, so that one mistake costs points once.

Imported in IPython, the module also makes a failed check's traceback end at
the test line that called it (:func:`hide_helper_frames`).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import MappingProxyType, TracebackType
from typing import Any

import numpy
import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from course_utils._validation import InvalidArgumentError

__all__ = ["check_tensor", "check_close", "check_warning_free", "check_avoids", "using_reference", "report_pass",
           "LIBRARY_SIGMOID", "LIBRARY_BCE", "LIBRARY_SOFTMAX", "LIBRARY_CROSS_ENTROPY", "AUTOGRAD"]

# References taken when this module is imported (before any student code runs),
# so that rebinding torch functions, tensor methods or builtins later cannot
# change what a check computes. Values are compared as plain Python floats.
_TENSOR_TYPES = (torch.Tensor, torch.nn.Parameter)
_TensorBase = torch._C.TensorBase
_shape = _TensorBase.shape.__get__  # type: ignore[attr-defined]  # the property's getter
_dtype = _TensorBase.dtype.__get__  # type: ignore[attr-defined]
_is_floating_point = _TensorBase.is_floating_point
_detach = _TensorBase.detach
_to = _TensorBase.to
_reshape = _TensorBase.reshape
_tolist = _TensorBase.tolist
_float64 = torch.float64
_isfinite = math.isfinite
_isnan = math.isnan
_type, _tuple, _len, _float, _abs, _int, _str = type, tuple, len, float, abs, int, str
_numpy_float64 = numpy.float64  # what np.mean returns: a float, exactly
_isinstance, _zip, _enumerate, _sum, _all, _round = isinstance, zip, enumerate, sum, all, round


def _require_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"name must be a non-empty string describing the value, got {name!r}")
    return name


def _fail(name: str, expected: str, got: str, hint: str, looks_like: str = "") -> None:
    __tracebackhide__ = True  # IPython and pytest show the caller, not this helper
    # What was got comes first: nbgrader validate cuts long lines, and the value is what helps most.
    message = f"{name}: got {got}, expected {expected}."
    if looks_like:
        message += f"\nLooks like: {looks_like}"
    if hint:
        message += f"\nHint: {hint}"
    raise AssertionError(message)


def _shape_diagnosis(got: tuple[int, ...], expected: tuple[int, ...]) -> str:
    """A name for the common ways a shape goes wrong, or ''."""
    if got == expected + (1,):
        return f"an extra last dimension: shape {got} instead of {expected}; drop it (e.g. .squeeze(-1) or [:, 0])"
    if expected == got + (1,):
        return f"a missing last dimension: shape {got} instead of {expected}"
    if len(got) == 2 and got == expected[::-1]:
        return f"the transpose: shape {got} instead of {expected}; check which side of @ each factor goes"
    return ""


def _value_diagnosis(actual: list[float], expected: list[float], atol: float, rtol: float) -> str:
    """A name for the common ways values go wrong (1 - expected, -expected, a constant factor), or ''."""
    def close(a: float, e: float) -> bool:
        return _abs(a - e) <= atol + rtol * _abs(e)

    if not actual or not _all(_isfinite(a) for a in actual):
        return ""
    several = _len(actual) > 1  # one number is some multiple of any other: name only the telling cases
    if several and _all(close(a, 1.0 - e) for a, e in _zip(actual, expected)):
        return "1 - expected: sigmoid(-z) for sigmoid(z), or p and 1 - p swapped? Check the sign"
    if _all(close(a, -e) for a, e in _zip(actual, expected)):
        return "the expected values with the opposite sign; check the order of a subtraction"
    pairs = [(a, e) for a, e in _zip(actual, expected) if _abs(e) > 1e-12]
    if pairs and _len(pairs) == _len(expected):
        factor = pairs[0][0] / pairs[0][1]
        each = "every value is" if several else "the value is"
        if _abs(factor) > 1e-12 and not close(factor, 1.0) and _all(close(a, factor * e) for a, e in pairs):
            if factor >= 1.5 and _abs(factor - _round(factor)) < 1e-4 * factor:
                return (f"{each} {_round(factor)} times the expected one: "
                        "a sum where a mean belongs, or a division by the batch size missing?")
            if 0 < factor <= 0.75 and _abs(1 / factor - _round(1 / factor)) < 1e-4 / factor:
                return (f"{each} 1/{_round(1 / factor)} of the expected one: "
                        "divided by the batch size twice (the loss is already a mean)?")
            if several:
                return f"every value is {factor:.4g} times the expected one: a missing or extra factor"
    return ""


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
            raise InvalidArgumentError(f"shape must be a tuple of non-negative ints such as (5,) or (), got {shape!r}")
        shape = tuple(shape)
    if dtype is not None and not isinstance(dtype, torch.dtype):
        raise InvalidArgumentError(f"dtype must be a torch.dtype such as torch.float32, got {dtype!r}")

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
                      "and broadcast to (n, n) when compared", _shape_diagnosis(got_shape, shape))
    got_dtype = _dtype(value)
    if dtype is not None and got_dtype != dtype:
        _fail(name, f"dtype {dtype}", f"dtype {got_dtype}",
              hint or "keep the dtype of the input; avoid mixing in float64 NumPy values or Python ints")
    if finite and _is_floating_point(value):  # type: ignore[arg-type]  # a tensor: checked above
        count = _sum(1 for v in _values(value) if not _isfinite(v))  # type: ignore[arg-type,misc]
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
    or a float, NumPy's float64 included) of the same shape as ``expected``.
    """
    __tracebackhide__ = True
    name = _require_name(name)
    for arg, tol in (("atol", atol), ("rtol", rtol)):
        if not isinstance(tol, (int, float)) or isinstance(tol, bool) or not tol >= 0:
            raise InvalidArgumentError(f"{arg} must be a non-negative number, got {tol!r}")
    if _isinstance(expected, (int, float)) and not _isinstance(expected, bool):
        expected_shape: tuple[int, ...] = ()
        expected_values = [_float(expected)]
    elif _isinstance(expected, torch.Tensor):
        expected_shape = _tuple(_shape(expected))
        expected_values = _values(expected)  # type: ignore[arg-type]  # a tensor: checked
    else:
        raise InvalidArgumentError(f"expected must be a torch.Tensor or a number, got {_type(expected).__name__}")

    if _type(actual) in (int, float, _numpy_float64) and expected_shape == ():
        actual_values = [_float(actual)]  # type: ignore[arg-type]  # an int or float: checked
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
        _fail(name, f"{expected_values[worst]:.6g} ({mismatches} of {_len(expected_values)} value(s) differ "
                    f"by more than {atol:g} + {rtol:g}*|expected|)",
              f"{actual_values[worst]:.6g}{where}", hint,
              _value_diagnosis(actual_values, expected_values, atol, rtol))


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
        raise InvalidArgumentError(f"func must be callable, got {type(func).__name__}")
    remote = _remote_call(func)
    if remote is not None:  # a grader's stand-in for a function that runs in another process
        _, _, messages = remote(func, args, kwargs, avoid=None, warn=True, name=name)
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            func(*args, **kwargs)
        messages = [f"{w.category.__name__}: {w.message}" for w in caught]
    messages = [m for m in messages if not any(re.search(p, m) for p in HARMLESS_WARNINGS)]
    if messages:
        _fail(name, "no warnings", f"{len(messages)} warning(s), the first: {messages[0]}",
              hint or "compute with torch operations that cannot overflow; warnings are printed "
                      "to stderr, and a test cell that writes to stderr scores zero")


# What some exercises ask the student to write by hand, by the name a message gives each call
# (read-only: a student's code must not be able to empty what a test forbids).
_SOFTMAX: dict[str, Callable[..., Any]] = {
    "torch.softmax": torch.softmax, "Tensor.softmax": torch.Tensor.softmax, "F.softmax": F.softmax,
    "torch.special.softmax": torch.special.softmax, "torch.log_softmax": torch.log_softmax,
    "Tensor.log_softmax": torch.Tensor.log_softmax, "F.log_softmax": F.log_softmax,
    "torch.special.log_softmax": torch.special.log_softmax,
    "F.scaled_dot_product_attention": F.scaled_dot_product_attention,  # softmax(q k^T) v, inside one C++ call
}
LIBRARY_SIGMOID: Mapping[str, Callable[..., Any]] = MappingProxyType({
    "torch.sigmoid": torch.sigmoid, "torch.sigmoid_": torch.sigmoid_, "Tensor.sigmoid": torch.Tensor.sigmoid,
    "Tensor.sigmoid_": torch.Tensor.sigmoid_, "torch.special.expit": torch.special.expit,
    "F.logsigmoid": F.logsigmoid, "F.glu": F.glu, "F.silu": F.silu,  # glu(a, b) = a * sigmoid(b)
    # recurrent cells compute their gates' sigmoid inside one C++ call
    "torch.gru_cell": torch.gru_cell, "torch.lstm_cell": torch.lstm_cell, "torch.gru": torch.gru,
    "torch.lstm": torch.lstm,
    # exp(-BCE-with-logits(z, 1)) is sigmoid(z)
    "F.binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
    "torch.binary_cross_entropy_with_logits": torch.binary_cross_entropy_with_logits,
    **_SOFTMAX,  # softmax of (0, z) is sigmoid(z)
})
# nn.BCELoss and nn.BCEWithLogitsLoss call these too.
LIBRARY_BCE: Mapping[str, Callable[..., Any]] = MappingProxyType({
    "F.binary_cross_entropy": F.binary_cross_entropy,
    "F.binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
    "torch.binary_cross_entropy_with_logits": torch.binary_cross_entropy_with_logits,
    "F.soft_margin_loss": F.soft_margin_loss,  # log(1 + exp(-y z)): the same loss with labels -1 and 1
})
LIBRARY_SOFTMAX: Mapping[str, Callable[..., Any]] = MappingProxyType(dict(_SOFTMAX))
LIBRARY_CROSS_ENTROPY: Mapping[str, Callable[..., Any]] = MappingProxyType({
    "F.cross_entropy": F.cross_entropy, "F.nll_loss": F.nll_loss, "torch.log_softmax": torch.log_softmax,
    "Tensor.log_softmax": torch.Tensor.log_softmax, "F.log_softmax": F.log_softmax,
    "torch.special.log_softmax": torch.special.log_softmax,
})
AUTOGRAD: Mapping[str, Callable[..., Any]] = MappingProxyType({
    "Tensor.backward": torch.Tensor.backward, "torch.autograd.backward": torch.autograd.backward,
    "torch.autograd.grad": torch.autograd.grad, "torch.autograd.forward_ad.make_dual": torch._make_dual,
})


class _CallRecorder(TorchFunctionMode):
    """Sees every torch call, however the function was reached (an alias, a method, nn.Sigmoid, ...)."""

    def __init__(self, forbidden: Mapping[str, Callable[..., Any]]) -> None:
        super().__init__()
        self._names = {id(function): label for label, function in forbidden.items()}
        self.called: list[str] = []

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        label = self._names.get(id(func))
        if label is not None and label not in self.called:
            self.called.append(label)
        return func(*args, **(kwargs or {}))


def check_avoids(func: Callable[..., Any], *args: Any, forbidden: Mapping[str, Callable[..., Any]], name: str,
                 hint: str = "", **kwargs: Any) -> Any:
    """Call ``func(*args, **kwargs)``, check that it called none of ``forbidden``, and return its result.

    ``forbidden`` maps a name for the message to a torch function (see
    ``LIBRARY_SIGMOID``, ``AUTOGRAD``, ...). Every torch call is seen, however
    the function was reached, even when ``func`` catches the failure.
    """
    __tracebackhide__ = True
    name = _require_name(name)
    if not callable(func):
        raise InvalidArgumentError(f"func must be callable, got {type(func).__name__}")
    if not isinstance(forbidden, Mapping) or not forbidden or not all(callable(f) for f in forbidden.values()):
        raise InvalidArgumentError("forbidden must be a non-empty mapping of names to torch functions, "
                                   "e.g. LIBRARY_SIGMOID")
    remote = _remote_call(func)
    if remote is not None:  # a grader's stand-in: the calls are recorded where the function runs
        result, called, _ = remote(func, args, kwargs, avoid=dict(forbidden), warn=False, name=name)
    else:
        recorder = _CallRecorder(forbidden)
        with recorder:
            result = func(*args, **kwargs)
        called = recorder.called
    if called:
        message = (f"{name}: called {', '.join(called)}, which this exercise does not allow "
                   f"(not allowed here: {', '.join(forbidden)}).")
        raise AssertionError(message + f"\nHint: {hint or 'write that computation yourself, as the exercise asks'}")
    return result


def _remote_call(func: Any) -> Callable[..., tuple[Any, list[str], list[str]]] | None:
    """The grader's call of a stand-in for a function that runs in another process, or None.

    When a notebook is graded, the student's functions run in a worker process
    and the notebook holds stand-ins for them (``course_grading.boundary``):
    what a call records (forbidden calls, warnings) is recorded there.
    """
    call = getattr(type(func), "__course_call__", None)
    return call if callable(call) else None


@contextmanager
def using_reference(namespace: dict[str, Any], **references: Any) -> Iterator[None]:
    """Bind names in ``namespace`` (a notebook's ``globals()``) to reference versions, then restore them.

    A later exercise that calls an earlier one is tested with the earlier
    one's reference, so a mistake there costs points only where it is made.
    """
    if not isinstance(namespace, dict):
        raise InvalidArgumentError(f"namespace must be a dict such as globals(), got {type(namespace).__name__}")
    missing = object()
    saved = {key: namespace.get(key, missing) for key in references}
    namespace.update(references)
    # At grading time the student's functions run in a worker that has names of its own: bound there too.
    boundary: Any = namespace.get("__course_boundary__")
    token = boundary.bind(references) if hasattr(boundary, "bind") else None
    try:
        yield
    finally:
        if token is not None:
            boundary.unbind(token)
        for key, value in saved.items():
            if value is missing:
                namespace.pop(key, None)
            else:
                namespace[key] = value


def report_pass(name: str) -> None:
    """Print one line saying that every visible check of ``name`` passed."""
    print(f"{_require_name(name)}: all visible checks passed")


def _without_helper_frames(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` ending at the last frame outside this module: the test's own line, not a helper's ``raise``."""
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    keep = len(frames)
    while keep > 1 and frames[keep - 1].tb_frame.f_code.co_filename == __file__:
        keep -= 1
    if frames and keep < len(frames):
        frames[keep - 1].tb_next = None
    return frames[0] if frames else None


def hide_helper_frames(shell: Any = None) -> bool:
    """Show a failed check's traceback ending at the test line that called it (IPython only).

    IPython always shows the last frame of a traceback, which for a failed
    check is the helper's own ``raise``. This asks ``shell`` (by default the
    running IPython, if any) to cut the frames of this module off the end of an
    AssertionError's traceback. An error raised in the student's own code keeps
    every frame. Called when this module is imported; returns whether it applied.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None or not hasattr(shell, "set_custom_exc") or AssertionError in shell.custom_exceptions:
        return False

    def show(shell: Any, etype: type, value: BaseException, tb: TracebackType | None,
             tb_offset: int | None = None) -> None:
        # IPython discards a handler's return value when a cell raises: the handler shows the error.
        stb = shell.InteractiveTB.structured_traceback(etype, value, _without_helper_frames(tb),
                                                       tb_offset=tb_offset)
        shell._showtraceback(etype, value, stb)

    shell.set_custom_exc((AssertionError,), show)
    return True


hide_helper_frames()
