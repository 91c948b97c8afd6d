"""The connections of a live capture as they stand: what ``pcapkit top`` shows.

:class:`ConnectionBoard` reads each analysed batch (:class:`~pcapkit.reports.live_reports.LiveBatch`,
from the one TCP engine) and keeps, per tcp.stream: the endpoints (the SYN's sender is
the client), packets and bytes each way (frame lengths, as flows counts them) and the
bytes of the last interval (throughput), tshark's retransmission and zero-window flags
counted, the RFC 6298 SRTT of each data direction fed with tshark's ``ack_rtt`` samples
(:class:`~pcapkit.reports.live_reports.RttRows`' estimators: the SRTT column of
``pcapkit rtt``), and Zeek's ``conn_state`` from the model of :mod:`pcapkit.tcpflow.zeek`
run over the stream's control segments (SYN, FIN, RST and the next segment from each
side after one: what moves Zeek's endpoint states; data segments in between do not).

Streams idle for ``idle_ns`` are dropped (bounded memory); :meth:`ConnectionBoard.rows`
gives the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pcapkit.reports.live_reports import LiveBatch, RttRows
from pcapkit.tcpflow.flags import (
    A_FAST_RETRANSMISSION,
    A_RETRANSMISSION,
    A_SPURIOUS_RETRANSMISSION,
    A_ZERO_WINDOW,
)
from pcapkit.tcpflow.segment import FIN, RST, SYN, Segment

__all__ = ["SORT_KEYS", "ConnectionBoard"]

_RETRANSMITTED = A_RETRANSMISSION | A_FAST_RETRANSMISSION | A_SPURIOUS_RETRANSMISSION
# sort key -> the row field it orders by (largest first; "start" oldest first)
SORT_KEYS = {"rate": "rate_Bps", "bytes": "bytes", "packets": "packets", "srtt": "srtt_ms",
             "retrans": "retrans", "zerowin": "zero_windows", "start": "first_ns"}
_MAX_CONTROL = 64   # control segments kept per stream for its conn_state


@dataclass(eq=False)
class _Conn:
    stream: int
    client: str
    server: str
    first_ns: int
    last_ns: int = 0
    packets: list[int] = field(default_factory=lambda: [0, 0])   # client->server, server->client
    bytes: list[int] = field(default_factory=lambda: [0, 0])
    window_bytes: list[int] = field(default_factory=lambda: [0, 0])
    rate: list[float] = field(default_factory=lambda: [0.0, 0.0])
    retrans: int = 0
    zero_windows: int = 0
    control: list[Segment] = field(default_factory=list)
    want_next: set[str] = field(default_factory=set)
    state: str = ""
    state_stale: bool = True


class ConnectionBoard:
    """Per-stream live statistics (see the module doc)."""

    def __init__(self, idle_ns: int = 60 * 10**9) -> None:
        self.idle_ns = idle_ns
        self.rtt = RttRows()
        self.conns: dict[int, _Conn] = {}
        self._window_start: int | None = None
        self.closed = 0

    def feed(self, batch: LiveBatch) -> None:
        self.rtt.feed(batch)
        an = batch.analysed
        aflags = an.result.aflags.tolist()
        for k, seg in enumerate(an.segments.segments()):
            st = int(an.result.stream[k])
            me = _ep(seg.src, seg.sport)
            conn = self.conns.get(st)
            if conn is None:
                peer = _ep(seg.dst, seg.dport)
                client, server = (peer, me) if seg.flags & 0x12 == 0x12 else (me, peer)
                conn = self.conns[st] = _Conn(st, client, server, seg.ts_ns)
            way = 0 if me == conn.client else 1
            conn.last_ns = seg.ts_ns
            conn.packets[way] += 1
            conn.bytes[way] += seg.wirelen
            conn.window_bytes[way] += seg.wirelen
            a = aflags[k]
            if a & _RETRANSMITTED:
                conn.retrans += 1
            if a & A_ZERO_WINDOW:
                conn.zero_windows += 1
            if len(conn.control) < _MAX_CONTROL and (seg.flags & (SYN | FIN | RST) or me in conn.want_next):
                conn.control.append(seg._replace(payload=b""))
                conn.state_stale = True
                conn.want_next.discard(me)
                if seg.flags & (SYN | FIN | RST):
                    conn.want_next = {conn.client, conn.server} - {me}

    def tick(self, now_ns: int) -> None:
        """Close the throughput interval at ``now_ns`` and drop idle streams."""
        if self._window_start is None:
            self._window_start = now_ns
            return
        span = max(now_ns - self._window_start, 1) / 1e9
        self._window_start = now_ns
        idle = []
        for st, conn in self.conns.items():
            conn.rate = [conn.window_bytes[0] / span, conn.window_bytes[1] / span]
            conn.window_bytes = [0, 0]
            if now_ns - conn.last_ns >= self.idle_ns:
                idle.append(st)
        for st in idle:
            del self.conns[st]
        self.rtt.forget(idle)
        self.closed += len(idle)

    def _state(self, conn: _Conn) -> str:
        if conn.state_stale and conn.control:
            from pcapkit.tcpflow.zeek import zeek_connections

            zc = zeek_connections(conn.control)
            conn.state = zc[-1].conn_state if zc else ""
            conn.state_stale = False
        return conn.state

    def rows(self, sort: str = "rate", limit: int | None = None) -> list[dict[str, Any]]:
        """One dict per stream, sorted by ``sort`` (a key of :data:`SORT_KEYS`)."""
        rows: list[dict[str, Any]] = []
        for conn in self.conns.values():
            srtts = {way: self.rtt.estimators.get((conn.stream, ep)) for way, ep in ((0, conn.client),
                                                                                     (1, conn.server))}
            # the SRTT of the direction that carries the data (the one whose segments are acknowledged)
            way = 0 if conn.bytes[0] >= conn.bytes[1] else 1
            est = srtts[way] or srtts[1 - way]
            rows.append({"tcp.stream": conn.stream, "client": conn.client, "server": conn.server,
                         "first_ns": conn.first_ns,
                         "packets": conn.packets[0] + conn.packets[1], "bytes": conn.bytes[0] + conn.bytes[1],
                         "rate_cs_Bps": conn.rate[0], "rate_sc_Bps": conn.rate[1],
                         "rate_Bps": conn.rate[0] + conn.rate[1],
                         "srtt_ms": None if est is None else est[0] * 1000.0,
                         "retrans": conn.retrans, "zero_windows": conn.zero_windows, "conn": conn})
        key = SORT_KEYS[sort]
        if key == "first_ns":
            rows.sort(key=lambda r: r[key])
        else:
            rows.sort(key=lambda r: -(r[key] or 0.0))
        rows = rows[:limit] if limit is not None else rows
        for r in rows:
            r["conn_state"] = self._state(r.pop("conn"))
        return rows


def _ep(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"
