"""Where the course's data lives, and the small data sets the notebooks use.

The data directory is found without relying on the working directory
(nbgrader runs notebooks one folder deeper than JupyterLab does): the
environment variable ``COURSE_DATA_DIR`` wins, otherwise it is the
repository's ``data/`` folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

__all__ = ["data_dir", "make_blobs"]

_REPO_DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def data_dir() -> Path:
    """Return the course data directory (``$COURSE_DATA_DIR`` or the repository's ``data/``)."""
    override = os.environ.get("COURSE_DATA_DIR")
    if override:
        return Path(override).expanduser().resolve()
    return _REPO_DATA_DIR


def make_blobs(
    n_samples: int = 200,
    *,
    distance: float = 3.0,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two round Gaussian blobs in 2-D, one per class, with balanced classes.

    The class-0 centre is ``(-distance/2, 0)`` and the class-1 centre
    ``(+distance/2, 0)``, each with unit standard deviation, so ``distance``
    sets how much the classes overlap.

    Returns:
        X: float32 tensor of shape (n_samples, 2).
        y: float32 tensor of shape (n_samples,) with values 0.0 and 1.0.
    """
    if not isinstance(n_samples, int) or isinstance(n_samples, bool) or n_samples < 2:
        raise ValueError(f"n_samples must be an int of at least 2, got {n_samples!r}")
    if not isinstance(distance, (int, float)) or isinstance(distance, bool) or distance < 0:
        raise ValueError(f"distance must be a non-negative number, got {distance!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    generator = torch.Generator().manual_seed(seed)
    y = (torch.arange(n_samples) % 2).to(torch.float32)
    y = y[torch.randperm(n_samples, generator=generator)]
    centres = torch.stack([(y - 0.5) * distance, torch.zeros(n_samples)], dim=1)
    X = centres + torch.randn(n_samples, 2, generator=generator)
    return X, y
