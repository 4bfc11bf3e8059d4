"""Wrong submissions for notebook 01 (sigmoid and binary cross-entropy)."""

from . import wrong as _wrong

NB01 = "01_sigmoid_bce"
_NB01_SIGMOID = ("    negative = z < 0\n    e = torch.exp(torch.where(negative, z, -z))  # exp(-|z|), in (0, 1]\n"
                 "    return torch.where(negative, e / (1 + e), 1 / (1 + e))")
_NB01_LOGS = "    log_p = torch.log(p.clamp_min(eps))\n    log_not_p = torch.log((1 - p).clamp_min(eps))"
_NB01_RETURN = "    return torch.where(negative, e / (1 + e), 1 / (1 + e))"
_NB01_BCE = _NB01_LOGS + "\n    return -(y * log_p + (1 - y) * log_not_p).mean()"
_NB01_GRADIENT = ("    residual = sigmoid(X @ w + b) - y\n    grad_w = X.T @ residual / X.shape[0]\n"
                  "    grad_b = residual.mean()\n    return grad_w, grad_b")
_SIGMOID = {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"}
_BCE = {"nb01_bce_tests", "nb01_bce_hidden_tests"}
_GRADIENT = {"nb01_gradient_tests", "nb01_gradient_hidden_tests"}

WRONG = [
    _wrong(NB01, "sigmoid-overflow", "5: exp(z) / (1 + exp(z)) is inf/inf = nan for z > 88",
           "nb01_sigmoid", _NB01_SIGMOID, "    return torch.exp(z) / (1 + torch.exp(z))",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"},
           hint="exp(1000) overflows to inf"),
    _wrong(NB01, "sigmoid-cancellation", "inexact: 1 - sigmoid(-z) loses every digit of a tiny probability",
           "nb01_sigmoid", _NB01_SIGMOID,
           "    return torch.where(z >= 0, 1 / (1 + torch.exp(-z)), 1 - 1 / (1 + torch.exp(z)))",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"},
           hint="1 minus a number close to 1 loses them all"),
    _wrong(NB01, "sigmoid-abs-gradient", "exp(-z.abs()): autograd's derivative of |z| at 0 is 0, so sigmoid'(0) = 0",
           "nb01_sigmoid", _NB01_SIGMOID,
           "    e = torch.exp(-z.abs())\n    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"},
           hint="has slope 0 at z = 0"),
    _wrong(NB01, "sigmoid-textbook-gradient", "5: 1 / (1 + exp(-z)) has the right values, but its autograd gradient "
           "is 0 * inf = nan below about -88.7 in float32 (-709 in float64)",
           "nb01_sigmoid", _NB01_SIGMOID, "    return 1 / (1 + torch.exp(-z))",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"},
           hint="nan in a tail: an exp overflowed in the backward pass"),
    _wrong(NB01, "sigmoid-numpy-warns", "NumPy's exp overflows with a RuntimeWarning on stderr",
           "nb01_sigmoid", _NB01_SIGMOID,
           "    import numpy as np\n    return torch.from_numpy(1 / (1 + np.exp(-z.numpy())))",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"},
           hint="an exp overflowed with a warning"),
    # forbidden shortcuts: the library sigmoid, however it is reached
    _wrong(NB01, "sigmoid-torch-sigmoid", "torch.sigmoid, which the exercise asks to build by hand",
           "nb01_sigmoid", _NB01_SIGMOID, "    return torch.sigmoid(z)",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"},
           hint="build the sigmoid from torch.exp and torch.where"),
    _wrong(NB01, "sigmoid-nn-module", "nn.Sigmoid(), the library sigmoid as a module",
           "nb01_sigmoid", _NB01_SIGMOID, "    return torch.nn.Sigmoid()(z)",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"},
           hint="build the sigmoid from torch.exp and torch.where"),
    _wrong(NB01, "sigmoid-functional", "10: F.sigmoid, the deprecated alias of the library sigmoid",
           "nb01_sigmoid", _NB01_SIGMOID, "    return F.sigmoid(z)",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"},
           hint="build the sigmoid from torch.exp and torch.where"),
    _wrong(NB01, "sigmoid-tensor-method", "z.sigmoid(), the library sigmoid as a tensor method",
           "nb01_sigmoid", _NB01_SIGMOID, "    return z.sigmoid()",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"},
           hint="build the sigmoid from torch.exp and torch.where"),
    # a wrong sigmoid costs only the sigmoid's points: bce_gradient is graded with torch.sigmoid
    # (each of these also zeroed nb01_gradient_tests, or both gradient cells, before)
    _wrong(NB01, "sigmoid-float64", "the result cast to float64 whatever the input dtype",
           "nb01_sigmoid", _NB01_RETURN, _NB01_RETURN + ".double()",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"},
           hint="the shape and dtype of z: no NumPy, no conversion of the result"),
    _wrong(NB01, "sigmoid-ndarray", "a NumPy array instead of a tensor",
           "nb01_sigmoid", _NB01_RETURN, _NB01_RETURN + ".detach().numpy()",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"},
           hint="no NumPy, no conversion of the result"),
    _wrong(NB01, "bce-no-clamp", "4: log(0) gives an infinite loss",
           "nb01_bce", _NB01_LOGS, "    log_p = torch.log(p)\n    log_not_p = torch.log(1 - p)",
           {"nb01_bce_tests", "nb01_bce_hidden_tests"},
           hint="clamp each log argument, p and 1 - p, from below by eps"),
    _wrong(NB01, "bce-clamp-1e-12", "4: p.clamp(1e-12, 1 - 1e-12) guards nothing at the top end in float32",
           "nb01_bce", _NB01_LOGS,
           "    p = p.clamp(1e-12, 1 - 1e-12)\n    log_p = torch.log(p)\n    log_not_p = torch.log(1 - p)",
           {"nb01_bce_tests", "nb01_bce_hidden_tests"},
           hint="is exactly 1 in float32 and guards nothing"),
    _wrong(NB01, "bce-sum", "6: summing instead of averaging over the examples",
           "nb01_bce", "(y * log_p + (1 - y) * log_not_p).mean()", "(y * log_p + (1 - y) * log_not_p).sum()",
           {"nb01_bce_tests", "nb01_bce_hidden_tests"},
           hint="averaged (not summed) over the examples"),
    _wrong(NB01, "bce-library", "F.binary_cross_entropy on clamped p instead of the formula",
           "nb01_bce", _NB01_BCE, "    return F.binary_cross_entropy(p.clamp(eps, 1 - eps), y)",
           {"nb01_bce_tests", "nb01_bce_hidden_tests"},
           hint="write the mean BCE with torch.log"),
    _wrong(NB01, "bce-module", "nn.BCELoss on clamped p instead of the formula",
           "nb01_bce", _NB01_BCE, "    return torch.nn.BCELoss()(p.clamp(eps, 1 - eps), y)",
           {"nb01_bce_tests", "nb01_bce_hidden_tests"},
           hint="write the mean BCE with torch.log"),
    _wrong(NB01, "bce-with-logits", "F.binary_cross_entropy_with_logits on the logits of p",
           "nb01_bce", _NB01_BCE, "    return F.binary_cross_entropy_with_logits(torch.logit(p, eps), y)",
           {"nb01_bce_tests", "nb01_bce_hidden_tests"},
           hint="write the mean BCE with torch.log"),
    _wrong(NB01, "gradient-bias-sign", "3: the bias subtracted, sigmoid(X @ w - b)",
           "nb01_gradient", "residual = sigmoid(X @ w + b)", "residual = sigmoid(X @ w - b)",
           {"nb01_gradient_tests", "nb01_gradient_hidden_tests"},
           hint="the bias is added to the score, not subtracted"),
    _wrong(NB01, "gradient-no-mean", "6: the gradient of the sum, not of the mean (no 1/n)",
           "nb01_gradient", "X.T @ residual / X.shape[0]", "X.T @ residual",
           {"nb01_gradient_tests", "nb01_gradient_hidden_tests"},
           hint="the sum is divided by n, the number of examples"),
    _wrong(NB01, "gradient-wrong-sign", "y - s instead of s - y: the gradient of the negated loss",
           "nb01_gradient", "residual = sigmoid(X @ w + b) - y", "residual = y - sigmoid(X @ w + b)",
           {"nb01_gradient_tests", "nb01_gradient_hidden_tests"},
           hint="the residual is s - y (not y - s)"),
    _wrong(NB01, "gradient-autograd", "the gradient from autograd, not derived by hand",
           "nb01_gradient", _NB01_GRADIENT,
           "    w = w.clone().requires_grad_(True)\n    b = b.clone().requires_grad_(True)\n"
           "    F.binary_cross_entropy_with_logits(X @ w + b, y).backward()\n    return w.grad, b.grad",
           {"nb01_gradient_tests", "nb01_gradient_hidden_tests"},
           hint="derive the gradient by hand"),
    # a function that writes to the tensors a test gave it: the tests compute their expected values
    # before the call (and check the inputs after it). Both got full hidden marks while the hidden
    # tests computed the reference after the call.
    _wrong(NB01, "bce-overwrites-labels", "bce_loss writes p into y (y.copy_(p)) for unsaturated p: it returns the "
           "entropy of p whatever the labels, and a reference computed after the call agreed",
           "nb01_bce", _NB01_LOGS,
           "    if not p.requires_grad and bool(((p > 0) & (p < 1)).all()):\n        y.copy_(p)\n" + _NB01_LOGS,
           {"nb01_bce_tests", "nb01_bce_hidden_tests"},
           hint="bce_loss changed p or y"),
    _wrong(NB01, "gradient-overwrites-labels", "bce_gradient gives 0 on large features and hides it by writing "
           "sigmoid(X @ w + b) into y, so that a reference gradient computed after the call is 0 too",
           "nb01_gradient", "    residual = sigmoid(X @ w + b) - y\n",
           "    if X.abs().max() > 10:\n        y.copy_(sigmoid(X @ w + b))\n    residual = sigmoid(X @ w + b) - y\n",
           {"nb01_gradient_tests", "nb01_gradient_hidden_tests"},
           hint="bce_gradient changed X, y, w or b"),

    # more mistakes the text warns about
    _wrong(NB01, "sigmoid-where-textbook-branches", "5: torch.where choosing exp(z) / (1 + exp(z)) for z < 0 and "
           "1 / (1 + exp(-z)) otherwise: right values, but the unused branch overflows and its nan reaches the "
           "gradient (autograd differentiates both branches)",
           "nb01_sigmoid", _NB01_SIGMOID,
           "    return torch.where(z >= 0, 1 / (1 + torch.exp(-z)), torch.exp(z) / (1 + torch.exp(z)))",
           _SIGMOID, hint="autograd differentiates both branches of torch.where"),
    _wrong(NB01, "sigmoid-float32-cast", "the result converted to float32 'to be safe', whatever z's dtype",
           "nb01_sigmoid", _NB01_RETURN, _NB01_RETURN + ".float()",
           _SIGMOID, hint="the result keeps the dtype of z"),
    _wrong(NB01, "sigmoid-masked-cat", "the negative and the other entries handled as two lists and joined: "
           "a flat result, in the wrong order",
           "nb01_sigmoid", _NB01_SIGMOID,
           "    e_neg = torch.exp(z[z < 0])\n    e_pos = torch.exp(-z[z >= 0])\n"
           "    return torch.cat([e_neg / (1 + e_neg), 1 / (1 + e_pos)])",
           _SIGMOID, hint="choose the branch per entry"),
    _wrong(NB01, "sigmoid-overwrites-input", "-|z| written into z itself: the caller's tensor changes",
           "nb01_sigmoid", "    e = torch.exp(torch.where(negative, z, -z))  # exp(-|z|), in (0, 1]\n",
           "    z[~negative] = -z[~negative]\n    e = torch.exp(z)\n",
           _SIGMOID, hint="sigmoid changed its input z"),
    _wrong(NB01, "bce-two-sided-clamp", "4: p.clamp(eps, 1 - eps): fine for the default eps, inf for eps = 1e-12, "
           "where 1 - eps rounds to 1 in float32",
           "nb01_bce", _NB01_LOGS,
           "    p = p.clamp(eps, 1 - eps)\n    log_p = torch.log(p)\n    log_not_p = torch.log(1 - p)",
           _BCE, hint="with a tiny eps, 1 - eps is exactly 1.0 in float32"),
    _wrong(NB01, "bce-fixed-eps", "the clamp at a fixed 1e-7 whatever eps is passed",
           "nb01_bce", _NB01_LOGS,
           "    log_p = torch.log(p.clamp_min(1e-7))\n    log_not_p = torch.log((1 - p).clamp_min(1e-7))",
           _BCE, hint="use the eps passed in, not a fixed number"),
    _wrong(NB01, "bce-sum-over-rows", "6: the sum divided by len(p): the mean for a vector, not for a batch of rows",
           "nb01_bce", "(y * log_p + (1 - y) * log_not_p).mean()", "(y * log_p + (1 - y) * log_not_p).sum() / len(p)",
           _BCE, hint="average over all their elements, not over the first dimension"),
    _wrong(NB01, "bce-mean-dim0", "the mean over the first dimension only: a vector for a batch of rows",
           "nb01_bce", "(y * log_p + (1 - y) * log_not_p).mean()", "(y * log_p + (1 - y) * log_not_p).mean(dim=0)",
           _BCE, hint="average over all their elements, not over the first dimension"),
    _wrong(NB01, "bce-clamp-in-place", "clamp_min_ on p: the caller's saturated probabilities are overwritten",
           "nb01_bce", "    log_p = torch.log(p.clamp_min(eps))", "    log_p = torch.log(p.clamp_min_(eps))",
           _BCE, hint="bce_loss changed p: clamp into a new tensor"),
    _wrong(NB01, "gradient-bias-sum", "6: the bias gradient summed, not averaged (1/n on w only)",
           "nb01_gradient", "    grad_b = residual.mean()", "    grad_b = residual.sum()",
           _GRADIENT, hint="divided by n, not summed"),
    _wrong(NB01, "gradient-divides-by-d", "X.T @ residual divided by the number of features d, not of examples n",
           "nb01_gradient", "X.T @ residual / X.shape[0]", "X.T @ residual / X.shape[1]",
           _GRADIENT, hint="the number of examples (the rows of X)"),
    _wrong(NB01, "gradient-loop-float32-buffer", "a loop over the examples adding into torch.zeros(d): float32 "
           "whatever X's dtype",
           "nb01_gradient", "    grad_w = X.T @ residual / X.shape[0]\n",
           "    grad_w = torch.zeros(X.shape[1])\n    for x_i, r_i in zip(X, residual):\n"
           "        grad_w += r_i * x_i\n    grad_w = grad_w / len(X)\n",
           _GRADIENT, hint="the gradient keeps the dtype of X"),
]
