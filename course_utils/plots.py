"""The figures the notebooks draw.

Every function draws on ``ax`` when one is given, otherwise on a new figure,
and returns the matplotlib ``Axes`` so a notebook (or a test) can inspect or
restyle it. All of them work under the non-interactive Agg backend.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from course_utils._validation import InvalidArgumentError, check_bool, check_int

__all__ = ["plot_sigmoid", "plot_loss_curve", "plot_decision_boundary", "TrainingCurves",
           "plot_image_grid", "plot_confusion_matrix", "plot_weight_images"]


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
        return ax
    if not isinstance(ax, Axes):
        raise InvalidArgumentError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def plot_sigmoid(z_max: float = 8.0, ax: Axes | None = None) -> Axes:
    """Plot the sigmoid and its derivative s(z)(1 - s(z)) on [-z_max, z_max]."""
    if not isinstance(z_max, (int, float)) or isinstance(z_max, bool) or not z_max > 0:
        raise InvalidArgumentError(f"z_max must be a positive number, got {z_max!r}")
    ax = _axes(ax)
    z = torch.linspace(-z_max, z_max, 401)
    s = torch.sigmoid(z)
    ax.plot(z, s, label=r"$\sigma(z)$")
    ax.plot(z, s * (1 - s), label=r"$\sigma'(z) = \sigma(z)(1-\sigma(z))$")
    ax.axhline(0.5, color="grey", lw=0.5, ls="--")
    ax.axvline(0.0, color="grey", lw=0.5, ls="--")
    ax.set_xlabel("z")
    ax.set_title("The sigmoid and its derivative")
    ax.legend()
    return ax


def plot_loss_curve(losses: Sequence[float] | torch.Tensor, *, label: str = "loss", ax: Axes | None = None) -> Axes:
    """Plot a loss (or any metric) against the step number."""
    if isinstance(losses, torch.Tensor):
        if losses.dim() != 1:
            raise InvalidArgumentError(f"losses must be 1-D, got a tensor of shape {tuple(losses.shape)}")
        values = [float(v) for v in losses.detach()]
    elif isinstance(losses, Sequence) and not isinstance(losses, str):
        try:
            values = [float(v) for v in losses]
        except (TypeError, ValueError):
            raise InvalidArgumentError("losses must be a sequence of numbers, such as a list of floats") from None
    else:
        raise InvalidArgumentError(f"losses must be a sequence of numbers or a 1-D tensor, got {type(losses).__name__}")
    if not values:
        raise InvalidArgumentError("losses is empty: record at least one value before plotting")
    ax = _axes(ax)
    ax.plot(range(len(values)), values, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel(label)
    ax.legend()
    return ax


def plot_decision_boundary(
    model: Callable[[torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    logits: bool = False,
    ax: Axes | None = None,
    resolution: int = 200,
) -> Axes:
    """Shade P(y = 1 | x) of a 2-D classifier, draw its 0.5 contour, and scatter the data.

    Args:
        model: any callable (a function or an ``nn.Module``) mapping an (m, 2)
            float tensor to m probabilities, shape (m,) or (m, 1); with
            ``logits=True`` it returns logits and the sigmoid is applied here.
        X: float tensor of shape (n, 2), in the coordinates the model expects.
        y: tensor of shape (n,) with labels 0 and 1.
    """
    if not callable(model):
        raise InvalidArgumentError(f"model must be callable (a function or an nn.Module), got {type(model).__name__}")
    if not isinstance(X, torch.Tensor) or X.dim() != 2 or X.shape[1] != 2 or not X.is_floating_point():
        raise InvalidArgumentError(f"X must be a float tensor of shape (n, 2), got {_describe(X)}")
    if not isinstance(y, torch.Tensor) or y.shape != (X.shape[0],):
        raise InvalidArgumentError(f"y must be a tensor of shape ({X.shape[0]},) matching X, got {_describe(y)}")
    check_int("resolution", resolution, minimum=2)
    ax = _axes(ax)
    X = X.detach()
    lo, hi = X.min(dim=0).values, X.max(dim=0).values
    pad = 0.1 * (hi - lo).clamp_min(1e-6)
    g0 = torch.linspace(float(lo[0] - pad[0]), float(hi[0] + pad[0]), resolution, dtype=X.dtype)
    g1 = torch.linspace(float(lo[1] - pad[1]), float(hi[1] + pad[1]), resolution, dtype=X.dtype)
    xx, yy = torch.meshgrid(g0, g1, indexing="xy")
    grid = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)
    with torch.no_grad():
        out = model(grid)
    if not isinstance(out, torch.Tensor) or out.numel() != grid.shape[0]:
        raise InvalidArgumentError(f"model must return one value per grid point ({grid.shape[0]}), "
                                   f"got {_describe(out)}")
    prob = out.reshape(xx.shape).to(torch.float32)
    if logits:
        prob = torch.sigmoid(prob)
    contour = ax.contourf(xx, yy, prob, levels=torch.linspace(0, 1, 11).tolist(), cmap="RdBu_r", alpha=0.6)
    ax.contour(xx, yy, prob, levels=[0.5], colors="black", linewidths=1.5)
    ax.figure.colorbar(contour, ax=ax, label="P(y = 1 | x)")
    for label, marker, colour in ((0, "o", "tab:blue"), (1, "^", "tab:red")):
        mask = y.detach() == label
        ax.scatter(X[mask, 0], X[mask, 1], marker=marker, c=colour, edgecolors="k", linewidths=0.5, s=25,
                   label=f"y = {label}")
    ax.legend(loc="best")
    return ax


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return type(value).__name__


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with Jupyter
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class TrainingCurves:
    """Training curves that redraw one figure in place while a model trains.

    In a notebook the figure is shown once and updated on every call to
    :meth:`update`; elsewhere (scripts, tests, nbgrader) nothing is
    displayed, and the history is still recorded.

    Example::

        curves = TrainingCurves(["loss", "accuracy"])
        for epoch in range(10):
            ...
            curves.update(loss=train_loss, accuracy=test_acc)
    """

    def __init__(self, metrics: Sequence[str] = ("loss",), *, xlabel: str = "epoch") -> None:
        if isinstance(metrics, str) or not isinstance(metrics, Sequence) or not metrics \
                or not all(isinstance(m, str) and m for m in metrics):
            raise InvalidArgumentError("metrics must be a non-empty list of names such as ['loss', 'accuracy'], "
                                       f"got {metrics!r}")
        if len(set(metrics)) != len(metrics):
            raise InvalidArgumentError(f"metrics must not repeat a name, got {list(metrics)}")
        self.history: dict[str, list[float]] = {m: [] for m in metrics}
        self.xlabel = xlabel
        # A low resolution, a layout computed once and one rendering keep each redraw cheap (about 0.1 s).
        self.figure, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2), squeeze=False, dpi=72)
        self.axes: dict[str, Axes] = dict(zip(metrics, axes[0]))
        plt.close(self.figure)  # shown through the display handle below, not at the end of the cell
        self._display: Any = None

    def update(self, **values: float) -> None:
        """Record one value per metric (all of them, every time) and redraw."""
        if set(values) != set(self.history):
            raise InvalidArgumentError(f"update() needs exactly the metrics {sorted(self.history)}, "
                                       f"got {sorted(values)}")
        numbers = {}
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                if value.numel() != 1:
                    raise InvalidArgumentError(f"{name} must be a single number, "
                                               f"got a tensor of shape {tuple(value.shape)}")
                value = value.item()
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise InvalidArgumentError(f"{name} must be a number, got {type(value).__name__}")
            numbers[name] = float(value)
        for name, number in numbers.items():
            self.history[name].append(number)
        self._redraw()

    def _redraw(self) -> None:
        for name, ax in self.axes.items():
            values = self.history[name]
            ax.clear()
            ax.plot(range(1, len(values) + 1), values, marker="o" if len(values) < 30 else None)
            ax.set_xlabel(self.xlabel)
            ax.set_xlim(0.5, len(values) + 0.5)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # whole epochs from the first frame
            ax.set_title(name)
            ax.grid(alpha=0.3)
        if len(next(iter(self.history.values()))) == 1:
            self.figure.tight_layout()
        if _in_notebook():
            from IPython.display import Image, display

            # Rendered once, as laid out above: the inline backend's default, a "tight" bounding box,
            # draws the figure twice and doubles the cost of every redraw.
            png = io.BytesIO()
            self.figure.savefig(png, format="png")
            image = Image(data=png.getvalue(), format="png")
            if self._display is None:
                self._display = display(image, display_id=True)
            else:
                self._display.update(image)


# --- Fashion-MNIST (notebook 04) ------------------------------------------------


def _image_batch(images: object, name: str) -> torch.Tensor:
    """Images as an (n, h, w) float tensor: accepts (n, h, w), or (n, 784) rows of 28 x 28 images."""
    if not isinstance(images, torch.Tensor) or not (images.is_floating_point() or images.dtype == torch.uint8):
        raise InvalidArgumentError(f"{name} must be a float or uint8 tensor of shape (n, 784) or (n, 28, 28), "
                                   f"got {_describe(images)}")
    if images.dim() == 2 and images.shape[1] == 784:
        images = images.reshape(-1, 28, 28)
    if images.dim() != 3 or images.shape[0] == 0:
        raise InvalidArgumentError(f"{name} must have shape (n, 784) or (n, h, w) with n >= 1, got {_describe(images)}")
    return images.detach().to(torch.float32)


def _class_names(class_names: object, n_classes: int | None = None) -> list[str]:
    if isinstance(class_names, str) or not isinstance(class_names, Sequence) \
            or not all(isinstance(c, str) for c in class_names):
        raise InvalidArgumentError(f"class_names must be a list of strings, got {class_names!r}")
    if n_classes is not None and len(class_names) != n_classes:
        raise InvalidArgumentError(f"class_names has {len(class_names)} names but there are {n_classes} classes")
    return list(class_names)


def _grid(n: int, ncols: int, size: float, title_lines: int = 1) -> tuple[Figure, list[Axes]]:
    """A grid of n image axes with room for titles (a fixed layout: tight_layout is slow with many axes)."""
    check_int("ncols", ncols, minimum=1)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    title = 0.18 * title_lines  # inches of title above each image
    height = (size + title) * nrows + 0.1
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, height), squeeze=False)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.05 / height, top=1 - (title + 0.05) / height,
                        wspace=0.08, hspace=title / size + 0.05)
    flat = list(axes.ravel())
    for ax in flat:
        ax.set_axis_off()
    return fig, flat


def plot_image_grid(
    images: torch.Tensor,
    labels: torch.Tensor | None = None,
    class_names: Sequence[str] | None = None,
    *,
    titles: Sequence[str] | None = None,
    ncols: int = 10,
) -> Figure:
    """Show grey-scale images in a grid, each titled with its class name (or a given title).

    Args:
        images: (n, 784) rows of 28 x 28 images or (n, h, w), values in [0, 1] (or uint8).
        labels: optional (n,) integer labels; with ``class_names`` the titles are the names.
        class_names: the name of each class, ``class_names[k]`` for label k.
        titles: optional list of n titles; overrides labels.
        ncols: images per row.

    Returns:
        The Figure; ``fig.axes[i]`` shows image i.
    """
    images = _image_batch(images, "images")
    n = images.shape[0]
    if titles is not None:
        if isinstance(titles, str) or not isinstance(titles, Sequence) or len(titles) != n:
            raise InvalidArgumentError(f"titles must be a list of {n} strings, one per image, got {titles!r}")
        names = [str(t) for t in titles]
    elif labels is not None:
        if not isinstance(labels, torch.Tensor) or labels.shape != (n,) or labels.is_floating_point():
            raise InvalidArgumentError(f"labels must be an integer tensor of shape ({n},), got {_describe(labels)}")
        if class_names is None:
            names = [str(int(k)) for k in labels]
        else:
            class_list = _class_names(class_names)
            if int(labels.min()) < 0 or int(labels.max()) >= len(class_list):
                raise InvalidArgumentError(f"labels must lie in 0..{len(class_list) - 1} to index class_names")
            names = [class_list[int(k)] for k in labels]
    else:
        names = [""] * n
    vmax = 255.0 if float(images.max()) > 1.0 else 1.0
    lines = max(name.count("\n") + 1 for name in names)
    fig, axes = _grid(n, ncols, 1.2, title_lines=lines)
    for ax, image, name in zip(axes, images, names):
        ax.imshow(image.numpy(), cmap="gray_r", vmin=0.0, vmax=vmax, interpolation="nearest")
        ax.set_title(name, fontsize=8)
    return fig


def plot_confusion_matrix(
    cm: torch.Tensor, class_names: Sequence[str], *, normalize: bool = False, ax: Axes | None = None,
) -> Axes:
    """Draw a confusion matrix: row = true class, column = predicted class, each cell annotated.

    Args:
        cm: (k, k) tensor of counts, ``cm[i, j]`` = examples of class i predicted as j.
        class_names: k class names.
        normalize: if true, show each row as fractions of that class (rows sum to 1).
    """
    if not isinstance(cm, torch.Tensor) or cm.dim() != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise InvalidArgumentError(f"cm must be a square (k, k) tensor of counts, got {_describe(cm)}")
    names = _class_names(class_names, cm.shape[0])
    check_bool("normalize", normalize)
    values = cm.detach().to(torch.float64)
    if normalize:
        values = values / values.sum(dim=1, keepdim=True).clamp_min(1.0)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6))
    ax = _axes(ax)
    image = ax.imshow(values.numpy(), cmap="Blues")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    k = len(names)
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    top = float(values.max()) if values.numel() else 0.0
    for i in range(k):
        for j in range(k):
            v = float(values[i, j])
            ax.text(j, i, f"{v:.2f}" if normalize else f"{int(v)}", ha="center", va="center", fontsize=7,
                    color="white" if v > 0.5 * top else "black")
    ax.set_title("Confusion matrix" + (" (fraction of each true class)" if normalize else ""))
    return ax


def plot_weight_images(weight: torch.Tensor, class_names: Sequence[str], *, ncols: int = 5) -> Figure:
    """Show each row of a linear layer's weight (k, 784) as a 28 x 28 image, red > 0 > blue.

    Each image has its own symmetric colour scale, so white is exactly 0.
    Returns the Figure; ``fig.axes[k]`` shows class k's weights.
    """
    if not isinstance(weight, torch.Tensor) or not weight.is_floating_point() or weight.dim() != 2 \
            or weight.shape[1] != 784:
        raise InvalidArgumentError("weight must be a float tensor of shape (k, 784), e.g. model.weight, "
                                   f"got {_describe(weight)}")
    names = _class_names(class_names, weight.shape[0])
    images = weight.detach().to(torch.float32).reshape(-1, 28, 28)
    fig, axes = _grid(len(names), ncols, 1.8)
    for ax, image, name in zip(axes, images, names):
        limit = max(float(image.abs().max()), 1e-12)
        ax.imshow(image.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(name, fontsize=9)
    return fig
