"""Wrong submissions for notebook 01 (sigmoid and binary cross-entropy)."""

from . import wrong as _wrong

NB01 = "01_sigmoid_bce"
_NB01_SIGMOID = ("    negative = z < 0\n    e = torch.exp(torch.where(negative, z, -z))  # exp(-|z|), in (0, 1]\n"
                 "    return torch.where(negative, e / (1 + e), 1 / (1 + e))")
_NB01_LOGS = "    log_p = torch.log(p.clamp_min(eps))\n    log_not_p = torch.log((1 - p).clamp_min(eps))"

WRONG = [
    _wrong(NB01, "sigmoid-overflow", "5: exp(z) / (1 + exp(z)) is inf/inf = nan for z > 88",
           "nb01_sigmoid", _NB01_SIGMOID, "    return torch.exp(z) / (1 + torch.exp(z))",
           {"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"}),
    _wrong(NB01, "sigmoid-cancellation", "inexact: 1 - sigmoid(-z) loses every digit of a tiny probability",
           "nb01_sigmoid", _NB01_SIGMOID,
           "    return torch.where(z >= 0, 1 / (1 + torch.exp(-z.abs())), 1 - 1 / (1 + torch.exp(z)))",
           {"nb01_sigmoid_hidden_tests"}),
    _wrong(NB01, "sigmoid-abs-gradient", "exp(-z.abs()): autograd's derivative of |z| at 0 is 0, so sigmoid'(0) = 0",
           "nb01_sigmoid", _NB01_SIGMOID,
           "    e = torch.exp(-z.abs())\n    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))",
           {"nb01_sigmoid_hidden_tests"}),
    _wrong(NB01, "sigmoid-numpy-warns", "NumPy's exp overflows with a RuntimeWarning on stderr",
           "nb01_sigmoid", _NB01_SIGMOID,
           "    import numpy as np\n    return torch.from_numpy(1 / (1 + np.exp(-z.numpy())))",
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
    _wrong(NB01, "gradient-bias-sign", "3: the bias subtracted, sigmoid(X @ w - b)",
           "nb01_gradient", "residual = sigmoid(X @ w + b)", "residual = sigmoid(X @ w - b)",
           {"nb01_gradient_tests", "nb01_gradient_hidden_tests"}),
    _wrong(NB01, "gradient-no-mean", "6: the gradient of the sum, not of the mean (no 1/n)",
           "nb01_gradient", "X.T @ residual / X.shape[0]", "X.T @ residual",
           {"nb01_gradient_tests", "nb01_gradient_hidden_tests"}),
    _wrong(NB01, "gradient-wrong-sign", "y - s instead of s - y: the gradient of the negated loss",
           "nb01_gradient", "residual = sigmoid(X @ w + b) - y", "residual = y - sigmoid(X @ w + b)",
           {"nb01_gradient_tests", "nb01_gradient_hidden_tests"}),
]
