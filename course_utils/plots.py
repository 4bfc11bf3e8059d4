"""The figures the notebooks draw.

Every function draws on ``ax`` when one is given, otherwise on a new figure,
and returns the matplotlib ``Axes`` so a notebook (or a test) can inspect or
restyle it. All of them work under the non-interactive Agg backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes

__all__ = ["plot_sigmoid", "plot_loss_curve"]


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
