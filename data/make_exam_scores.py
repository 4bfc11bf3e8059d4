"""Write course_utils/data_files/exam_scores.csv: a small two-class, two-feature data set.

Synthetic, made by this script with a fixed seed (rerun it to rebuild the
file byte for byte). Each row is a student: hours studied (0-40), a practice
test score (200-800), and whether they passed the exam (1) or not (0). The
two features live on very different scales, on purpose: notebook 02 shows
why gradient descent wants them standardised. The pass probability is a
logistic function of both features, so logistic regression is the right
model, and the classes overlap, so no model gets every row right.

Usage: python data/make_exam_scores.py [OUTPUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

SEED = 2024
N_STUDENTS = 300
HEADER = "hours_studied,practice_score,passed"


def make_rows(n: int = N_STUDENTS, seed: int = SEED) -> list[tuple[float, float, int]]:
    g = torch.Generator().manual_seed(seed)
    hours = torch.rand(n, generator=g, dtype=torch.float64) * 40
    practice = (500 + 100 * torch.randn(n, generator=g, dtype=torch.float64)).clamp(200, 800)
    logit = 0.25 * (hours - 20) + 0.02 * (practice - 500)
    passed = (torch.rand(n, generator=g, dtype=torch.float64) < torch.sigmoid(logit)).long()
    return [(round(float(h), 1), round(float(p)), int(y)) for h, p, y in zip(hours, practice, passed)]


def write_csv(path: Path, rows: list[tuple[float, float, int]]) -> None:
    lines = [HEADER] + [f"{h:.1f},{p:.0f},{y}" for h, p, y in rows]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    default = Path(__file__).resolve().parent.parent / "course_utils" / "data_files" / "exam_scores.csv"
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    write_csv(out, make_rows())
    print(f"wrote {out}")
