"""Right answers written differently: each must get full marks, exactly like the reference.

A grader is also wrong when it takes points from correct work. Each entry is
one small text change to a reference answer that keeps it correct: another
idiom, or code that raises a harmless warning (``float()`` of a loss that
requires grad), which must not cost a test cell through stderr.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RightSubmission:
    assignment: str
    name: str
    cell: str
    old: str
    new: str

    @property
    def student(self) -> str:
        return f"right-{self.name}"


RIGHT = [
    RightSubmission("01_sigmoid_bce", "sigmoid-float-literals", "nb01_sigmoid",
                    "e / (1 + e), 1 / (1 + e)", "e / (1.0 + e), 1.0 / (1.0 + e)"),
    RightSubmission("03_nn_module", "train-float-of-loss", "nb03_train",
                    "total += loss.item() * len(y_batch)", "total += float(loss) * len(y_batch)"),
    RightSubmission("04_softmax_fashion_mnist", "step-float-of-loss", "nb04_train_step",
                    "    return loss.item()", "    return float(loss)"),
    RightSubmission("04_softmax_fashion_mnist", "epoch-float-of-loss", "nb04_train_epoch",
                    "total += loss.item() * len(y_batch)", "total += float(loss) * len(y_batch)"),
]
