"""The figures the notebooks draw.

Every function draws on ``ax`` when one is given, otherwise on a new figure,
and returns the matplotlib ``Axes`` so a notebook (or a test) can inspect or
restyle it. All of them work under the non-interactive Agg backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes

__all__ = ["plot_sigmoid", "plot_loss_curve", "plot_decision_boundary", "TrainingCurves"]


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
        return ax
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def plot_sigmoid(z_max: float = 8.0, ax: Axes | None = None) -> Axes:
    """Plot the sigmoid and its derivative s(z)(1 - s(z)) on [-z_max, z_max]."""
    if not isinstance(z_max, (int, float)) or isinstance(z_max, bool) or not z_max > 0:
        raise ValueError(f"z_max must be a positive number, got {z_max!r}")
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
            raise ValueError(f"losses must be 1-D, got a tensor of shape {tuple(losses.shape)}")
        values = [float(v) for v in losses.detach()]
    elif isinstance(losses, Sequence) and not isinstance(losses, str):
        try:
            values = [float(v) for v in losses]
        except (TypeError, ValueError):
            raise TypeError("losses must be a sequence of numbers, such as a list of floats") from None
    else:
        raise TypeError(f"losses must be a sequence of numbers or a 1-D tensor, got {type(losses).__name__}")
    if not values:
        raise ValueError("losses is empty: record at least one value before plotting")
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
        raise TypeError(f"model must be callable (a function or an nn.Module), got {type(model).__name__}")
    if not isinstance(X, torch.Tensor) or X.dim() != 2 or X.shape[1] != 2 or not X.is_floating_point():
        raise ValueError(f"X must be a float tensor of shape (n, 2), got {_describe(X)}")
    if not isinstance(y, torch.Tensor) or y.shape != (X.shape[0],):
        raise ValueError(f"y must be a tensor of shape ({X.shape[0]},) matching X, got {_describe(y)}")
    if not isinstance(resolution, int) or isinstance(resolution, bool) or resolution < 2:
        raise ValueError(f"resolution must be an int of at least 2, got {resolution!r}")
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
        raise ValueError(f"model must return one value per grid point ({grid.shape[0]}), got {_describe(out)}")
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
            raise TypeError(f"metrics must be a non-empty list of names such as ['loss', 'accuracy'], got {metrics!r}")
        if len(set(metrics)) != len(metrics):
            raise ValueError(f"metrics must not repeat a name, got {list(metrics)}")
        self.history: dict[str, list[float]] = {m: [] for m in metrics}
        self.xlabel = xlabel
        self.figure, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2), squeeze=False)
        self.axes: dict[str, Axes] = dict(zip(metrics, axes[0]))
        plt.close(self.figure)  # shown through the display handle below, not at the end of the cell
        self._display: Any = None

    def update(self, **values: float) -> None:
        """Record one value per metric (all of them, every time) and redraw."""
        if set(values) != set(self.history):
            raise ValueError(f"update() needs exactly the metrics {sorted(self.history)}, got {sorted(values)}")
        numbers = {}
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                if value.numel() != 1:
                    raise ValueError(f"{name} must be a single number, got a tensor of shape {tuple(value.shape)}")
                value = value.item()
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TypeError(f"{name} must be a number, got {type(value).__name__}")
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
            ax.set_title(name)
            ax.grid(alpha=0.3)
        self.figure.tight_layout()
        if _in_notebook():
            from IPython.display import display

            if self._display is None:
                self._display = display(self.figure, display_id=True)
            else:
                self._display.update(self.figure)
