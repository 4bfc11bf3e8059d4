"""Wrong submissions for notebook 04 (softmax regression on Fashion-MNIST)."""

from . import wrong as _wrong

NB04 = "04_softmax_fashion_mnist"
_SOFTMAX = "    shifted = logits - logits.max(dim=1, keepdim=True).values\n    e = torch.exp(shifted)"
_LOG_PROBS = "    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)"
_UPDATE = "        W -= lr * W.grad\n        b -= lr * b.grad"
_ZERO = "    W.grad.zero_()\n    b.grad.zero_()\n"

WRONG = [
    _wrong(NB04, "softmax-naive", "5: exp(z) / sum(exp(z)) is inf/inf = nan for large logits",
           "nb04_softmax", _SOFTMAX, "    e = torch.exp(logits)",
           {"nb04_softmax_tests", "nb04_softmax_hidden_tests"}),
    _wrong(NB04, "softmax-torch-softmax", "forbidden shortcut: torch.softmax instead of the softmax built by hand",
           "nb04_softmax", "    return e / e.sum(dim=1, keepdim=True)", "    return torch.softmax(logits, dim=1)",
           {"nb04_softmax_tests", "nb04_softmax_hidden_tests"}),
    _wrong(NB04, "softmax-F-softmax", "forbidden shortcut: F.softmax instead of the softmax built by hand",
           "nb04_softmax", "    return e / e.sum(dim=1, keepdim=True)", "    return F.softmax(logits, dim=1)",
           {"nb04_softmax_tests", "nb04_softmax_hidden_tests"}),
    _wrong(NB04, "softmax-exp-log-softmax", "forbidden shortcut: exp of F.log_softmax",
           "nb04_softmax", "    return e / e.sum(dim=1, keepdim=True)", "    return torch.exp(F.log_softmax(logits, dim=1))",
           {"nb04_softmax_tests", "nb04_softmax_hidden_tests"}),
    _wrong(NB04, "softmax-in-place", "subtracting the maximum in place changes the caller's logits",
           "nb04_softmax", "    shifted = logits - logits.max(dim=1, keepdim=True).values",
           "    shifted = logits.sub_(logits.max(dim=1, keepdim=True).values)",
           {"nb04_softmax_hidden_tests"}),
    _wrong(NB04, "ce-log-of-softmax", "4: log(softmax(z)) is log(0) = -inf once a logit gap exceeds about 100",
           "nb04_cross_entropy", _LOG_PROBS, "    log_probs = torch.log(torch.softmax(logits, dim=1))",
           {"nb04_cross_entropy_tests", "nb04_cross_entropy_hidden_tests"}),
    _wrong(NB04, "ce-sum", "6: the sum over the batch instead of the mean",
           "nb04_cross_entropy", "    return -picked.mean()", "    return -picked.sum()",
           {"nb04_cross_entropy_tests", "nb04_cross_entropy_hidden_tests"}),
    _wrong(NB04, "ce-softmax-first", "8: a softmax applied to the logits before the loss",
           "nb04_cross_entropy", _LOG_PROBS, "    logits = torch.softmax(logits, dim=1)\n" + _LOG_PROBS,
           {"nb04_cross_entropy_tests", "nb04_cross_entropy_hidden_tests"}),
    _wrong(NB04, "ce-F-cross-entropy", "forbidden shortcut: F.cross_entropy instead of the loss built by hand",
           "nb04_cross_entropy", "    return -picked.mean()", "    return F.cross_entropy(logits, y)",
           {"nb04_cross_entropy_tests", "nb04_cross_entropy_hidden_tests"}),
    _wrong(NB04, "ce-nn-CrossEntropyLoss", "forbidden shortcut: nn.CrossEntropyLoss (it calls F.cross_entropy)",
           "nb04_cross_entropy", "    return -picked.mean()", "    return nn.CrossEntropyLoss()(logits, y)",
           {"nb04_cross_entropy_tests", "nb04_cross_entropy_hidden_tests"}),
    _wrong(NB04, "ce-F-log-softmax", "forbidden shortcut: F.log_softmax instead of z - logsumexp(z)",
           "nb04_cross_entropy", _LOG_PROBS, "    log_probs = F.log_softmax(logits, dim=1)",
           {"nb04_cross_entropy_tests", "nb04_cross_entropy_hidden_tests"}),
    _wrong(NB04, "ce-nll-loss", "forbidden shortcut: F.nll_loss to gather and average the log-probabilities",
           "nb04_cross_entropy", "    return -picked.mean()", "    return F.nll_loss(log_probs, y)",
           {"nb04_cross_entropy_tests", "nb04_cross_entropy_hidden_tests"}),
    _wrong(NB04, "accuracy-integer-division", "1: integer division, 0 until every answer is right",
           "nb04_accuracy", "    return (predicted == y).float().mean().item()",
           "    return (predicted == y).sum().item() // len(y)",
           {"nb04_accuracy_tests", "nb04_accuracy_hidden_tests"}),
    _wrong(NB04, "accuracy-keepdim", "1: predictions of shape (n, 1) compared with labels (n,) make an n x n table",
           "nb04_accuracy", "    predicted = logits.argmax(dim=1)", "    predicted = logits.argmax(dim=1, keepdim=True)",
           {"nb04_accuracy_tests", "nb04_accuracy_hidden_tests"}),
    _wrong(NB04, "accuracy-threshold-half", "2: the source material's test accuracy: scores thresholded at 0.5, then argmax",
           "nb04_accuracy", "    predicted = logits.argmax(dim=1)", "    predicted = (logits > 0.5).float().argmax(1)",
           {"nb04_accuracy_tests", "nb04_accuracy_hidden_tests"}),
    _wrong(NB04, "grad-no-mean", "6: the gradient of the summed loss: (P - Y) not divided by n",
           "nb04_softmax_gradient", "    residual = (probs - F.one_hot(y, probs.shape[1]).to(probs.dtype)) / len(y)",
           "    residual = probs - F.one_hot(y, probs.shape[1]).to(probs.dtype)",
           {"nb04_softmax_gradient_tests", "nb04_softmax_gradient_hidden_tests"}),
    _wrong(NB04, "grad-sign", "the gradient with the wrong sign: Y - P instead of P - Y",
           "nb04_softmax_gradient", "(probs - F.one_hot(y, probs.shape[1]).to(probs.dtype))",
           "(F.one_hot(y, probs.shape[1]).to(probs.dtype) - probs)",
           {"nb04_softmax_gradient_tests", "nb04_softmax_gradient_hidden_tests"}),
    _wrong(NB04, "grad-no-transpose", "the transpose: (P - Y)^T X has shape (k, d) instead of (d, k)",
           "nb04_softmax_gradient", "    return X.T @ residual, residual.sum(dim=0)",
           "    return residual.T @ X, residual.sum(dim=0)",
           {"nb04_softmax_gradient_tests", "nb04_softmax_gradient_hidden_tests"}),
    _wrong(NB04, "grad-bias-wrong-dim", "the bias gradient summed over the classes (shape (n,)) instead of the examples",
           "nb04_softmax_gradient", "    return X.T @ residual, residual.sum(dim=0)",
           "    return X.T @ residual, residual.sum(dim=1)",
           {"nb04_softmax_gradient_tests", "nb04_softmax_gradient_hidden_tests"}),
    _wrong(NB04, "grad-naive-softmax", "5: exp(z) / sum(exp(z)) written inline: nan for large logits",
           "nb04_softmax_gradient", "    probs = softmax(X @ W + b)",
           "    e = torch.exp(X @ W + b)\n    probs = e / e.sum(dim=1, keepdim=True)",
           {"nb04_softmax_gradient_hidden_tests"}),
    _wrong(NB04, "grad-autograd", "forbidden shortcut: autograd instead of the gradient derived by hand",
           "nb04_softmax_gradient",
           "    probs = softmax(X @ W + b)\n"
           "    residual = (probs - F.one_hot(y, probs.shape[1]).to(probs.dtype)) / len(y)\n"
           "    return X.T @ residual, residual.sum(dim=0)",
           "    W_leaf = W.detach().clone().requires_grad_(True)\n"
           "    b_leaf = b.detach().clone().requires_grad_(True)\n"
           "    return torch.autograd.grad(F.cross_entropy(X @ W_leaf + b_leaf, y), (W_leaf, b_leaf))",
           {"nb04_softmax_gradient_tests", "nb04_softmax_gradient_hidden_tests"}),
    _wrong(NB04, "step-divide-by-batch", "6: the gradient of a mean divided by the batch size again",
           "nb04_train_step", _UPDATE, "        W -= lr * W.grad / len(X)\n        b -= lr * b.grad / len(X)",
           {"nb04_train_step_tests", "nb04_train_step_hidden_tests"}),
    _wrong(NB04, "step-no-zero-grad", "7: gradients not zeroed, so each step uses the sum of all gradients so far",
           "nb04_train_step", _ZERO, "",
           {"nb04_train_step_tests", "nb04_train_step_hidden_tests"}),
    _wrong(NB04, "epoch-softmax-first", "8: nn.CrossEntropyLoss given probabilities instead of logits",
           "nb04_train_epoch", "loss_fn(model(X_batch), y_batch)", "loss_fn(torch.softmax(model(X_batch), dim=1), y_batch)",
           {"nb04_train_epoch_tests", "nb04_train_epoch_hidden_tests"}),
    _wrong(NB04, "epoch-no-zero-grad", "7: optimizer.zero_grad() forgotten",
           "nb04_train_epoch", "        optimizer.zero_grad()\n", "",
           {"nb04_train_epoch_tests", "nb04_train_epoch_hidden_tests"}),
    _wrong(NB04, "epoch-sum-of-batch-means", "6: batch means added up and reported as the epoch's mean loss",
           "nb04_train_epoch", "        total += loss.item() * len(y_batch)\n    return total / len(y)",
           "        total += loss.item()\n    return total",
           {"nb04_train_epoch_tests", "nb04_train_epoch_hidden_tests"}),
    _wrong(NB04, "epoch-mean-of-batch-losses", "6: the unweighted mean of the batch losses, wrong when the last batch is smaller",
           "nb04_train_epoch",
           "    total = 0.0\n"
           "    for X_batch, y_batch in minibatches(X, y, batch_size=batch_size, generator=generator):\n"
           "        optimizer.zero_grad()\n"
           "        loss = loss_fn(model(X_batch), y_batch)\n"
           "        loss.backward()\n"
           "        optimizer.step()\n"
           "        total += loss.item() * len(y_batch)\n"
           "    return total / len(y)",
           "    losses = []\n"
           "    for X_batch, y_batch in minibatches(X, y, batch_size=batch_size, generator=generator):\n"
           "        optimizer.zero_grad()\n"
           "        loss = loss_fn(model(X_batch), y_batch)\n"
           "        loss.backward()\n"
           "        optimizer.step()\n"
           "        losses.append(loss.item())\n"
           "    return sum(losses) / len(losses)",
           {"nb04_train_epoch_tests", "nb04_train_epoch_hidden_tests"}),
    _wrong(NB04, "confusion-transposed", "rows and columns swapped: row = predicted class",
           "nb04_confusion_matrix", "    pairs = y_true * num_classes + y_pred", "    pairs = y_pred * num_classes + y_true",
           {"nb04_confusion_matrix_tests", "nb04_confusion_matrix_hidden_tests"}),
    _wrong(NB04, "confusion-no-minlength", "bincount without minlength: too short when the last classes never occur",
           "nb04_confusion_matrix", "torch.bincount(pairs, minlength=num_classes * num_classes)", "torch.bincount(pairs)",
           {"nb04_confusion_matrix_hidden_tests"}),
]
