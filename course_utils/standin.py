"""A synthetic stand-in for Fashion-MNIST, for machines without a network (and the tests).

Not part of the course's API for students: the tests, ``make standin`` and
the benchmark use it. Run it as a command::

    python -m course_utils.standin [FOLDER]

which writes the stand-in into FOLDER (default: the repository's
``.cache/fashion-mnist-standin/``, :func:`course_utils.data.standin_dir`) and
prints the ``COURSE_DATA_DIR=...`` that selects it. The default folder needs no
variable: ``load_fashion_mnist()`` loads the stand-in from there by itself
whenever the real data are not available (and announces it). torchvision
keeps its fake data apart from its loaders in the same way.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np

from course_utils._validation import check_int
from course_utils.data import FASHION_MNIST_FILES, STANDIN_MARKER, fashion_mnist_raw_dir, standin_dir

__all__ = ["DEFAULT_FOLDER", "ensure_standin", "write_fashion_mnist_standin"]

_STANDIN_VERSION = 1
DEFAULT_FOLDER = standin_dir()  # where load_fashion_mnist() looks for it without being told


def ensure_standin(folder: str | Path = DEFAULT_FOLDER) -> Path:
    """Write the stand-in into ``folder`` unless it is already there; safe if several runs race.

    Returns ``folder``, the value for ``COURSE_DATA_DIR``.
    """
    folder = Path(folder).resolve()
    if not (fashion_mnist_raw_dir(folder) / STANDIN_MARKER).is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            write_fashion_mnist_standin(scratch)
            if folder.exists() and not (fashion_mnist_raw_dir(folder) / STANDIN_MARKER).is_file():
                shutil.rmtree(folder)  # an incomplete cache from an interrupted run
            try:
                scratch.rename(folder)  # atomic: another run sees all of it or none
            except OSError:
                pass  # another run got there first
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    write_fashion_mnist_standin(folder)  # checks the marker; rewrites only an outdated stand-in
    return folder


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

    Written into :data:`DEFAULT_FOLDER`, it is loaded by itself whenever the
    real data are not available; anywhere else, point ``COURSE_DATA_DIR`` at
    ``root`` to make the course load it. Never write it into the course's
    ``data/`` folder, where it would shadow a real download.

    Returns:
        The raw folder, ``<root>/FashionMNIST/raw``.
    """
    check_int("seed", seed, minimum=0)
    raw = fashion_mnist_raw_dir(root)
    marker = raw / STANDIN_MARKER
    names = [n for f in FASHION_MNIST_FILES for n in (f, f.removesuffix(".gz"))]
    text = (
        "SYNTHETIC STAND-IN for Fashion-MNIST: made-up images, NOT the real data set.\n"
        f"Written by course_utils.standin.write_fashion_mnist_standin(seed={seed}), "
        f"format version {_STANDIN_VERSION}.\n"
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
    boot = 0.75 * (((x >= -1.5) & (x <= 7.5) & (y >= -12) & (y <= 8))
                   | ((x >= -12) & (x <= 7.5) & (y >= 2) & (y <= 8))) \
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.standin",
                                     description="Write the synthetic Fashion-MNIST stand-in.")
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER,
                        help=f"where to write it (default: {DEFAULT_FOLDER})")
    args = parser.parse_args(argv)
    try:
        folder = ensure_standin(args.folder)
    except (OSError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(_report(folder))
    return 0


def _report(folder: Path) -> str:
    """What ``make standin`` prints: where the stand-in is, when it is used, and (last) the variable that
    selects it whatever the real data."""
    if folder.resolve() == Path(DEFAULT_FOLDER).resolve():
        how = ("load_fashion_mnist() loads it by itself, with a NOTE saying so, whenever the real Fashion-MNIST is "
               "not available and COURSE_DATA_DIR is not set: run the notebook's cell again (no restart needed).\n"
               "To select it even where the real data are (scripts, make execute), set")
    else:
        how = (f'load_fashion_mnist() loads it from here only when told: load_fashion_mnist(root="{folder}"), or '
               "with JupyterLab (or the script) started with")
    return f"The synthetic Fashion-MNIST stand-in is in {folder}.\n{how}\nCOURSE_DATA_DIR={folder}"


if __name__ == "__main__":
    sys.exit(main())
