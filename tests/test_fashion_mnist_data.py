"""course_utils.data: Fashion-MNIST loader and the synthetic stand-in, offline."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
import time
from pathlib import Path

import pytest
import torch

from course_utils import data
from course_utils.layout import DATA
from course_utils.standin import DEFAULT_FOLDER, write_fashion_mnist_standin

STANDIN = DEFAULT_FOLDER  # the cache the repository's conftest.py fills


@pytest.fixture(scope="session")
def standin() -> Path:
    """Root folder of the stand-in (written once; a no-op when it is already there)."""
    write_fashion_mnist_standin(STANDIN)
    return STANDIN


@pytest.fixture()
def use_standin(standin, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(standin))
    return standin


def _digests(raw: Path) -> dict[str, str]:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(raw.iterdir())}


def test_loads_standin_as_in_memory_tensors(use_standin, capsys):
    d = data.load_fashion_mnist()
    assert isinstance(d, data.FashionMNISTData) and d.synthetic is True
    assert d.X_train.shape == (60000, 784) and d.X_test.shape == (10000, 784)
    assert d.y_train.shape == (60000,) and d.y_test.shape == (10000,)
    assert d.X_train.dtype == torch.float32 and d.y_train.dtype == torch.int64 and d.y_test.dtype == torch.int64
    for X in (d.X_train, d.X_test):
        assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    assert torch.bincount(d.y_train).tolist() == [6000] * 10
    assert torch.bincount(d.y_test).tolist() == [1000] * 10
    assert d.classes == data.FASHION_MNIST_CLASSES and len(d.classes) == 10 and d.classes[0] == "T-shirt/top"
    # the images are not all alike: the classes differ on average
    means = torch.stack([d.X_train[d.y_train == k].mean(dim=0) for k in range(10)])
    assert float(torch.cdist(means, means).fill_diagonal_(float("inf")).min()) > 1.0


def test_unflattened_images_are_28_by_28(use_standin):
    d = data.load_fashion_mnist(flatten=False)
    assert d.X_train.shape == (60000, 28, 28) and d.X_test.shape == (10000, 28, 28)


def test_standin_is_announced_on_stdout_every_time(use_standin, capsys, recwarn):
    for _ in range(2):
        data.load_fashion_mnist()
        out, err = capsys.readouterr()
        assert "NOTE: synthetic stand-in for Fashion-MNIST" in out and "NOT the real data set" in out
        assert err == ""
    assert not [w for w in recwarn if "stand-in" in str(w.message)], "announced on stdout, not as a warning"


def _assert_one_clear_error(excinfo, raw: Path) -> str:
    message = str(excinfo.value)
    for name in data.FASHION_MNIST_FILES:
        assert name in message
    assert str(raw) in message and "COURSE_DATA_DIR" in message
    assert "`make standin`" in message, "a learner without network is told how to run the notebook anyway"
    assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__, "one error, not a chain"
    return message


def test_missing_files_without_download_fail_with_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError) as excinfo:
        data.load_fashion_mnist(download=False)
    message = _assert_one_clear_error(excinfo, tmp_path / "FashionMNIST" / "raw")
    assert "download=False" in message


def test_missing_files_without_network_fail_fast_with_one_clear_error(tmp_path, monkeypatch, capsys):
    from torchvision.datasets import FashionMNIST

    # An address that refuses connections at once: the same path as a machine without network.
    monkeypatch.setattr(FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    start = time.perf_counter()
    with pytest.raises(FileNotFoundError) as excinfo:
        data.load_fashion_mnist(download=True)
    assert time.perf_counter() - start < 60
    message = _assert_one_clear_error(excinfo, tmp_path / "FashionMNIST" / "raw")
    assert "download failed" in message
    assert "NOTE: synthetic" not in capsys.readouterr().out, "never substitutes the stand-in"


def test_gz_files_put_there_by_hand_are_checked_and_extracted(standin, tmp_path, monkeypatch):
    raw = data.fashion_mnist_raw_dir(tmp_path)
    raw.mkdir(parents=True)
    for name in data.FASHION_MNIST_FILES:
        shutil.copy(data.fashion_mnist_raw_dir(standin) / name, raw / name)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    # without the marker these claim to be the real files, and fail the MD5 check
    with pytest.raises(FileNotFoundError, match="does not match its published MD5"):
        data.load_fashion_mnist(download=False)
    # with the marker they are the stand-in: extracted and loaded without network
    shutil.copy(data.fashion_mnist_raw_dir(standin) / data.STANDIN_MARKER, raw / data.STANDIN_MARKER)
    d = data.load_fashion_mnist(download=False)
    assert d.synthetic and d.X_train.shape == (60000, 784)
    assert (raw / "train-images-idx3-ubyte").is_file()


def test_standin_files_are_gzipped_idx_with_the_real_names(standin):
    raw = data.fashion_mnist_raw_dir(standin)
    for prefix, n in (("train", 60000), ("t10k", 10000)):
        with gzip.open(raw / f"{prefix}-images-idx3-ubyte.gz") as f:
            assert struct.unpack(">IIII", f.read(16)) == (0x803, n, 28, 28)
        with gzip.open(raw / f"{prefix}-labels-idx1-ubyte.gz") as f:
            assert struct.unpack(">II", f.read(8)) == (0x801, n)
    assert "SYNTHETIC" in (raw / data.STANDIN_MARKER).read_text()


def test_standin_is_deterministic_and_not_rewritten(standin, tmp_path):
    raw = data.fashion_mnist_raw_dir(standin)
    before = {p.name: p.stat().st_mtime_ns for p in raw.iterdir()}
    assert write_fashion_mnist_standin(standin) == raw
    assert {p.name: p.stat().st_mtime_ns for p in raw.iterdir()} == before, "an existing stand-in is reused"
    start = time.perf_counter()
    fresh = write_fashion_mnist_standin(tmp_path / "again", seed=0)
    print(f"stand-in written in {time.perf_counter() - start:.1f} s")
    assert _digests(fresh) == _digests(raw)


def test_standin_never_overwrites_other_files(tmp_path):
    raw = data.fashion_mnist_raw_dir(tmp_path)
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte.gz").write_bytes(b"a real download")
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        write_fashion_mnist_standin(tmp_path)
    assert (raw / "train-images-idx3-ubyte.gz").read_bytes() == b"a real download"


def test_the_repository_data_folder_holds_no_standin():
    assert not (data.fashion_mnist_raw_dir(DATA) / data.STANDIN_MARKER).exists(), \
        "the stand-in must never be written into data/, where it would shadow a real download"


def test_bad_arguments_raise_clear_errors(tmp_path):
    with pytest.raises(TypeError, match="flatten"):
        data.load_fashion_mnist(flatten="yes")
    with pytest.raises(TypeError, match="download"):
        data.load_fashion_mnist(download=1)
    with pytest.raises(TypeError, match="seed"):
        write_fashion_mnist_standin(tmp_path, seed=-1)
    with pytest.raises(TypeError, match="root"):
        data.fashion_mnist_raw_dir(3)


def test_class_and_file_names_are_torchvisions():
    from torchvision.datasets import FashionMNIST

    assert data.FASHION_MNIST_CLASSES == tuple(FashionMNIST.classes)
    assert data.FASHION_MNIST_FILES == tuple(Path(url).name for url, _ in FashionMNIST.resources)


def test_root_argument_loads_from_that_folder_whatever_the_environment_says(standin, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))  # empty: loading from here would fail
    loaded = data.load_fashion_mnist(root=standin, download=False)
    assert loaded.synthetic and loaded.X_train.shape == (60000, 784)
    assert str(data.fashion_mnist_raw_dir(standin)) in capsys.readouterr().out


# --- without COURSE_DATA_DIR: the stand-in that `make standin` wrote, when the real data are not there ----------

def _no_network(monkeypatch):
    from torchvision.datasets import FashionMNIST

    # An address that refuses connections at once: the same path as a machine without network.
    monkeypatch.setattr(FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])


@pytest.fixture()
def fresh_course(tmp_path, monkeypatch, standin):
    """The loader as in a copy of the course whose data/ is empty, with the stand-in written by `make standin`
    at its default place, and no COURSE_DATA_DIR."""
    from course_utils import layout

    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setattr(layout, "DATA", tmp_path / "data")
    monkeypatch.setattr(layout, "STANDIN", standin)  # read only
    _no_network(monkeypatch)
    return tmp_path / "data"


def test_without_the_real_data_the_standin_make_standin_wrote_is_loaded_and_announced(fresh_course, capsys):
    assert data.standin_dir() == STANDIN
    d = data.load_fashion_mnist()
    assert d.synthetic and d.X_train.shape == (60000, 784)
    out = capsys.readouterr().out
    assert f"NOTE: synthetic stand-in for Fashion-MNIST, loaded from {data.fashion_mnist_raw_dir(STANDIN)}" in out
    assert f"not in {data.fashion_mnist_raw_dir(fresh_course)} (the download failed" in out, "says why"
    assert data.load_fashion_mnist(download=False).synthetic


def test_the_real_data_win_over_the_standin(fresh_course, capsys):
    raw = data.fashion_mnist_raw_dir(fresh_course)
    raw.mkdir(parents=True)
    for name in data.FASHION_MNIST_FILES:  # extracted files without the marker: "real" to the loader
        shutil.copy(data.fashion_mnist_raw_dir(STANDIN) / name.removesuffix(".gz"), raw)
    d = data.load_fashion_mnist()
    assert not d.synthetic and d.X_train.shape == (60000, 784)
    assert "NOTE" not in capsys.readouterr().out


def test_a_folder_the_user_chose_is_the_only_one_looked_in(fresh_course, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "mine"))
    with pytest.raises(FileNotFoundError) as excinfo:
        data.load_fashion_mnist()
    message = _assert_one_clear_error(excinfo, tmp_path / "mine" / "FashionMNIST" / "raw")
    assert "COURSE_DATA_DIR is set" in message and "restarting only the kernel changes nothing" in message
    monkeypatch.delenv("COURSE_DATA_DIR")
    with pytest.raises(FileNotFoundError, match=r"looks only in that folder"):
        data.load_fashion_mnist(root=tmp_path / "mine")
    assert "NOTE" not in capsys.readouterr().out


def test_without_the_standin_the_message_says_what_works(tmp_path, monkeypatch):
    from course_utils import layout

    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setattr(layout, "DATA", tmp_path / "data")
    monkeypatch.setattr(layout, "STANDIN", tmp_path / "no-standin")
    _no_network(monkeypatch)
    with pytest.raises(FileNotFoundError) as excinfo:
        data.load_fashion_mnist()
    message = _assert_one_clear_error(excinfo, tmp_path / "data" / "FashionMNIST" / "raw")
    assert "restart" not in message.replace("no restart needed", ""), "no kernel restart: it would change nothing"
    assert "run this cell again (no restart needed)" in message and str(tmp_path / "no-standin") in message


# The notebook's loading cell, in a kernel of its own on a machine without network: run once, then (after the
# student did what the message says) run again in the same kernel.
KERNEL = """
import sys
from torchvision.datasets import FashionMNIST
FashionMNIST.mirrors = ["http://127.0.0.1:9/"]  # no network
from course_utils.data import load_fashion_mnist
attempts = int(sys.argv[1])
for attempt in range(attempts):
    try:
        d = load_fashion_mnist()
        print("LOADED", d.synthetic, tuple(d.X_train.shape), flush=True)
    except FileNotFoundError as error:
        print("ERROR", str(error).replace(chr(10), " "), flush=True)
    if attempt < attempts - 1:
        sys.stdin.readline()  # the student follows the message
"""


@pytest.mark.slow
def test_a_student_offline_follows_the_message_and_runs_the_cell_again(tmp_path):
    """A copy of the course without data, stand-in or network: the message's command, then the same cell again."""
    import json
    import os
    import re
    import subprocess
    import sys

    from course_utils.layout import REPO

    course = (tmp_path / "course").resolve()
    shutil.copytree(REPO / "course_utils", course / "course_utils", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "Makefile"):
        shutil.copy(REPO / name, course / name)
    # The course's environment is this one, already set up (a conda-style prefix whose stamp says so).
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (env / "bin" / "python").chmod(0o755)
    (env / ".course-installed.json").write_text(json.dumps({"test": False, "course": str(course)}))
    # As a student runs it, from a shell: not inside `make test` (whose MAKELEVEL makes make announce directories).
    environ = {k: v for k, v in os.environ.items() if k not in ("COURSE_DATA_DIR", "MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    environ.update(CONDA_PREFIX=str(env), CONDA_DEFAULT_ENV="course", PYTHONPATH=str(course))

    kernel = subprocess.Popen([sys.executable, "-c", KERNEL, "2"], cwd=course, env=environ, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert kernel.stdout is not None
    try:
        first = next(line for line in kernel.stdout if line.startswith(("ERROR", "LOADED")))
        assert first.startswith("ERROR Fashion-MNIST is not available: the download failed"), first
        commands = re.findall(r"`([^`]+)`", first)
        assert commands[:2] == ["make standin", "python -m course_utils standin"], first
        assert "run this cell again (no restart needed)" in first
        command = commands[0].split() if shutil.which("make") else [sys.executable, *commands[1].split()[1:]]
        made = subprocess.run(command, cwd=course, env=environ, capture_output=True, text=True, timeout=600)
        assert made.returncode == 0, made.stdout + made.stderr
        standin = course / ".cache" / "fashion-mnist-standin"
        assert made.stdout.splitlines()[-1] == f"COURSE_DATA_DIR={standin}", made.stdout
        assert "loads it by itself" in made.stdout and "run the notebook's cell again (no restart needed)" in \
            made.stdout and "restart the kernel" not in made.stdout
        assert (data.fashion_mnist_raw_dir(standin) / data.STANDIN_MARKER).is_file()
        rest, _ = kernel.communicate("\n", timeout=600)
    finally:
        kernel.kill()
    assert "LOADED True (60000, 784)" in rest and f"NOTE: synthetic stand-in for Fashion-MNIST, loaded from " \
        f"{data.fashion_mnist_raw_dir(standin)}" in rest, rest
    # A kernel started afresh (a restart, or the next session) finds it too.
    again = subprocess.run([sys.executable, "-c", KERNEL, "1"], cwd=course, env=environ,
                           capture_output=True, text=True, timeout=600)
    assert "LOADED True (60000, 784)" in again.stdout and "NOTE: synthetic" in again.stdout, again.stdout + again.stderr
    assert not (course / "data" / "FashionMNIST" / "raw" / data.STANDIN_MARKER).exists(), "data/ holds no stand-in"
