"""Wrong submissions for notebook 02 (gradient descent by hand)."""

from . import wrong as _wrong

NB02 = "02_gradient_descent"
_NB02_UPDATE = "        w -= lr * w.grad\n        b -= lr * b.grad"
_NB02_GRAD_W = "grad_w = X.T @ residual / X.shape[0]"
_NB02_LOSS = "    loss = bce_loss(p, y)"
_NB02_MEAN = "correct.float().mean().item()"
_NB02_BATCHES = "minibatches(X, y, batch_size=batch_size, generator=generator)"
_NB02_HAND_GRADIENT = ("    p = sigmoid(X @ w + b)\n    loss = bce_loss(p, y)\n    residual = p - y\n"
                       "    grad_w = X.T @ residual / X.shape[0]\n    grad_b = residual.mean()\n"
                       "    return loss, grad_w, grad_b")

WRONG = [
    # predict_proba
    _wrong(NB02, "proba-bias-sign", "3: the bias subtracted, sigmoid(X @ w - b)",
           "nb02_predict_proba", "return sigmoid(X @ w + b)", "return sigmoid(X @ w - b)",
           {"nb02_predict_proba_tests", "nb02_predict_proba_hidden_tests"}),
    _wrong(NB02, "proba-column", "1: w as a column gives probabilities of shape (n, 1), not (n,)",
           "nb02_predict_proba", "return sigmoid(X @ w + b)", "return sigmoid(X @ w[:, None] + b)",
           {"nb02_predict_proba_tests", "nb02_predict_proba_hidden_tests"}),
    _wrong(NB02, "proba-overflow", "5: exp(z) / (1 + exp(z)) is inf/inf = nan for large scores",
           "nb02_predict_proba", "return sigmoid(X @ w + b)", "return torch.exp(X @ w + b) / (1 + torch.exp(X @ w + b))",
           {"nb02_predict_proba_hidden_tests"}),
    # one mistake costs once: a later exercise that calls predict_proba is tested with a correct one,
    # in its visible tests too (each of these zeroed the later exercise's visible test before)
    _wrong(NB02, "proba-bias-sign-in-gradient", "3: the bias subtracted in predict_proba, which loss_and_gradient calls",
           "nb02_predict_proba", "return sigmoid(X @ w + b)", "return sigmoid(X @ w - b)",
           {"nb02_predict_proba_tests", "nb02_predict_proba_hidden_tests"},
           also=(("nb02_loss_and_gradient", "    p = sigmoid(X @ w + b)\n", "    p = predict_proba(X, w, b)\n"),)),
    _wrong(NB02, "proba-bias-sign-in-step", "3: the bias subtracted in predict_proba, which sgd_step calls",
           "nb02_predict_proba", "return sigmoid(X @ w + b)", "return sigmoid(X @ w - b)",
           {"nb02_predict_proba_tests", "nb02_predict_proba_hidden_tests"},
           also=(("nb02_sgd_step", "bce_loss(sigmoid(X @ w + b), y)", "bce_loss(predict_proba(X, w, b), y)"),)),
    # accuracy
    _wrong(NB02, "accuracy-integer-division", "1: integer division, 0 unless every example is right",
           "nb02_accuracy", _NB02_MEAN, "int(correct.sum()) // len(correct)",
           {"nb02_accuracy_tests", "nb02_accuracy_hidden_tests"}),
    _wrong(NB02, "accuracy-column-broadcast", "1: p of shape (n, 1) against y of shape (n,) compares n x n pairs",
           "nb02_accuracy", "(p.reshape(-1) >= 0.5)", "(p >= 0.5)",
           {"nb02_accuracy_tests", "nb02_accuracy_hidden_tests"}),
    _wrong(NB02, "accuracy-tensor", "a 0-d tensor instead of a Python float",
           "nb02_accuracy", _NB02_MEAN, "correct.float().mean()",
           {"nb02_accuracy_tests", "nb02_accuracy_hidden_tests"}),
    _wrong(NB02, "accuracy-threshold-0", "2: probabilities thresholded at 0, the threshold for logits",
           "nb02_accuracy", "p.reshape(-1) >= 0.5", "p.reshape(-1) >= 0",
           {"nb02_accuracy_tests", "nb02_accuracy_hidden_tests"}),
    _wrong(NB02, "accuracy-strict-threshold", "the tie p = 0.5 predicted as class 0: p > 0.5 instead of p >= 0.5",
           "nb02_accuracy", "p.reshape(-1) >= 0.5", "p.reshape(-1) > 0.5",
           {"nb02_accuracy_hidden_tests"}),
    _wrong(NB02, "accuracy-round", "torch.round(p) rounds half to even: round(0.5) = 0 breaks the tie rule p >= 0.5",
           "nb02_accuracy", "(p.reshape(-1) >= 0.5).float()", "torch.round(p.reshape(-1))",
           {"nb02_accuracy_hidden_tests"}),
    # loss_and_gradient
    _wrong(NB02, "gradient-bias-sign", "3: the bias subtracted, sigmoid(X @ w - b)",
           "nb02_loss_and_gradient", "p = sigmoid(X @ w + b)", "p = sigmoid(X @ w - b)",
           {"nb02_loss_and_gradient_tests", "nb02_loss_and_gradient_hidden_tests"}),
    _wrong(NB02, "gradient-sum", "6: the gradient of the sum (no 1/n) while the loss is a mean",
           "nb02_loss_and_gradient", _NB02_GRAD_W, "grad_w = X.T @ residual",
           {"nb02_loss_and_gradient_tests", "nb02_loss_and_gradient_hidden_tests"}),
    _wrong(NB02, "gradient-divided-twice", "6: dividing by the batch size twice",
           "nb02_loss_and_gradient", _NB02_GRAD_W, "grad_w = X.T @ residual / X.shape[0] / X.shape[0]",
           {"nb02_loss_and_gradient_tests", "nb02_loss_and_gradient_hidden_tests"}),
    _wrong(NB02, "loss-no-clamp", "4: log(0) in an unguarded loss gives inf on saturated scores",
           "nb02_loss_and_gradient", _NB02_LOSS, "    loss = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()",
           {"nb02_loss_and_gradient_tests", "nb02_loss_and_gradient_hidden_tests"}),
    _wrong(NB02, "loss-sum", "6: the loss summed while the gradient is averaged",
           "nb02_loss_and_gradient", _NB02_LOSS, "    loss = bce_loss(p, y) * X.shape[0]",
           {"nb02_loss_and_gradient_tests", "nb02_loss_and_gradient_hidden_tests"}),
    _wrong(NB02, "gradient-autograd", "the gradients from autograd, not from the formulas (passed every test before)",
           "nb02_loss_and_gradient", _NB02_HAND_GRADIENT,
           "    w = w.detach().requires_grad_(True)\n    b = b.detach().requires_grad_(True)\n    z = X @ w + b\n"
           "    grad_w, grad_b = torch.autograd.grad(F.binary_cross_entropy_with_logits(z, y), (w, b))\n"
           "    return bce_loss(sigmoid(z.detach()), y), grad_w, grad_b",
           {"nb02_loss_and_gradient_tests", "nb02_loss_and_gradient_hidden_tests"}),
    # sgd_step
    _wrong(NB02, "step-no-zero-grad", "7: gradients never reset, so every step adds up all earlier gradients",
           "nb02_sgd_step", "    w.grad = None\n    b.grad = None\n", "",
           {"nb02_sgd_step_tests", "nb02_sgd_step_hidden_tests"}),
    _wrong(NB02, "step-lr-over-n", "6: the gradient of a mean divided by the batch size again",
           "nb02_sgd_step", _NB02_UPDATE,
           "        w -= lr * w.grad / X.shape[0]\n        b -= lr * b.grad / X.shape[0]",
           {"nb02_sgd_step_tests", "nb02_sgd_step_hidden_tests"}),
    _wrong(NB02, "step-not-in-place", "w = w - lr * w.grad binds new tensors; the caller's w never moves",
           "nb02_sgd_step", _NB02_UPDATE, "        w = w - lr * w.grad\n        b = b - lr * b.grad",
           {"nb02_sgd_step_tests", "nb02_sgd_step_hidden_tests"}),
    _wrong(NB02, "step-bias-sign", "3: the bias subtracted in the forward pass",
           "nb02_sgd_step", "loss = bce_loss(sigmoid(X @ w + b), y)", "loss = bce_loss(sigmoid(X @ w - b), y)",
           {"nb02_sgd_step_tests", "nb02_sgd_step_hidden_tests"}),
    _wrong(NB02, "step-loss-attached", "the loss returned with its graph attached",
           "nb02_sgd_step", "    return loss.detach()", "    return loss",
           {"nb02_sgd_step_tests", "nb02_sgd_step_hidden_tests"}),
    # train
    _wrong(NB02, "train-no-shuffle", "the same batches in the same order every epoch",
           "nb02_train", _NB02_BATCHES, "minibatches(X, y, batch_size=batch_size, shuffle=False)",
           {"nb02_train_hidden_tests"}),
    _wrong(NB02, "train-full-batch", "batch_size ignored: one full-batch step per epoch",
           "nb02_train", _NB02_BATCHES, "minibatches(X, y, batch_size=len(X), generator=generator)",
           {"nb02_train_tests", "nb02_train_hidden_tests"}),
    _wrong(NB02, "train-column-weights", "1: w of shape (d, 1) makes scores of shape (n, 1)",
           "nb02_train", "torch.zeros(X.shape[1], dtype=X.dtype", "torch.zeros(X.shape[1], 1, dtype=X.dtype",
           {"nb02_train_tests", "nb02_train_hidden_tests"}),
    _wrong(NB02, "train-losses-per-batch", "one loss per batch instead of one per epoch",
           "nb02_train", "            total += float(step(X_batch, y_batch, w, b, lr)) * len(X_batch)\n"
                         "        losses.append(total / len(X))",
           "            losses.append(float(step(X_batch, y_batch, w, b, lr)))",
           {"nb02_train_tests", "nb02_train_hidden_tests"}),
    _wrong(NB02, "train-epoch-loss-sum", "6: the epoch loss summed over the examples, not averaged",
           "nb02_train", "losses.append(total / len(X))", "losses.append(total)",
           {"nb02_train_tests", "nb02_train_hidden_tests"}),
]
