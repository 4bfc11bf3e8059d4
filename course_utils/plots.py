"""The figures the notebooks draw.

Every function draws on ``ax`` when one is given, otherwise on a new figure,
and returns the matplotlib ``Axes`` so a notebook (or a test) can inspect or
restyle it. All of them work under the non-interactive Agg backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes

__all__ = ["plot_sigmoid", "plot_loss_curve", "TrainingCurves"]


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
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                if value.numel() != 1:
                    raise ValueError(f"{name} must be a single number, got a tensor of shape {tuple(value.shape)}")
                value = value.item()
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TypeError(f"{name} must be a number, got {type(value).__name__}")
            self.history[name].append(float(value))
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
