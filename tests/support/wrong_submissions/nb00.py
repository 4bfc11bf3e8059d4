"""Wrong submissions for notebook 00 (tensors and autograd warm-up)."""

from . import wrong as _wrong

NB00 = "00_tensors_autograd"
_NB00_PAIRWISE = "    return a[:, None] - b[None, :]"
_NB00_LEAF = "    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)"
_NB00_FROZEN = "    return x**2 + x.detach() ** 3"
_PAIRWISE = {"nb00_pairwise_tests", "nb00_pairwise_hidden_tests"}
_DERIVATIVE = {"nb00_derivative_tests", "nb00_derivative_hidden_tests"}
_FROZEN = {"nb00_frozen_cube_tests", "nb00_frozen_cube_hidden_tests"}

WRONG = [
    _wrong(NB00, "pairwise-transposed", "shape (m, n) instead of (n, m): b as the column, a as the row",
           "nb00_pairwise", _NB00_PAIRWISE, "    return a[None, :] - b[:, None]", _PAIRWISE,
           hint="one row per entry of b: row i must hold a[i] - b[j] for every j"),
    _wrong(NB00, "pairwise-sign", "b[j] - a[i]: the right shape with every sign flipped",
           "nb00_pairwise", _NB00_PAIRWISE, "    return b[None, :] - a[:, None]", _PAIRWISE,
           hint="the entry of a minus the entry of b, not the other way round"),
    _wrong(NB00, "pairwise-float64", "the result cast to float64 whatever the input dtype",
           "nb00_pairwise", _NB00_PAIRWISE, "    return (a[:, None] - b[None, :]).double()", _PAIRWISE,
           hint="the result keeps the dtype of a: the subtraction needs no conversion"),
    _wrong(NB00, "pairwise-float32", "the result cast to float32 whatever the input dtype",
           "nb00_pairwise", _NB00_PAIRWISE, "    return (a[:, None] - b[None, :]).float()", _PAIRWISE,
           hint="float64 in, float64 out, no conversion"),
    _wrong(NB00, "pairwise-squeezed", "squeeze() after the subtraction: a length-1 vector loses its dimension",
           "nb00_pairwise", _NB00_PAIRWISE, "    return (a[:, None] - b[None, :]).squeeze()", _PAIRWISE,
           hint="a vector of length 1 still gives a matrix, shape (n, 1)"),
    _wrong(NB00, "pairwise-in-place-unsqueeze", "a.unsqueeze_(1): the in-place method reshapes the caller's vector",
           "nb00_pairwise", _NB00_PAIRWISE, "    return a.unsqueeze_(1) - b", _PAIRWISE,
           hint="pairwise_differences changed a or b: an in-place method"),
    _wrong(NB00, "derivative-float", "a Python float instead of a tensor (.item())",
           "nb00_derivative", "    return x.grad", "    return x.grad.item()", _DERIVATIVE,
           hint="a tensor, not a Python float"),
    _wrong(NB00, "derivative-float32", "the leaf created in float32, not float64",
           "nb00_derivative", _NB00_LEAF, "    x = torch.tensor(x0, requires_grad=True)", _DERIVATIVE,
           hint="create the leaf tensor in float64"),
    _wrong(NB00, "derivative-non-leaf", "the float32 leaf converted to float64: the converted tensor is no leaf, "
           "its .grad stays None",
           "nb00_derivative", _NB00_LEAF, "    x = torch.tensor(x0, requires_grad=True).double()", _DERIVATIVE,
           hint="autograd stores a gradient only in a leaf"),
    _wrong(NB00, "derivative-list-leaf", "the leaf made from [x0]: a gradient of shape (1,), not a 0-d tensor",
           "nb00_derivative", _NB00_LEAF, "    x = torch.tensor([x0], dtype=torch.float64, requires_grad=True)",
           _DERIVATIVE, hint="make the leaf from the number x0 itself, not from a list holding it"),
    _wrong(NB00, "derivative-finite-difference", "central finite differences: right for smooth f, blind to no_grad",
           "nb00_derivative", "    f(x).backward()\n    return x.grad",
           "    h = 1e-6\n    with torch.no_grad():\n        return (f(x + h) - f(x - h)) / (2 * h)", _DERIVATIVE,
           hint="5 means the derivative was not taken by autograd"),
    _wrong(NB00, "frozen-cube-leaks", "the cube left in the graph: gradient 5 at x = 1, not 2",
           "nb00_frozen_cube", _NB00_FROZEN, "    return x**2 + x**3", _FROZEN,
           hint="5 means the cube leaked into the graph"),
    _wrong(NB00, "frozen-square-detached", "the wrong term detached: the square, so the gradient is 3x^2",
           "nb00_frozen_cube", _NB00_FROZEN, "    return x.detach() ** 2 + x**3", _FROZEN,
           hint="3 that the square was detached instead of the cube"),
    _wrong(NB00, "frozen-all-detached", "the whole result detached: no gradient at all",
           "nb00_frozen_cube", _NB00_FROZEN, "    return (x**2 + x**3).detach()", _FROZEN,
           hint="does not require a gradient: detach only the cube"),
    _wrong(NB00, "frozen-all-under-no-grad", "the whole expression under torch.no_grad(): no gradient at all",
           "nb00_frozen_cube", _NB00_FROZEN, "    with torch.no_grad():\n        return x**2 + x**3", _FROZEN,
           hint="does not require a gradient: detach only the cube"),
    _wrong(NB00, "frozen-cube-dropped", "the cube left out of the value: the right gradient, the wrong y",
           "nb00_frozen_cube", _NB00_FROZEN, "    return x**2", _FROZEN,
           hint="the value is x**2 + x**3, the cube included"),
    _wrong(NB00, "frozen-cube-in-place", "cube **= 3 on x.detach(): the detached tensor shares x's storage, so x "
           "is cubed in place (unseen at x = 1)",
           "nb00_frozen_cube", _NB00_FROZEN, "    cube = x.detach()\n    cube **= 3\n    return x**2 + cube", _FROZEN,
           hint="square_plus_frozen_cube changed x: a detached tensor shares x's storage"),
]
