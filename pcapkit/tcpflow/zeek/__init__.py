"""Zeek's ``conn.log`` view of TCP connections: ``conn_state``, ``history``, ``missed_bytes``.

A model of Zeek's TCP session adapter (``TCPSessionAdapter.cc``: ``update_history``,
``update_window``, ``update_last_seq`` and ``UpdateStateMachine``) and of the
``conn_state()`` function of ``base/protocols/conn/main.zeek``.

Endpoint states: INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET.

conn_state (from the two endpoint states):
  S0 attempt, no reply; S1 established, not terminated; SF normal establishment and
  termination; REJ attempt rejected; S2/S3 established, close seen from the
  originator/responder only; RSTO/RSTR established, originator/responder sent a RST;
  RSTOS0 originator sent SYN then RST, no SYN-ACK; RSTRH responder sent SYN-ACK then
  RST, no SYN seen; SH/SHR SYN (SYN-ACK) then FIN with no answer; OTH midstream.

history letters, upper case for the originator, lower case for the responder:
  S SYN without ACK, H SYN+ACK, A pure ACK, D payload, F FIN, R RST, T retransmitted
  payload, W zero window, G content gap, I FIN+RST, Q SYN with FIN or RST, ^ roles
  flipped. A, D, I and Q are recorded once per direction; S, H, F and R again when
  their sequence number differs from the previous one of that flag; T, W and G are
  recorded when their count reaches 1, 10, 100, 1000, ... (Zeek's scaled history).

Differences from Zeek, by design: no checksum verification ('C' is never recorded;
Zeek's btests run with ``-C`` too), "likely server ports" approximated as ports
below 1024 plus common alternates, and content gaps (G, missed_bytes) computed from
the data segments seen and the peer's ACKs rather than Zeek's full reassembler.

The model (:mod:`.model`) runs over segment columns (:func:`zeek_table`), compiled by
numba or interpreted (:mod:`pcapkit.tcpflow.jit`), in O(log n) a segment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

from pcapkit.proto.seq import seq_diff
from pcapkit.tcpflow import jit
from pcapkit.tcpflow.segment import ACK, SYN, Segment
from pcapkit.tcpflow.segments.table import SegmentTable
from pcapkit.tcpflow.zeek import model
from pcapkit.tcpflow.zeek.model import (
    CLOSED,
    CONN,
    ENDPOINT,
    ESTABLISHED,
    HIST_USED,
    INACTIVE,
    LIKELY_SERVER_PORTS,
    PARTIAL,
    RESET,
    ROW,
    SYN_ACK_SENT,
    SYN_SENT,
)

__all__ = ["LIKELY_SERVER_PORTS", "Endpoint", "State", "ZeekConn", "ZeekConnections", "zeek_columns",
           "zeek_connections", "zeek_model", "zeek_table"]


class State(IntEnum):
    """Zeek's TCP endpoint states (``TCP_ENDPOINT_*``), with Zeek's numbers."""

    INACTIVE = 0
    SYN_SENT = 1
    SYN_ACK_SENT = 2
    PARTIAL = 3
    ESTABLISHED = 4
    CLOSED = 5
    RESET = 6


@dataclass(eq=False)
class ZeekConnections:
    """The Zeek connections of some segments, as arrays: ``conns`` (one record per
    connection, in order of first packet: its grouping ``key``, which endpoint is the
    originator, times, ...), ``endpoints`` (records ``2c`` and ``2c + 1`` belong to
    connection ``c``; ``host`` indexes ``addresses``), ``history`` (each connection's
    letters) and ``row_conn`` (the connection of each input row)."""

    conns: np.ndarray
    endpoints: np.ndarray
    history: list[str]
    row_conn: np.ndarray
    addresses: list[str]

    def __len__(self) -> int:
        return int(self.conns.shape[0])

    def orig_index(self) -> np.ndarray:
        """The endpoint record of each connection's originator."""
        return 2 * np.arange(len(self)) + self.conns["orig"]

    def resp_index(self) -> np.ndarray:
        return 2 * np.arange(len(self)) + 1 - self.conns["orig"]

    def missed_bytes(self) -> np.ndarray:
        return self.endpoints["missed"][0::2] + self.endpoints["missed"][1::2]

    def conn_states(self, index: np.ndarray | None = None) -> list[str]:
        """The ``conn_state`` of each connection (of the connections ``index``)."""
        index = np.arange(len(self)) if index is None else index
        o, r = self.orig_index()[index], self.resp_index()[index]
        eps = self.endpoints  # (the fields read, not copies of whole records)
        o_size, r_size = (_sizes(eps["start_seq"][e], eps["last_seq"][e], eps["ack_seq"][e], eps["fin_cnt"][e])
                          for e in (o, r))
        return _conn_states(eps["state"][o], eps["state"][r], o_size, r_size, lambda k: self.history[int(index[k])])

    def first_of_key(self, nkeys: int) -> np.ndarray:
        """The first connection of each key 0 .. nkeys-1 (-1 for a key without one)."""
        out = np.full(nkeys, -1, np.int64)
        keys = self.conns["key"]
        out[keys[::-1]] = np.arange(len(self))[::-1]
        return out

    def connection(self, i: int) -> ZeekConn:
        c = self.conns[i]
        o, r = self.endpoints[2 * i + int(c["orig"])], self.endpoints[2 * i + 1 - int(c["orig"])]
        return ZeekConn(self._endpoint(o, True), self._endpoint(r, False), self.history[i], bool(c["flipped"]),
                        bool(c["is_partial"]), int(c["first_ts"]), int(c["last_ts"]))

    def connections(self) -> list[ZeekConn]:
        return [self.connection(i) for i in range(len(self))]

    def _endpoint(self, rec: Any, is_orig: bool) -> Endpoint:
        return Endpoint(is_orig, self.addresses[int(rec["host"])], int(rec["port"]), State(int(rec["state"])),
                        State(int(rec["prev_state"])), int(rec["start_seq"]), int(rec["last_seq"]),
                        int(rec["ack_seq"]), int(rec["fin_cnt"]), None if rec["fin_seq"] < 0 else int(rec["fin_seq"]),
                        int(rec["pkts"]), int(rec["ip_bytes"]), int(rec["missed"]))


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One side of a Zeek connection at the end of the segments."""

    is_orig: bool
    host: str
    port: int
    state: State
    prev_state: State
    start_seq: int
    last_seq: int
    ack_seq: int
    fin_cnt: int
    fin_seq: int | None
    pkts: int
    ip_bytes: int
    missed: int

    def size(self) -> int:
        return int(_sizes(np.array([self.start_seq]), np.array([self.last_seq]), np.array([self.ack_seq]),
                          np.array([self.fin_cnt]))[0])


@dataclass(frozen=True, slots=True)
class ZeekConn:
    """One Zeek connection with its two endpoints and the history string."""

    orig: Endpoint
    resp: Endpoint
    history_str: str
    flipped: bool
    is_partial: bool
    first_ts_ns: int
    last_ts_ns: int

    @property
    def conn_state(self) -> str:
        return _conn_states(np.array([self.orig.state]), np.array([self.resp.state]), np.array([self.orig.size()]),
                            np.array([self.resp.size()]), lambda _: self.history_str)[0]

    @property
    def missed_bytes(self) -> int:
        return self.orig.missed + self.resp.missed


def _sizes(start: np.ndarray, last: np.ndarray, ack: np.ndarray, fin_cnt: np.ndarray) -> np.ndarray:
    """Zeek's endpoint Size() of each endpoint: the bytes between its first and last
    sequence number."""
    diff: Callable[[Any, Any], Any] = seq_diff  # (plain arithmetic: elementwise on arrays too)
    top = np.maximum(np.maximum(diff(last, start), diff(ack, start)), 0)
    top = top - (top > 0)
    return top - ((fin_cnt > 0) & (top > 0))


def _conn_states(os: np.ndarray, rs: np.ndarray, o_size: np.ndarray, r_size: np.ndarray,
                 history: Callable[[int], str]) -> list[str]:
    """conn_state() of base/protocols/conn/main.zeek from the endpoint states of each
    connection (``history(k)``: the history string of the k-th, read only where the
    state depends on it)."""
    o_inactive = (os == INACTIVE) | (os == PARTIAL)
    r_inactive = (rs == INACTIVE) | (rs == PARTIAL)
    r_reset, o_reset, o_closed, r_closed = rs == RESET, os == RESET, os == CLOSED, rs == CLOSED
    by_history = o_reset & r_inactive & ~r_reset
    # (the first rule that holds gives the state, as in the script's if/else chain)
    rules = [
        (r_reset & ((os == SYN_SENT) | (os == SYN_ACK_SENT) | (o_reset & (o_size == 0) & (r_size == 0))), "REJ"),
        (r_reset & o_inactive, "RSTRH"), (r_reset, "RSTR"), (by_history, "OTH"), (o_reset, "RSTO"),
        (r_closed & o_closed, "SF"), (o_closed & r_inactive, "SH"), (o_closed, "S2"), (r_closed & o_inactive, "SHR"),
        (r_closed, "S3"), ((os == SYN_SENT) & (rs == INACTIVE), "S0"), ((os == ESTABLISHED) & (rs == ESTABLISHED), "S1")]
    names = ["OTH"] + [name for _, name in rules]
    choice = np.select([cond for cond, _ in rules], np.arange(1, len(rules) + 1), 0)
    out = np.asarray(names, dtype=object)[choice].tolist()
    for k in np.nonzero(by_history)[0].tolist():
        h = history(k).lstrip("^")
        if h.startswith("S") and "R" in h and not any(ch in "HAFGIQ" for ch in h[1:h.index("R")]):
            out[k] = "RSTOS0"
    return out


def zeek_model(columns: dict[str, np.ndarray], addresses: list[str], *,
               compiled: bool | None = None) -> ZeekConnections:
    """Run the model over segments given as columns (the fields of :data:`ROW`, rows in
    file order; ``key`` groups the segments that may form one connection: one id per
    address/port pair, or per tcp.stream)."""
    compiled = jit.use_compiled(compiled)
    n = int(columns["key"].shape[0])
    nkeys = int(columns["key"].max()) + 1 if n else 0
    # room for every connection the rows could open, in zeroed arrays whose pages the
    # system maps only when written: the memory used is that of the connections opened
    # (an endpoint's starting values are written as its connection opens: model._open)
    conns = jit.new_records(CONN, _connection_bound(columns, nkeys), compiled)
    eps = jit.new_records(ENDPOINT, 2 * len(conns), compiled)
    active = np.full(nkeys, -1, np.int64)
    heap = np.zeros((64, 4), np.int64)
    hist = np.zeros((max(64, n), 2), np.int64)
    counts = np.array([0, 0, -1], np.int64)
    row_conn = np.zeros(n, np.int64)
    fn = jit.compile_entry(model.run, model.FUNCTIONS, (model.__name__, jit.__name__, seq_diff.__module__)) \
        if compiled else model.run
    nconn = 0
    for first, rows in jit.row_blocks(ROW, n, columns, compiled):
        done = 0
        while True:
            nconn, done = fn(rows, done, first, nconn, conns, eps, active, model.LIKELY, heap, hist, counts, row_conn)
            if done == len(rows):
                break
            hist = jit.grown(hist, model.hist_rows_needed(counts))
            heap = jit.grown(heap, model.heap_rows_needed(counts))
    conn_arr = jit.to_array(conns, CONN)[:nconn]
    ep_arr = jit.to_array(eps, ENDPOINT)[:2 * nconn]
    log = hist[:int(counts[HIST_USED])]
    order = np.argsort(log[:, 0], kind="stable")
    letters = log[order, 1].astype(np.uint8).tobytes().decode("ascii")
    ends = np.searchsorted(log[order, 0], np.arange(nconn + 1))
    history = [letters[a:b] for a, b in zip(ends[:-1].tolist(), ends[1:].tolist(), strict=True)]
    return ZeekConnections(conn_arr, ep_arr, history, row_conn, addresses)


def _connection_bound(columns: dict[str, np.ndarray], nkeys: int) -> int:
    """At most how many connections the rows can open: one per key, plus one per later
    SYN without ACK of a key (a reused key needs one)."""
    order = np.argsort(columns["key"], kind="stable")
    key, flags = columns["key"][order], columns["flags"][order]
    del order
    later = key[1:] == key[:-1]
    return nkeys + int(np.count_nonzero(later & ((flags[1:] & (SYN | ACK)) == SYN)))


def zeek_columns(table: SegmentTable, key: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The model's input columns of a segment table; ``key`` defaults to the address/port pair."""
    return {"key": table.conversation_keys()[0] if key is None else key, "src": table.src, "sport": table.sport,
            "dst": table.dst, "dport": table.dport, "ts": table.ts_ns, "flags": table.flags, "seq": table.seq,
            "ack": table.ack, "window": table.window, "seglen": table.seglen,
            "ip_len": table.seglen + table.hdr_len + np.where(table.ip_version == 4, 20, 40)}


def zeek_table(table: SegmentTable, key: np.ndarray | None = None, *,
               compiled: bool | None = None) -> ZeekConnections:
    """Zeek's connections of the rows of ``table`` (in order), grouped by ``key`` (an id
    per row: the address/port pair by default; flows passes tcp.stream)."""
    return zeek_model(zeek_columns(table, key), table.addresses, compiled=compiled)


def zeek_connections(segments: Iterable[Segment], *, compiled: bool | None = None) -> list[ZeekConn]:
    """Group segments into Zeek connections (in order of first packet) and run the model."""
    codes: dict[str, int] = {}
    pairs: dict[tuple[int, int, int, int], int] = {}
    values = []
    for seg in segments:
        src = codes.setdefault(seg.src, len(codes))
        dst = codes.setdefault(seg.dst, len(codes))
        a, b = (src, seg.sport), (dst, seg.dport)
        key = pairs.setdefault((*a, *b) if a <= b else (*b, *a), len(pairs))
        values.append((key, src, seg.sport, dst, seg.dport, seg.ts_ns, seg.flags, seg.seq, seg.ack, seg.window,
                       seg.seglen, seg.seglen + seg.header_len + (20 if seg.ip_version == 4 else 40)))
    names = ROW.names or ()
    matrix = np.array(values, np.int64).reshape(-1, len(names))
    return zeek_model({name: matrix[:, k] for k, name in enumerate(names)}, list(codes), compiled=compiled).connections()
