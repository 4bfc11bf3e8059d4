"""The test helpers that decide what a run reports: the catalogue tallies."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from support import tally


def _report(outcome: str, *properties: tuple[str, object]) -> SimpleNamespace:
    return SimpleNamespace(outcome=outcome, user_properties=list(properties))


def test_a_tally_counts_passes_or_failures_as_asked():
    caught = ("tally", ("wrong caught", "passed"))
    harmed = ("tally", ("honest harmed", "failed"))
    reports = [_report("passed", caught), _report("failed", caught), _report("passed", caught),
               _report("passed", harmed), _report("passed", harmed), _report("failed", ("other", 1)),
               _report("passed")]
    assert tally.counts(reports) == {"wrong caught": (2, 3), "honest harmed": (0, 2)}


def test_a_tally_marker_says_what_it_counts():
    marker = tally.tally("hostile graded right").mark
    assert marker.name == "tally" and marker.args == ("hostile graded right",) and marker.kwargs == {"counts": "passed"}
    with pytest.raises(ValueError, match="counts must be"):
        tally.tally("x", counts="skipped")
