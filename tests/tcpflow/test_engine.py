"""The TCP engine on hand-made segment tables: input segments -> expected flags.

Each scenario is a table of segments with the analysis we expect by hand (from the
rules in tcp-analysis.md). The same table is also written as a pcap (raw IPv4) and
given to tshark 4.0: the test checks that tshark agrees with the hand-written
expectation AND that the engine agrees with tshark on every compared field, so a
wrong expectation cannot slip through. Every test runs with the compiled analysis and
with the interpreted one (PCAPKIT_NO_NUMBA=1).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import requires_tshark
from oracle import tshark_fields

from pcapkit.tcpflow import analysis, backends
from pcapkit.tcpflow.engine import (
    A_DUPLICATE_ACK,
    A_RETRANSMISSION,
    FrameAnalysis,
    TcpEngine,
    analyse,
    tshark_text,
)
from pcapkit.tcpflow.segment import ACK, FIN, PSH, SYN, Segment
from pcapkit.tcpflow.segments import segments

FIELDS = (
    "frame.number", "tcp.stream", "tcp.seq", "tcp.ack", "tcp.nxtseq", "tcp.len", "tcp.window_size",
    "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission", "tcp.analysis.out_of_order",
    "tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment",
    "tcp.analysis.duplicate_ack", "tcp.analysis.duplicate_ack_num", "tcp.analysis.duplicate_ack_frame",
    "tcp.analysis.zero_window", "tcp.analysis.zero_window_probe", "tcp.analysis.zero_window_probe_ack",
    "tcp.analysis.keep_alive", "tcp.analysis.keep_alive_ack",
    "tcp.analysis.window_full", "tcp.analysis.window_update",
    "tcp.analysis.acks_frame", "tcp.analysis.ack_rtt", "tcp.analysis.initial_rtt",
    "tcp.analysis.bytes_in_flight", "tcp.analysis.push_bytes_sent",
    "tcp.analysis.rto", "tcp.analysis.rto_frame",
)
OPTIONS = ("tcp.analyze_sequence_numbers:TRUE", "tcp.relative_sequence_numbers:TRUE")

C, S = ("10.0.0.1", 40000), ("10.0.0.2", 80)


@pytest.fixture(autouse=True, params=[
    pytest.param(True, id="compiled", marks=pytest.mark.skipif(not backends.compiled_available(),
                                                              reason="numba not installed or PCAPKIT_NO_NUMBA set")),
    pytest.param(False, id="interpreted")])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """The engine's default backend for the test: compiled, or interpreted by PCAPKIT_NO_NUMBA=1."""
    if not request.param:
        monkeypatch.setenv("PCAPKIT_NO_NUMBA", "1")
    assert analysis.backend().compiled == request.param
    return bool(request.param)
MS = 1_000_000  # ns


@dataclass
class Row:
    """One segment of a scenario and the fields we expect tshark to print for it."""

    t_ms: float
    src: tuple[str, int]
    seq: int
    ack: int
    flags: int
    length: int = 0
    window: int = 1000
    wscale: int | None = None
    expect: dict[str, str] = field(default_factory=dict)


def _ip(a: str) -> bytes:
    return bytes(int(x) for x in a.split("."))


def _packet(row: Row) -> bytes:
    src, sport = row.src
    dst, dport = S if row.src == C else C
    opts = b""
    if row.flags & SYN:
        opts += b"\x02\x04\x05\xb4"                      # MSS 1460
        if row.wscale is not None:
            opts += b"\x01\x03\x03" + bytes([row.wscale])  # NOP + WS
    opts += b"\x00" * (-len(opts) % 4)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, row.seq & 0xFFFFFFFF, row.ack & 0xFFFFFFFF,
                      (20 + len(opts)) // 4 << 4, row.flags, row.window, 0, 0) + opts
    payload = b"x" * row.length
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0x4000, 64, 6, 0, _ip(src), _ip(dst))
    return ip + tcp + payload


def write_pcap(rows: Sequence[Row], path: Path) -> None:
    """A little-endian microsecond pcap, link type 101 (raw IP)."""
    base = 1_700_000_000
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for row in rows:
            pkt = _packet(row)
            us = round(row.t_ms * 1000)
            f.write(struct.pack("<IIII", base + us // 1_000_000, us % 1_000_000, len(pkt), len(pkt)))
            f.write(pkt)


def run_scenario(rows: Sequence[Row], tmp_path: Path, with_tshark: bool = True) -> list[dict[str, str]]:
    path = tmp_path / "scenario.pcap"
    write_pcap(rows, path)
    ours = [tshark_text(r) for r in analyse(segments(path))]
    assert len(ours) == len(rows)
    for i, (row, mine) in enumerate(zip(rows, ours, strict=True), start=1):
        for name, value in row.expect.items():
            assert mine.get(name) == (value or None), f"pcapkit frame {i} {name}"
    if with_tshark:
        reference = tshark_fields(path, FIELDS, options=OPTIONS, display_filter="tcp")
        for i, (row, ref, mine) in enumerate(zip(rows, reference, ours, strict=True), start=1):
            for name, value in row.expect.items():
                assert ref.get(name) == (value or None), f"tshark frame {i} {name}: hand expectation wrong"
            for name in FIELDS:
                assert ref.get(name) == mine.get(name), f"frame {i} {name}"
    return ours


# -- scenarios -----------------------------------------------------------------

ISN_C = 0xFFFFFF00  # the client's sequence numbers wrap after 256 bytes
ISN_S = 5000


def wraparound_rows() -> list[Row]:
    c, s = ISN_C, ISN_S
    return [
        Row(0, C, c, 0, SYN, expect={"tcp.seq": "0", "tcp.stream": "0"}),
        Row(10, S, s, c + 1, SYN | ACK, expect={"tcp.analysis.acks_frame": "1",
                                                "tcp.analysis.ack_rtt": "0.010000000"}),
        Row(20, C, c + 1, s + 1, ACK, expect={"tcp.analysis.initial_rtt": "0.020000000"}),
        Row(21, C, c + 1, s + 1, ACK | PSH, 200, expect={"tcp.seq": "1", "tcp.nxtseq": "201",
                                                        "tcp.analysis.bytes_in_flight": "200"}),
        # crosses 2^32: absolute seq 0xFFFFFFC9 .. 0x00000091
        Row(22, C, c + 201, s + 1, ACK, 200, expect={"tcp.seq": "201", "tcp.nxtseq": "401",
                                                    "tcp.analysis.bytes_in_flight": "400"}),
        Row(23, C, c + 401, s + 1, ACK, 200, expect={"tcp.seq": "401",
                                                    "tcp.analysis.bytes_in_flight": "600"}),
        Row(40, S, s + 1, c + 401, ACK, expect={"tcp.ack": "401", "tcp.analysis.acks_frame": "5"}),
        # the segment after the wrap again, 30 ms later: a retransmission (not out-of-order)
        Row(53, C, c + 401, s + 1, ACK, 200, expect={"tcp.analysis.retransmission": "1",
                                                    "tcp.analysis.rto": "0.030000000",
                                                    "tcp.analysis.rto_frame": "6"}),
        Row(60, S, s + 1, c + 601, ACK, expect={"tcp.ack": "601", "tcp.analysis.acks_frame": "6"}),
    ]


def midstream_rows() -> list[Row]:
    # no handshake seen: relative numbers start at 1, the window is not scaled (unknown scale)
    return [
        Row(0, C, 7000, 9000, ACK, 100, window=300, expect={"tcp.seq": "1", "tcp.ack": "1",
                                                             "tcp.window_size": "300"}),
        Row(1, C, 7100, 9000, ACK, 100, window=300, expect={"tcp.seq": "101"}),
        # a hole of 100 bytes
        Row(2, C, 7300, 9000, ACK, 100, window=300, expect={"tcp.analysis.lost_segment": "1"}),
        Row(30, S, 9000, 7200, ACK, window=500, expect={"tcp.seq": "1", "tcp.ack": "201",
                                                        "tcp.analysis.acks_frame": "2"}),
        Row(31, S, 9000, 7200, ACK, window=500, expect={"tcp.analysis.duplicate_ack": "1,1",
                                                        "tcp.analysis.duplicate_ack_num": "1",
                                                        "tcp.analysis.duplicate_ack_frame": "4"}),
        Row(32, S, 9000, 7200, ACK, window=500, expect={"tcp.analysis.duplicate_ack_num": "2"}),
        # the missing segment, right after two dup-acks: fast retransmission
        Row(40, C, 7200, 9000, ACK, 100, window=300, expect={"tcp.analysis.fast_retransmission": "1",
                                                             "tcp.analysis.retransmission": "1"}),
        Row(50, S, 9000, 7400, ACK, window=500, expect={"tcp.ack": "401",
                                                        "tcp.analysis.acks_frame": "3"}),
    ]


def one_direction_rows() -> list[Row]:
    # only the client's side was captured: bytes in flight grow, nothing is ever acked
    # (the unacknowledged SYN counts one byte)
    c = 100
    return [
        Row(0, C, c, 0, SYN, expect={"tcp.seq": "0"}),
        Row(50, C, c + 1, 777, ACK, expect={"tcp.ack": "1"}),
        Row(51, C, c + 1, 777, ACK | PSH, 500, expect={"tcp.analysis.bytes_in_flight": "501",
                                                      "tcp.analysis.push_bytes_sent": "500"}),
        Row(52, C, c + 501, 777, ACK, 500, expect={"tcp.analysis.bytes_in_flight": "1001",
                                                  "tcp.analysis.push_bytes_sent": "500"}),
        Row(53, C, c + 1001, 777, ACK | PSH, 500, expect={"tcp.analysis.bytes_in_flight": "1501",
                                                         "tcp.analysis.push_bytes_sent": "1000"}),
        # resent 300 ms later: a retransmission timed from the oldest unacked segment (the SYN)
        Row(353, C, c + 1, 777, ACK, 500, expect={"tcp.analysis.retransmission": "1",
                                                 "tcp.analysis.rto_frame": "1",
                                                 "tcp.analysis.rto": "0.353000000"}),
        Row(360, C, c + 1501, 777, ACK | FIN, expect={"tcp.nxtseq": "1502"}),
    ]


def port_reuse_rows() -> list[Row]:
    rows = [
        Row(0, C, 1000, 0, SYN, wscale=2, expect={"tcp.stream": "0"}),
        Row(1, S, 2000, 1001, SYN | ACK, wscale=3),
        Row(2, C, 1001, 2001, ACK, window=100, expect={"tcp.window_size": "400"}),
        Row(3, C, 1001, 2001, ACK | FIN, window=100),
        Row(4, S, 2001, 1002, ACK | FIN, window=100, expect={"tcp.window_size": "800"}),
        Row(5, C, 1002, 2002, ACK, window=100),
        # same ports, new ISN: a new conversation (tcp.stream 1), numbers relative to the new ISN
        Row(1000, C, 90000, 0, SYN, expect={"tcp.stream": "1", "tcp.seq": "0"}),
        Row(1001, S, 70000, 90001, SYN | ACK, expect={"tcp.stream": "1", "tcp.ack": "1"}),
        Row(1002, C, 90001, 70001, ACK, window=100, expect={"tcp.stream": "1", "tcp.window_size": "100",
                                                             "tcp.analysis.initial_rtt": "0.002000000"}),
    ]
    return rows


SCENARIOS = {
    "seq-wraparound": wraparound_rows,
    "mid-stream-start": midstream_rows,
    "one-direction-only": one_direction_rows,
    "port-reuse": port_reuse_rows,
}


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_against_tshark(name: str, tmp_path: Path) -> None:
    run_scenario(SCENARIOS[name](), tmp_path)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_expectations(name: str, tmp_path: Path) -> None:
    """The hand-written expectations alone (runs without tshark)."""
    run_scenario(SCENARIOS[name](), tmp_path, with_tshark=False)


def _seg(n: int, seq: int, ack: int, flags: int, seglen: int, src: tuple[str, int] = C) -> Segment:
    dst = S if src == C else C
    return Segment(n, n * MS, src[0], dst[0], src[1], dst[1], seq, ack, flags, 1000, seglen)


def test_unacked_limit_is_reported() -> None:
    eng = TcpEngine(max_unacked=3)
    recs = [eng.feed(_seg(i + 1, 1 + 10 * i, 1, ACK, 10)) for i in range(5)]
    assert [r.limited for r in recs if r] == [False, False, False, True, True]
    assert len(eng.warnings) == 1 and "max_unacked=3" in eng.warnings[0]


def test_conversation_limit_is_reported() -> None:
    eng = TcpEngine(max_conversations=1)
    first = eng.feed(_seg(1, 1, 1, ACK, 10))
    other = Segment(2, 2 * MS, "10.9.9.9", "10.0.0.2", 1234, 80, 5, 5, ACK, 1000, 0)
    assert first is not None and eng.feed(other) is None
    assert eng.dropped_conversations == 1 and "max_conversations=1" in eng.warnings[0]


def test_dupack_counts_and_flags() -> None:
    eng = TcpEngine()
    eng.feed(_seg(1, 1, 1, ACK, 100))
    recs = [eng.feed(_seg(n, 1, 101, ACK, 0, src=S)) for n in (2, 3, 4)]
    assert [r.dupack_num for r in recs if r] == [None, 1, 2]
    assert [bool(r.flags & A_DUPLICATE_ACK) for r in recs if r] == [False, True, True]
    assert not any(r.flags & A_RETRANSMISSION for r in recs if r)


@requires_tshark
@pytest.mark.tshark
def test_ipv4_fragmented_segment_is_reassembled_like_tshark(tmp_path: Path) -> None:
    """A 1000-byte segment sent as two IPv4 fragments: tshark (ip.defragment) shows it in
    the frame that completes the datagram, with tcp.len 1000; so must we."""
    rows = [Row(0, C, 1000, 0, SYN), Row(1, S, 5000, 1001, SYN | ACK), Row(2, C, 1001, 5001, ACK),
            Row(3, C, 1001, 5001, ACK | PSH, 1000), Row(4, S, 5001, 2001, ACK)]
    pkts = [_packet(r) for r in rows]
    data = pkts[3]
    body = data[20:]

    def fragment(flags_offset: int, payload: bytes) -> bytes:
        header = bytearray(data[:20])
        struct.pack_into("!HHH", header, 2, 20 + len(payload), 77, flags_offset)
        return bytes(header) + payload

    frames = [*pkts[:3], fragment(0x2000, body[:520]), fragment(520 // 8, body[520:]), pkts[4]]
    path = tmp_path / "frag.pcap"
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for i, pkt in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000, i * 1000, len(pkt), len(pkt)))
            f.write(pkt)
    ours = [tshark_text(r) for r in analyse(segments(path))]
    reference = tshark_fields(path, FIELDS, options=OPTIONS, display_filter="tcp")
    assert [r["frame.number"] for r in reference] == ["1", "2", "3", "5", "6"]
    assert [r["frame.number"] for r in ours] == ["1", "2", "3", "5", "6"]
    assert ours[3]["tcp.len"] == "1000" and ours[4]["tcp.analysis.acks_frame"] == "5"
    for ref, mine in zip(reference, ours, strict=True):
        for name in FIELDS:
            assert ref.get(name) == mine.get(name), (ref["frame.number"], name)


def test_facade_answers_per_stream() -> None:
    """stream_count and initial_rtt: the conversation's iRTT once its handshake is seen."""
    eng = TcpEngine()
    t0 = 1_700_000_000 * 10**9
    assert eng.stream_count == 0
    eng.feed(Segment(1, t0, C[0], S[0], C[1], S[1], 100, 0, SYN, 1000, 0))
    eng.feed(Segment(2, t0 + 7 * MS, S[0], C[0], S[1], C[1], 500, 101, SYN | ACK, 1000, 0))
    assert eng.stream_count == 1 and eng.initial_rtt(0) is None
    rec = eng.feed(Segment(3, t0 + 10 * MS, C[0], S[0], C[1], S[1], 101, 501, ACK, 1000, 0))
    assert rec is not None and rec.initial_rtt == 10 * MS
    assert eng.initial_rtt(0) == 10 * MS
    other = eng.feed(Segment(4, t0 + 11 * MS, "10.9.9.9", S[0], 1234, S[1], 5, 5, ACK, 1000, 0))
    assert other is not None and other.stream == 1 and eng.stream_count == 2 and eng.initial_rtt(1) is None
    with pytest.raises(IndexError):
        eng.initial_rtt(2)


def test_same_records_from_both_backends() -> None:
    """The scenario tables through the compiled and the interpreted engine explicitly."""
    rows = wraparound_rows() + midstream_rows() + one_direction_rows() + port_reuse_rows()
    segs = []
    for i, r in enumerate(rows):
        dst = S if r.src == C else C
        segs.append(Segment(i + 1, round(r.t_ms * MS), r.src[0], dst[0], r.src[1], dst[1], r.seq & 0xFFFFFFFF,
                            r.ack & 0xFFFFFFFF, r.flags, r.window, r.length, wscale=r.wscale))

    def records(compiled: bool) -> list[FrameAnalysis | None]:
        eng = TcpEngine(compiled=compiled)
        return [eng.feed(s) for s in segs]

    interpreted = records(False)
    assert [r.stream for r in interpreted if r] == [0] * 17 + [1] * 7 + [2] * 6 + [3] * 3
    if backends.compiled_available():
        assert records(True) == interpreted
