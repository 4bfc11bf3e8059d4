"""course_utils.plots (notebooks 01-03): the figures draw what they claim, under Agg."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.axes import Axes

from course_utils import plots
from course_utils.data import make_blobs


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_plot_sigmoid_draws_sigmoid_and_derivative():
    ax = plots.plot_sigmoid(z_max=6.0)
    assert isinstance(ax, Axes)
    sig, deriv = ax.get_lines()[:2]
    z, s = sig.get_data()
    assert z[0] == -6.0 and z[-1] == 6.0
    assert torch.allclose(torch.as_tensor(s), torch.sigmoid(torch.as_tensor(z)))
    assert float(max(deriv.get_ydata())) == pytest.approx(0.25, abs=1e-4)


def test_plot_sigmoid_uses_the_given_axes_and_rejects_bad_input():
    _, ax = plt.subplots()
    assert plots.plot_sigmoid(ax=ax) is ax
    with pytest.raises(ValueError, match="^z_max must"):
        plots.plot_sigmoid(z_max=0)
    with pytest.raises(TypeError, match="^ax must"):
        plots.plot_sigmoid(ax="axes")


def test_plot_loss_curve_accepts_lists_and_tensors():
    ax = plots.plot_loss_curve([3.0, 2.0, 1.5], label="train loss")
    line = ax.get_lines()[0]
    assert list(line.get_ydata()) == [3.0, 2.0, 1.5]
    assert ax.get_ylabel() == "train loss"
    ax = plots.plot_loss_curve(torch.tensor([1.0, 0.5]))
    assert list(ax.get_lines()[0].get_ydata()) == [1.0, 0.5]


@pytest.mark.parametrize(
    ("losses", "error", "message"),
    [
        ([], ValueError, "losses is empty"),
        (torch.zeros(2, 2), ValueError, "losses must be 1-D"),
        (["a"], TypeError, "losses must be a sequence of numbers"),
        (3.0, TypeError, "losses must be a sequence"),
    ],
)
def test_plot_loss_curve_bad_input(losses, error, message):
    with pytest.raises(error, match=f"^{message}"):
        plots.plot_loss_curve(losses)


def test_plot_decision_boundary_contour_sits_where_the_model_says():
    X, y = make_blobs(60, seed=0)
    ax = plots.plot_decision_boundary(lambda g: torch.sigmoid(3 * (g[:, 0] - 0.5)), X, y)
    contour = [c for c in ax.collections if hasattr(c, "get_paths") and len(c.get_paths()) and
               getattr(c, "levels", None) is not None and list(c.levels) == [0.5]]
    assert contour, "the 0.5 contour is drawn"
    vertices = torch.as_tensor(contour[0].get_paths()[0].vertices)
    assert torch.allclose(vertices[:, 0], torch.full((len(vertices),), 0.5, dtype=vertices.dtype), atol=0.05)
    labels = sorted(t.get_text() for t in ax.get_legend().get_texts())
    assert labels == ["y = 0", "y = 1"]


def test_plot_decision_boundary_accepts_a_module_returning_logits():
    X, y = make_blobs(40, seed=1)
    model = torch.nn.Linear(2, 1)
    ax = plots.plot_decision_boundary(model, X, y, logits=True, resolution=20)
    assert isinstance(ax, Axes)
    assert model.weight.grad is None, "plotting must not build a graph"


@pytest.mark.parametrize(
    ("model", "X", "y", "error", "message"),
    [
        ("f", torch.zeros(4, 2), torch.zeros(4), TypeError, "model must be callable"),
        (lambda g: g[:, 0], torch.zeros(4, 3), torch.zeros(4), ValueError, "X must be a float tensor of shape"),
        (lambda g: g[:, 0], torch.zeros(4, 2, dtype=torch.long), torch.zeros(4), ValueError, "X must be"),
        (lambda g: g[:, 0], torch.zeros(4, 2), torch.zeros(5), ValueError, r"y must be a tensor of shape \(4,\)"),
        (lambda g: g, torch.zeros(4, 2), torch.zeros(4), ValueError, "model must return one value per grid point"),
    ],
)
def test_plot_decision_boundary_bad_input(model, X, y, error, message):
    with pytest.raises(error, match=f"^{message}"):
        plots.plot_decision_boundary(model, X, y, resolution=5)


def test_training_curves_records_and_redraws_one_figure():
    curves = plots.TrainingCurves(["loss", "accuracy"])
    curves.update(loss=1.0, accuracy=torch.tensor(0.5))
    curves.update(loss=0.5, accuracy=0.75)
    assert curves.history == {"loss": [1.0, 0.5], "accuracy": [0.5, 0.75]}
    assert len(curves.figure.axes) == 2
    line = curves.axes["loss"].get_lines()
    assert len(line) == 1 and list(line[0].get_ydata()) == [1.0, 0.5]
    assert plt.get_fignums() == [], "the figure is shown through a display handle, never left open"


def test_training_curves_in_a_notebook_show_one_png_and_update_it(monkeypatch):
    import IPython.display

    shown, updated = [], []

    class Handle:
        def update(self, obj):
            updated.append(obj)

    def display(obj, display_id=False):
        shown.append((obj, display_id))
        return Handle()

    monkeypatch.setattr(plots, "_in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", display)
    curves = plots.TrainingCurves(["loss"])
    curves.update(loss=1.0)
    curves.update(loss=0.5)
    assert len(shown) == 1 and shown[0][1] is True and len(updated) == 1
    for image in (shown[0][0], updated[0]):
        assert isinstance(image, IPython.display.Image) and image.data.startswith(b"\x89PNG")
    # the figure's own size, not a "tight" bounding box drawn a second time
    width, height = (int.from_bytes(updated[0].data[16 + 4 * i:20 + 4 * i], "big") for i in range(2))
    assert (width, height) == tuple(round(v) for v in curves.figure.get_size_inches() * curves.figure.dpi)


@pytest.mark.parametrize(
    ("metrics", "error"),
    [("loss", TypeError), ([], TypeError), (["loss", "loss"], ValueError), ([3], TypeError)],
)
def test_training_curves_bad_metrics(metrics, error):
    with pytest.raises(error, match="^metrics must"):
        plots.TrainingCurves(metrics)


def test_training_curves_bad_updates():
    curves = plots.TrainingCurves(["loss"])
    with pytest.raises(ValueError, match=r"^update\(\) needs exactly the metrics \['loss'\]"):
        curves.update(los=1.0)
    with pytest.raises(TypeError, match="^loss must be a number"):
        curves.update(loss="high")
    with pytest.raises(ValueError, match="^loss must be a single number"):
        curves.update(loss=torch.zeros(2))
    assert curves.history == {"loss": []}


def test_training_curves_bad_update_records_nothing():
    curves = plots.TrainingCurves(["loss", "accuracy"])
    with pytest.raises(TypeError, match="^accuracy must be a number"):
        curves.update(loss=1.0, accuracy=None)
    assert curves.history == {"loss": [], "accuracy": []}


@pytest.mark.parametrize("epochs", [1, 2, 3, 7])
def test_training_curves_tick_whole_epochs_from_the_first_frame(epochs):
    curves = plots.TrainingCurves(["loss"])
    for epoch in range(epochs):
        curves.update(loss=1.0 / (epoch + 1))
        curves.figure.canvas.draw()
        ticks = [t for t in curves.axes["loss"].get_xticks() if curves.axes["loss"].get_xlim()[0] <= t
                 <= curves.axes["loss"].get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), f"after {epoch + 1} epoch(s): ticks {ticks}"
