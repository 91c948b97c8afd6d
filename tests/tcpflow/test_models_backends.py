"""The Zeek and tcptrace models give identical results compiled (numba) and interpreted.

Both models are written once (:mod:`pcapkit.tcpflow.jit`); the interpreted run reads its
records as Python objects, the compiled run as numpy records with fixed-width fields, so
an overflow, a float stored into an integer field or a typing difference shows up here.
Every record field, arena and per-row output is compared on every corpus file with TCP,
every project capture, and on simulated conversations (losses, retransmissions,
reordering, duplicate ACKs, SACK, zero windows, sequence wrap, reused ports).
The models themselves are checked against the real tools in test_zeek.py (Zeek's
baselines), test_tcptrace.py (the tcptrace binary) and tests/reports/test_flows.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, capture_files, corpus_files, corpus_id

from pcapkit.errors import PcapkitError
from pcapkit.tcpflow import jit
from pcapkit.tcpflow.segments import SegmentTable, segment_table
from pcapkit.tcpflow.segments.table import INT_COLUMNS
from pcapkit.tcpflow.tcptrace import ConnectionTable, connection_table
from pcapkit.tcpflow.zeek import ZeekConnections, zeek_table


def _tcp_files() -> list[Path]:
    """The corpus files whose INDEX.tsv protocols include tcp."""
    index = CORPUS / "INDEX.tsv"
    if not index.is_file():
        return []
    rows = [line.split("\t") for line in index.read_text().splitlines()[1:]]
    with_tcp = {cols[0] for cols in rows if len(cols) > 4 and "tcp" in cols[4].split(",")}
    return [p for p in corpus_files() if corpus_id(p) in with_tcp]


FILES = _tcp_files() + capture_files()


def _table(path: Path) -> SegmentTable:
    try:
        table = segment_table(path)
    except PcapkitError as exc:
        pytest.skip(f"not readable: {exc}")
    if not len(table):
        pytest.skip("no TCP")
    return table


def _same_zeek(a: ZeekConnections, b: ZeekConnections) -> None:
    assert len(a) > 0
    np.testing.assert_array_equal(a.conns, b.conns)
    np.testing.assert_array_equal(a.endpoints, b.endpoints)
    np.testing.assert_array_equal(a.row_conn, b.row_conn)
    assert a.history == b.history


def _same_tcptrace(a: ConnectionTable, b: ConnectionTable) -> None:
    assert len(a) > 0
    for name in ("conns", "dirs", "row_frame", "row_conn", "row_a2b", "row_mark", "samples"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.mark.parametrize("path", FILES, ids=[corpus_id(p) for p in FILES])
def test_compiled_equals_interpreted_on_captures(path: Path) -> None:
    table = _table(path)
    view = table.tshark_view()
    if len(view):
        _same_zeek(zeek_table(view, compiled=True), zeek_table(view, compiled=False))
    if len(table.tcptrace_view()):
        _same_tcptrace(connection_table(table, compiled=True), connection_table(table, compiled=False))


def simulated_table(seed: int) -> SegmentTable:
    """A few TCP conversations between two hosts: handshakes (some repeated, some
    missing), data with losses, retransmissions and reordering, ACKs of segment ends
    (repeated: duplicate ACKs) with SACK blocks, zero windows, FIN/RST, a port pair
    reused later or after an idle hour, sequence numbers near 2^32 and quadrant ends."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, ...]] = []  # (ts, a->b, conn, seq, ack, flags, len, window, wscale, sack)
    for conn in range(int(rng.integers(1, 4))):
        t = int(rng.integers(0, 10**7))
        isn_a = int(rng.choice([rng.integers(0, 1 << 32), (1 << 32) - 5000, (1 << 30) - 3000]))
        sa, sb = isn_a, int(rng.integers(0, 1 << 32))
        if rng.random() < 0.85:
            rows.append((t, 1, conn, sa, 0, 0x002, 0, 65535, int(rng.choice([-1, 7])), 0))
            if rng.random() < 0.1:
                rows.append((t + 10**6, 1, conn, sa, 0, 0x002, 0, 65535, -1, 0))
            t += int(rng.integers(10**5, 5 * 10**7))
            rows.append((t, 0, conn, sb, (sa + 1) & 0xFFFFFFFF, 0x012, 0, 65535, int(rng.choice([-1, 2])), 0))
            sa, sb = (sa + 1) & 0xFFFFFFFF, (sb + 1) & 0xFFFFFFFF
            rows.append((t + 1000, 1, conn, sa, sb, 0x010, 0, 1000, -1, 0))
        elif rng.random() < 0.5:  # midstream, the server first (Zeek flips the roles)
            rows.append((t, 0, conn, sb, sa, 0x010, 0, 1000, -1, 0))
        sent: list[tuple[int, int]] = []
        for _ in range(int(rng.integers(1, 150))):
            t += int(rng.integers(0, 3 * 10**6))
            if rng.random() < 0.75:
                size = int(rng.choice([1000, 1000, 1000, 1, 100, 0]))
                seq = sa
                if rng.random() < 0.1 and sent:
                    seq, size = sent[int(rng.integers(0, len(sent)))]  # a retransmission
                elif rng.random() < 0.08:
                    seq = (sa + size) & 0xFFFFFFFF  # the one before is lost
                    sa = (seq + size) & 0xFFFFFFFF
                else:
                    sa = (sa + size) & 0xFFFFFFFF
                sent.append((seq, size))
                window = 0 if rng.random() < 0.02 else 1000
                rows.append((t, 1, conn, seq, sb, int(rng.choice([0x010, 0x018])), size, window, -1, 0))
            else:
                seq, size = sent[-int(rng.integers(1, min(5, len(sent) + 1)))] if sent and rng.random() < 0.8 else (sa, 0)
                ack = (seq + size) & 0xFFFFFFFF
                sack = int(rng.choice([0, 0, 0, 1, 2]))
                for _ in range(int(rng.choice([1, 1, 2, 4]))):
                    rows.append((t, 0, conn, sb, ack, 0x010, 0, int(rng.choice([1000, 1000, 0])), -1, sack))
                    t += int(rng.integers(0, 10**5))
        t += 10**6
        if rng.random() < 0.6:
            rows += [(t, 1, conn, sa, sb, 0x011, 0, 1000, -1, 0),
                     (t + 5 * 10**5, 0, conn, sb, (sa + 1) & 0xFFFFFFFF, 0x011, 0, 1000, -1, 0),
                     (t + 9 * 10**5, 1, conn, (sa + 1) & 0xFFFFFFFF, (sb + 1) & 0xFFFFFFFF, 0x010, 0, 1000, -1, 0)]
        elif rng.random() < 0.4:
            rows.append((t, int(rng.integers(0, 2)), conn, sa, sb, 0x014, 0, 0, -1, 0))
        if rng.random() < 0.2:  # the same ports again, soon or after an idle hour
            t += int(rng.choice([10**6, 3600 * 10**9]))
            isn = int(rng.integers(0, 1 << 32))
            rows += [(t, 1, conn, isn, 0, 0x002, 0, 65535, -1, 0),
                     (t + 1000, 0, conn, 77, (isn + 1) & 0xFFFFFFFF, 0x012, 0, 65535, -1, 0)]
    rows.sort(key=lambda r: r[0])
    n = len(rows)
    cols = {name: np.zeros(n, np.int64) for name in INT_COLUMNS}
    sack_l, sack_r = [], []
    for i, (t, a2b, conn, seq, ack, flags, size, window, wscale, sack) in enumerate(rows):
        if rng.random() < 0.01:
            flags ^= 1 << int(rng.integers(0, 9))
        src, dst, sport, dport = (0, 1, 40000 + conn, 80) if a2b else (1, 0, 80, 40000 + conn)
        values = {"frame": i + 1, "ts_ns": 1_700_000_000 * 10**9 + t, "ip_version": 4, "src": src, "dst": dst,
                  "sport": sport, "dport": dport, "seq": seq, "ack": ack, "flags": flags, "window": window,
                  "seglen": size, "hdr_len": 32, "ip_id": i % 7, "ip_len": 52 + size, "ip_hdr_len": 20,
                  "tcp_offset": 34, "caplen": 66 + size, "wirelen": 66 + size, "captured": size,
                  "mss": 1460 if flags & 0x002 else -1, "wscale": wscale if flags & 0x002 else -1,
                  "sack_perm": 1 if flags & 0x002 else 0, "tsval": -1, "tsecr": -1, "sack_n": sack}
        for name, value in values.items():
            cols[name][i] = value
        if sack:
            edges = [((ack + 1000 * (k + 1)) & 0xFFFFFFFF, (ack + 1000 * (k + 2)) & 0xFFFFFFFF) for k in range(sack)]
            if sack == 2 and rng.random() < 0.5:
                edges[0] = ((ack - 1000) & 0xFFFFFFFF, ack)  # a D-SACK
            sack_l.append([e[0] for e in edges] + [0] * (4 - sack))
            sack_r.append([e[1] for e in edges] + [0] * (4 - sack))
    return SegmentTable(**cols, sack_l=np.array(sack_l, np.int64).reshape(-1, 4),
                        sack_r=np.array(sack_r, np.int64).reshape(-1, 4), addresses=["192.0.2.1", "192.0.2.2"],
                        frames=n, first_ts_ns=int(cols["ts_ns"][0]), last_ts_ns=int(cols["ts_ns"][-1]))


@pytest.mark.parametrize("seed", range(40))
def test_compiled_equals_interpreted_on_simulated_conversations(seed: int) -> None:
    table = simulated_table(seed)
    _same_zeek(zeek_table(table, compiled=True), zeek_table(table, compiled=False))
    _same_tcptrace(connection_table(table, compiled=True), connection_table(table, compiled=False))


def test_simulations_reach_the_interesting_paths() -> None:
    """The simulated conversations above must exercise what they are for."""
    seen: dict[str, int] = {}
    for seed in range(40):
        tt = connection_table(simulated_table(seed), compiled=False)
        z = zeek_table(simulated_table(seed), compiled=False)
        d = tt.dirs
        for name, hit in (("rexmit", d["rexmit_pkts"]), ("out of order", d["out_order_pkts"]),
                          ("rtt", d["rtt_count"]), ("ambiguous", d["rtt_amback"]), ("dupack", d["rtt_dupack"]),
                          ("dsack", d["num_dsacks"]), ("probe", d["num_zwnd_probes"]),
                          ("inactive", tt.conns["inactive"]), ("missed", z.endpoints["missed"]),
                          ("flip", z.conns["flipped"])):
            seen[name] = seen.get(name, 0) + int(np.count_nonzero(hit))
    assert all(seen.values()), seen


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "interpreted"])
def test_results_do_not_depend_on_the_block_size(monkeypatch: pytest.MonkeyPatch, compiled: bool) -> None:
    """The models take their input rows a block at a time; state carries over blocks."""
    tables = [simulated_table(seed) for seed in range(5)]
    whole = [(zeek_table(t, compiled=compiled), connection_table(t, compiled=compiled)) for t in tables]
    monkeypatch.setattr(jit, "BLOCK_ROWS", 7)
    for table, (z, tt) in zip(tables, whole, strict=True):
        _same_zeek(zeek_table(table, compiled=compiled), z)
        _same_tcptrace(connection_table(table, compiled=compiled), tt)
