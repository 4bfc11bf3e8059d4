"""Where the course's data lives, and the small data sets the notebooks use.

The data directory is found without relying on the working directory
(nbgrader runs notebooks one folder deeper than JupyterLab does): the
environment variable ``COURSE_DATA_DIR`` wins, otherwise it is the
repository's ``data/`` folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import torch

__all__ = ["data_dir", "load_exam_scores", "make_blobs", "train_test_split", "minibatches"]

_REPO_DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def data_dir() -> Path:
    """Return the course data directory (``$COURSE_DATA_DIR`` or the repository's ``data/``)."""
    override = os.environ.get("COURSE_DATA_DIR")
    if override:
        return Path(override).expanduser().resolve()
    return _REPO_DATA_DIR


def load_exam_scores() -> tuple[torch.Tensor, torch.Tensor]:
    """Load the course's small two-class data set ``exam_scores.csv``.

    300 synthetic students, made by ``data/make_exam_scores.py`` with a fixed
    seed. Features are hours studied (0-40) and a practice test score
    (200-800), deliberately on different scales; the label is 1 if the
    student passed. The file ships with the repository, so it is always read
    from the repository's ``data/`` (``COURSE_DATA_DIR`` does not move it).

    Returns:
        X: float32 tensor of shape (300, 2): hours studied, practice score.
        y: float32 tensor of shape (300,) with values 0.0 and 1.0.
    """
    path = _REPO_DATA_DIR / "exam_scores.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: rebuild it with `python data/make_exam_scores.py`")
    rows = [line.split(",") for line in path.read_text().splitlines()[1:] if line]
    values = torch.tensor([[float(v) for v in row] for row in rows], dtype=torch.float32)
    return values[:, :2].contiguous(), values[:, 2].contiguous()


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


def _check_tensors(tensors: tuple[torch.Tensor, ...]) -> int:
    if not tensors:
        raise TypeError("pass at least one tensor, e.g. minibatches(X, y, batch_size=32)")
    for i, t in enumerate(tensors):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"tensors[{i}] must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() == 0:
            raise ValueError(f"tensors[{i}] is 0-d: every tensor needs a first (example) dimension")
    n = tensors[0].shape[0]
    for i, t in enumerate(tensors[1:], start=1):
        if t.shape[0] != n:
            raise ValueError(
                f"tensors[{i}] has {t.shape[0]} examples but tensors[0] has {n}: all tensors must share the first dimension"
            )
    return n


def _check_generator(generator: object) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")


def train_test_split(
    *tensors: torch.Tensor,
    test_fraction: float = 0.25,
    generator: torch.Generator | None = None,
) -> list[torch.Tensor]:
    """Split tensors that share their first dimension into random train and test parts.

    Returns ``[a_train, a_test, b_train, b_test, ...]``, in the order of
    scikit-learn's ``train_test_split``. The test part has
    ``round(test_fraction * n)`` examples. Pass a seeded ``generator`` for a
    reproducible split (``None`` uses torch's global random state).
    """
    n = _check_tensors(tensors)
    if not isinstance(test_fraction, float) or not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be a float strictly between 0 and 1, got {test_fraction!r}")
    _check_generator(generator)
    n_test = round(test_fraction * n)
    if not 0 < n_test < n:
        raise ValueError(f"test_fraction={test_fraction} of {n} examples leaves an empty train or test part")
    order = torch.randperm(n, generator=generator)
    test_idx, train_idx = order[:n_test], order[n_test:]
    out: list[torch.Tensor] = []
    for t in tensors:
        out += [t[train_idx], t[test_idx]]
    return out


def minibatches(
    *tensors: torch.Tensor,
    batch_size: int,
    shuffle: bool = True,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[torch.Tensor, ...]]:
    """Yield mini-batches of in-memory tensors that share their first dimension.

    One pass over the data (an epoch): each example appears exactly once, in
    a new random order when ``shuffle`` is true, drawn from ``generator``
    (``None`` uses torch's global random state). The last batch may be
    smaller. Indexing tensors that are already in memory is far faster than a
    ``DataLoader`` over a per-sample dataset.
    """
    n = _check_tensors(tensors)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    _check_generator(generator)
    order = torch.randperm(n, generator=generator) if shuffle else None
    for start in range(0, n, batch_size):
        if order is None:
            yield tuple(t[start:start + batch_size] for t in tensors)
        else:
            idx = order[start:start + batch_size]
            yield tuple(t[idx] for t in tensors)
