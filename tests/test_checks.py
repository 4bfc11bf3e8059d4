"""course_utils.checks: pass quietly, fail with got / expected / a named mistake / hint, reject bad arguments."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils.checks import (
    AUTOGRAD,
    LIBRARY_BCE,
    LIBRARY_CROSS_ENTROPY,
    LIBRARY_SIGMOID,
    LIBRARY_SOFTMAX,
    check_avoids,
    check_close,
    check_tensor,
    check_warning_free,
    report_pass,
    using_reference,
)


def test_check_tensor_passes_and_returns_none(capsys):
    assert check_tensor(torch.zeros(3, 2), name="x", shape=(3, 2), dtype=torch.float32) is None
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("value", "kwargs", "expected", "got"),
    [
        ([1.0, 2.0], {}, "a torch.Tensor", "list"),
        (np.zeros(3), {}, "a torch.Tensor", "ndarray"),
        (torch.zeros(3, 1), {"shape": (3,)}, "shape (3,)", "shape (3, 1)"),
        (torch.zeros(3, dtype=torch.float64), {"dtype": torch.float32}, "dtype torch.float32", "dtype torch.float64"),
        (torch.tensor([1.0, float("nan")]), {}, "only finite values", "1 inf or nan value(s)"),
        (torch.tensor([float("inf")] * 2), {}, "only finite values", "2 inf or nan value(s)"),
    ],
)
def test_check_tensor_failures_say_expected_and_got(value, kwargs, expected, got):
    with pytest.raises(AssertionError) as info:
        check_tensor(value, name="result", **kwargs)
    message = str(info.value)
    assert message.startswith(f"result: got {got}, expected {expected}.")
    assert "\nHint: " in message


def test_check_tensor_custom_hint_and_finite_off():
    with pytest.raises(AssertionError, match="Hint: use torch.exp"):
        check_tensor(torch.tensor([float("nan")]), name="s", hint="use torch.exp")
    check_tensor(torch.tensor([float("nan")]), name="s", finite=False)
    check_tensor(torch.tensor([1, 2]), name="ints are never non-finite")


@pytest.mark.parametrize(
    ("kwargs", "error", "argument"),
    [
        ({"name": ""}, TypeError, "name"),
        ({"name": 3}, TypeError, "name"),
        ({"name": "x", "shape": 3}, TypeError, "shape"),
        ({"name": "x", "shape": (3, -1)}, TypeError, "shape"),
        ({"name": "x", "dtype": "float32"}, TypeError, "dtype"),
    ],
)
def test_check_tensor_bad_arguments(kwargs, error, argument):
    with pytest.raises(error, match=rf"^{argument} must"):
        check_tensor(torch.zeros(3), **kwargs)


def test_check_close_passes_within_tolerance():
    assert check_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0 + 1e-7]), name="v") is None
    check_close(torch.tensor(0.5), 0.5, name="scalar tensor against a float")
    check_close(0.5, 0.5 + 1e-9, name="float against a float")
    check_close(torch.tensor([1.0], dtype=torch.float64), torch.tensor([1.0]), name="dtypes may differ")
    check_close(np.mean(np.array([0.5, 0.5])), 0.5, name="np.mean's float64, a float like any other")
    with pytest.raises(AssertionError):
        check_close(np.float64(0.7), 0.5, name="a wrong float64")


def test_check_close_reports_the_worst_index_and_count():
    actual = torch.tensor([[0.0, 1.0], [2.0, 9.0]])
    expected = torch.tensor([[0.0, 1.5], [2.0, 3.0]])
    with pytest.raises(AssertionError) as info:
        check_close(actual, expected, name="m", hint="look again")
    message = str(info.value)
    assert message.startswith("m: got 9 at index (1, 1), expected 3 (2 of 4 value(s) differ")
    assert message.endswith("Hint: look again")


def test_check_close_treats_nan_as_a_mismatch():
    with pytest.raises(AssertionError, match=r"got nan"):
        check_close(torch.tensor([1.0, float("nan")]), torch.tensor([1.0, 2.0]), name="v")


def test_check_close_checks_type_and_shape_first():
    with pytest.raises(AssertionError, match=r"^v: got shape \(2, 1\), expected shape \(2,\)"):
        check_close(torch.zeros(2, 1), torch.zeros(2), name="v")
    with pytest.raises(AssertionError, match=r"^v: got list, expected a torch.Tensor"):
        check_close([0.0, 0.0], torch.zeros(2), name="v")


def test_check_close_honours_atol_and_rtol():
    check_close(torch.tensor(1.05), 1.0, name="v", atol=0.1)
    check_close(torch.tensor(105.0), 100.0, name="v", atol=0.0, rtol=0.1)
    with pytest.raises(AssertionError):
        check_close(torch.tensor(1.05), 1.0, name="v", atol=0.01, rtol=0.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "argument"),
    [
        ({"atol": -1.0}, ValueError, "atol"),
        ({"rtol": "small"}, ValueError, "rtol"),
        ({"expected": "1.0"}, TypeError, "expected"),
        ({"name": None}, TypeError, "name"),
    ],
)
def test_check_close_bad_arguments(kwargs, error, argument):
    args = {"expected": torch.zeros(2), "name": "v"} | kwargs
    with pytest.raises(error, match=rf"^{argument} must"):
        check_close(torch.zeros(2), **args)


def test_check_warning_free_passes_and_fails():
    assert check_warning_free(torch.exp, torch.tensor([1000.0]), name="torch.exp") is None

    def noisy(x):
        with np.errstate(over="warn"):
            return np.exp(x)

    with pytest.raises(AssertionError) as info:
        check_warning_free(noisy, np.array([1000.0]), name="np.exp")
    assert re.search(r"got 1 warning\(s\), the first: RuntimeWarning: overflow.*, expected no warnings",
                     str(info.value))


def test_check_warning_free_sees_warnings_even_when_filtered_out():
    def warns():
        warnings.warn("hello", UserWarning)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(AssertionError, match="UserWarning: hello"):
            check_warning_free(warns, name="warns")


def test_check_warning_free_bad_arguments():
    with pytest.raises(TypeError, match="^func must be callable"):
        check_warning_free(3, name="x")
    with pytest.raises(TypeError, match="^name must"):
        check_warning_free(print, name="")


def test_failures_print_nothing(capsys):
    with pytest.raises(AssertionError):
        check_tensor(torch.zeros(2), name="x", shape=(3,))
    assert capsys.readouterr() == ("", "")


class _AlwaysEqual:
    def __eq__(self, other):
        return True

    def __le__(self, other):
        return True


class _LyingTensor(torch.Tensor):
    """A tensor subclass that claims to equal anything."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return torch.zeros(())


def test_objects_that_compare_equal_to_anything_are_rejected():
    with pytest.raises(AssertionError, match="got _AlwaysEqual, expected a torch.Tensor"):
        check_close(_AlwaysEqual(), torch.tensor([1.0]), name="v")
    lying = torch.tensor([5.0]).as_subclass(_LyingTensor)
    with pytest.raises(AssertionError, match=r"got _LyingTensor \(a subclass of torch.Tensor\)"):
        check_close(lying, torch.tensor([1.0]), name="v")


def test_parameters_are_accepted():
    check_close(torch.nn.Parameter(torch.ones(2)), torch.ones(2), name="weights")


@pytest.mark.parametrize("method", ["__sub__", "abs", "tolist", "detach", "to", "reshape", "__le__"])
def test_rebinding_tensor_methods_does_not_change_a_check(monkeypatch, method):
    fake = {"tolist": lambda self: [1.0] * 2}.get(method, lambda self, *a, **k: torch.zeros(2))
    monkeypatch.setattr(torch.Tensor, method, fake)
    with pytest.raises(AssertionError, match=r"got 5 at index \(0,\), expected 1"):
        check_close(torch.tensor([5.0, 1.0]), torch.tensor([1.0, 1.0]), name="v")


def test_rebinding_builtins_and_math_does_not_change_a_check(monkeypatch):
    import builtins
    import math

    monkeypatch.setattr(builtins, "abs", lambda x: 0.0)
    monkeypatch.setattr(math, "isfinite", lambda x: True)
    with pytest.raises(AssertionError, match=r"got 5 at index \(0,\), expected 1 \(1 of 1"):
        check_close(torch.tensor([5.0]), torch.tensor([1.0]), name="v")
    with pytest.raises(AssertionError, match="only finite values"):
        check_tensor(torch.tensor([float("inf")]), name="v")


@pytest.mark.parametrize(
    ("actual", "expected", "looks_like"),
    [
        ([0.2, 0.3], [0.8, 0.7], "1 - expected"),
        ([-1.0, 2.0], [1.0, -2.0], "opposite sign"),
        ([3.0, 6.0], [1.0, 2.0], "3 times the expected one"),
        ([0.25, 0.5], [1.0, 2.0], "1/4 of the expected one"),
        ([1.5, 3.0], [1.0, 2.0], "1.5 times"),
    ],
)
def test_check_close_names_the_mistake_the_values_look_like(actual, expected, looks_like):
    with pytest.raises(AssertionError) as info:
        check_close(torch.tensor(actual), torch.tensor(expected), name="v")
    lines = str(info.value).splitlines()
    assert lines[1].startswith("Looks like: ") and looks_like in lines[1], lines


def test_check_close_names_no_mistake_for_unrelated_values():
    with pytest.raises(AssertionError) as info:
        check_close(torch.tensor([0.1, 5.0]), torch.tensor([1.0, 2.0]), name="v")
    assert "Looks like" not in str(info.value)


@pytest.mark.parametrize(
    ("shape", "expected", "looks_like"),
    [((4, 1), (4,), "an extra last dimension"), ((4,), (4, 1), "a missing last dimension"),
     ((3, 2), (2, 3), "the transpose")],
)
def test_check_tensor_names_common_shape_mistakes(shape, expected, looks_like):
    with pytest.raises(AssertionError, match=f"Looks like: {looks_like}"):
        check_tensor(torch.zeros(shape), name="v", shape=expected)


def _sigmoid_by_hand(z):
    return 1 / (1 + torch.exp(-z))


@pytest.mark.parametrize(
    ("function", "forbidden", "called"),
    [
        (torch.sigmoid, LIBRARY_SIGMOID, "torch.sigmoid"),
        (lambda z: z.sigmoid(), LIBRARY_SIGMOID, "Tensor.sigmoid"),
        (lambda z: torch.nn.functional.sigmoid(z), LIBRARY_SIGMOID, "Tensor.sigmoid"),
        (lambda z: torch.nn.Sigmoid()(z), LIBRARY_SIGMOID, "torch.sigmoid"),
        (lambda z: torch.special.expit(z), LIBRARY_SIGMOID, "torch.special.expit"),
        (lambda z: torch.nn.BCELoss()(z.clamp(0, 1), torch.ones(2)), LIBRARY_BCE, "F.binary_cross_entropy"),
        (lambda z: torch.nn.BCEWithLogitsLoss()(z, torch.ones(2)), LIBRARY_BCE, "F.binary_cross_entropy_with_logits"),
        (lambda z: torch.softmax(z, 0), LIBRARY_SOFTMAX, "torch.softmax"),
        (lambda z: z.softmax(0), LIBRARY_SOFTMAX, "Tensor.softmax"),
        (lambda z: torch.nn.functional.softmax(z, dim=0), LIBRARY_SOFTMAX, "F.softmax"),
        (lambda z: torch.nn.CrossEntropyLoss()(z[None], torch.tensor([0])), LIBRARY_CROSS_ENTROPY, "F.cross_entropy"),
        (lambda z: torch.nn.functional.log_softmax(z, 0)[0], LIBRARY_CROSS_ENTROPY, "F.log_softmax"),
    ],
)
def test_check_avoids_sees_a_forbidden_call_however_it_is_reached(function, forbidden, called):
    with pytest.raises(AssertionError, match=f"^f: called {re.escape(called)}, which this exercise does not allow"):
        check_avoids(function, torch.tensor([0.5, -1.0]), forbidden=forbidden, name="f")


# Importing torch.autograd.forward_ad runs torch.jit.script, which torch itself now calls deprecated.
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
def test_check_avoids_sees_autograd_and_a_caught_failure():
    def by_autograd(x):
        w = x.clone().requires_grad_(True)
        (w * w).sum().backward()
        return w.grad

    def by_grad(x):
        w = x.clone().requires_grad_(True)
        return torch.autograd.grad((w * w).sum(), w)[0]

    def by_forward_mode(x):
        import torch.autograd.forward_ad as fwad
        with fwad.dual_level():
            return fwad.unpack_dual(fwad.make_dual(x, torch.ones_like(x)) ** 2).tangent

    for function, called in ((by_autograd, "Tensor.backward"), (by_grad, "torch.autograd.grad"),
                             (by_forward_mode, "make_dual")):
        with pytest.raises(AssertionError, match=called):
            check_avoids(function, torch.ones(2), forbidden=AUTOGRAD, name="gradient")


def test_check_avoids_passes_and_returns_the_result_of_hand_written_code():
    out = check_avoids(_sigmoid_by_hand, torch.zeros(2), forbidden=LIBRARY_SIGMOID, name="sigmoid")
    assert torch.equal(out, torch.full((2,), 0.5))
    with pytest.raises(TypeError, match="^forbidden must"):
        check_avoids(_sigmoid_by_hand, torch.zeros(2), forbidden={}, name="sigmoid")
    with pytest.raises(TypeError, match="^func must"):
        check_avoids(3, forbidden=LIBRARY_SIGMOID, name="sigmoid")


def test_using_reference_binds_and_restores_names():
    namespace = {"sigmoid": "student's", "other": 1}
    with using_reference(namespace, sigmoid="reference", extra=2):
        assert namespace == {"sigmoid": "reference", "other": 1, "extra": 2}
    assert namespace == {"sigmoid": "student's", "other": 1}
    with pytest.raises(RuntimeError), using_reference(namespace, sigmoid="reference"):
        raise RuntimeError("a failing test")
    assert namespace["sigmoid"] == "student's"
    with pytest.raises(TypeError, match="^namespace must"):
        with using_reference([], sigmoid=1):
            pass


def test_report_pass_prints_one_line(capsys):
    assert report_pass("sigmoid") is None
    assert capsys.readouterr() == ("sigmoid: all visible checks passed\n", "")


def test_a_failed_checks_traceback_ends_at_the_test_line():
    """IPython shows the line of the test that failed, not the helper's raise; the student's own frames stay."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from course_utils.checks import hide_helper_frames

    shell = InteractiveShell.instance()
    try:
        assert hide_helper_frames(shell)
        shell.run_cell("import torch\nfrom course_utils.checks import check_close")
        with capture_output() as helper:
            shell.run_cell("check_close(torch.tensor([0.5]), torch.tensor([0.25]), name='sigmoid(0)')")
        with capture_output() as own:
            shell.run_cell("def sigmoid(z):\n    assert z > 0, 'mine'\nsigmoid(-1)")
    finally:
        InteractiveShell.clear_instance()
    shown, own_shown = (re.sub(r"\x1b\[[0-9;]*m", "", captured.stdout) for captured in (helper, own))
    assert "sigmoid(0): got" in shown and "check_close(torch.tensor([0.5])" in shown, shown
    assert "checks.py" not in shown and "raise AssertionError" not in shown, shown
    assert "assert z > 0, 'mine'" in own_shown and "AssertionError: mine" in own_shown, own_shown


def test_the_library_sigmoid_in_disguise_is_seen():
    """softmax of (0, z), glu(1, z) and silu(z) / z are the library sigmoid under other names."""
    disguises = (lambda z: torch.softmax(torch.stack([torch.zeros_like(z), z], -1), -1)[..., 1],
                 lambda z: F.glu(torch.stack([torch.ones_like(z), z], -1), -1)[..., 0],
                 lambda z: F.silu(z) / z)
    for disguise in disguises:
        with pytest.raises(AssertionError, match="which this exercise does not allow"):
            check_avoids(disguise, torch.tensor([0.5, 2.0]), forbidden=LIBRARY_SIGMOID, name="sigmoid")


def test_the_tables_of_forbidden_calls_cannot_be_changed():
    """A student's answer must not be able to empty what a test forbids (AUTOGRAD.update(...))."""
    for table in (AUTOGRAD, LIBRARY_BCE, LIBRARY_CROSS_ENTROPY, LIBRARY_SIGMOID, LIBRARY_SOFTMAX):
        with pytest.raises((TypeError, AttributeError)):
            table.update({})  # type: ignore[attr-defined]
        with pytest.raises(TypeError):
            table["Tensor.backward"] = torch.kron  # type: ignore[index]
