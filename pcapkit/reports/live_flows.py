"""The flows report of a live capture: a conversation's row when it ends.

Each conversation (keyed as :func:`pcapkit.reports.flows.flows` keys them: TCP by
tcp.stream, UDP and TCP without a stream by the address/port pair, other IP by the
address pair and protocol) keeps its packets cut to their first ``keep_bytes`` bytes
(the headers: every flows column is computed from headers and frame lengths) until it
ends -- a TCP RST, or both FINs and then an ACK of the last one; for every protocol,
``idle_ns`` without a packet, or the end of the capture -- and then
:func:`~pcapkit.reports.flows.flows` runs over those packets: the same columns and
values as the file report, with the tcp.stream numbers of the whole capture. With
``interval_ns`` the open conversations are also reported (as they stand) that often.

Limits (configuration, reported when hit): ``max_packets`` kept per conversation (the
row then counts only those, and a warning names it), ``max_flows`` open at once (the
least recently active is ended early, with a warning).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from pcapkit.reports.app_labels import FIRST_FRAMES
from pcapkit.reports.app_labels import on_application_port as _application_port
from pcapkit.reports.live_reports import LiveBatch
from pcapkit.tcpflow.segment import ACK, FIN, RST

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.frame import Frame

__all__ = ["FlowRows"]

ConvKey = tuple[object, ...]


@dataclass(eq=False)
class _Conversation:
    frames: list[Frame] = field(default_factory=list)
    stream: int | None = None
    last_ns: int = 0
    fin_ends: dict[int, int] = field(default_factory=dict)  # sender endpoint -> seq after its FIN
    cut: bool = False
    ended_ns: int | None = None  # the time of the segment that ended it (reported a linger later)


# A conversation's row waits this long after the segment that ended it (a RST, the ACK of
# the last FIN): the RSTs and alerts that often follow belong to the same conversation in
# the file report (tshark's tcp.stream), and a row printed earlier could not take them.
LINGER_NS = 1_000_000_000


class FlowRows:
    """Flow rows as conversations end (see the module doc)."""

    def __init__(self, *, idle_ns: int = 60 * 10**9, interval_ns: int | None = None, keep_bytes: int = 256,
                 max_packets: int = 200_000, max_flows: int = 100_000, linger_ns: int = LINGER_NS) -> None:
        self.idle_ns = idle_ns
        self.linger_ns = linger_ns
        self.interval_ns = interval_ns
        self.keep_bytes = keep_bytes
        self.max_packets = max_packets
        self.max_flows = max_flows
        self._open: OrderedDict[ConvKey, _Conversation] = OrderedDict()
        self._next_interval: int | None = None
        self.warnings: list[str] = []

    def _warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def feed(self, batch: LiveBatch) -> pd.DataFrame | None:
        pk = batch.table.packets
        assert pk is not None, "LiveAnalysis(packets=True) is needed for flows"
        an = batch.analysed
        segs = an.segments
        texts = batch.table.addresses
        by_number = {f.number: f for f in batch.frames}
        # tshark's tcp.stream of each frame (its last analysed segment), and the segment's flags
        seg_of: dict[int, tuple[int, int, int, int, int, int]] = {}
        for fr, st, f, src, sport, seq, ack, seglen in zip(
                segs.frame.tolist(), an.stream.tolist(), segs.flags.tolist(), segs.src.tolist(),
                segs.sport.tolist(), segs.seq.tolist(), segs.ack.tolist(), segs.seglen.tolist(), strict=True):
            seg_of[fr] = (st, f, hash((texts[src], sport)), seq, ack, seglen)
        ended: list[ConvKey] = []
        for fr, ts, src, dst, proto, sport, dport in zip(
                pk.frame.tolist(), pk.ts_ns.tolist(), pk.src.tolist(), pk.dst.tolist(), pk.proto.tolist(),
                pk.sport.tolist(), pk.dport.tolist(), strict=True):
            seg = seg_of.get(fr)
            key: ConvKey
            if seg is not None:
                key = ("tcp", seg[0])
            elif sport >= 0 and proto in (6, 17):
                a, b = (texts[src], sport), (texts[dst], dport)
                key = ("ports", proto, min(a, b), max(a, b))
            else:
                key = ("ip", proto, min(texts[src], texts[dst]), max(texts[src], texts[dst]))
            conv = self._open.get(key)
            if conv is None:
                conv = self._open[key] = _Conversation(stream=seg[0] if seg is not None else None)
                if len(self._open) > self.max_flows:
                    oldest = next(iter(self._open))
                    self._warn(f"more than {self.max_flows} conversations open at once: the least recently "
                               "active were reported early (raise --max-flows)")
                    ended.append(oldest)
            else:
                self._open.move_to_end(key)
            conv.last_ns = ts
            frame = by_number[fr]
            if len(conv.frames) < self.max_packets:
                if frame.caplen > self.keep_bytes and not (len(conv.frames) < 2 * FIRST_FRAMES
                                                           and _application_port(sport, dport)):
                    # (a conversation's first frames on an application port stay whole: flows
                    # names its application from them, as from the file)
                    frame = dataclasses.replace(frame, data=frame.data[:self.keep_bytes], caplen=self.keep_bytes)
                conv.frames.append(frame)
            elif not conv.cut:
                conv.cut = True
                self._warn(f"a conversation passed {self.max_packets} packets: its row counts the first "
                           f"{self.max_packets} (raise --max-flow-packets)")
            if seg is not None and self._ends(conv, seg) and conv.ended_ns is None:
                conv.ended_ns = ts
        if pk.ts_ns.shape[0]:
            now = int(pk.ts_ns.max())
            ended += [k for k, c in self._open.items() if c.ended_ns is not None and now - c.ended_ns >= self.linger_ns]
        return self._report(list(dict.fromkeys(ended)))

    @staticmethod
    def _ends(conv: _Conversation, seg: tuple[int, int, int, int, int, int]) -> bool:
        """Whether this segment ends the TCP conversation: a RST, or (both sides having
        sent a FIN) an ACK without FIN of the peer's FIN."""
        _, f, me, seq, ack, seglen = seg
        if f & RST:
            return True
        if f & FIN:
            conv.fin_ends[me] = (seq + max(seglen, 0) + 1) % (1 << 32)
            return False
        if len(conv.fin_ends) == 2 and f & ACK:
            return any(end == ack for ep, end in conv.fin_ends.items() if ep != me)
        return False

    def expire(self, now_ns: int) -> pd.DataFrame | None:
        """End the conversations idle for ``idle_ns``; with an interval, report the open
        ones when it is due."""
        import pandas as pd

        idle = [k for k, c in self._open.items() if now_ns - c.last_ns >= self.idle_ns
                or (c.ended_ns is not None and now_ns - c.last_ns >= self.linger_ns)]
        out = [df for df in (self._report(idle),) if df is not None]
        if self.interval_ns is not None:
            if self._next_interval is None:
                self._next_interval = now_ns + self.interval_ns
            elif now_ns >= self._next_interval:
                self._next_interval = now_ns + self.interval_ns
                snap = self._rows(list(self._open.values()))
                if snap is not None:
                    out.append(snap)
        return pd.concat(out, ignore_index=True) if len(out) > 1 else (out[0] if out else None)

    def finish(self) -> pd.DataFrame | None:
        return self._report(list(self._open))

    def _report(self, keys: list[ConvKey]) -> pd.DataFrame | None:
        convs = [self._open.pop(k) for k in keys if k in self._open]
        return self._rows(convs)

    def _rows(self, convs: list[_Conversation]) -> pd.DataFrame | None:
        """flows() over the kept packets of ``convs`` (one run: conversations never meet
        in it), with the capture's tcp.stream numbers."""
        convs = [c for c in convs if c.frames]
        if not convs:
            return None
        import pandas as pd

        from pcapkit.reports.flows import flows

        frames = sorted((f for c in convs for f in c.frames), key=lambda f: f.number)
        df = flows(frames)
        # (the run numbers its own streams from 0: put the capture's numbers back)
        stream_of = {c.frames[0].number: c.stream for c in convs if c.stream is not None}
        tcp = df["tcp.stream"].notna().to_numpy()
        if tcp.any():
            first = df["first_frame"].to_numpy(dtype=np.int64, na_value=0)
            values = df["tcp.stream"].to_numpy(dtype=np.int64, na_value=0).copy()
            values[tcp] = [stream_of.get(n, v) for n, v in zip(first[tcp].tolist(), values[tcp].tolist(), strict=True)]
            df["tcp.stream"] = pd.arrays.IntegerArray(values, ~tcp)
        df.attrs.pop("warnings", None)
        return df
