"""One live report: batches of frames in, DataFrames of final rows out.

:class:`LiveReport` owns the engine (:class:`~pcapkit.reports.live_reports.LiveAnalysis`)
and the row producer of one report (``handshakes``, ``rtt``, ``tcp`` or ``flows``);
the CLI hands it each batch the capture delivers, calls :meth:`LiveReport.tick` while
the capture is idle (idle timeouts, ``--interval``), and :meth:`LiveReport.finish` at
the end. Time for the timeouts is the packets' (capture clock), or the caller's clock
when no packet comes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pcapkit.reports.live_flows import FlowRows
from pcapkit.reports.live_reports import REPORTS, HandshakeRows, LiveAnalysis, RttRows, TcpRows

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.frame import Frame

__all__ = ["REPORTS", "LiveReport", "warm_up"]


class LiveReport:
    """The rows of report ``name`` as they become final (see :mod:`pcapkit.reports.live_reports`).

    ``idle_ns``: a conversation (flows) or an unsettled handshake without a packet for
    that long is ended; ``interval_ns``: flows also reports the open conversations that
    often. ``max_flow_packets``/``max_flows``: flows' limits (:mod:`pcapkit.reports.live_flows`)."""

    def __init__(self, name: str, *, idle_ns: int = 60 * 10**9, interval_ns: int | None = None,
                 max_flow_packets: int = 200_000, max_flows: int = 100_000,
                 max_conversations: int | None = None) -> None:
        if name not in REPORTS:
            raise ValueError(f"report must be one of {', '.join(REPORTS)}, not {name!r}")
        self.name = name
        self.analysis = LiveAnalysis(packets=name == "flows", max_conversations=max_conversations)
        self.flows: FlowRows | None = None
        self.rtt: RttRows | None = None
        self.producer: TcpRows | HandshakeRows | RttRows | FlowRows
        if name == "tcp":
            self.producer = TcpRows()
        elif name == "handshakes":
            self.producer = HandshakeRows(idle_ns=idle_ns)
        elif name == "rtt":
            self.producer = self.rtt = RttRows(idle_ns=idle_ns)
        else:
            self.producer = self.flows = FlowRows(idle_ns=idle_ns, interval_ns=interval_ns,
                                                  max_packets=max_flow_packets, max_flows=max_flows)
        self.frames = 0
        self.idle_ns = idle_ns

    @property
    def warnings(self) -> list[str]:
        extra = self.flows.warnings if self.flows is not None else []
        return [*self.analysis.warnings, *extra]

    def feed(self, frames: list[Frame]) -> pd.DataFrame | None:
        """The rows the frames of one batch make final."""
        if not frames:
            return None
        self.frames += len(frames)
        batch = self.analysis.feed(frames)
        return self.producer.feed(batch)

    def tick(self, now_ns: int) -> pd.DataFrame | None:
        """Rows that time makes final (idle conversations, the flows interval); the
        engine then lets go of the conversations idle for ``idle_ns``."""
        rows = None
        if isinstance(self.producer, HandshakeRows | FlowRows | RttRows):
            rows = self.producer.expire(now_ns)
        self.analysis.expire(now_ns, self.idle_ns)
        return rows

    def finish(self) -> pd.DataFrame | None:
        """The rows still open at the end of the capture."""
        return self.producer.finish()


def warm_up(name: str) -> None:
    """Run the report once on two made-up frames, so that the first real row does not
    wait for the compiled kernels to load (a second or more)."""
    from pcapkit.frame import Frame

    def frame(number: int, flags: int, seq: int, ack: int, src: bytes, dst: bytes, sport: int, dport: int) -> Frame:
        import struct

        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, src, dst)
        eth = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00"
        data = eth + ip + tcp
        return Frame(number, 10**18 + number * 1000, len(data), len(data), 1, 0, data)

    a, b = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])
    report = LiveReport(name)
    report.feed([frame(1, 0x02, 100, 0, a, b, 1000, 80), frame(2, 0x12, 500, 101, b, a, 80, 1000),
                 frame(3, 0x10, 101, 501, a, b, 1000, 80), frame(4, 0x04, 101, 501, a, b, 1000, 80)])
    report.finish()
