"""course_utils.data: data directory, toy data sets, split and mini-batches."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from course_utils import data
from course_utils.layout import DATA, REPO


def test_data_dir_defaults_to_the_repository_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # nbgrader runs notebooks in another folder
    assert data.data_dir() == DATA


def test_data_dir_env_var_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "elsewhere"))
    assert data.data_dir() == tmp_path / "elsewhere"


def test_data_dir_found_from_a_deeper_working_directory(tmp_path):
    deeper = tmp_path / "autograded" / "student" / "01_sigmoid_bce"
    deeper.mkdir(parents=True)
    env = {k: v for k, v in __import__("os").environ.items() if k != "COURSE_DATA_DIR"}
    out = subprocess.run([sys.executable, "-c", "from course_utils.data import data_dir; print(data_dir())"],
                         cwd=deeper, env=env, capture_output=True, text=True, check=True)
    assert Path(out.stdout.strip()) == DATA


def test_make_blobs_shapes_labels_and_balance():
    X, y = data.make_blobs(101, distance=4.0, seed=3)
    assert X.shape == (101, 2) and X.dtype == torch.float32
    assert y.shape == (101,) and y.dtype == torch.float32
    assert set(y.tolist()) == {0.0, 1.0}
    assert int(y.sum()) == 50
    # class means sit near (-2, 0) and (+2, 0)
    assert float(X[y == 0, 0].mean()) < -1.5 and float(X[y == 1, 0].mean()) > 1.5


def test_make_blobs_is_seeded():
    a = data.make_blobs(50, seed=1)
    b = data.make_blobs(50, seed=1)
    c = data.make_blobs(50, seed=2)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


@pytest.mark.parametrize(
    ("kwargs", "error", "argument"),
    [
        ({"n_samples": 1}, ValueError, "n_samples"),
        ({"n_samples": 10.0}, ValueError, "n_samples"),
        ({"distance": -1.0}, ValueError, "distance"),
        ({"seed": "0"}, TypeError, "seed"),
    ],
)
def test_make_blobs_bad_input(kwargs, error, argument):
    with pytest.raises(error, match=f"^{argument} must"):
        data.make_blobs(**kwargs)


def test_load_exam_scores():
    X, y = data.load_exam_scores()
    assert X.shape == (300, 2) and X.dtype == torch.float32
    assert y.shape == (300,) and y.dtype == torch.float32
    assert set(y.tolist()) == {0.0, 1.0}
    assert 0 <= float(X[:, 0].min()) and float(X[:, 0].max()) <= 40
    assert 200 <= float(X[:, 1].min()) and float(X[:, 1].max()) <= 800


def test_exam_scores_csv_is_rebuilt_byte_for_byte_by_its_script(tmp_path):
    out = tmp_path / "exam_scores.csv"
    subprocess.run([sys.executable, str(DATA / "make_exam_scores.py"), str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == (REPO / "course_utils" / "data_files" / "exam_scores.csv").read_bytes()


def test_load_exam_scores_reports_a_missing_file(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "_EXAM_SCORES", tmp_path / "exam_scores.csv")
    with pytest.raises(FileNotFoundError, match="make_exam_scores.py"):
        data.load_exam_scores()


def test_train_test_split_partitions_and_keeps_rows_together():
    X = torch.arange(20.0).reshape(10, 2)
    y = torch.arange(10)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_fraction=0.3,
                                                             generator=torch.Generator().manual_seed(0))
    assert X_train.shape == (7, 2) and X_test.shape == (3, 2)
    assert sorted(torch.cat([y_train, y_test]).tolist()) == list(range(10))
    assert torch.equal(X_train[:, 0], 2.0 * y_train) and torch.equal(X_test[:, 0], 2.0 * y_test)


def test_train_test_split_is_seeded():
    X = torch.arange(100.0)
    a = data.train_test_split(X, generator=torch.Generator().manual_seed(5))
    b = data.train_test_split(X, generator=torch.Generator().manual_seed(5))
    assert all(torch.equal(p, q) for p, q in zip(a, b))


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "argument"),
    [
        ((), {}, TypeError, "pass at least one tensor"),
        (([1, 2],), {}, TypeError, r"tensors\[0\] must"),
        ((torch.zeros(4), torch.zeros(5)), {}, ValueError, r"tensors\[1\] has 5 examples"),
        ((torch.zeros(4),), {"test_fraction": 1.5}, ValueError, "test_fraction must"),
        ((torch.zeros(4),), {"test_fraction": 0.01}, ValueError, "test_fraction=0.01 of 4 examples"),
        ((torch.zeros(4),), {"generator": 0}, TypeError, "generator must"),
    ],
)
def test_train_test_split_bad_input(args, kwargs, error, argument):
    with pytest.raises(error, match=f"^{argument}"):
        data.train_test_split(*args, **kwargs)


def test_minibatches_cover_every_example_once_per_epoch():
    X = torch.arange(10.0).reshape(10, 1)
    y = torch.arange(10)
    batches = list(data.minibatches(X, y, batch_size=4, generator=torch.Generator().manual_seed(0)))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    seen = torch.cat([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10))
    assert seen.tolist() != list(range(10)), "shuffle=True must change the order"
    assert all(torch.equal(bx[:, 0], by.float()) for bx, by in batches)


def test_minibatches_seeded_and_unshuffled():
    X = torch.arange(10)
    a = [b[0].tolist() for b in data.minibatches(X, batch_size=3, generator=torch.Generator().manual_seed(1))]
    b = [b[0].tolist() for b in data.minibatches(X, batch_size=3, generator=torch.Generator().manual_seed(1))]
    assert a == b
    plain = [b[0].tolist() for b in data.minibatches(X, batch_size=3, shuffle=False)]
    assert plain == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


def test_minibatches_new_order_each_epoch_from_one_generator():
    g = torch.Generator().manual_seed(0)
    X = torch.arange(50)
    first = torch.cat([b[0] for b in data.minibatches(X, batch_size=8, generator=g)])
    second = torch.cat([b[0] for b in data.minibatches(X, batch_size=8, generator=g)])
    assert not torch.equal(first, second)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "argument"),
    [
        ((torch.zeros(4),), {"batch_size": 0}, ValueError, "batch_size must"),
        ((torch.zeros(4),), {"batch_size": 2.0}, ValueError, "batch_size must"),
        ((torch.tensor(1.0),), {"batch_size": 2}, ValueError, r"tensors\[0\] is 0-d"),
        ((torch.zeros(4), torch.zeros(3)), {"batch_size": 2}, ValueError, r"tensors\[1\] has 3 examples"),
    ],
)
def test_minibatches_bad_input(args, kwargs, error, argument):
    with pytest.raises(error, match=f"^{argument}"):
        next(data.minibatches(*args, **kwargs))
