"""course_utils.plots (notebook 04): image grid, confusion matrix, weight images, under Agg."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from course_utils import plots
from course_utils.data import FASHION_MNIST_CLASSES as CLASSES


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _images(n: int) -> torch.Tensor:
    return torch.rand(n, 784, generator=torch.Generator().manual_seed(n))


def test_image_grid_shows_each_image_with_its_class_name():
    X, y = _images(12), torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 0])
    fig = plots.plot_image_grid(X, y, CLASSES, ncols=5)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 15  # 3 rows of 5; the last 3 stay empty
    for i in range(12):
        ax = fig.axes[i]
        assert ax.get_title() == CLASSES[int(y[i])]
        (image,) = ax.get_images()
        np.testing.assert_allclose(image.get_array(), X[i].reshape(28, 28).numpy())
        assert image.get_clim() == (0.0, 1.0)
    assert all(not ax.get_images() for ax in fig.axes[12:])


def test_image_grid_accepts_28x28_uint8_and_explicit_titles():
    X = (torch.rand(3, 28, 28) * 255).to(torch.uint8)
    fig = plots.plot_image_grid(X, titles=["a", "b\nc", "d"])
    assert [ax.get_title() for ax in fig.axes] == ["a", "b\nc", "d"]
    assert fig.axes[0].get_images()[0].get_clim() == (0.0, 255.0)
    fig = plots.plot_image_grid(_images(2), torch.tensor([3, 4]))
    assert [ax.get_title() for ax in fig.axes] == ["3", "4"]


def test_image_grid_rejects_bad_input():
    with pytest.raises(TypeError, match="images"):
        plots.plot_image_grid(np.zeros((2, 784)))
    with pytest.raises(ValueError, match="images"):
        plots.plot_image_grid(torch.zeros(2, 100))
    with pytest.raises(ValueError, match="labels"):
        plots.plot_image_grid(_images(3), torch.tensor([0, 1]), CLASSES)
    with pytest.raises(ValueError, match="labels must lie"):
        plots.plot_image_grid(_images(2), torch.tensor([0, 10]), CLASSES)
    with pytest.raises(ValueError, match="titles"):
        plots.plot_image_grid(_images(2), titles=["only one"])
    with pytest.raises(TypeError, match="class_names"):
        plots.plot_image_grid(_images(2), torch.tensor([0, 1]), "T-shirt")
    with pytest.raises(ValueError, match="ncols"):
        plots.plot_image_grid(_images(2), ncols=0)


def test_confusion_matrix_draws_counts_with_class_names():
    cm = torch.arange(100).reshape(10, 10)
    ax = plots.plot_confusion_matrix(cm, CLASSES)
    assert isinstance(ax, Axes)
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), cm.numpy())
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 100 and texts[:3] == ["0", "1", "2"] and texts[-1] == "99"
    assert [t.get_text() for t in ax.get_xticklabels()] == list(CLASSES)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(CLASSES)
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"


def test_confusion_matrix_normalised_rows_sum_to_one_and_uses_given_axes():
    _, given = plt.subplots()
    cm = torch.tensor([[3, 1], [0, 0]])
    ax = plots.plot_confusion_matrix(cm, ["a", "b"], normalize=True, ax=given)
    assert ax is given
    np.testing.assert_allclose(ax.get_images()[0].get_array(), [[0.75, 0.25], [0.0, 0.0]])
    assert [t.get_text() for t in ax.texts] == ["0.75", "0.25", "0.00", "0.00"]


def test_confusion_matrix_rejects_bad_input():
    with pytest.raises(ValueError, match="square"):
        plots.plot_confusion_matrix(torch.zeros(2, 3), ["a", "b"])
    with pytest.raises(ValueError, match="class_names has 3 names"):
        plots.plot_confusion_matrix(torch.zeros(2, 2), ["a", "b", "c"])
    with pytest.raises(TypeError, match="normalize"):
        plots.plot_confusion_matrix(torch.zeros(2, 2), ["a", "b"], normalize="yes")
    with pytest.raises(TypeError, match="ax"):
        plots.plot_confusion_matrix(torch.zeros(2, 2), ["a", "b"], ax="axes")


def test_weight_images_show_each_row_with_a_symmetric_scale():
    weight = torch.randn(10, 784, generator=torch.Generator().manual_seed(0))
    fig = plots.plot_weight_images(weight, CLASSES)
    assert isinstance(fig, Figure) and len(fig.axes) == 10
    for k, ax in enumerate(fig.axes):
        assert ax.get_title() == CLASSES[k]
        image = ax.get_images()[0]
        np.testing.assert_allclose(image.get_array(), weight[k].reshape(28, 28).numpy())
        low, high = image.get_clim()
        assert low == -high == pytest.approx(-float(weight[k].abs().max()))
    # a trained nn.Linear's weight (a Parameter that requires grad) works as is
    fig = plots.plot_weight_images(torch.nn.Linear(784, 2).weight, ["a", "b"])
    assert len(fig.axes) == 2


def test_weight_images_reject_bad_input():
    with pytest.raises(ValueError, match="weight"):
        plots.plot_weight_images(torch.zeros(784, 10), CLASSES)
    with pytest.raises(ValueError, match="class_names has 10 names"):
        plots.plot_weight_images(torch.zeros(3, 784), CLASSES)
