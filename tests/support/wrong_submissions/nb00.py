"""Wrong submissions for notebook 00 (tensors and autograd warm-up)."""

from . import wrong as _wrong

NB00 = "00_tensors_autograd"
_NB00_PAIRWISE = "    return a[:, None] - b[None, :]"
_NB00_LEAF = "    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)"
_NB00_FROZEN = "    return x**2 + x.detach() ** 3"

WRONG = [
    _wrong(NB00, "pairwise-transposed", "shape (m, n) instead of (n, m): b as the column, a as the row",
           "nb00_pairwise", _NB00_PAIRWISE, "    return a[None, :] - b[:, None]",
           {"nb00_pairwise_tests", "nb00_pairwise_hidden_tests"}),
    _wrong(NB00, "pairwise-sign", "b[j] - a[i]: the right shape with every sign flipped",
           "nb00_pairwise", _NB00_PAIRWISE, "    return b[None, :] - a[:, None]",
           {"nb00_pairwise_tests", "nb00_pairwise_hidden_tests"}),
    _wrong(NB00, "pairwise-float64", "the result cast to float64 whatever the input dtype",
           "nb00_pairwise", _NB00_PAIRWISE, "    return (a[:, None] - b[None, :]).double()",
           {"nb00_pairwise_tests", "nb00_pairwise_hidden_tests"}),
    _wrong(NB00, "derivative-float", "a Python float instead of a tensor (.item())",
           "nb00_derivative", "    return x.grad", "    return x.grad.item()",
           {"nb00_derivative_tests", "nb00_derivative_hidden_tests"}),
    _wrong(NB00, "derivative-float32", "the leaf created in float32, not float64",
           "nb00_derivative", _NB00_LEAF, "    x = torch.tensor(x0, requires_grad=True)",
           {"nb00_derivative_tests", "nb00_derivative_hidden_tests"}),
    _wrong(NB00, "derivative-accumulates", "7: one leaf reused across calls, its gradient never reset",
           "nb00_derivative", _NB00_LEAF,
           "    x = derivative.__dict__.setdefault(\"leaf\", torch.zeros((), dtype=torch.float64, requires_grad=True))\n"
           "    with torch.no_grad():\n        x.fill_(x0)",
           {"nb00_derivative_tests", "nb00_derivative_hidden_tests"}),
    _wrong(NB00, "derivative-finite-difference", "central finite differences: right for smooth f, blind to no_grad",
           "nb00_derivative", "    f(x).backward()\n    return x.grad",
           "    h = 1e-6\n    with torch.no_grad():\n        return (f(x + h) - f(x - h)) / (2 * h)",
           {"nb00_derivative_hidden_tests"}),
    _wrong(NB00, "frozen-cube-leaks", "the cube left in the graph: gradient 5 at x = 1, not 2",
           "nb00_frozen_cube", _NB00_FROZEN, "    return x**2 + x**3",
           {"nb00_frozen_cube_tests", "nb00_frozen_cube_hidden_tests"}),
    _wrong(NB00, "frozen-all-detached", "the whole result detached: no gradient at all",
           "nb00_frozen_cube", _NB00_FROZEN, "    return (x**2 + x**3).detach()",
           {"nb00_frozen_cube_tests", "nb00_frozen_cube_hidden_tests"}),
    _wrong(NB00, "frozen-cube-dropped", "the cube left out of the value: the right gradient, the wrong y",
           "nb00_frozen_cube", _NB00_FROZEN, "    return x**2",
           {"nb00_frozen_cube_tests", "nb00_frozen_cube_hidden_tests"}),
]
