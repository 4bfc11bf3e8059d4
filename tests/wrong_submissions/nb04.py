"""Wrong submissions for notebook 04 (softmax regression on Fashion-MNIST)."""

from . import wrong as _wrong

NB04 = "04_softmax_fashion_mnist"
_SOFTMAX = "    shifted = logits - logits.max(dim=1, keepdim=True).values\n    e = torch.exp(shifted)"
_LOG_PROBS = "    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)"
_UPDATE = "        W -= lr * W.grad\n        b -= lr * b.grad"
_ZERO = "    W.grad.zero_()\n    b.grad.zero_()\n"
_TRAINED = {"nb04_trained_model_tests", "nb04_trained_model_hidden_tests"}

WRONG = [
    _wrong(NB04, "softmax-naive", "5: exp(z) / sum(exp(z)) is inf/inf = nan for large logits",
           "nb04_softmax", _SOFTMAX, "    e = torch.exp(logits)",
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
    _wrong(NB04, "accuracy-integer-division", "1: integer division, 0 until every answer is right",
           "nb04_accuracy", "    return (predicted == y).float().mean().item()",
           "    return (predicted == y).sum().item() // len(y)",
           {"nb04_accuracy_tests", "nb04_accuracy_hidden_tests"}),
    _wrong(NB04, "accuracy-keepdim", "1: predictions of shape (n, 1) compared with labels (n,) make an n x n table",
           "nb04_accuracy", "    predicted = logits.argmax(dim=1)", "    predicted = logits.argmax(dim=1, keepdim=True)",
           {"nb04_accuracy_tests", "nb04_accuracy_hidden_tests"}),
    _wrong(NB04, "step-divide-by-batch", "6: the gradient of a mean divided by the batch size again",
           "nb04_train_step", _UPDATE, "        W -= lr * W.grad / len(X)\n        b -= lr * b.grad / len(X)",
           {"nb04_train_step_tests", "nb04_train_step_hidden_tests"}),
    _wrong(NB04, "step-no-zero-grad", "7: gradients not zeroed, so each step uses the sum of all gradients so far",
           "nb04_train_step", _ZERO, "",
           {"nb04_train_step_tests", "nb04_train_step_hidden_tests"}),
    _wrong(NB04, "epoch-softmax-first", "8: nn.CrossEntropyLoss given probabilities instead of logits",
           "nb04_train_epoch", "loss_fn(model(X_batch), y_batch)", "loss_fn(torch.softmax(model(X_batch), dim=1), y_batch)",
           {"nb04_train_epoch_tests", "nb04_train_epoch_hidden_tests"}),  # still learns, slowly: above 0.80
    _wrong(NB04, "epoch-no-zero-grad", "7: optimizer.zero_grad() forgotten",
           "nb04_train_epoch", "        optimizer.zero_grad()\n", "",
           {"nb04_train_epoch_hidden_tests"} | _TRAINED),
    _wrong(NB04, "epoch-sum-of-batch-means", "6: batch means added up and reported as the epoch's mean loss",
           "nb04_train_epoch", "        total += loss.item() * len(y_batch)\n    return total / len(y)",
           "        total += loss.item()\n    return total",
           {"nb04_train_epoch_tests", "nb04_train_epoch_hidden_tests"}),
    _wrong(NB04, "confusion-transposed", "rows and columns swapped: row = predicted class",
           "nb04_confusion_matrix", "    pairs = y_true * num_classes + y_pred", "    pairs = y_pred * num_classes + y_true",
           {"nb04_confusion_matrix_tests", "nb04_confusion_matrix_hidden_tests"}),
    _wrong(NB04, "confusion-no-minlength", "bincount without minlength: too short when the last classes never occur",
           "nb04_confusion_matrix", "torch.bincount(pairs, minlength=num_classes * num_classes)", "torch.bincount(pairs)",
           {"nb04_confusion_matrix_hidden_tests"}),
]
