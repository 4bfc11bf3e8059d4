"""Benchmark: the slow data pipeline against the course's, and the time to run the notebooks.

Run with ``make bench``. In one process, on the same data:

1. seconds per epoch of the *slow* pipeline: torchvision's ``FashionMNIST``
   dataset with a per-sample ``transforms.ToTensor()``, through a
   ``DataLoader`` (batch 256);
2. seconds per epoch of the *course's* pipeline: the same images loaded once
   into tensors by ``load_fashion_mnist()``, batches from ``minibatches``;

both with the same model and step (``nn.Linear(784, 10)``,
``nn.CrossEntropyLoss``, the SGD recipe of notebook 04) and the same number
of threads. It also times the model step alone, on batches made in advance,
one such epoch after each epoch of the course's pipeline: the work both
pipelines share, and so the ceiling on any speed-up (budget: the course's
pipeline at most 1.2x of it, medians compared). Then the
wall time to execute every solution notebook (``solutions/*/*.ipynb``) with
nbclient, in a fresh kernel each, side by side with an *empty* notebook that
only runs the same notebook's set-up cell and imports the modules the
notebook imported (starting a kernel and importing torch are most of it):
each notebook's time as a multiple of its empty one (budget: at most 2.5x
each, 2x for all together).

Data: ``$COURSE_DATA_DIR`` if set, else the real Fashion-MNIST in ``data/``
if it has been downloaded, else the synthetic stand-in (said so below). The
last line is the summary:

    bench: dataloader_epoch_s=<x> tensor_epoch_s=<y> step_epoch_s=<s> pipeline_ratio=<y/s> speedup=<x/y>x
           course_s=<total> nb04_s=<t> test_acc=<a>
           empty_s=<total of the empty notebooks> course_ratio=<x> worst_ratio=<x>
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

from course_utils.layout import DATA, REPO, SOLUTIONS, assignments

THREADS = 1  # as in notebook 04: a model this small gains nothing from more


def choose_data() -> str:
    """Point COURSE_DATA_DIR at the data to use and describe the choice."""
    from course_utils.data import FASHION_MNIST_FILES, STANDIN_MARKER, fashion_mnist_raw_dir

    def complete(raw: Path) -> bool:
        """All four files are there, as the .gz archive or extracted (load_fashion_mnist extracts them)."""
        return all((raw / name).is_file() or (raw / name.removesuffix(".gz")).is_file()
                   for name in FASHION_MNIST_FILES)

    if os.environ.get("COURSE_DATA_DIR"):
        raw = fashion_mnist_raw_dir()
        if not complete(raw):
            kind = "NO Fashion-MNIST files (loading them will fail)"
        elif (raw / STANDIN_MARKER).is_file():
            kind = "synthetic stand-in"
        else:
            kind = "real Fashion-MNIST"
        return f"{kind} in COURSE_DATA_DIR={os.environ['COURSE_DATA_DIR']}"
    raw = fashion_mnist_raw_dir(DATA)
    if complete(raw):
        return f"real Fashion-MNIST from {raw}"
    from course_utils.standin import ensure_standin

    folder = ensure_standin()
    os.environ["COURSE_DATA_DIR"] = str(folder)
    return (f"SYNTHETIC STAND-IN (no real Fashion-MNIST in {raw}): COURSE_DATA_DIR={folder}; "
            "timings are representative, the accuracy is not")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or model
    return f"{os.cpu_count()} CPUs ({model}), {platform.system()}, Python {platform.python_version()}"


def time_pipelines() -> tuple[float, float, float, float]:
    import torch
    from torch import nn
    from torch.utils.data import DataLoader
    from torchvision import transforms
    from torchvision.datasets import FashionMNIST

    from course_utils.data import data_dir, load_fashion_mnist, minibatches
    from course_utils.training import SOFTMAX_RECIPE as recipe
    from course_utils.training import make_sgd, make_softmax_model

    torch.set_num_threads(THREADS)
    loss_fn = nn.CrossEntropyLoss()

    def step(model, optimizer, X_batch, y_batch):
        optimizer.zero_grad()
        loss_fn(model(X_batch), y_batch).backward()
        optimizer.step()

    # The slow pipeline: one epoch, every image converted on its own.
    dataset = FashionMNIST(root=data_dir(), train=True, download=False, transform=transforms.ToTensor())
    loader = DataLoader(dataset, batch_size=recipe.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(recipe.seed))
    model = make_softmax_model()
    optimizer, _ = make_sgd(model, recipe)
    start = time.perf_counter()
    for images, labels in loader:
        step(model, optimizer, images.reshape(len(images), -1), labels)
    dataloader_s = time.perf_counter() - start
    print(f"DataLoader + per-sample ToTensor: {dataloader_s:.2f} s for one epoch")

    # The course's pipeline: load once, then the recipe's epochs from tensors. After each
    # epoch, the floor under both pipelines: one epoch of the model's own work on batches
    # made in advance (a second model, so training is untouched). Interleaving the two and
    # comparing medians keeps a noisy moment of the machine from favouring either side.
    start = time.perf_counter()
    d = load_fashion_mnist()
    print(f"load_fashion_mnist(): {time.perf_counter() - start:.2f} s (once)")
    model = make_softmax_model()
    optimizer, scheduler = make_sgd(model, recipe)
    shuffle = torch.Generator().manual_seed(recipe.seed)
    batches = list(minibatches(d.X_train, d.y_train, batch_size=recipe.batch_size,
                               generator=torch.Generator().manual_seed(recipe.seed + 1)))
    step_model = make_softmax_model()
    step_optimizer, _ = make_sgd(step_model, recipe)
    epoch_times, step_times = [], []
    for _ in range(recipe.epochs):
        start = time.perf_counter()
        for X_batch, y_batch in minibatches(d.X_train, d.y_train, batch_size=recipe.batch_size, generator=shuffle):
            step(model, optimizer, X_batch, y_batch)
        epoch_times.append(time.perf_counter() - start)
        scheduler.step()
        start = time.perf_counter()
        for X_batch, y_batch in batches:
            step(step_model, step_optimizer, X_batch, y_batch)
        step_times.append(time.perf_counter() - start)
    tensor_s, step_s = statistics.median(epoch_times), statistics.median(step_times)
    with torch.no_grad():
        test_acc = (model(d.X_test).argmax(dim=1) == d.y_test).float().mean().item()
    print(f"in-memory tensors + minibatches: {tensor_s:.3f} s per epoch (median of {len(epoch_times)}), "
          f"test accuracy after {recipe.epochs} epochs {test_acc:.4f}")
    print(f"the model step alone, on batches made in advance: {step_s:.3f} s per epoch (median of "
          f"{len(step_times)}, interleaved with the epochs above): the in-memory pipeline costs "
          f"{tensor_s / step_s:.2f}x the model's own work (budget 1.2x), and no data pipeline can be more "
          f"than {dataloader_s / step_s:.0f}x faster than the DataLoader one here")
    return dataloader_s, tensor_s, step_s, test_acc


def _run(nb, folder: Path) -> tuple[float, str]:
    """Seconds to execute ``nb`` in a fresh kernel, and "ok" or what failed."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    start = time.perf_counter()
    try:
        client.execute()
        status = "ok"
    except Exception as err:  # report and go on: the timing of the others still counts
        status = f"FAILED ({type(err).__name__})"
    return time.perf_counter() - start, status


# Appended to each notebook: the modules its kernel has imported by the end.
_LIST_MODULES = "import sys\nprint(' '.join(sorted(sys.modules)))"


def time_notebooks() -> tuple[dict[str, float], dict[str, float]]:
    """{notebook: seconds} for every solution notebook, and for its empty twin.

    The twin runs the notebook's set-up cell, then imports every module the
    notebook's kernel had imported by its end: some are imported on first use
    (``torch.optim``'s first optimiser loads ``torch._dynamo``, about 2 s), and
    that import is the same work in the notebook and in the twin.
    """
    import nbformat

    times, empty = {}, {}
    for path in (SOLUTIONS / a / f"{a}.ipynb" for a in assignments()):
        nb = nbformat.read(path, as_version=4)
        # The set-up cell: the first code cell that is not the Colab cell (a no-op off Colab).
        setup = next(c for c in nb.cells if c.cell_type == "code" and "google.colab" not in c.source)
        nb.cells.append(nbformat.v4.new_code_cell(_LIST_MODULES))
        times[path.stem], status = _run(nb, path.parent)
        outputs = nb.cells[-1].get("outputs", [])
        modules = outputs[0]["text"].split() if outputs and "text" in outputs[0] else []
        imports = ("import importlib\nfor _name in " + repr(modules) + ":\n    try:\n"
                   "        importlib.import_module(_name)\n    except Exception:\n        pass")
        twin = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup.source),
                                               nbformat.v4.new_code_cell(imports)], metadata=nb.metadata)
        empty[path.stem], _ = _run(twin, path.parent)
        print(f"{path.relative_to(REPO)}: {times[path.stem]:.1f} s {status}; empty twin {empty[path.stem]:.1f} s "
              f"(set-up and the {len(modules)} modules the notebook imported): "
              f"{times[path.stem] / empty[path.stem]:.2f}x (budget 2.5x)")
    return times, empty


def main() -> None:
    print(f"machine: {machine()}; torch threads: {THREADS}")
    print(f"data: {choose_data()}")
    dataloader_s, tensor_s, step_s, test_acc = time_pipelines()
    times, empty = time_notebooks()
    nb04 = next((t for name, t in times.items() if name.startswith("04_")), float("nan"))
    worst = max(times[name] / empty[name] for name in times)
    course_ratio = sum(times.values()) / sum(empty.values())
    print(f"all notebooks: {course_ratio:.2f}x their empty twins (budget 2x); the slowest {worst:.2f}x (budget 2.5x)")
    print(f"bench: dataloader_epoch_s={dataloader_s:.2f} tensor_epoch_s={tensor_s:.3f} step_epoch_s={step_s:.3f} "
          f"pipeline_ratio={tensor_s / step_s:.2f} "
          f"speedup={dataloader_s / tensor_s:.0f}x course_s={sum(times.values()):.1f} nb04_s={nb04:.1f} "
          f"test_acc={test_acc:.4f} empty_s={sum(empty.values()):.1f} course_ratio={course_ratio:.2f} "
          f"worst_ratio={worst:.2f}")


if __name__ == "__main__":
    main()
