"""Counts printed at the end of a run: how many catalogued submissions the grader got right.

A test marked ``@pytest.mark.tally("wrong submissions caught")`` counts once under
that heading: as a success when it passes, or, with ``counts="failed"``, when it
fails (for "honest classmates harmed", say). The counts are read from pytest's own
reports (``tests/conftest.py`` hooks), not kept in variables by the tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

PROPERTY = "tally"


def tally(kind: str, counts: str = "passed") -> pytest.MarkDecorator:
    """Mark a test whose outcome counts under ``kind``."""
    if counts not in ("passed", "failed"):
        raise ValueError(f"counts must be 'passed' or 'failed', got {counts!r}")
    return pytest.mark.tally(kind, counts=counts)


def property_of(item: pytest.Item) -> tuple[str, tuple[str, str]] | None:
    """The user property a test's report carries for its tally marker, if it has one."""
    marker = item.get_closest_marker("tally")
    if marker is None:
        return None
    return PROPERTY, (marker.args[0], marker.kwargs.get("counts", "passed"))


def counts(reports: Iterable[Any]) -> dict[str, tuple[int, int]]:
    """{kind: (counted, total)} over the reports of tests that ran (passed or failed)."""
    found: dict[str, list[int]] = {}
    for report in reports:
        for name, value in getattr(report, "user_properties", ()):
            if name == PROPERTY:
                kind, wanted = value
                entry = found.setdefault(kind, [0, 0])
                entry[0] += report.outcome == wanted
                entry[1] += 1
    return {kind: (n, total) for kind, (n, total) in found.items()}
