"""Where the course's data lives, and the small data sets the notebooks use.

The data directory is found without relying on the working directory
(nbgrader runs notebooks one folder deeper than JupyterLab does): the
environment variable ``COURSE_DATA_DIR`` wins, otherwise it is the
repository's ``data/`` folder.
"""

from __future__ import annotations

import gzip
import os
import struct
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

__all__ = ["data_dir", "load_exam_scores", "make_blobs", "train_test_split", "minibatches",
           "FASHION_MNIST_CLASSES", "FASHION_MNIST_FILES", "FashionMNISTData", "fashion_mnist_raw_dir",
           "load_fashion_mnist", "write_fashion_mnist_standin"]

_REPO_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
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
    if (_REPO_DATA_DIR.parent / "pyproject.toml").is_file():
        return _REPO_DATA_DIR
    return _USER_DATA_DIR


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
            yield tuple(t.index_select(0, idx) for t in tensors)  # same as t[idx], about 3x faster


# --- Fashion-MNIST (notebook 04) ------------------------------------------------

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
FASHION_MNIST_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
)
STANDIN_MARKER = "SYNTHETIC_STANDIN.txt"
_STANDIN_VERSION = 1


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
    if root is not None and not isinstance(root, (str, Path)):
        raise TypeError(f"root must be a path (str or pathlib.Path) or None, got {type(root).__name__}")
    return (Path(root).expanduser() if root is not None else data_dir()) / "FashionMNIST" / "raw"


def load_fashion_mnist(*, flatten: bool = True, download: bool = True) -> FashionMNISTData:
    """Load Fashion-MNIST into memory: 60,000 training and 10,000 test images of 10 kinds of clothing.

    Uses ``torchvision.datasets.FashionMNIST(root=data_dir(), ...)``. With
    ``download=True`` the four ``.gz`` files are downloaded on first use into
    ``data_dir()/FashionMNIST/raw/`` and checked against their published MD5
    sums; files already there are used without network (and extracted if
    needed). Without the files and without network, raises one
    ``FileNotFoundError`` saying which files to put where. Nothing else is
    ever substituted silently: a synthetic stand-in made by
    :func:`write_fashion_mnist_standin` is loaded only from a folder it was
    written to, and announced on stdout every time it is loaded.

    Args:
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
    if not isinstance(flatten, bool):
        raise TypeError(f"flatten must be True or False, got {flatten!r}")
    if not isinstance(download, bool):
        raise TypeError(f"download must be True or False, got {download!r}")
    root = data_dir()
    raw = fashion_mnist_raw_dir(root)
    synthetic = (raw / STANDIN_MARKER).is_file()
    from torchvision.datasets import FashionMNIST  # imported here: torchvision takes seconds to import

    try:
        problem = _extract_local_archives(raw, FashionMNIST.resources, verify=not synthetic)
        if problem:
            reason = problem
        else:
            splits = [FashionMNIST(root=root, train=train, download=download) for train in (True, False)]
            reason = ""
    except (RuntimeError, OSError) as err:  # torchvision's "Error downloading ...", URLError, HTTP errors
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        reason = "the download failed" if download else "the files are not there and download=False"
        if download and lines:
            reason += f" ({lines[-1]})"
    if reason:
        raise FileNotFoundError(_fashion_mnist_missing_message(raw, reason)) from None
    if synthetic:
        print(f"NOTE: synthetic stand-in for Fashion-MNIST, loaded from {raw}: made-up images, NOT the real "
              "data set; accuracies on it say nothing about Fashion-MNIST.", file=sys.stdout, flush=True)
    tensors = []
    for split in splits:
        images = split.data.to(torch.float32).div_(255.0)
        tensors += [images.reshape(len(images), -1) if flatten else images, split.targets.to(torch.int64)]
    X_train, y_train, X_test, y_test = tensors
    return FashionMNISTData(X_train, y_train, X_test, y_test, FASHION_MNIST_CLASSES, synthetic)


def _fashion_mnist_missing_message(raw: Path, reason: str) -> str:
    files = "\n".join(f"    {name}" for name in FASHION_MNIST_FILES)
    return (
        f"Fashion-MNIST is not available: {reason}.\n"
        f"Put these four files (from https://github.com/zalandoresearch/fashion-mnist, folder data/fashion)\n"
        f"{files}\n"
        f"into the folder\n    {raw}/\n"
        "and call load_fashion_mnist() again; their MD5 sums are checked. "
        "To keep the data elsewhere, set the environment variable COURSE_DATA_DIR.\n"
        "No network and no files? `make standin` writes a synthetic stand-in of the same shape and prints "
        "the COURSE_DATA_DIR to set (then restart the kernel): the notebook runs, though its images are not "
        "real clothes and its accuracies mean nothing."
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
            return f"{archive.name} does not match its published MD5 sum (a partial download or another file); delete it"
        extract_archive(str(archive), str(raw), remove_finished=False)
    return ""


def write_fashion_mnist_standin(root: str | Path, *, seed: int = 0) -> Path:
    """Write a synthetic stand-in for Fashion-MNIST where torchvision looks for the real files.

    Writes ``<root>/FashionMNIST/raw/``: the four files of the real release
    (same names, IDX format, gzip; 60,000 + 10,000 images of 28 x 28 uint8,
    ten balanced classes), their extracted copies, and the marker file
    ``SYNTHETIC_STANDIN.txt`` by which :func:`load_fashion_mnist` recognises
    (and announces) the stand-in. The images are crude clothing silhouettes
    with random size, position, brightness and texture, some blended with a
    similar class, so that a linear softmax model reaches about the accuracy
    it reaches on the real data (0.83-0.85). Deterministic for a given seed;
    takes a few seconds. If the folder already holds the same stand-in,
    nothing is rewritten. Never writes over files that are not a stand-in.

    Point ``COURSE_DATA_DIR`` at ``root`` to make the course load it. Never
    write it into the course's ``data/`` folder, where it would shadow a real
    download.

    Returns:
        The raw folder, ``<root>/FashionMNIST/raw``.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise TypeError(f"seed must be a non-negative int, got {seed!r}")
    raw = fashion_mnist_raw_dir(root)
    marker = raw / STANDIN_MARKER
    names = [n for f in FASHION_MNIST_FILES for n in (f, f.removesuffix(".gz"))]
    text = (
        "SYNTHETIC STAND-IN for Fashion-MNIST: made-up images, NOT the real data set.\n"
        f"Written by course_utils.data.write_fashion_mnist_standin(seed={seed}), format version {_STANDIN_VERSION}.\n"
        "Same file names and IDX format as the real release, so the course's code runs on it offline.\n"
        "To use the real data, point COURSE_DATA_DIR elsewhere (or delete this folder).\n"
    )
    if marker.is_file():
        if marker.read_text() == text and all((raw / n).is_file() for n in names):
            return raw
    elif any((raw / n).exists() for n in names):
        raise FileExistsError(f"{raw} holds Fashion-MNIST files that are not a stand-in (a real download?): "
                              "refusing to overwrite them; pass another root")
    raw.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    rng = np.random.default_rng(seed)
    prototypes = _standin_prototypes(rng)
    for prefix, n in (("train", 60000), ("t10k", 10000)):
        labels = rng.permutation(np.repeat(np.arange(10, dtype=np.uint8), n // 10))
        images = np.concatenate([_standin_images(prototypes, labels[i:i + 10000], rng) for i in range(0, n, 10000)])
        for kind, header, array in (("images-idx3", struct.pack(">IIII", 0x803, n, 28, 28), images),
                                    ("labels-idx1", struct.pack(">II", 0x801, n), labels)):
            payload = header + array.tobytes()
            path = raw / f"{prefix}-{kind}-ubyte"
            path.write_bytes(payload)
            path.with_suffix(".gz").write_bytes(gzip.compress(payload, compresslevel=1, mtime=0))
    marker.write_text(text)  # written last: a half-written stand-in has no marker and is regenerated
    return raw


# Class pairs that resemble each other, as in the real data (tops; shoes).
_STANDIN_LOOKALIKES = ((6, 2), (3,), (4, 6), (1, 4), (2, 6), (7, 9), (0, 2, 4), (5, 9), (2, 4), (7, 5))


def _standin_silhouettes(x: np.ndarray, y: np.ndarray, width: float, length: float) -> list[np.ndarray]:
    """Ten crude clothing silhouettes on a 28 x 28 grid; x, y are pixel offsets from the centre."""
    ax = np.abs(x)
    torso = (ax <= 5.5 * width) & (y >= -8) & (y <= 8 + length)
    neck = (x / (2.2 * width)) ** 2 + ((y + 8.5) / 2.0) ** 2 <= 1
    short_sleeves = (ax <= 10.5 * width) & (y >= -8) & (y <= -3 + 0.6 * (ax - 5.5 * width).clip(0))
    arms = (ax > 5.5 * width) & (((ax <= 5.5 * width + 3.5) & (y >= -8) & (y <= 9 + length))
                                 | ((ax <= 5.5 * width + 3.5 + (-(y + 4)).clip(0)) & (y >= -8) & (y <= -3)))
    tshirt = 0.75 * ((torso | short_sleeves) & ~neck)
    trouser = 0.7 * (((ax >= 0.7) & (ax <= 5.0 * width) & (y >= -6) & (y <= 13))
                     | ((ax <= 5.0 * width) & (y >= -13) & (y <= -6)))
    pullover = 0.8 * ((torso | arms) & ~neck)
    dress = 0.65 * ((ax <= 2.5 * width + 0.35 * (y + 12)) & (y >= -12) & (y <= 13) & ~((ax <= 1.6) & (y <= -9)))
    coat = 0.8 * ((((ax <= 6.0 * width) & (y >= -11) & (y <= 13)) | (arms & (y >= -11))) & ~(ax <= 0.6))
    coat[(ax <= 6.0 * width) & (y >= -11) & (y <= -8)] = 0.95  # collar
    sandal = 0.8 * ((ax <= 12.5) & (y >= 5) & (y <= 7)) \
        + 0.6 * ((ax <= 11.5) & (y >= -3 + 0.3 * x) & (y < 5) & (((x + 2 * y) % 5) < 1.6))
    shirt = 0.55 * ((torso | arms) & ~neck)
    shirt[(ax <= 0.6) & (y >= -7) & (y <= 8 + length) & ((y % 3) < 1.2)] = 0.95  # buttons
    shirt[(ax <= 3.0 * width) & (ax >= 1.0) & (y >= -9.5) & (y <= -7.5)] = 0.9  # collar
    sole = (ax <= 12.5) & (y >= 5) & (y <= 7)
    sneaker = 0.6 * ((ax <= 12.5) & (y <= 7) & (y >= np.where(x < 2, -4.0, -4.0 + 0.6 * (x - 2)))) + 0.3 * sole
    bag = 0.7 * ((ax <= 9.5 * width) & (y >= -5) & (y <= 11)) \
        + 0.8 * ((np.abs(np.hypot(x, (y + 5) * 1.3) - 6.0) <= 1.0) & (y <= -5))
    boot = 0.75 * (((x >= -1.5) & (x <= 7.5) & (y >= -12) & (y <= 8)) | ((x >= -12) & (x <= 7.5) & (y >= 2) & (y <= 8))) \
        + 0.2 * ((x >= -12) & (x <= 7.5) & (y >= 7) & (y <= 8))
    shapes = (tshirt, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, boot)
    return [np.clip(np.asarray(s, dtype=np.float64), 0, 1) for s in shapes]


def _standin_prototypes(rng: np.random.Generator, variants: int = 24) -> np.ndarray:
    """(10, variants, 28, 28) float32 silhouettes in [0, 1], each variant with its own size and proportions."""
    rows, cols = np.mgrid[0:28, 0:28].astype(np.float64)
    out = np.zeros((10, variants, 28, 28), dtype=np.float32)
    for v in range(variants):
        width, length = rng.uniform(0.8, 1.2), rng.uniform(-2, 4)
        scale_x, scale_y = rng.uniform(0.9, 1.1), rng.uniform(0.9, 1.1)
        shapes = _standin_silhouettes((cols - 13.5) / scale_x, (rows - 13.5) / scale_y, width, length)
        for k, shape in enumerate(shapes):
            out[k, v] = shape
    return out


def _standin_images(prototypes: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """uint8 images (n, 28, 28) for the given labels: a silhouette variant, blended with a look-alike class,
    random brightness, multiplicative texture noise, and a shift of up to 2 pixels each way."""
    n, variants = len(labels), prototypes.shape[1]
    lookalikes = np.array([[group[i % len(group)] for i in range(6)] for group in _STANDIN_LOOKALIKES])
    other = lookalikes[labels, rng.integers(0, 6, n)]
    alpha = rng.uniform(0.0, 0.61, n).astype(np.float32)[:, None, None]
    images = (1 - alpha) * prototypes[labels, rng.integers(0, variants, n)] \
        + alpha * prototypes[other, rng.integers(0, variants, n)]
    images *= rng.uniform(0.6, 1.15, n).astype(np.float32)[:, None, None]
    images *= 1 + 0.17 * rng.standard_normal(images.shape, dtype=np.float32)
    shift_x, shift_y = rng.integers(-2, 3, n), rng.integers(-2, 3, n)
    shifted = np.empty_like(images)
    for dx in range(-2, 3):
        for dy in range(-2, 3):
            chosen = (shift_x == dx) & (shift_y == dy)
            shifted[chosen] = np.roll(images[chosen], (dy, dx), axis=(1, 2))
    return np.clip(shifted * 255, 0, 255).astype(np.uint8)
