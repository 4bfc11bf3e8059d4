"""The training set-up of notebook 04, shared with its tests and the benchmark.

Softmax regression on Fashion-MNIST: one ``nn.Linear(784, 10)`` trained on
``nn.CrossEntropyLoss`` with mini-batch SGD. The hyper-parameters live here
once, so that the notebook, the real-data test and ``make bench`` all train
the same model in the same way. The training loop itself is an exercise of
the notebook.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from course_utils._validation import InvalidArgumentError, check_int, check_number

__all__ = ["SoftmaxRecipe", "SOFTMAX_RECIPE", "make_softmax_model", "make_sgd"]


@dataclass(frozen=True)
class SoftmaxRecipe:
    """Hyper-parameters of softmax regression on Fashion-MNIST.

    SGD with momentum for at most ``epochs`` passes over the data in
    mini-batches of ``batch_size``; the learning rate is multiplied by
    ``lr_drop`` once ``lr_drop_epoch`` epochs are done, so that the last
    epochs settle into the minimum instead of bouncing around it. Early
    stopping ends training sooner: once the validation accuracy has not
    improved for ``patience`` epochs in a row, training stops and the model
    gets back the parameters of its best epoch (the loop is notebook 04's).
    ``seed`` seeds the generator that shuffles the mini-batches.
    """

    batch_size: int = 256
    epochs: int = 20
    lr: float = 0.1
    momentum: float = 0.9
    lr_drop_epoch: int = 7
    lr_drop: float = 0.1
    patience: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("batch_size", "epochs", "lr_drop_epoch", "patience"):
            check_int(name, getattr(self, name), minimum=1)
        check_int("seed", self.seed, minimum=0)
        check_number("lr", self.lr, minimum=0, strict=True)
        check_number("momentum", self.momentum, minimum=0)
        check_number("lr_drop", self.lr_drop, minimum=0, strict=True)


# On the real Fashion-MNIST this reaches about 0.84-0.85 test accuracy, close
# to the best a linear model does; a few seconds of training on a laptop CPU
# (on the synthetic stand-in, early stopping ends it after 14 of the 20 epochs).
SOFTMAX_RECIPE = SoftmaxRecipe()


def make_softmax_model(n_features: int = 784, n_classes: int = 10) -> nn.Linear:
    """``nn.Linear(n_features, n_classes)`` with all weights and biases zero.

    The loss of softmax regression is convex, so no random start is needed;
    starting at zero makes training reproducible without any seed. The
    model maps a batch of shape (n, n_features) to logits of shape (n, n_classes).
    """
    check_int("n_features", n_features, minimum=1)
    check_int("n_classes", n_classes, minimum=1)
    model = nn.Linear(n_features, n_classes)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
    return model


def make_sgd(
    model: nn.Module, recipe: SoftmaxRecipe = SOFTMAX_RECIPE,
) -> tuple[torch.optim.SGD, torch.optim.lr_scheduler.MultiStepLR]:
    """The optimiser and learning-rate schedule of ``recipe`` for ``model``'s parameters.

    Call ``scheduler.step()`` once at the end of every epoch.
    """
    if not isinstance(model, nn.Module):
        raise InvalidArgumentError(f"model must be an nn.Module such as nn.Linear(784, 10), got {type(model).__name__}")
    if not isinstance(recipe, SoftmaxRecipe):
        raise InvalidArgumentError(f"recipe must be a SoftmaxRecipe, got {type(recipe).__name__}")
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[recipe.lr_drop_epoch], gamma=recipe.lr_drop)
    return optimizer, scheduler
