"""The receiver's scaled window in the congestion model equals tshark's tcp.window_size,
whichever side's SYN comes first (in a download the receiver's SYN comes first; the
window line of the time-sequence plot depends on it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CAPTURES, requires_tshark
from oracle import tshark_fields

from pcapkit.reports.plots import connection

OPTIONS = ("tcp.analyze_sequence_numbers:TRUE", "tcp.relative_sequence_numbers:TRUE")


@requires_tshark
@pytest.mark.parametrize("name", ["tcp-download.pcapng", "tcp-upload.pcap"])
def test_receiver_windows_equal_tshark(name: str) -> None:
    path: Path = CAPTURES / name
    data = connection(path, 0)
    ref = {int(r["frame.number"]): r for r in tshark_fields(
        path, ("frame.number", "tcp.window_size", "tcp.ack"), options=OPTIONS, display_filter="tcp.stream == 0")}
    acks = [a for a in data.report.acks if a.frame in ref]
    assert len(acks) > 20
    data_end = max(s.seq + s.length for s in data.report.sent)
    for a in acks:
        assert str(a.window) == ref[a.frame]["tcp.window_size"], a
        # the model counts data only: ACKs of the sender's FIN (past the data) are clamped
        if int(ref[a.frame]["tcp.ack"]) <= data_end:
            assert str(a.ack) == ref[a.frame]["tcp.ack"], a
