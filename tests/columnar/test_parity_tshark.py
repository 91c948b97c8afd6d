"""The columnar packets table equals tshark's fields, column by column, on every capture.

Rows the fast path marks (``pcapkit.fallback``) are left to the per-packet
dissectors and are not compared here; every other row is compared on every column
(absent in tshark <=> missing in ours).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import capture_files, corpus_files, corpus_id, requires_tshark

from columnar.parity import compare

# (file, column): why we differ on purpose
KNOWN = {
    ("broken/timestamp_invalid_micro.pcap", "frame.time_epoch"):
        "sub-second field >= 1e6: tshark prints it unnormalised (…370.1000000000); we carry into seconds",
    ("broken/timestamp_invalid_nano.pcap", "frame.time_epoch"):
        "sub-second field >= 1e9: tshark prints it unnormalised; we carry into seconds",
}

FILES = corpus_files() + capture_files()


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=[corpus_id(p) for p in FILES])
def test_columnar_equals_tshark(path: Path) -> None:
    name = corpus_id(path)
    _compared, _fallback, problems = compare(path)
    problems = [p for p in problems
                if not any(p.split()[2:3] == [col + ":"] for (f, col) in KNOWN if f == name)]
    assert not problems, f"{len(problems)} differences, first: {problems[:5]}"


@requires_tshark
def test_known_differences_are_real() -> None:
    """The exceptions above still differ (otherwise they should be removed)."""
    for (name, column) in KNOWN:
        path = next(p for p in FILES if corpus_id(p) == name)
        _, _, problems = compare(path)
        assert any(f" {column}:" in p for p in problems)
