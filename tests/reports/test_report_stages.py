"""The report's stages hold less at once (issue 11: 1,000,000 SYNs under 1 GB): what they
keep smaller must give the tables the whole data gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import corpus_files, corpus_id

from pcapkit.dissect.hierarchy import StackCounts, hierarchy_from_protocols
from pcapkit.reports.expert import expert_items
from pcapkit.reports.html_report import tcp_events
from pcapkit.reports.tcp import tcp_frames

TRACES = [p for p in corpus_files("labs", "tcp") if p.stat().st_size < 2_000_000][:12]


@pytest.mark.parametrize("path", TRACES, ids=corpus_id)
def test_counted_frame_protocols_give_the_hierarchy_of_the_list(path: Path) -> None:
    kept: list[tuple[str, int]] = []
    counted = StackCounts()
    expert_items(path, protocols=kept)
    expert_items(path, protocols=counted)
    assert sum(frames for frames, _ in counted.counts.values()) == len(kept)
    assert sum(nbytes for _, nbytes in counted.counts.values()) == sum(length for _, length in kept)
    assert counted.hierarchy() == hierarchy_from_protocols(kept)


@pytest.mark.parametrize("path", TRACES, ids=corpus_id)
def test_events_per_stream_count_every_frame(path: Path) -> None:
    tcp = tcp_frames(path)
    events = tcp_events(tcp)
    for _, row in events.iterrows():
        frames = tcp[tcp["tcp.stream"] == row["tcp.stream"]]
        assert row["retransmissions"] == int(frames["tcp.analysis.retransmission"].fillna(False).sum())
        assert row["duplicate_acks"] == int(frames["tcp.analysis.duplicate_ack"].fillna(False).sum())
    flagged = tcp[[c for c in ("tcp.analysis.retransmission", "tcp.analysis.duplicate_ack",
                               "tcp.analysis.lost_segment", "tcp.analysis.out_of_order")]].fillna(False).any(axis=1)
    assert set(tcp.loc[flagged, "tcp.stream"].astype(int)) <= set(events["tcp.stream"].astype(int))
