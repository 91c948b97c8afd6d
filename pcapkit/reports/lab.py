"""Answers to the Kurose & Ross "Wireshark lab: TCP" questions for one connection.

``lab_tcp(path, stream=None)`` picks the TCP connection (``stream`` = tshark's
``tcp.stream``; default: the one that carried the most payload) and answers, as a student would with Wireshark:

* client and server addresses and ports (the client sent the SYN);
* SYN and SYN-ACK: raw and relative sequence numbers, the SYN-ACK's ACK number, what
  identifies them as SYN / SYN-ACK, and their options (MSS, SACK permitted, window
  scale);
* the segment that carries the HTTP request (the first client segment whose payload
  starts with an HTTP method), its frame and relative sequence number;
* the first six data segments from the uploading side: relative sequence number,
  length, time sent, the ACK that acknowledges exactly that segment and its time,
  SampleRTT and EstimatedRTT = 0.875 * EstimatedRTT + 0.125 * SampleRTT (starting at
  the first SampleRTT);
* the minimum window the receiver advertised (scaled) and whether it ever throttled
  the sender (bytes in flight reaching it);
* retransmissions (segments re-sending sequence space);
* how much data a typical ACK acknowledges (and how many ACKs cover two segments);
* throughput = bytes transferred / (time of the last ACK - time of the first data
  segment);
* flights and their period (:mod:`pcapkit.tcpflow.congestion`); the slow-start and
  congestion-avoidance intervals (and any recovery) and the congestion-control
  algorithm, from the congestion model (:mod:`pcapkit.tcpflow.ccmodel`, the model of
  ``pcapkit congestion``).

Times are relative to the first frame of the capture, as Wireshark's
``frame.time_relative``; they are integer nanoseconds inside and exact decimals in text.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any

from pcapkit.columnar.column_table import Column, ColumnTable, column_from_list
from pcapkit.proto.seq import seq_diff
from pcapkit.reports.lab_common import LabError, secs
from pcapkit.reports.lab_dhcp import DHCP_TYPES, lab_dhcp  # still importable from here
from pcapkit.tcpflow.segment import ACK, SYN, Segment

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from pcapkit.tcpflow.congestion import CongestionReport

HTTP_METHODS = (b"GET ", b"POST ", b"PUT ", b"HEAD ", b"DELETE ", b"OPTIONS ", b"PATCH ")





@dataclass(slots=True)
class SegmentRow:
    n: int
    frame: int
    seq: int
    length: int
    sent_ns: int
    ack_frame: int | None
    ack_ns: int | None
    sample_rtt_ns: int | None
    estimated_rtt: float | None     # seconds


@dataclass(slots=True)
class LabTcp:
    stream: int
    client: tuple[str, int]
    server: tuple[str, int]
    syn: dict[str, Any]
    synack: dict[str, Any]
    request: dict[str, Any] | None
    segments: list[SegmentRow] = field(default_factory=list)
    min_window: int | None = None  # None: the receiver sent no ACK
    window_throttled: bool = False
    retransmissions: list[int] = field(default_factory=list)
    typical_acked: int = 0
    acks_covering_two: int = 0
    acks_total: int = 0
    bytes_transferred: int = 0
    throughput_Bps: float | None = None  # None: no data acknowledged after it was sent
    intervals: list[tuple[str, int, int, int]] = field(default_factory=list)
    flight_period_ns: int | None = None
    cc_algorithm: str = "unknown"   # the congestion model's answer, with the reason when unknown
    min_rtt_ns: int | None = None
    error: str | None = None  # what stopped reading a damaged file (the answers use what came before)

    @property
    def unanswered(self) -> dict[str, str]:
        """Questions this stream cannot answer, with the reason (empty when all are answered)."""
        missing: dict[str, str] = {}
        if not self.synack:
            missing["SYN-ACK"] = f"the server never answered the SYN in TCP stream {self.stream}"
        if not self.segments:
            missing["data"] = f"no data segments in TCP stream {self.stream}"
        elif self.acks_total == 0:
            missing["data"] = f"no data was acknowledged in TCP stream {self.stream}"
        return missing

    def answers(self) -> pd.DataFrame:
        """Question / answer rows (text); a question the stream cannot answer says why."""
        return self.answers_table().to_pandas()

    def answers_table(self) -> ColumnTable:
        """:meth:`answers` as a :class:`~pcapkit.columnar.column_table.ColumnTable`."""
        missing = self.unanswered

        def answer(needs: str, text: Callable[[], str]) -> str:
            return f"no answer: {missing[needs]}" if needs in missing else text()

        sa = self.synack
        rows: list[tuple[str, str]] = [
            ("client (IP:port)", f"{self.client[0]}:{self.client[1]}"),
            ("server (IP:port)", f"{self.server[0]}:{self.server[1]}"),
            ("SYN frame", str(self.syn["frame"])),
            ("SYN sequence number (raw / relative)", f"{self.syn['seq_raw']} / 0"),
            ("SYN identified by", "SYN flag set, ACK flag clear"),
            ("SYN options", self.syn["options"]),
            ("SYN-ACK frame", answer("SYN-ACK", lambda: str(sa["frame"]))),
            ("SYN-ACK sequence number (raw / relative)", answer("SYN-ACK", lambda: f"{sa['seq_raw']} / 0")),
            ("SYN-ACK acknowledgement number (raw / relative)",
             answer("SYN-ACK", lambda: f"{sa['ack_raw']} / {sa['ack_rel']}")),
            ("SYN-ACK identified by", answer("SYN-ACK", lambda: "SYN and ACK flags set; ACK = client ISN + 1")),
            ("SYN-ACK options", answer("SYN-ACK", lambda: str(sa["options"]))),
        ]
        if self.request:
            rows.append(("HTTP request segment (frame, method, relative seq)",
                         f"frame {self.request['frame']}, {self.request['method']}, seq {self.request['seq']}"))
        for s in self.segments:
            rows.append((f"segment {s.n}: seq, length, sent, ACK frame, ACK time, SampleRTT, EstimatedRTT",
                         f"seq {s.seq}, len {s.length}, sent {secs(s.sent_ns)}, ack frame {s.ack_frame}, "
                         f"ack {secs(s.ack_ns)}, SampleRTT {secs(s.sample_rtt_ns)}, "
                         f"EstimatedRTT {'' if s.estimated_rtt is None else f'{s.estimated_rtt:.6f}'}"))
        if not self.segments:
            rows.append(("first data segments with SampleRTT and EstimatedRTT", answer("data", str)))
        rows += [
            ("minimum advertised receive window (bytes)",
             str(self.min_window) if self.min_window is not None
             else f"no answer: the receiver sent no ACK in TCP stream {self.stream}"),
            ("did the receive window throttle the sender",
             answer("data", lambda: "yes" if self.window_throttled else "no")),
            ("retransmitted segments (frames)",
             answer("data", lambda: ", ".join(map(str, self.retransmissions)) or "none")),
            ("typical data acknowledged per ACK (bytes)", answer("data", lambda: str(self.typical_acked))),
            ("ACKs acknowledging two or more segments",
             answer("data", lambda: f"{self.acks_covering_two} of {self.acks_total}")),
            ("bytes transferred", answer("data", lambda: str(self.bytes_transferred))),
            ("throughput (bytes/s)", answer("data", lambda: "no answer: the last ACK is not later than the first "
                                            "data segment" if self.throughput_Bps is None
                                            else f"{self.throughput_Bps:.1f}")),
            ("minimum RTT (s)", secs(self.min_rtt_ns) if self.min_rtt_ns is not None
             else "no answer: no segment was acknowledged exactly (no RTT sample)"),
            ("flight period (median, s)", secs(self.flight_period_ns) if self.flight_period_ns is not None
             else answer("data", lambda: "no answer: fewer than two flights")),
        ]
        for label, start, end, n in self.intervals:
            rows.append((f"{label} interval (s, data segments)", f"{secs(start)} - {secs(end)} ({n})"))
        rows.append(("congestion-control algorithm", answer("data", lambda: self.cc_algorithm)))
        return ColumnTable({"question": column_from_list([q for q, _ in rows], "string"),
                            "answer": column_from_list([a for _, a in rows], "string")})

    def segments_frame(self) -> pd.DataFrame:
        """One row per listed data segment: its frame, relative seq, length, time sent,
        the exact ACK's frame and time, SampleRTT and EstimatedRTT."""
        return self.segments_table().to_pandas()

    def segments_table(self) -> ColumnTable:
        """:meth:`segments_frame` as a :class:`~pcapkit.columnar.column_table.ColumnTable`
        (the dtypes pandas gives these Python values: int64, float64 where some are
        missing, object when all are; times timedelta64[ns], ack_frame Int64)."""
        segs = self.segments
        return ColumnTable({
            "segment": _inferred([s.n for s in segs]),
            "frame": _inferred([s.frame for s in segs]),
            "seq": _inferred([s.seq for s in segs]),
            "length": _inferred([s.length for s in segs]),
            "sent": column_from_list([s.sent_ns for s in segs], "timedelta64[ns]"),
            "ack_frame": column_from_list([s.ack_frame for s in segs], "Int64"),
            "ack_time": column_from_list([s.ack_ns for s in segs], "timedelta64[ns]"),
            "sample_rtt": column_from_list([s.sample_rtt_ns for s in segs], "timedelta64[ns]"),
            "estimated_rtt_s": _inferred([s.estimated_rtt for s in segs]),
        })


def _inferred(values: list[Any]) -> Column:
    """The column pandas makes of Python numbers (None: missing): int64 when all are
    integers, float64 when some are floats or missing, object when none is present."""
    present = [v for v in values if v is not None]
    if not present:
        return column_from_list(values, "object")
    if len(present) == len(values) and all(isinstance(v, int) for v in present):
        return column_from_list(values, "int64")
    return column_from_list(values, "float64")


def _options(seg: Segment) -> str:
    parts = []
    if seg.mss is not None:
        parts.append(f"MSS={seg.mss}")
    if seg.sack_permitted:
        parts.append("SACK permitted")
    if seg.wscale is not None:
        parts.append(f"window scale={seg.wscale} (x{1 << seg.wscale})")
    return ", ".join(parts) or "none"


def _acked_per_ack(rep: CongestionReport) -> tuple[list[int], list[int]]:
    """For every ACK that moves the acknowledged point forward: the bytes it newly
    acknowledges and how many data segments it newly covers (segments whose last byte
    lies between the previous acknowledged point and this ACK, as tcptrace counts
    cumulatively acknowledged segments). Counting segments rather than multiples of
    the MSS is what makes a 1460 + 892 byte ACK count as covering two segments."""
    ends = sorted({s.seq + s.length for s in rep.sent})
    acked: list[int] = []
    segments: list[int] = []
    prev: int | None = None
    for a in rep.acks:
        if prev is not None and a.ack > prev:
            acked.append(a.ack - prev)
            segments.append(bisect_right(ends, a.ack) - bisect_right(ends, prev))
        prev = a.ack if prev is None else max(prev, a.ack)
    return acked, segments


def lab_tcp(path: str | PathLike[str], stream: int | None = None, nsegments: int = 6) -> LabTcp:
    """Answer the TCP lab questions for one connection of the capture at ``path``."""
    import numpy as np

    from pcapkit.tcpflow.analysed import analyse_table
    from pcapkit.tcpflow.ccmodel import model_direction, phase_intervals
    from pcapkit.tcpflow.congestion import analyse_direction
    from pcapkit.tcpflow.segments import segment_table

    # tcp.stream is all the lab reads of tshark's analysis: the chosen connection's own
    # analysis (analyse_direction) answers the rest (a million segments: 0.2 GB less)
    table = segment_table(path, keep_payload=max(len(m) for m in HTTP_METHODS))  # enough to spot a request
    an = analyse_table(table, outputs=("stream",))
    del table
    if not an.segments.frames:
        raise LabError(f"{path}: no packets")
    t0 = an.segments.first_ts_ns
    if not len(an):
        raise LabError(f"{path}: no TCP connection")
    payload = np.bincount(an.stream, weights=np.maximum(an.segments.seglen, 0))
    if stream is None:
        stream = int(np.argmax(payload))  # the stream that carried the most payload (the first of equals)
    if not 0 <= stream < payload.shape[0]:
        raise LabError(f"{path}: no TCP stream {stream} (0..{payload.shape[0] - 1})")
    csegs = an.stream_segments(stream)
    syn = next((s for s in csegs if s.flags & SYN and not s.flags & ACK), None)
    if syn is None:
        raise LabError(f"{path}: TCP stream {stream} has no SYN (the lab needs the handshake)")
    client, server = (syn.src, syn.sport), (syn.dst, syn.dport)
    synack = next((s for s in csegs if s.flags & SYN and s.flags & ACK and (s.src, s.sport) == server), None)
    cisn = syn.seq
    syn_info = {"frame": syn.frame_number, "seq_raw": syn.seq, "options": _options(syn)}
    sa_info: dict[str, Any] = {}
    sisn = None
    if synack is not None:
        sisn = synack.seq
        sa_info = {"frame": synack.frame_number, "seq_raw": synack.seq, "ack_raw": synack.ack,
                   "ack_rel": seq_diff(synack.ack, cisn), "options": _options(synack)}

    # the uploading side: the direction with the most payload (the POST body in the lab)
    up_c = sum(max(s.seglen, 0) for s in csegs if (s.src, s.sport) == client)
    up_s = sum(max(s.seglen, 0) for s in csegs if (s.src, s.sport) == server)
    sender, receiver = (client, server) if up_c >= up_s else (server, client)
    s_isn = cisn if sender == client else (sisn if sisn is not None else 0)

    request = None
    for s in csegs:
        if (s.src, s.sport) == client and s.seglen > 0 and s.payload.startswith(HTTP_METHODS):
            request = {"frame": s.frame_number, "method": s.payload.split(b" ", 1)[0].decode(),
                       "seq": seq_diff(s.seq, cisn)}
            break

    rep = analyse_direction(csegs, sender, receiver)
    model = model_direction(rep)
    ident = model.identification
    algorithm = ident.algorithm if ident.reason is None else f"{ident.algorithm} ({ident.reason})"
    # first N data segments and the ACK that acknowledges each exactly (Wireshark's ack_rtt)
    rows: list[SegmentRow] = []
    est: float | None = None
    firsts = [s for s in rep.sent if not s.retransmission][:nsegments]
    for i, sent in enumerate(firsts, 1):
        end = sent.seq + sent.length
        ack = next((a for a in rep.acks if a.ack >= end and a.ts_ns >= sent.ts_ns), None)
        exact = ack if ack is not None and ack.ack == end else None
        sample = exact.ts_ns - sent.ts_ns if exact is not None else None
        if sample is not None:
            est = sample / 1e9 if est is None else 0.875 * est + 0.125 * (sample / 1e9)
        rows.append(SegmentRow(i, sent.frame, sent.seq, sent.length, sent.ts_ns - t0,
                               exact.frame if exact else None,
                               exact.ts_ns - t0 if exact else None, sample, est))

    windows = [a.window for a in rep.acks]
    min_window = min(windows) if windows else None
    throttled = any(s.window > 0 and s.bytes_in_flight >= s.window for s in rep.sent)
    acked, segments_acked = _acked_per_ack(rep)
    typical = Counter(acked).most_common(1)[0][0] if acked else 0
    two = sum(1 for n in segments_acked if n >= 2)
    last_ack = max(rep.acks, key=lambda a: a.ack) if rep.acks else None
    nbytes = (last_ack.ack - 1) if last_ack else 0
    tput = None
    if rep.sent and last_ack and last_ack.ts_ns > rep.sent[0].ts_ns:
        tput = nbytes / ((last_ack.ts_ns - rep.sent[0].ts_ns) / 1e9)
    periods = sorted(f.period_ns for f in rep.flights if f.period_ns)
    del s_isn
    return LabTcp(
        stream=stream, client=client, server=server, syn=syn_info, synack=sa_info, request=request,
        segments=rows, min_window=min_window, window_throttled=throttled,
        retransmissions=[lo.frame for lo in rep.losses], typical_acked=typical,
        acks_covering_two=two, acks_total=len(acked), bytes_transferred=nbytes, throughput_Bps=tput,
        intervals=[(iv.phase, iv.start_ns - t0, iv.end_ns - t0, iv.segments) for iv in phase_intervals(model)],
        flight_period_ns=periods[len(periods) // 2] if periods else None, cc_algorithm=algorithm,
        min_rtt_ns=rep.min_rtt_ns,
        error=None if an.segments.error is None else str(an.segments.error))


__all__ = ["DHCP_TYPES", "LabError", "LabTcp", "SegmentRow", "lab_dhcp", "lab_tcp"]
