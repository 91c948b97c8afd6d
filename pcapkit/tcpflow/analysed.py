"""tshark's TCP analysis of a whole segment table, in one pass.

:func:`analyse` reads the segments of a capture (:mod:`pcapkit.tcpflow.segments`, the
view tshark sees) and runs the TCP analysis over them once (compiled, or interpreted
with ``PCAPKIT_NO_NUMBA=1``); every report that needs ``tcp.stream`` or a
``tcp.analysis.*`` value (the tcp table, handshakes, RTT samples, flows, plots, the
labs) reads the resulting :class:`AnalysedSegments` instead of running its own pass.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from pcapkit.tcpflow.analysis import TCP_MAX_UNACKED_SEGMENTS
from pcapkit.tcpflow.segment import Segment
from pcapkit.tcpflow.segments import SegmentTable, Source, segment_table

__all__ = ["TCP_MAX_UNACKED_SEGMENTS", "AnalysedSegments", "analyse", "analyse_table"]


@dataclass(eq=False)
class AnalysedSegments:
    """The segments tshark analyses (``segments``, rows cut by a conversation limit
    removed) and the analysis of each row (``result``: arrays indexed like the rows,
    see :class:`pcapkit.tcpflow.analysis.AnalysisResult`), with the limits' warnings."""

    segments: SegmentTable
    result: Any
    warnings: list[str]

    def __len__(self) -> int:
        return len(self.segments)

    @property
    def stream(self) -> np.ndarray:
        return np.asarray(self.result.stream)

    def initial_rtt_by_stream(self) -> dict[int, int]:
        """tshark's ``tcp.analysis.initial_rtt`` (ns) of each stream that has one."""
        from pcapkit.tcpflow.flags import H_IRTT

        have = (np.asarray(self.result.have) & H_IRTT) != 0
        streams = self.stream[have]
        values = np.asarray(self.result.irtt)[have]
        out: dict[int, int] = {}
        for st, v in zip(streams.tolist(), values.tolist(), strict=True):
            out.setdefault(st, v)
        return out

    def stream_segments(self, stream: int) -> list[Segment]:
        """The segments of one tcp.stream, in order."""
        return list(self.segments.select(self.stream == stream).segments())

    def select(self, rows: np.ndarray) -> AnalysedSegments:
        """The rows ``rows`` (a boolean mask or sorted indices) of the table and result."""
        idx = np.nonzero(rows)[0] if rows.dtype == bool else rows
        if idx.shape[0] == len(self):
            return self
        res = self.result
        picked = {name: (value[idx] if isinstance(value, np.ndarray) and value.shape[:1] == (len(self),)
                         else value) for name, value in vars(res).items()}
        return AnalysedSegments(self.segments.select(idx), type(res)(**picked), self.warnings)


def analyse_table(table: SegmentTable, *, max_unacked: int = TCP_MAX_UNACKED_SEGMENTS,
                  max_conversations: int | None = None, compiled: bool | None = None,
                  outputs: Collection[str] | None = None) -> AnalysedSegments:
    """Run the analysis over the tshark view of ``table``. ``compiled=None``: compiled
    unless PCAPKIT_NO_NUMBA is set or numba is missing; False: interpreted. ``outputs``:
    the analysis results kept (names of :data:`pcapkit.tcpflow.analysis.OUTPUTS`; the
    others are None; default all): e.g. ``("stream",)`` for the tcp.stream numbers only."""
    from pcapkit.tcpflow import analysis

    segs = table.tshark_view()
    key, dirb = segs.conversation_keys()
    sack_l, sack_r = segs.sack_blocks(3)
    res = analysis.run(segs.frame, segs.ts_ns, key, dirb, segs.seq, segs.ack, segs.flags, segs.window,
                       segs.seglen, segs.wscale, segs.sack_n, sack_l, sack_r,
                       max_unacked=max_unacked, max_conversations=max_conversations, compiled=compiled,
                       outputs=outputs)
    out = AnalysedSegments(segs, res, list(res.warnings))
    kept = np.asarray(res.stream) >= 0
    if not bool(kept.all()):
        out = out.select(kept)
    return out


def analyse(source: Source, *, max_unacked: int = TCP_MAX_UNACKED_SEGMENTS, max_conversations: int | None = None,
            compiled: bool | None = None, keep_payload: bool | int = False, filter: str | None = None,
            mark: str | None = None) -> AnalysedSegments:
    """The analysed segments of a capture file or an iterable of frames (``filter`` and
    ``mark``: see :func:`pcapkit.tcpflow.segments.segment_table`)."""
    table = segment_table(source, keep_payload=keep_payload, filter=filter, mark=mark)
    return analyse_table(table, max_unacked=max_unacked, max_conversations=max_conversations, compiled=compiled)
