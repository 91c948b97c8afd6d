"""pcapkit.tcpflow.zeek against Zeek's own btest baselines and Zeek's documented rules.

Zeek is not installed here; the expected values are Zeek's published baselines for the
Zeek test traces in the corpus (zeek/zeek testing/btest/Baseline/...), and tables
hand-built from the conn.log documentation (history letters, conn_state meanings).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import CORPUS

from pcapkit.tcpflow.segment import ACK, FIN, PSH, RST, SYN, Segment
from pcapkit.tcpflow.segments import segments
from pcapkit.tcpflow.zeek import State, zeek_connections

# (trace, orig_h, orig_p, resp_h, resp_p, conn_state, missed_bytes, history,
#  orig_pkts, resp_pkts) from Zeek's btest baselines:
#  core.tcp.miss-end-data/conn.log and core.tcp.missing-syn/conn.log (also core.history-flip)
BASELINES = [
    ("tcp/miss_end_data.pcap", "192.168.122.230", 60648, "77.238.160.184", 80, "SF", 2902,
     "ShADafgF", 5, 4),
    ("tcp/missing-syn.pcap", "141.42.64.125", 56730, "125.190.109.199", 80, "SF", 0,
     "^hADdFaf", 11, 10),
]


@pytest.mark.parametrize("row", BASELINES, ids=[r[0] for r in BASELINES])
def test_conn_log_baselines(corpus: Path, row: tuple) -> None:  # type: ignore[type-arg]
    trace, oh, op, rh, rp, state, missed, history, opk, rpk = row
    conns = zeek_connections(segments(CORPUS / trace))
    assert len(conns) == 1
    c = conns[0]
    assert (c.orig.host, c.orig.port, c.resp.host, c.resp.port) == (oh, op, rh, rp)
    assert c.conn_state == state
    assert c.missed_bytes == missed
    assert c.history_str == history
    assert (c.orig.pkts, c.resp.pkts) == (opk, rpk)


def test_fin_retransmission_endpoint_states(corpus: Path) -> None:
    # core.tcp.fin-retransmit/out: orig [state=5 (CLOSED), num_pkts=3], resp [state=6 (RESET), num_pkts=2]
    (c,) = zeek_connections(segments(CORPUS / "tcp" / "fin_retransmission.pcap"))
    assert (int(c.orig.state), c.orig.pkts) == (5, 3)
    assert (int(c.resp.state), c.resp.pkts) == (6, 2)
    assert c.conn_state == "RSTR"  # conn_state() of main.zeek for (CLOSED, RESET)


def test_one_sided_connection_counts_only_the_responder(corpus: Path) -> None:
    # core.tcp.conn-size-analyzer-wrong-counts: the trace holds only server packets
    # (SYN-ACK, ACK, FIN-ACK), so the originator has no packets.
    conns = zeek_connections(segments(CORPUS / "tcp" / "one-sided-2745.pcap"))
    assert conns
    for c in conns:
        assert c.orig.pkts == 0 and c.resp.pkts > 0
        assert c.history_str.startswith("^h")


# -- hand-checked tables from the conn.log documentation -------------------------

A, B = ("10.0.0.1", 40000), ("10.0.0.2", 80)


def _seg(n: int, frm: tuple[str, int], seq: int, ack: int, flags: int, length: int = 0,
         window: int = 1000) -> Segment:
    to = B if frm == A else A
    return Segment(n, n * 1_000_000, frm[0], to[0], frm[1], to[1], seq, ack, flags, window, length,
                   captured_payload=length)


def _run(spec: list[tuple[str, int, int, int, int]]) -> tuple[str, str]:
    """spec rows: (who 'A'/'B', seq, ack, flags, payload length)."""
    segs = [_seg(i + 1, A if who == "A" else B, seq, ack, fl, ln) for i, (who, seq, ack, fl, ln) in enumerate(spec)]
    (c,) = zeek_connections(segs)
    return c.conn_state, c.history_str


HS = [("A", 100, 0, SYN, 0), ("B", 500, 101, SYN | ACK, 0), ("A", 101, 501, ACK, 0)]
CASES = {
    # conn_state: (packets, expected state, expected history)
    "S0 attempt, no reply": ([("A", 100, 0, SYN, 0)], "S0", "S"),
    "REJ attempt rejected": ([("A", 100, 0, SYN, 0), ("B", 0, 101, RST | ACK, 0)], "REJ", "Sr"),
    "S1 established": (HS, "S1", "ShA"),
    "SF normal": ([*HS, ("A", 101, 501, PSH | ACK, 10), ("B", 501, 111, ACK, 0), ("A", 111, 501, FIN | ACK, 0), ("B", 501, 112, FIN | ACK, 0), ("A", 112, 502, ACK, 0)], "SF", "ShADaFf"),
    "S2 originator close only": ([*HS, ("A", 101, 501, FIN | ACK, 0)], "S2", "ShAF"),
    "S3 responder close only": ([*HS, ("B", 501, 101, FIN | ACK, 0)], "S3", "ShAf"),
    "RSTO originator abort": ([*HS, ("A", 101, 501, RST | ACK, 0)], "RSTO", "ShAR"),
    "RSTR responder abort": ([*HS, ("B", 501, 101, RST | ACK, 0)], "RSTR", "ShAr"),
    "RSTOS0 SYN then RST": ([("A", 100, 0, SYN, 0), ("A", 101, 0, RST, 0)], "RSTOS0", "SR"),
    "SH SYN then FIN": ([("A", 100, 0, SYN, 0), ("A", 101, 0, FIN, 0)], "SH", "SF"),
    "OTH midstream": ([("A", 5000, 900, ACK, 0), ("B", 900, 5000, ACK, 0)], "OTH", "Aa"),
    "Q multi-flag": ([("A", 100, 0, SYN | FIN, 0)], "SH", "Q"),
    "I FIN+RST": ([*HS, ("A", 101, 501, FIN | RST | ACK, 0)], "RSTO", "ShAI"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_documented_states_and_history(name: str) -> None:
    spec, state, history = CASES[name]
    assert _run(spec) == (state, history)


def test_syn_ack_first_flips_roles() -> None:
    # a SYN-ACK from a likely server port starts the connection: Zeek flips it ("^")
    state, history = _run([("B", 500, 101, SYN | ACK, 0), ("A", 101, 501, ACK, 0)])
    assert history == "^hA"
    assert state == "S1"


def test_repeated_letters() -> None:
    # a retransmitted SYN (same sequence number) adds no letter
    assert _run([("A", 100, 0, SYN, 0), ("A", 100, 0, SYN, 0)])[1] == "S"
    # 'F' again only for a FIN at a new sequence number
    assert _run([*HS, ("A", 101, 501, FIN | ACK, 0), ("A", 101, 501, FIN | ACK, 0)])[1] == "ShAF"
    assert _run([*HS, ("A", 101, 501, FIN | ACK, 0), ("A", 101, 501, FIN | ACK, 10)])[1] == "ShAFF"
    # 'D' and 'A' once per direction
    data = [("A", 101 + 10 * i, 501, ACK, 10) for i in range(5)]
    assert _run(HS + data)[1] == "ShAD"


@pytest.mark.parametrize("count,letters", [(1, 1), (9, 1), (10, 2), (99, 2), (100, 3)])
def test_retransmissions_are_scaled(count: int, letters: int) -> None:
    # 'T' at the 1st, 10th, 100th retransmission (logarithmic history)
    data = [("A", 101, 501, ACK, 10)] * (count + 1)
    _, history = _run(HS + data)
    assert history.count("T") == letters


def test_zero_window_letter() -> None:
    segs = [_seg(1, A, 100, 0, SYN), _seg(2, B, 500, 101, SYN | ACK), _seg(3, A, 101, 501, ACK, 0, window=0)]
    (c,) = zeek_connections(segs)
    assert c.history_str == "ShAW"
    assert c.orig.state == State.ESTABLISHED


def _holes(n: int) -> list[Segment]:
    """A handshake, then n data segments of 100 bytes sent in reverse order with a 100-byte
    hole after each, then an ACK of every hole's end in turn."""
    segs = [_seg(1, A, 100, 0, SYN), _seg(2, B, 500, 101, SYN | ACK), _seg(3, A, 101, 501, ACK)]
    segs += [_seg(4 + j, A, 101 + 200 * i, 501, ACK | PSH, 100) for j, i in enumerate(reversed(range(n)))]
    segs += [_seg(4 + n + k, B, 501, 101 + 200 * (k + 1), ACK) for k in range(n)]
    return segs


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "interpreted"])
def test_out_of_order_data_with_holes_in_bounded_time(compiled: bool) -> None:
    # (Zeek's data-block bookkeeping used to re-sort all blocks on every segment: 20,000
    # such segments took 31 s; now each block is pushed and popped once)
    zeek_connections(_holes(10), compiled=compiled)  # (compiles, when compiled)
    n = 100_000 if compiled else 20_000
    segs = _holes(n)
    t0 = time.perf_counter()
    (c,) = zeek_connections(segs, compiled=compiled)
    assert time.perf_counter() - t0 < 15
    assert c.missed_bytes == 100 * n  # every hole below the last ACK, once
    # data below the highest sequence number counts as retransmitted (T), and the gaps (G),
    # at the 1st, 10th, 100th, ... time
    assert c.history_str == "ShAD" + "T" * len(str(n - 1)) + "a" + "G" * len(str(n))
