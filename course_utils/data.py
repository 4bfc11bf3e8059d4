"""Where the course's data lives, and the small data sets the notebooks use.

The data directory is found without relying on the working directory
(nbgrader runs notebooks one folder deeper than JupyterLab does): the
environment variable ``COURSE_DATA_DIR`` wins, otherwise it is the
repository's ``data/`` folder. Without the real Fashion-MNIST there (and
without ``COURSE_DATA_DIR``), the synthetic stand-in that ``make standin``
writes is loaded instead, and announced.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import torch

from course_utils import layout
from course_utils._validation import (
    InvalidArgumentError,
    check_bool,
    check_int,
    check_number,
    check_path,
    generator_from,
)

__all__ = ["data_dir", "load_exam_scores", "make_blobs", "train_test_split", "minibatches",
           "FASHION_MNIST_CLASSES", "FASHION_MNIST_FILES", "FashionMNISTData", "fashion_mnist_raw_dir",
           "load_fashion_mnist"]

_USER_DATA_DIR = Path.home() / ".cache" / "course-utils"
# Shipped inside the package, so that any install (editable, wheel, Colab, a hub image) has it.
_EXAM_SCORES = resources.files(__package__) / "data_files" / "exam_scores.csv"


def data_dir() -> Path:
    """The folder downloaded data go to: ``$COURSE_DATA_DIR`` if set, else the repository's ``data/``.

    An installed package that is not inside a copy of the course repository
    (``pip install``, Colab, a hub image) uses ``~/.cache/course-utils``.
    """
    override = os.environ.get("COURSE_DATA_DIR")
    if override:
        return Path(override).expanduser().resolve()
    if layout.in_repository():
        return layout.DATA
    return _USER_DATA_DIR


def standin_dir() -> Path:
    """Where ``make standin`` writes the synthetic Fashion-MNIST stand-in (:mod:`course_utils.standin`).

    The repository's ``.cache/fashion-mnist-standin/`` (never ``data/``, where it
    would shadow a real download); ``~/.cache/course-utils/fashion-mnist-standin``
    for a package installed outside a copy of the repository.
    """
    return layout.STANDIN if layout.in_repository() else _USER_DATA_DIR / "fashion-mnist-standin"


def load_exam_scores() -> tuple[torch.Tensor, torch.Tensor]:
    """Load the course's small two-class data set ``exam_scores.csv``.

    300 synthetic students, made by ``data/make_exam_scores.py`` with a fixed
    seed. Features are hours studied (0-40) and a practice test score
    (200-800), deliberately on different scales; the label is 1 if the
    student passed. The file ships inside this package
    (``course_utils/data_files/``), so it is there however the package was
    installed (``COURSE_DATA_DIR`` does not move it).

    Returns:
        X: float32 tensor of shape (300, 2): hours studied, practice score.
        y: float32 tensor of shape (300,) with values 0.0 and 1.0.
    """
    path = _EXAM_SCORES
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: rebuild it with `python data/make_exam_scores.py`")
    rows = [line.split(",") for line in path.read_text().splitlines()[1:] if line]
    values = torch.tensor([[float(v) for v in row] for row in rows], dtype=torch.float32)
    return values[:, :2].contiguous(), values[:, 2].contiguous()


def make_blobs(
    n_samples: int = 200,
    *,
    distance: float = 3.0,
    seed: int | torch.Generator | None = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two round Gaussian blobs in 2-D, one per class, with balanced classes.

    The class-0 centre is ``(-distance/2, 0)`` and the class-1 centre
    ``(+distance/2, 0)``, each with unit standard deviation, so ``distance``
    sets how much the classes overlap. ``seed``: an int (the same blobs every
    call), a ``torch.Generator``, or None (torch's global random state).

    Returns:
        X: float32 tensor of shape (n_samples, 2).
        y: float32 tensor of shape (n_samples,) with values 0.0 and 1.0.
    """
    check_int("n_samples", n_samples, minimum=2)
    check_number("distance", distance, minimum=0)
    generator = generator_from(seed)
    y = (torch.arange(n_samples) % 2).to(torch.float32)
    y = y[torch.randperm(n_samples, generator=generator)]
    centres = torch.stack([(y - 0.5) * distance, torch.zeros(n_samples)], dim=1)
    X = centres + torch.randn(n_samples, 2, generator=generator)
    return X, y


def _check_tensors(tensors: tuple[torch.Tensor, ...]) -> int:
    if not tensors:
        raise InvalidArgumentError("pass at least one tensor, e.g. minibatches(X, y, batch_size=32)")
    for i, t in enumerate(tensors):
        if not isinstance(t, torch.Tensor):
            raise InvalidArgumentError(f"tensors[{i}] must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() == 0:
            raise InvalidArgumentError(f"tensors[{i}] is 0-d: every tensor needs a first (example) dimension")
    n = tensors[0].shape[0]
    for i, t in enumerate(tensors[1:], start=1):
        if t.shape[0] != n:
            raise InvalidArgumentError(
                f"tensors[{i}] has {t.shape[0]} examples but tensors[0] has {n}: "
                "all tensors must share the first dimension"
            )
    return n


def _seed_or_generator(seed: object, generator: object) -> torch.Generator | None:
    """``seed``, or its older name ``generator`` (as torch's ``DataLoader`` calls it); not both."""
    if generator is not None:
        if seed is not None:
            raise InvalidArgumentError("generator is another name for seed: pass one of them, not both")
        if not isinstance(generator, torch.Generator):
            raise InvalidArgumentError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        return generator
    return generator_from(seed)


def train_test_split(
    *tensors: torch.Tensor,
    test_fraction: float = 0.25,
    seed: int | torch.Generator | None = None,
    generator: torch.Generator | None = None,
) -> list[torch.Tensor]:
    """Split tensors that share their first dimension into random train and test parts.

    Returns ``[a_train, a_test, b_train, b_test, ...]``, in the order of
    scikit-learn's ``train_test_split``. The test part has
    ``round(test_fraction * n)`` examples. ``seed``: an int or a seeded
    ``torch.Generator`` for a reproducible split, None for torch's global
    random state; ``generator=`` is another name for it.
    """
    n = _check_tensors(tensors)
    if not isinstance(test_fraction, float) or not 0.0 < test_fraction < 1.0:
        raise InvalidArgumentError(f"test_fraction must be a float strictly between 0 and 1, got {test_fraction!r}")
    generator = _seed_or_generator(seed, generator)
    n_test = round(test_fraction * n)
    if not 0 < n_test < n:
        raise InvalidArgumentError(f"test_fraction={test_fraction} of {n} examples leaves an empty train or test part")
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
    seed: int | torch.Generator | None = None,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[torch.Tensor, ...]]:
    """Yield mini-batches of in-memory tensors that share their first dimension.

    One pass over the data (an epoch): each example appears exactly once, in
    a random order when ``shuffle`` is true. ``seed``: a ``torch.Generator``
    (a new order every epoch, reproducible), an int (the same order every
    time), or None (torch's global random state); ``generator=`` is another
    name for it, as in torch's ``DataLoader``. The last batch may be smaller.
    Indexing tensors that are already in memory is far faster than a
    ``DataLoader`` over a per-sample dataset.
    """
    n = _check_tensors(tensors)
    check_int("batch_size", batch_size, minimum=1)
    check_bool("shuffle", shuffle)
    generator = _seed_or_generator(seed, generator)
    order = torch.randperm(n, generator=generator) if shuffle else None
    for start in range(0, n, batch_size):
        if order is None:
            yield tuple(t[start:start + batch_size] for t in tensors)
        else:
            idx = order[start:start + batch_size]
            yield tuple(t.index_select(0, idx) for t in tensors)  # same as t[idx], about 3x faster


# --- Fashion-MNIST (notebook 04) ------------------------------------------------

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
FASHION_MNIST_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
)
STANDIN_MARKER = "SYNTHETIC_STANDIN.txt"  # see course_utils.standin


class FashionMNISTData(NamedTuple):
    """Fashion-MNIST as in-memory tensors (see :func:`load_fashion_mnist`)."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...]
    synthetic: bool


def fashion_mnist_raw_dir(root: str | Path | None = None) -> Path:
    """The folder torchvision reads Fashion-MNIST from: ``<root>/FashionMNIST/raw`` (root: :func:`data_dir`)."""
    folder = check_path("root", root)
    return (folder.expanduser() if folder is not None else data_dir()) / "FashionMNIST" / "raw"


def load_fashion_mnist(root: str | Path | None = None, *, flatten: bool = True,
                       download: bool = True) -> FashionMNISTData:
    """Load Fashion-MNIST into memory: 60,000 training and 10,000 test images of 10 kinds of clothing.

    Uses ``torchvision.datasets.FashionMNIST(root=root, ...)``, with ``root``
    :func:`data_dir` unless given. With ``download=True`` the four ``.gz``
    files are downloaded on first use into ``<root>/FashionMNIST/raw/`` and
    checked against their published MD5 sums; files already there are used without network (and extracted if
    needed).

    Without the real data (no files and no network), and only when neither
    ``root`` nor ``COURSE_DATA_DIR`` chose the folder, it loads the synthetic
    stand-in that ``make standin`` wrote (:func:`standin_dir`), if it is there;
    otherwise it raises one ``FileNotFoundError`` saying which files to put
    where and how to get the stand-in. The stand-in is announced on stdout
    every time it is loaded, and the real data, once there, always win.

    Args:
        root: the folder that holds (or will hold) ``FashionMNIST/raw/``;
            default :func:`data_dir`.
        flatten: if true, each image is a row of 784 pixels; otherwise 28 x 28.
        download: whether to download the files when they are missing.

    Returns:
        FashionMNISTData, a named tuple with fields

        - X_train: float32, shape (60000, 784) (or (60000, 28, 28) with
          ``flatten=False``), pixel values in [0, 1];
        - y_train: int64, shape (60000,), class indices 0-9;
        - X_test: float32, shape (10000, 784) (or (10000, 28, 28));
        - y_test: int64, shape (10000,);
        - classes: the ten class names, ``classes[k]`` for label k;
        - synthetic: True if the stand-in was loaded, not the real data.
    """
    check_bool("flatten", flatten)
    check_bool("download", download)
    given = check_path("root", root)
    chosen_by = "root" if given is not None else "COURSE_DATA_DIR" if os.environ.get("COURSE_DATA_DIR") else ""
    folder = (given or data_dir()).expanduser()
    loaded = _load_fashion_mnist(folder, flatten=flatten, download=download)
    if isinstance(loaded, FashionMNISTData):
        return loaded
    raw = fashion_mnist_raw_dir(folder)
    standin = standin_dir()
    if not chosen_by and (fashion_mnist_raw_dir(standin) / STANDIN_MARKER).is_file():
        instead = f" It is loaded because Fashion-MNIST is not in {raw} ({loaded}); the real files, once there, win."
        fallback = _load_fashion_mnist(standin, flatten=flatten, download=False, instead=instead)
        if isinstance(fallback, FashionMNISTData):
            return fallback
    raise FileNotFoundError(_fashion_mnist_missing_message(raw, loaded, chosen_by)) from None


def _load_fashion_mnist(root: Path, *, flatten: bool, download: bool, instead: str = "") -> FashionMNISTData | str:
    """The data in ``root``, or why they could not be loaded."""
    raw = fashion_mnist_raw_dir(root)
    synthetic = (raw / STANDIN_MARKER).is_file()
    from torchvision.datasets import FashionMNIST  # imported here: torchvision takes seconds to import

    try:
        problem = _extract_local_archives(raw, FashionMNIST.resources, verify=not synthetic)
        if problem:
            return problem
        splits = [FashionMNIST(root=root, train=train, download=download) for train in (True, False)]
    except (RuntimeError, OSError) as err:  # torchvision's "Error downloading ...", URLError, HTTP errors
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        reason = "the download failed" if download else "the files are not there and download=False"
        if download and lines:
            reason += f" ({lines[-1]})"
        return reason
    if synthetic:
        print(f"NOTE: synthetic stand-in for Fashion-MNIST, loaded from {raw}: made-up images, NOT the real "
              f"data set; accuracies on it say nothing about Fashion-MNIST.{instead}", file=sys.stdout, flush=True)
    tensors = []
    for split in splits:
        images = split.data.to(torch.float32).div_(255.0)
        tensors += [images.reshape(len(images), -1) if flatten else images, split.targets.to(torch.int64)]
    X_train, y_train, X_test, y_test = tensors
    return FashionMNISTData(X_train, y_train, X_test, y_test, FASHION_MNIST_CLASSES, synthetic)


def _standin_command() -> str:
    """The command that writes the stand-in into :func:`standin_dir`, as the messages name it."""
    if layout.in_repository():
        return "`make standin` in the course's folder (without make: `python -m course_utils standin`)"
    return "`python -m course_utils.standin`"


def _fashion_mnist_missing_message(raw: Path, reason: str, chosen_by: str = "") -> str:
    files = "\n".join(f"    {name}" for name in FASHION_MNIST_FILES)
    standin = standin_dir()
    if not chosen_by:
        offline = (
            f"No network and no files? Run {_standin_command()}: it writes a synthetic stand-in of the same "
            f"shape into {standin}/, which load_fashion_mnist() then loads by itself whenever the real data are "
            "not there, with a NOTE saying so. Then run this cell again (no restart needed)."
        )
    elif chosen_by == "root":
        offline = (
            f"No network and no files? load_fashion_mnist(root=...) looks only in that folder. Call it without "
            f"root to get the synthetic stand-in that {_standin_command()} writes into {standin}/."
        )
    else:
        offline = (
            f"No network and no files? COURSE_DATA_DIR is set, so only that folder is looked in, not the "
            f"synthetic stand-in that {_standin_command()} writes into {standin}/. To get it, start JupyterLab "
            "again without COURSE_DATA_DIR (or with it set to that folder): a kernel takes its environment from "
            "JupyterLab, so restarting only the kernel changes nothing."
        )
    return (
        f"Fashion-MNIST is not available: {reason}.\n"
        f"Put these four files (from https://github.com/zalandoresearch/fashion-mnist, folder data/fashion)\n"
        f"{files}\n"
        f"into the folder\n    {raw}/\n"
        "and call load_fashion_mnist() again; their MD5 sums are checked. To keep the data elsewhere, start "
        "JupyterLab with the environment variable COURSE_DATA_DIR set to that folder.\n"
        f"{offline}\n"
        "With the stand-in the notebook runs, though its images are not real clothes and its accuracies mean "
        "nothing."
    )


def _extract_local_archives(raw: Path, resources: list[tuple[str, str]], *, verify: bool) -> str:
    """Unpack .gz files that are present but not yet extracted (torchvision reads the extracted files).

    Returns a description of the problem if a file is not the published one, else "".
    """
    from torchvision.datasets.utils import check_integrity, extract_archive

    for name, md5 in resources:
        archive, extracted = raw / name, raw / name.removesuffix(".gz")
        if extracted.is_file() or not archive.is_file():
            continue
        if verify and not check_integrity(str(archive), md5):
            return (f"{archive.name} does not match its published MD5 sum (a partial download or another file); "
                    "delete it")
        extract_archive(str(archive), str(raw), remove_finished=False)
    return ""
