"""Every public function of course_utils rejects a bad argument the same way: one exception type
(both ValueError and TypeError) whose message names the argument; one randomness convention."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from course_utils import checks, data, plots, training  # noqa: E402
from course_utils._validation import InvalidArgumentError  # noqa: E402

X, Y = torch.zeros(6, 2), torch.zeros(6)
CLASSES = [f"c{k}" for k in range(3)]

BAD_CALLS = [  # (name, call, the argument the message must name)
    ("make_blobs n_samples", lambda: data.make_blobs(1), "n_samples"),
    ("make_blobs distance", lambda: data.make_blobs(10, distance=-1.0), "distance"),
    ("make_blobs seed", lambda: data.make_blobs(10, seed="7"), "seed"),
    ("train_test_split test_fraction", lambda: data.train_test_split(X, Y, test_fraction=2.0), "test_fraction"),
    ("train_test_split seed", lambda: data.train_test_split(X, Y, seed=1.5), "seed"),
    ("train_test_split tensors", lambda: data.train_test_split(X, Y[:3]), "tensors[1]"),
    ("minibatches batch_size", lambda: next(data.minibatches(X, batch_size=0)), "batch_size"),
    ("minibatches shuffle", lambda: next(data.minibatches(X, batch_size=2, shuffle="no")), "shuffle"),
    ("minibatches seed and generator", lambda: next(data.minibatches(X, batch_size=2, seed=1,
                                                                     generator=torch.Generator())), "generator"),
    ("fashion_mnist_raw_dir root", lambda: data.fashion_mnist_raw_dir(3), "root"),
    ("load_fashion_mnist root", lambda: data.load_fashion_mnist(root=3), "root"),
    ("load_fashion_mnist flatten", lambda: data.load_fashion_mnist(flatten="yes"), "flatten"),
    ("plot_sigmoid z_max", lambda: plots.plot_sigmoid(-1.0), "z_max"),
    ("plot_loss_curve losses", lambda: plots.plot_loss_curve([]), "losses"),
    ("plot_decision_boundary X", lambda: plots.plot_decision_boundary(lambda x: x[:, 0], torch.zeros(3), Y), "X"),
    ("TrainingCurves metrics", lambda: plots.TrainingCurves([]), "metrics"),
    ("plot_image_grid images", lambda: plots.plot_image_grid("images"), "images"),
    ("plot_confusion_matrix cm", lambda: plots.plot_confusion_matrix(torch.zeros(2, 3), CLASSES), "cm"),
    ("plot_weight_images weight", lambda: plots.plot_weight_images(torch.zeros(3, 5), CLASSES), "weight"),
    ("check_tensor name", lambda: checks.check_tensor(X, name=""), "name"),
    ("check_close atol", lambda: checks.check_close(X, X, name="x", atol=-1.0), "atol"),
    ("check_warning_free func", lambda: checks.check_warning_free(3, name="f"), "func"),
    ("check_avoids forbidden", lambda: checks.check_avoids(abs, 1, forbidden={}, name="f"), "forbidden"),
    ("using_reference namespace", lambda: checks.using_reference([]).__enter__(), "namespace"),
    ("report_pass name", lambda: checks.report_pass(None), "name"),
    ("make_softmax_model n_classes", lambda: training.make_softmax_model(784, 0), "n_classes"),
    ("make_sgd model", lambda: training.make_sgd("model"), "model"),
    ("SoftmaxRecipe lr", lambda: training.SoftmaxRecipe(lr=0.0), "lr"),
    ("SoftmaxRecipe lr not a number", lambda: training.SoftmaxRecipe(lr=float("nan")), "lr"),
    ("SoftmaxRecipe batch_size", lambda: training.SoftmaxRecipe(batch_size=2.5), "batch_size"),
]


@pytest.mark.parametrize("call, argument", [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_a_bad_argument_raises_one_error_that_is_both_value_and_type_error(call, argument):
    with pytest.raises(InvalidArgumentError) as caught:
        call()
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TypeError)
    assert str(caught.value).startswith(argument) or f" {argument} " in str(caught.value), str(caught.value)


def test_every_public_function_is_in_the_table():
    covered = {name.split()[0] for name, _, _ in BAD_CALLS}
    public = {name for module in (data, plots, checks, training) for name in module.__all__
              if callable(getattr(module, name)) and name not in ("data_dir", "load_exam_scores", "FashionMNISTData")}
    assert public <= covered, f"no bad-argument case for {sorted(public - covered)}"


def test_seed_is_an_int_a_generator_or_none_everywhere():
    # An int: the same result every call.
    assert torch.equal(data.make_blobs(20, seed=3)[0], data.make_blobs(20, seed=3)[0])
    first = [b[0] for b in data.minibatches(torch.arange(10.0), batch_size=10, seed=4)]
    again = [b[0] for b in data.minibatches(torch.arange(10.0), batch_size=10, seed=4)]
    assert torch.equal(first[0], again[0])
    # A generator: reproducible from its seed, and a new order each epoch.
    g = torch.Generator().manual_seed(4)
    epoch1 = next(data.minibatches(torch.arange(10.0), batch_size=10, seed=g))[0]
    epoch2 = next(data.minibatches(torch.arange(10.0), batch_size=10, seed=g))[0]
    assert not torch.equal(epoch1, epoch2)
    assert torch.equal(epoch1, next(data.minibatches(torch.arange(10.0), batch_size=10,
                                                    generator=torch.Generator().manual_seed(4)))[0]), \
        "generator= is the same argument as seed="
    a = data.train_test_split(torch.arange(10.0), seed=5)
    b = data.train_test_split(torch.arange(10.0), seed=torch.Generator().manual_seed(5))
    assert all(torch.equal(u, v) for u, v in zip(a, b)), "an int seed is a generator seeded with it"
    data.make_blobs(20, seed=None), data.make_blobs(20, seed=torch.Generator())


def test_the_recipe_is_frozen_and_a_model_still_trains_with_it():
    with pytest.raises(AttributeError):
        training.SOFTMAX_RECIPE.lr = 1.0  # type: ignore[misc]
    optimizer, _ = training.make_sgd(nn.Linear(2, 2))
    assert optimizer.param_groups[0]["lr"] == training.SOFTMAX_RECIPE.lr
