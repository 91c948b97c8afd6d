"""The tcptrace model over a segment table, and its results as arrays (and views).

:func:`connection_table` runs :mod:`pcapkit.tcpflow.tcptrace.model` over the segments
tcptrace sees and returns a :class:`ConnectionTable`; :class:`Connection` and
:class:`Direction` are views of one connection / direction of it, with the attribute
names of tcptrace's ``tcb`` (what :func:`pcapkit.tcpflow.tcptrace.analyse` returns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pcapkit.errors import PcapkitError
from pcapkit.tcpflow import jit
from pcapkit.tcpflow.segment import SYN
from pcapkit.tcpflow.segments import SegmentTable, Source, segment_table
from pcapkit.tcpflow.tcptrace import layout as lay
from pcapkit.tcpflow.tcptrace import model, rexmit


@dataclass(eq=False)
class ConnectionTable:
    """tcptrace's connections of a capture, as arrays.

    ``conns``: one :data:`~pcapkit.tcpflow.tcptrace.layout.CONN` record per connection
    (tcptrace's number is the index + 1); ``dirs``: one
    :data:`~pcapkit.tcpflow.tcptrace.layout.DIRECTION` record per direction, ``2c`` the
    a2b (the first packet's direction) and ``2c + 1`` the b2a direction of connection ``c``
    (``host`` indexes ``addresses``); per segment tcptrace saw (``row_frame``): its
    connection, whether it went a2b, and its mark (retransmission, out of order, zero-window
    probe: :data:`~pcapkit.tcpflow.tcptrace.layout.MARK_LETTERS`); ``samples``: the
    Karn-rule RTT samples, (direction, ACK frame, ACK time, RTT) in microseconds;
    ``error``: what stopped reading the capture (a cut or damaged file), if anything."""

    conns: np.ndarray
    dirs: np.ndarray
    row_frame: np.ndarray
    row_conn: np.ndarray
    row_a2b: np.ndarray
    row_mark: np.ndarray
    samples: np.ndarray
    addresses: list[str]
    error: PcapkitError | None = None

    def __len__(self) -> int:
        return int(self.conns.shape[0])

    def connections(self) -> list[Connection]:
        return [Connection(self, c) for c in range(len(self))]

    def conn_of_frames(self, frames: np.ndarray) -> np.ndarray:
        """The connection of each frame (the last one holding a segment of it; -1: none)."""
        return connection_of_frames(self.row_frame, self.row_conn, frames)


def connection_of_frames(row_frame: np.ndarray, row_conn: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """The connection of each of ``frames`` given the frame and connection of each segment
    (the highest-numbered connection with a segment in it; -1: none)."""
    out = np.full(frames.shape[0], -1, np.int64)
    if not len(row_frame):
        return out
    order = np.lexsort((row_conn, row_frame))  # by frame, then connection: the last wins
    f, c = row_frame[order], row_conn[order]
    pos = np.searchsorted(f, frames, side="right") - 1
    hit = (pos >= 0) & (f[np.maximum(pos, 0)] == frames)
    out[hit] = c[pos[hit]]
    return out


class Direction:
    """One direction of a connection: the fields of tcptrace's ``tcb`` as attributes."""

    __slots__ = ("_index", "_table")

    def __init__(self, table: ConnectionTable, index: int) -> None:
        self._table = table
        self._index = index

    def __getattr__(self, name: str) -> Any:
        if name not in lay.DIRECTION_FIELDS:
            raise AttributeError(name)
        value = self._table.dirs[name][self._index].item()
        return bool(value) if name in lay.DIRECTION_BOOLS else value

    @property
    def index(self) -> int:
        """The direction's record in :attr:`ConnectionTable.dirs`."""
        return self._index

    @property
    def host(self) -> str:
        return self._table.addresses[int(self._table.dirs["host"][self._index])]

    @property
    def quads_seen(self) -> list[bool]:
        bits = int(self._table.dirs["quads_seen"][self._index])
        return [bool(bits >> q & 1) for q in range(4)]

    @property
    def rtt_samples(self) -> list[tuple[int, int, float]]:
        """(ACK frame, its time in us, RTT in us) of each Karn-rule sample."""
        s = self._table.samples
        mine = s[s[:, lay.S_DIR] == self._index]
        return [(f, t, float(r)) for f, t, r in mine[:, [lay.S_FRAME, lay.S_TIME, lay.S_RTT]].tolist()]

    @property
    def marks(self) -> dict[int, str]:
        """frame -> "R" retransmission / "O" out of order / "P" zero-window probe."""
        t = self._table
        conn, a2b = divmod(self._index, 2)
        rows = np.nonzero((t.row_conn == conn) & (t.row_a2b == (a2b == 0)) & (t.row_mark != 0))[0]
        return {f: lay.MARK_LETTERS[m] for f, m in zip(t.row_frame[rows].tolist(), t.row_mark[rows].tolist(),
                                                      strict=True)}


class Connection:
    """One tcptrace connection: a2b is the direction of its first packet."""

    __slots__ = ("_index", "_table", "a2b", "b2a")

    def __init__(self, table: ConnectionTable, index: int) -> None:
        self._table = table
        self._index = index
        self.a2b = Direction(table, 2 * index)
        self.b2a = Direction(table, 2 * index + 1)

    def __getattr__(self, name: str) -> Any:
        if name not in (lay.CONN.names or ()):
            raise AttributeError(name)
        value = self._table.conns[name][self._index].item()
        return bool(value) if name == "inactive" else value

    @property
    def index(self) -> int:
        return self._index

    @property
    def number(self) -> int:
        """tcptrace's connection number (1-based)."""
        return self._index + 1

    @property
    def frames(self) -> list[int]:
        t = self._table
        return t.row_frame[t.row_conn == self._index].tolist()

    def syn_count(self) -> int:
        return (self.a2b.syn_count >= 1) + (self.b2a.syn_count >= 1)

    def fin_count(self) -> int:
        return (self.a2b.fin_count >= 1) + (self.b2a.fin_count >= 1)

    def complete(self) -> bool:
        return self.syn_count() >= 2 and self.fin_count() >= 2

    def reset(self) -> bool:
        return self.a2b.reset_count + self.b2a.reset_count != 0


def tcptrace_lengths(table: SegmentTable) -> tuple[np.ndarray, np.ndarray]:
    """(data length, captured data bytes) of each segment as tcptrace measures them.

    tcptrace takes the data length from the IP length field alone (IPv4 total length
    minus the IP and TCP header lengths; for IPv6 the payload length minus the TCP
    header when TCP follows the fixed header), even when the frame is shorter; a zero
    IPv4 length (TSO) leaves tshark's length. Captured bytes are cut to the pcap
    header's snapshot length, as libpcap hands them to tcptrace."""
    seglen = np.maximum(table.seglen, 0)
    v4 = table.ip_version == 4
    from_ip = np.where(v4, table.ip_len - table.ip_hdr_len - table.hdr_len, table.ip_len - table.hdr_len)
    use_ip = np.where(v4, table.ip_len != 0, table.ip_hdr_len == 40)
    dlen = np.where(use_ip, np.maximum(from_ip, 0), seglen)
    # (np.int64: a file header's snapshot length is 32 bits unsigned, beyond the narrow caplen column's int32)
    caplen = table.caplen if table.snaplen is None else np.minimum(table.caplen, np.int64(table.snaplen))
    captured = np.clip(np.minimum(dlen, caplen - table.tcp_offset - table.hdr_len), 0, None)
    return dlen, captured


def model_columns(view: SegmentTable) -> dict[str, np.ndarray]:
    """The model's input columns (the fields of its rows) of the segments tcptrace sees."""
    dlen, captured = tcptrace_lengths(view)
    sl, sr = view.sack_blocks()
    has = view.sack_n > 0
    cols: dict[str, np.ndarray] = {
        "frame": view.frame, "ts": view.ts_ns // 1000,  # tcptrace's clock: whole microseconds
        "key": view.conversation_keys()[0], "src": view.src, "sport": view.sport, "dst": view.dst,
        "dport": view.dport, "flags": view.flags, "seq": view.seq, "ack": view.ack, "window": view.window,
        "dlen": dlen, "captured": captured, "mss": view.mss, "wscale": view.wscale, "tsval": view.tsval,
        "sack_perm": view.sack_perm, "sack_n": np.minimum(view.sack_n, sl.shape[1]),
        "ip_version": view.ip_version, "ip_id": view.ip_id, "urp": view.urgent}
    rows = np.flatnonzero(has)
    for k in range(2):
        for side, edges in (("l", sl), ("r", sr)):
            values = edges[:, k] if k < edges.shape[1] else np.zeros(rows.shape[0], np.int64)
            cols[f"sack{k}_{side}"] = SparseColumn(rows, values)  # type: ignore[assignment]
    return cols


class SparseColumn:
    """A column that is 0 except on a few rows (the SACK edges: most segments carry none):
    its slices, dense, as :func:`pcapkit.tcpflow.jit.row_blocks` reads them, without
    holding the whole column (four of them were 32 MB at a million segments)."""

    def __init__(self, rows: np.ndarray, values: np.ndarray) -> None:
        self.rows, self.values = rows, values  # (rows ascending)

    def __getitem__(self, part: slice) -> np.ndarray:
        start, stop = part.start or 0, part.stop
        out = np.zeros(stop - start, np.int64)
        lo, hi = np.searchsorted(self.rows, (start, stop))
        out[self.rows[lo:hi] - start] = self.values[lo:hi]
        return out


def _connection_bound(cols: dict[str, np.ndarray], nkeys: int) -> int:
    """At most how many connections the rows can open: one per key, plus one per later
    SYN of a pair and per packet that follows its pair's previous packet after tcptrace's
    idle limit."""
    order = np.argsort(cols["key"], kind="stable")
    key, ts, flags = cols["key"][order], cols["ts"][order], cols["flags"][order]
    del order
    same = key[1:] == key[:-1]  # (row i + 1 is not its pair's first)
    idle = same & (ts[1:] - ts[:-1] >= (lay.NONREAL_LIVE_CONN_INTERVAL - 1) * 1000000)
    return nkeys + int(np.count_nonzero(same & (flags[1:] & SYN != 0))) + int(np.count_nonzero(idle))


def connection_table(source: Source | SegmentTable, *, compiled: bool | None = None) -> ConnectionTable:
    """Run the tcptrace model over every TCP segment tcptrace sees in a capture (a file,
    frames, or a segment table already read): no IP reassembly, nothing inside IP-in-IP."""
    compiled = jit.use_compiled(compiled)
    table = source if isinstance(source, SegmentTable) else segment_table(source)
    view = table.tcptrace_view()
    cols = model_columns(view)
    n = len(view)
    nkeys = int(cols["key"].max()) + 1 if n else 0
    bound = _connection_bound(cols, nkeys)
    # room for every connection the rows could open, in zeroed arrays whose pages the
    # system maps only when written: the memory used is that of the connections opened
    # (a record's starting values are written when its connection opens: model.find)
    conns = jit.new_records(lay.CONN, bound, compiled)
    dirs = jit.new_records(lay.DIRECTION, 2 * bound, compiled)
    active = np.full(nkeys, -1, np.int64)
    quads = np.zeros((8 * bound, 5), np.int64)
    pool = np.zeros((64, 7), np.int64)
    counts = np.array([0, -1, 0, 0], np.int64)
    hw = np.zeros((2 * bound * lay.SEGS_TO_REMEMBER, 2), np.int64)
    samples = np.zeros((64, 4), np.int64)
    row_conn, row_a2b, marks = np.zeros(n, np.int64), np.zeros(n, np.int8), np.zeros(n, np.int8)
    fn = jit.compile_entry(model.run, model.FUNCTIONS,
                           (model.__name__, rexmit.__name__, lay.__name__, jit.__name__, "pcapkit.proto.seq")) \
        if compiled else model.run
    nconn = 0
    end_time = table.last_ts_ns // 1000  # tcptrace's clock at the end: the last packet read, of any kind
    for first, rows in jit.row_blocks(lay.ROW, n, cols, compiled):
        done = 0
        while True:
            nconn, done = fn(rows, done, first, nconn, first + len(rows) == n, end_time, conns, dirs, active, quads,
                             pool, counts, hw, samples, row_conn, row_a2b, marks)
            if done == len(rows):
                break
            pool = jit.grown(pool, model.pool_rows_needed(counts))
            samples = jit.grown(samples, model.sample_rows_needed(counts))
    return ConnectionTable(jit.to_array(conns, lay.CONN)[:nconn], jit.to_array(dirs, lay.DIRECTION)[:2 * nconn],
                           view.frame, row_conn, row_a2b.astype(bool), marks,
                           samples[:int(counts[lay.C_SAMPLES])], table.addresses, table.error)
