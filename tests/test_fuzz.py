"""A short, fixed-seed pass of bench/fuzz.py over every reader of untrusted
text (issue 9): mutated Kconfig, Makefiles, C, diffs and mails end in an
answer or a KwhenError, never in another exception or a hang. The long runs
and their figures are in bench/RESULTS.md ("Fuzzing (issue 9)")."""

import io
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.fuzz import READERS, fuzz  # noqa: E402

SECONDS = 6


@pytest.mark.parametrize("reader", sorted(READERS))
def test_fuzzing_finds_no_crash_and_no_hang(reader):
    report = io.StringIO()
    tally = fuzz(reader, SECONDS, seed=1, limit=10.0, out=report)
    assert tally.inputs > 50
    assert tally.exceptions == 0 and tally.hangs == 0, report.getvalue()
