"""Right answers written differently: each must get full marks, exactly like the reference.

A grader is also wrong when it takes points from correct work. Each entry is
one small text change to a reference answer that keeps it correct: another
idiom, or code that raises a harmless warning (``float()`` of a loss that
requires grad), which must not cost a test cell through stderr.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RightSubmission:
    assignment: str
    name: str
    cell: str
    old: str
    new: str

    @property
    def student(self) -> str:
        return f"right-{self.name}"


RIGHT = [
    RightSubmission("01_sigmoid_bce", "kl-where", "nb01_kl_divergence",
                    "    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(dim=-1)",
                    "    terms = torch.where(p > 0, p * (torch.log(p) - torch.log(q)), torch.zeros_like(p))\n"
                    "    return terms.sum(dim=-1)"),
    RightSubmission("01_sigmoid_bce", "kl-library-kl-div-masked", "nb01_kl_divergence",
                    "    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(dim=-1)",
                    "    terms = F.kl_div(torch.log(q), p, reduction=\"none\")\n"
                    "    return torch.where(p > 0, terms, torch.zeros_like(terms)).sum(-1)"),
    RightSubmission("01_sigmoid_bce", "sigmoid-float-literals", "nb01_sigmoid",
                    "e / (1 + e), 1 / (1 + e)", "e / (1.0 + e), 1.0 / (1.0 + e)"),
    RightSubmission("03_nn_module", "train-float-of-loss", "nb03_train",
                    "total += loss.item() * len(y_batch)", "total += float(loss) * len(y_batch)"),
    RightSubmission("04_softmax_fashion_mnist", "step-float-of-loss", "nb04_train_step",
                    "    return loss.item()", "    return float(loss)"),
    RightSubmission("04_softmax_fashion_mnist", "epoch-float-of-loss", "nb04_train_epoch",
                    "total += loss.item() * len(y_batch)", "total += float(loss) * len(y_batch)"),
    RightSubmission("03_nn_module", "predict-probabilities-at-half", "nb03_predict",
                    "    return (logits >= 0).float()", "    return (torch.sigmoid(logits) >= 0.5).float()"),
    RightSubmission("04_softmax_fashion_mnist", "step-grad-none", "nb04_train_step",
                    "    W.grad.zero_()\n    b.grad.zero_()\n", "    W.grad = None\n    b.grad = None\n"),
    RightSubmission("04_softmax_fashion_mnist", "step-zero-grad-first", "nb04_train_step",
                    "    loss = loss_fn(X @ W + b, y)\n    loss.backward()\n    with torch.no_grad():\n"
                    "        W -= lr * W.grad\n        b -= lr * b.grad\n    W.grad.zero_()\n    b.grad.zero_()\n",
                    "    for param in (W, b):\n        if param.grad is not None:\n            param.grad.zero_()\n"
                    "    loss = loss_fn(X @ W + b, y)\n    loss.backward()\n    with torch.no_grad():\n"
                    "        W -= lr * W.grad\n        b -= lr * b.grad\n"),
    RightSubmission("04_softmax_fashion_mnist", "softmax-exp-minus-logsumexp", "nb04_softmax",
                    "    shifted = logits - logits.max(dim=1, keepdim=True).values\n    e = torch.exp(shifted)\n"
                    "    return e / e.sum(dim=1, keepdim=True)",
                    "    return torch.exp(logits - torch.logsumexp(logits, dim=1, keepdim=True))"),
    RightSubmission("04_softmax_fashion_mnist", "ce-index-rows", "nb04_cross_entropy",
                    "    picked = log_probs.gather(1, y.unsqueeze(1)).squeeze(1)",
                    "    picked = log_probs[torch.arange(len(y)), y]"),
    RightSubmission("04_softmax_fashion_mnist", "accuracy-eq-sum-over-len", "nb04_accuracy",
                    "    return (predicted == y).float().mean().item()", "    return (predicted.eq(y).sum() / len(y)).item()"),
    # notebooks 00 to 02: other correct idioms
    RightSubmission("00_tensors_autograd", "derivative-autograd-grad", "nb00_derivative",
                    "    f(x).backward()\n    return x.grad", "    (grad,) = torch.autograd.grad(f(x), x)\n    return grad"),
    RightSubmission("01_sigmoid_bce", "sigmoid-logaddexp", "nb01_sigmoid",
                    "    negative = z < 0\n    e = torch.exp(torch.where(negative, z, -z))  # exp(-|z|), in (0, 1]\n"
                    "    return torch.where(negative, e / (1 + e), 1 / (1 + e))",
                    "    return torch.exp(-torch.logaddexp(torch.zeros_like(z), -z))"),
    RightSubmission("01_sigmoid_bce", "sigmoid-softplus", "nb01_sigmoid",
                    "    negative = z < 0\n    e = torch.exp(torch.where(negative, z, -z))  # exp(-|z|), in (0, 1]\n"
                    "    return torch.where(negative, e / (1 + e), 1 / (1 + e))",
                    "    return torch.exp(-F.softplus(-z))"),
    RightSubmission("01_sigmoid_bce", "bce-where", "nb01_bce",
                    "    return -(y * log_p + (1 - y) * log_not_p).mean()",
                    "    return -torch.where(y == 1, log_p, log_not_p).mean()"),
    RightSubmission("01_sigmoid_bce", "gradient-mv", "nb01_gradient",
                    "grad_w = X.T @ residual / X.shape[0]", "grad_w = torch.mv(X.T, residual) / len(y)"),
    RightSubmission("02_gradient_descent", "gradient-einsum", "nb02_loss_and_gradient",
                    "grad_w = X.T @ residual / X.shape[0]", "grad_w = torch.einsum(\"nd,n->d\", X, residual) / len(X)"),
    RightSubmission("02_gradient_descent", "accuracy-float", "nb02_accuracy",
                    "correct.float().mean().item()", "float(correct.float().mean())"),
    RightSubmission("02_gradient_descent", "step-zero-grad", "nb02_sgd_step",
                    "    w.grad = None\n    b.grad = None\n", "    w.grad.zero_()\n    b.grad.zero_()\n"),
    RightSubmission("02_gradient_descent", "step-autograd-grad", "nb02_sgd_step",
                    "    loss.backward()\n    with torch.no_grad():\n        w -= lr * w.grad\n        b -= lr * b.grad\n"
                    "    w.grad = None\n    b.grad = None\n",
                    "    grad_w, grad_b = torch.autograd.grad(loss, (w, b))\n    with torch.no_grad():\n"
                    "        w -= lr * grad_w\n        b -= lr * grad_b\n"),
    RightSubmission("02_gradient_descent", "train-step-float-as-is", "nb02_train",
                    "total += float(step(X_batch, y_batch, w, b, lr)) * len(X_batch)",
                    "total += step(X_batch, y_batch, w, b, lr) * len(X_batch)"),
    RightSubmission("02_gradient_descent", "step-float-of-loss", "nb02_sgd_step",
                    "    return loss.item()", "    return float(loss)"),
    RightSubmission("02_gradient_descent", "l2-dot-product", "nb02_loss_and_gradient",
                    "bce_loss(p, y) + l2 / 2 * (w ** 2).sum()", "bce_loss(p, y) + 0.5 * l2 * torch.dot(w, w)"),
    RightSubmission("04_softmax_fashion_mnist", "grad-index-subtract", "nb04_softmax_gradient",
                    "    residual = (probs - F.one_hot(y, probs.shape[1]).to(probs.dtype)) / len(y)\n",
                    "    residual = probs.clone()\n    residual[torch.arange(len(y)), y] -= 1\n    residual = residual / len(y)\n"),
    # a gradient checker that never writes into x (x + h e_i as a new tensor), and a loop that broadcasts
    RightSubmission("04_softmax_fashion_mnist", "gradcheck-item-of-a-view", "nb04_grad_check",
                    "        flat[i] = old + h\n        f_plus = float(f(x64))\n        flat[i] = old - h\n",
                    "        x64.view(-1)[i] += h\n        f_plus = float(f(x64))\n        x64.view(-1)[i] -= 2 * h\n"),
    RightSubmission("04_softmax_fashion_mnist", "gradcheck-step-tensor", "nb04_grad_check",
                    "        old = flat[i].item()\n        flat[i] = old + h\n        f_plus = float(f(x64))\n"
                    "        flat[i] = old - h\n        f_minus = float(f(x64))\n"
                    "        flat[i] = old  # put the entry back before the next one\n",
                    "        step = torch.zeros(x.numel(), dtype=torch.float64)\n        step[i] = h\n"
                    "        step = step.reshape(x.shape)\n"
                    "        f_plus, f_minus = float(f(x64 + step)), float(f(x64 - step))\n"),
    RightSubmission("04_softmax_fashion_mnist", "loop-broadcast-one-hot", "nb04_softmax_gradient_loop",
                    "        p_i[y_i] -= 1  # minus its one-hot label\n        grad_W += torch.outer(x_i, p_i)\n",
                    "        p_i = p_i - F.one_hot(y_i, len(b)).to(p_i.dtype)\n        grad_W += x_i[:, None] * p_i\n"),
    RightSubmission("03_nn_module", "predict-where", "nb03_predict",
                    "    return (logits >= 0).float()", "    return torch.where(logits >= 0, 1.0, 0.0)"),
    # np.mean returns numpy.float64, a subclass of float: a Python float as the exercises ask
    RightSubmission("02_gradient_descent", "accuracy-numpy-mean", "nb02_accuracy",
                    "    return correct.float().mean().item()", "    import numpy as np\n    return np.mean(correct.numpy())"),
    RightSubmission("04_softmax_fashion_mnist", "accuracy-numpy-mean", "nb04_accuracy",
                    "    return (predicted == y).float().mean().item()",
                    "    import numpy as np\n    return np.mean((predicted == y).numpy())"),
    # a loss more accurate than the clamped one on saturated scores
    RightSubmission("02_gradient_descent", "loss-exact-softplus", "nb02_loss_and_gradient",
                    "    loss = bce_loss(p, y)", "    z = X @ w + b\n    loss = (F.softplus(z) - y * z).mean()"),
    RightSubmission("02_gradient_descent", "loss-small-eps", "nb02_loss_and_gradient",
                    "    loss = bce_loss(p, y)", "    loss = bce_loss(p, y, eps=1e-15)"),
    # idioms the answer allowlist once refused (the answer was not run at all)
    RightSubmission("03_nn_module", "module-older-super", "nb03_module",
                    "        super().__init__()", "        super(LogisticRegression, self).__init__()"),
    RightSubmission("03_nn_module", "module-nn-module-init", "nb03_module",
                    "        super().__init__()", "        nn.Module.__init__(self)"),
    RightSubmission("03_nn_module", "module-import-torch-nn-as-nn", "nb03_module",
                    "class LogisticRegression(nn.Module):", "import torch.nn as nn\n\n\nclass LogisticRegression(nn.Module):"),
    RightSubmission("03_nn_module", "predict-no-grad-decorator", "nb03_predict",
                    "def predict(model", "@torch.no_grad()\ndef predict(model"),
    RightSubmission("03_nn_module", "predict-set-grad-enabled", "nb03_predict",
                    "    with torch.no_grad():", "    with torch.set_grad_enabled(False):"),
    RightSubmission("01_sigmoid_bce", "sigmoid-underscore-helper", "nb01_sigmoid",
                    "    e = torch.exp(torch.where(negative, z, -z))  # exp(-|z|), in (0, 1]\n",
                    "    def _exp_minus_magnitude(t):\n        return torch.exp(torch.where(t < 0, t, -t))\n"
                    "    e = _exp_minus_magnitude(z)\n"),
    # styles only the grading boundary lets run: the allowlist once refused them to protect the verdict
    RightSubmission("01_sigmoid_bce", "bce-top-level-lambda", "nb01_bce",
                    "    log_p = torch.log(p.clamp_min(eps))\n    log_not_p = torch.log((1 - p).clamp_min(eps))\n"
                    "    return -(y * log_p + (1 - y) * log_not_p).mean()",
                    "    return -(y * safe_log(p, eps) + (1 - y) * safe_log(1 - p, eps)).mean()\n\n\n"
                    "safe_log = lambda t, eps: torch.log(t.clamp_min(eps))"),
    RightSubmission("01_sigmoid_bce", "gradient-named-tuple", "nb01_gradient",
                    "    return grad_w, grad_b",
                    "    return Gradient(grad_w, grad_b)\n\n\nfrom typing import NamedTuple\n\n\n"
                    "class Gradient(NamedTuple):\n    w: torch.Tensor\n    b: torch.Tensor"),
    RightSubmission("03_nn_module", "train-top-level-loss-fn", "nb03_train",  # named like the notebook's demo
                    "    loss_fn = nn.BCEWithLogitsLoss()\n    epoch_losses = []\n    for _ in range(n_epochs):\n"
                    "        total, count = 0.0, 0\n        for X_batch, y_batch in loader:\n"
                    "            optimizer.zero_grad()\n            loss = loss_fn(model(X_batch), y_batch)\n"
                    "            loss.backward()\n            optimizer.step()\n"
                    "            total += loss.item() * len(y_batch)\n            count += len(y_batch)\n"
                    "        epoch_losses.append(total / count)\n    return epoch_losses",
                    "    epoch_losses = []\n    for _ in range(n_epochs):\n"
                    "        total, count = 0.0, 0\n        for X_batch, y_batch in loader:\n"
                    "            optimizer.zero_grad()\n            loss = loss_fn(model(X_batch), y_batch)\n"
                    "            loss.backward()\n            optimizer.step()\n"
                    "            total += loss.item() * len(y_batch)\n            count += len(y_batch)\n"
                    "        epoch_losses.append(total / count)\n    return epoch_losses\n\n\n"
                    "loss_fn = nn.BCEWithLogitsLoss()"),
    RightSubmission("03_nn_module", "train-partial-sgd", "nb03_train",
                    "    optimizer = torch.optim.SGD(model.parameters(), lr=lr)\n    loss_fn = nn.BCEWithLogitsLoss()\n",
                    "    optimizer = plain_sgd(model.parameters(), lr=lr)\n    loss_fn = nn.BCEWithLogitsLoss()\n"
                    "    return run_epochs(model, loader, optimizer, loss_fn, n_epochs)\n\n\n"
                    "import functools\n\nplain_sgd = functools.partial(torch.optim.SGD, momentum=0.0)\n\n\n"
                    "def run_epochs(model, loader, optimizer, loss_fn, n_epochs):\n"),
    # the visible checks ask for a batch of one and for the given generator's order, not for one idiom
    RightSubmission("03_nn_module", "module-index-column", "nb03_module",
                    "return self.linear(X).squeeze(-1)", "return self.linear(X)[:, 0]"),
    # parameter groups with the decay as SGD's default, or lr in every group; momentum with copy_ and add_
    RightSubmission("03_nn_module", "optimizer-default-decay-bias-zero", "nb03_make_optimizer",
                    '[{"params": [model.linear.weight], "weight_decay": weight_decay},\n'
                    '                            {"params": [model.linear.bias], "weight_decay": 0.0}], lr=lr)',
                    '[{"params": [model.linear.weight]}, {"params": [model.linear.bias], "weight_decay": 0}],\n'
                    '                           lr=lr, weight_decay=weight_decay)'),
    RightSubmission("03_nn_module", "optimizer-bias-first-lr-per-group", "nb03_make_optimizer",
                    '[{"params": [model.linear.weight], "weight_decay": weight_decay},\n'
                    '                            {"params": [model.linear.bias], "weight_decay": 0.0}], lr=lr)',
                    '[{"params": [model.linear.bias], "lr": lr, "weight_decay": 0.0},\n'
                    '                            {"params": [model.linear.weight], "lr": lr, "weight_decay": weight_decay}])'),
    RightSubmission("03_nn_module", "momentum-copy-and-add-alpha", "nb03_momentum_step",
                    "            v.mul_(momentum).add_(p.grad)\n            p -= lr * v",
                    "            v.copy_(momentum * v + p.grad)\n            p.add_(v, alpha=-lr)"),
    RightSubmission("02_gradient_descent", "train-own-permutation", "nb02_train",
                    "        for X_batch, y_batch in minibatches(X, y, batch_size=batch_size, generator=generator):\n",
                    "        order = torch.randperm(len(X), generator=generator)\n"
                    "        for start in range(0, len(X), batch_size):\n"
                    "            X_batch, y_batch = X[order[start:start + batch_size]], y[order[start:start + batch_size]]\n"),
    # .T of a vector: torch warns (deprecated) on stderr, which must not cost the visible test cell
    RightSubmission("01_sigmoid_bce", "gradient-transpose-of-a-vector", "nb01_gradient",
                    "    grad_w = X.T @ residual / X.shape[0]", "    grad_w = X.T @ residual.T / X.shape[0]"),
]
