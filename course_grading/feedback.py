"""A feedback preprocessor that keeps the hidden tests hidden.

nbgrader's feedback shows every test cell as it ran, hidden tests included.
This preprocessor removes the hidden-test region from each test cell and
shortens an error in such a cell to its last line (``AssertionError: ...``),
so a student learns which check failed and why, not the test's code.
"""

from __future__ import annotations

from typing import Any

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests


class HideHiddenTests(ClearHiddenTests):
    def preprocess_cell(self, cell: NotebookNode, resources: Any, cell_index: int) -> tuple[NotebookNode, Any]:
        if cell.cell_type == "code" and self.begin_test_delimeter in cell.source:
            self._remove_hidden_test_region(cell)
            cell.source = cell.source.rstrip() + "\n# (hidden tests ran here)"
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
