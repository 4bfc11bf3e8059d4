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

WRONG = [
    _wrong(NB01, "sigmoid-overflow", "5: exp(z) / (1 + exp(z)) is inf/inf = nan for z > 88",
           "nb01_sigmoid", _NB01_SIGMOID, "    return torch.exp(z) / (1 + torch.exp(z))",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"}),
    _wrong(NB01, "sigmoid-cancellation", "inexact: 1 - sigmoid(-z) loses every digit of a tiny probability",
           "nb01_sigmoid", _NB01_SIGMOID,
           "    return torch.where(z >= 0, 1 / (1 + torch.exp(-z)), 1 - 1 / (1 + torch.exp(z)))",
           {"nb01_sigmoid_hidden_tests"}),
    _wrong(NB01, "sigmoid-abs-gradient", "exp(-z.abs()): autograd's derivative of |z| at 0 is 0, so sigmoid'(0) = 0",
           "nb01_sigmoid", _NB01_SIGMOID,
           "    e = torch.exp(-z.abs())\n    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"}),
    _wrong(NB01, "sigmoid-textbook-gradient", "5: 1 / (1 + exp(-z)) has the right values, but its autograd gradient "
           "is 0 * inf = nan below about -88.7 in float32 (-709 in float64)",
           "nb01_sigmoid", _NB01_SIGMOID, "    return 1 / (1 + torch.exp(-z))",
           {"nb01_sigmoid_hidden_tests"}),
    _wrong(NB01, "sigmoid-numpy-warns", "NumPy's exp overflows with a RuntimeWarning on stderr",
           "nb01_sigmoid", _NB01_SIGMOID,
           "    import numpy as np\n    return torch.from_numpy(1 / (1 + np.exp(-z.numpy())))",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"}),
    # forbidden shortcuts: the library sigmoid, however it is reached
    _wrong(NB01, "sigmoid-torch-sigmoid", "torch.sigmoid, which the exercise asks to build by hand",
           "nb01_sigmoid", _NB01_SIGMOID, "    return torch.sigmoid(z)",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"}),
    _wrong(NB01, "sigmoid-nn-module", "nn.Sigmoid(), the library sigmoid as a module",
           "nb01_sigmoid", _NB01_SIGMOID, "    return torch.nn.Sigmoid()(z)",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"}),
    _wrong(NB01, "sigmoid-functional", "10: F.sigmoid, the deprecated alias of the library sigmoid",
           "nb01_sigmoid", _NB01_SIGMOID, "    return F.sigmoid(z)",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"}),
    _wrong(NB01, "sigmoid-tensor-method", "z.sigmoid(), the library sigmoid as a tensor method",
           "nb01_sigmoid", _NB01_SIGMOID, "    return z.sigmoid()",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"}),
    # a wrong sigmoid costs only the sigmoid's points: bce_gradient is graded with torch.sigmoid
    # (each of these also zeroed nb01_gradient_tests, or both gradient cells, before)
    _wrong(NB01, "sigmoid-float64", "the result cast to float64 whatever the input dtype",
           "nb01_sigmoid", _NB01_RETURN, _NB01_RETURN + ".double()",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"}),
    _wrong(NB01, "sigmoid-ndarray", "a NumPy array instead of a tensor",
           "nb01_sigmoid", _NB01_RETURN, _NB01_RETURN + ".detach().numpy()",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"}),
    _wrong(NB01, "bce-no-clamp", "4: log(0) gives an infinite loss",
           "nb01_bce", _NB01_LOGS, "    log_p = torch.log(p)\n    log_not_p = torch.log(1 - p)",
           {"nb01_bce_tests", "nb01_bce_hidden_tests"}),
    _wrong(NB01, "bce-clamp-1e-12", "4: p.clamp(1e-12, 1 - 1e-12) guards nothing at the top end in float32",
           "nb01_bce", _NB01_LOGS,
           "    p = p.clamp(1e-12, 1 - 1e-12)\n    log_p = torch.log(p)\n    log_not_p = torch.log(1 - p)",
           {"nb01_bce_tests", "nb01_bce_hidden_tests"}),
    _wrong(NB01, "bce-sum", "6: summing instead of averaging over the examples",
           "nb01_bce", "(y * log_p + (1 - y) * log_not_p).mean()", "(y * log_p + (1 - y) * log_not_p).sum()",
           {"nb01_bce_tests", "nb01_bce_hidden_tests"}),
    _wrong(NB01, "bce-library", "F.binary_cross_entropy on clamped p instead of the formula",
           "nb01_bce", _NB01_BCE, "    return F.binary_cross_entropy(p.clamp(eps, 1 - eps), y)",
           {"nb01_bce_tests", "nb01_bce_hidden_tests"}),
    _wrong(NB01, "bce-module", "nn.BCELoss on clamped p instead of the formula",
           "nb01_bce", _NB01_BCE, "    return torch.nn.BCELoss()(p.clamp(eps, 1 - eps), y)",
           {"nb01_bce_tests", "nb01_bce_hidden_tests"}),
    _wrong(NB01, "bce-with-logits", "F.binary_cross_entropy_with_logits on the logits of p",
           "nb01_bce", _NB01_BCE, "    return F.binary_cross_entropy_with_logits(torch.logit(p, eps), y)",
           {"nb01_bce_tests", "nb01_bce_hidden_tests"}),
    _wrong(NB01, "gradient-bias-sign", "3: the bias subtracted, sigmoid(X @ w - b)",
           "nb01_gradient", "residual = sigmoid(X @ w + b)", "residual = sigmoid(X @ w - b)",
           {"nb01_gradient_tests", "nb01_gradient_hidden_tests"}),
    _wrong(NB01, "gradient-no-mean", "6: the gradient of the sum, not of the mean (no 1/n)",
           "nb01_gradient", "X.T @ residual / X.shape[0]", "X.T @ residual",
           {"nb01_gradient_tests", "nb01_gradient_hidden_tests"}),
    _wrong(NB01, "gradient-wrong-sign", "y - s instead of s - y: the gradient of the negated loss",
           "nb01_gradient", "residual = sigmoid(X @ w + b) - y", "residual = y - sigmoid(X @ w + b)",
           {"nb01_gradient_tests", "nb01_gradient_hidden_tests"}),
    _wrong(NB01, "gradient-autograd", "the gradient from autograd, not derived by hand",
           "nb01_gradient", _NB01_GRADIENT,
           "    w = w.clone().requires_grad_(True)\n    b = b.clone().requires_grad_(True)\n"
           "    F.binary_cross_entropy_with_logits(X @ w + b, y).backward()\n    return w.grad, b.grad",
           {"nb01_gradient_tests", "nb01_gradient_hidden_tests"}),
    # a function that writes to the tensors a test gave it: the tests compute their expected values
    # before the call (and check the inputs after it). Both got full hidden marks while the hidden
    # tests computed the reference after the call.
    _wrong(NB01, "bce-overwrites-labels", "bce_loss writes p into y (y.copy_(p)) for unsaturated p: it returns the "
           "entropy of p whatever the labels, and a reference computed after the call agreed",
           "nb01_bce", _NB01_LOGS,
           "    if not p.requires_grad and bool(((p > 0) & (p < 1)).all()):\n        y.copy_(p)\n" + _NB01_LOGS,
           {"nb01_bce_tests", "nb01_bce_hidden_tests"}),
    _wrong(NB01, "gradient-overwrites-labels", "bce_gradient gives 0 on large features and hides it by writing "
           "sigmoid(X @ w + b) into y, so that a reference gradient computed after the call is 0 too",
           "nb01_gradient", "    residual = sigmoid(X @ w + b) - y\n",
           "    if X.abs().max() > 10:\n        y.copy_(sigmoid(X @ w + b))\n    residual = sigmoid(X @ w + b) - y\n",
           {"nb01_gradient_hidden_tests"}),
]
