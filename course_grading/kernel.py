"""The grading kernel: an IPython kernel that sandboxes itself before the first cell.

Run by Jupyter from a kernelspec (see :func:`install_kernelspec`) as
``python -m course_grading.kernel -f CONNECTION_FILE``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

KERNEL_NAME = "course-grader"


def install_kernelspec(jupyter_dir: Path) -> Path:
    """Write the grading kernel's spec under ``jupyter_dir/kernels``; add ``jupyter_dir`` to JUPYTER_PATH."""
    folder = jupyter_dir / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "course_grading.kernel", "-f", "{connection_file}"],
        "display_name": "Python 3 (grading sandbox)",
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return folder


def main() -> None:
    # Output that bypasses sys.stdout (os.write(1, ...), C extensions) goes nowhere.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    from ipykernel.kernelapp import IPKernelApp

    from course_grading import sandbox

    app = IPKernelApp.instance(capture_fd_output=False)
    app.initialize(sys.argv[1:])
    sandbox.enter(app.shell)
    app.start()


if __name__ == "__main__":
    main()
