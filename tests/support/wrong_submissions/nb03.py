"""Wrong submissions for notebook 03 (nn.Module and nn.BCEWithLogitsLoss)."""

from . import wrong as _wrong

NB03 = "03_nn_module"

WRONG = [
    # Exercise 1: the module
    _wrong(NB03, "module-returns-probabilities", "8: a sigmoid in forward, so the model returns probabilities",
           "nb03_module", "return self.linear(X).squeeze(-1)", "return torch.sigmoid(self.linear(X).squeeze(-1))",
           {"nb03_module_tests", "nb03_module_hidden_tests"}),
    _wrong(NB03, "module-column-output", "1: logits of shape (n, 1), which broadcast against labels (n,) to (n, n)",
           "nb03_module", "return self.linear(X).squeeze(-1)", "return self.linear(X)",
           {"nb03_module_tests", "nb03_module_hidden_tests"}),
    _wrong(NB03, "module-squeeze-all", "1: .squeeze() turns a batch of one into a 0-d tensor",
           "nb03_module", "return self.linear(X).squeeze(-1)", "return self.linear(X).squeeze()",
           {"nb03_module_hidden_tests"}),
    _wrong(NB03, "module-two-features", "the layer hard-coded as nn.Linear(2, 1), ignoring n_features",
           "nb03_module", "self.linear = nn.Linear(n_features, 1)", "self.linear = nn.Linear(2, 1)",
           {"nb03_module_hidden_tests"}),
    _wrong(NB03, "module-no-bias", "no bias term: nn.Linear(n_features, 1, bias=False)",
           "nb03_module", "self.linear = nn.Linear(n_features, 1)", "self.linear = nn.Linear(n_features, 1, bias=False)",
           {"nb03_module_tests", "nb03_module_hidden_tests"}),
    # Exercise 2: the training loop
    _wrong(NB03, "train-no-zero-grad", "7: gradients are never zeroed and accumulate over the steps",
           "nb03_train", "            optimizer.zero_grad()\n", "",
           {"nb03_train_tests", "nb03_train_hidden_tests"}),
    _wrong(NB03, "train-sigmoid-before-loss", "8: a sigmoid applied before BCEWithLogitsLoss (two sigmoids)",
           "nb03_train", "loss = loss_fn(model(X_batch), y_batch)", "loss = loss_fn(torch.sigmoid(model(X_batch)), y_batch)",
           {"nb03_train_tests", "nb03_train_hidden_tests"}),
    _wrong(NB03, "train-bceloss-on-sigmoid", "4/8: BCELoss on sigmoid(logits): stuck at 100 with no gradient when saturated",
           "nb03_train", "loss_fn = nn.BCEWithLogitsLoss()",
           "loss_fn = lambda logits, target: F.binary_cross_entropy(torch.sigmoid(logits), target)",
           {"nb03_train_hidden_tests"}),
    _wrong(NB03, "train-sum-loss", "6: the summed loss, so the step is batch-size times larger",
           "nb03_train", "loss_fn = nn.BCEWithLogitsLoss()", 'loss_fn = nn.BCEWithLogitsLoss(reduction="sum")',
           {"nb03_train_tests", "nb03_train_hidden_tests"}),
    _wrong(NB03, "train-step-per-epoch", "one optimiser step per epoch, on the gradients summed over its batches",
           "nb03_train",
           "        for X_batch, y_batch in loader:\n"
           "            optimizer.zero_grad()\n"
           "            loss = loss_fn(model(X_batch), y_batch)\n"
           "            loss.backward()\n"
           "            optimizer.step()\n"
           "            total += loss.item() * len(y_batch)\n"
           "            count += len(y_batch)\n",
           "        optimizer.zero_grad()\n"
           "        for X_batch, y_batch in loader:\n"
           "            loss = loss_fn(model(X_batch), y_batch)\n"
           "            loss.backward()\n"
           "            total += loss.item() * len(y_batch)\n"
           "            count += len(y_batch)\n"
           "        optimizer.step()\n",
           {"nb03_train_tests", "nb03_train_hidden_tests"}),
    _wrong(NB03, "train-last-batch-loss", "the epoch loss is the last batch's loss, not the mean over the epoch",
           "nb03_train", "epoch_losses.append(total / count)", "epoch_losses.append(loss.item())",
           {"nb03_train_tests", "nb03_train_hidden_tests"}),
    _wrong(NB03, "train-mean-of-batch-losses", "6: the unweighted mean of the batch losses, wrong when the last batch is smaller",
           "nb03_train", "            total += loss.item() * len(y_batch)\n            count += len(y_batch)\n",
           "            total += loss.item()\n            count += 1\n",
           {"nb03_train_tests", "nb03_train_hidden_tests"}),
    _wrong(NB03, "train-accumulate-tensor", "the epoch's loss summed as a tensor (no .item()): not a float, keeps every graph",
           "nb03_train", "total += loss.item() * len(y_batch)", "total += loss * len(y_batch)",
           {"nb03_train_tests", "nb03_train_hidden_tests"}),
    # Exercise 3: predictions
    _wrong(NB03, "predict-logits-at-half", "2: logits thresholded at 0.5 instead of 0",
           "nb03_predict", "return (logits >= 0).float()", "return (logits > 0.5).float()",
           {"nb03_predict_tests", "nb03_predict_hidden_tests"}),
    _wrong(NB03, "predict-sigmoid-at-zero", "2: probabilities thresholded at 0 (every example is class 1)",
           "nb03_predict", "return (logits >= 0).float()", "return (torch.sigmoid(logits) > 0).float()",
           {"nb03_predict_tests", "nb03_predict_hidden_tests"}),
    _wrong(NB03, "predict-probabilities", "probabilities returned instead of 0/1 labels",
           "nb03_predict", "return (logits >= 0).float()", "return torch.sigmoid(logits)",
           {"nb03_predict_tests", "nb03_predict_hidden_tests"}),
    _wrong(NB03, "predict-bool", "labels returned as bool, not the documented float 0.0/1.0",
           "nb03_predict", "return (logits >= 0).float()", "return logits > 0",
           {"nb03_predict_tests", "nb03_predict_hidden_tests"}),
    _wrong(NB03, "predict-strict-at-zero", "2: the tie rule broken: a logit of exactly 0 (p = 0.5) predicted as class 0",
           "nb03_predict", "return (logits >= 0).float()", "return (logits > 0).float()",
           {"nb03_predict_tests", "nb03_predict_hidden_tests"}),
]
