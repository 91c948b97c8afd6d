"""A lab keeps every dissected packet in memory (about 1 KB each): on a capture of
millions it reads a bounded number and says so (issue 11: limits have defaults and are
reported when hit)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import REPO

from pcapkit.cli.main import cli
from pcapkit.dissect.driver import dissect_file
from pcapkit.reports import lab_common, lab_read


def test_labs_read_a_bounded_number_of_packets_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    path = REPO / "captures" / "tcp-download.pcapng"
    total = sum(1 for _ in dissect_file(str(path)))
    whole = lab_common.read_trace(path)
    assert len(whole.packets) == total > 100 and whole.warnings == []
    cut = lab_common.read_trace(path, max_packets=100)
    assert [p.frame.number for p in cut.packets] == list(range(1, 101))
    assert cut.warnings == [f"{path}: the labs read the first 100 packets only (a lab trace is a few thousand); "
                            "the answers are about those"]
    # the command reports it on standard error and answers from what was read
    monkeypatch.setattr(lab_common.read_trace, "__defaults__", (100,))
    monkeypatch.setattr(lab_read.read_selected, "__defaults__", (100,))
    result = CliRunner().invoke(cli, ["lab", "intro", str(path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert f"pcapkit: warning: {cut.warnings[0]}" in result.stderr
    assert result.stdout.startswith("question,answer,frames")
