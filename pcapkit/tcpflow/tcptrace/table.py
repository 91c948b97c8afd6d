"""The tcptrace model over a segment table, and its results as arrays (and views).

:func:`connection_table` runs :mod:`pcapkit.tcpflow.tcptrace.model` over the segments
tcptrace sees and returns a :class:`ConnectionTable`; :class:`Connection` and
:class:`Direction` are views of one connection / direction of it, with the attribute
names of tcptrace's ``tcb`` (what :func:`pcapkit.tcpflow.tcptrace.analyse` returns).
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from pcapkit.errors import PcapkitError
from pcapkit.tcpflow import jit
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


def model_columns(view: SegmentTable, key: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The model's input columns (the fields of its rows) of the segments tcptrace sees
    (``key``: each row's address/port pair; default: the view's own numbering)."""
    dlen, captured = tcptrace_lengths(view)
    sl, sr = view.sack_blocks()
    has = view.sack_n > 0
    cols: dict[str, np.ndarray] = {
        "frame": view.frame, "ts": view.ts_ns // 1000,  # tcptrace's clock: whole microseconds
        "key": view.conversation_keys()[0] if key is None else key, "src": view.src, "sport": view.sport,
        "dst": view.dst, "dport": view.dport, "flags": view.flags, "seq": view.seq, "ack": view.ack,
        "window": view.window, "dlen": dlen, "captured": captured, "mss": view.mss, "wscale": view.wscale,
        "tsval": view.tsval, "sack_perm": view.sack_perm, "sack_n": np.minimum(view.sack_n, sl.shape[1]),
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


class ModelRun:
    """The tcptrace model fed rows a part at a time (:meth:`feed`: file order, across
    parts), its records and arenas growing as it goes (the model stops when they are
    full: see :func:`pcapkit.tcpflow.tcptrace.model.run`); :meth:`table` ends the trace."""

    def __init__(self, compiled: bool | None = None, connections: int = 16) -> None:
        self.compiled = compiled = jit.use_compiled(compiled)
        self.fn = jit.compile_entry(model.run, model.FUNCTIONS, (model.__name__, rexmit.__name__, lay.__name__,
                                                                 jit.__name__, "pcapkit.proto.seq")) \
            if compiled else model.run
        # (zeroed records: a record's starting values are written when its connection opens)
        size = max(connections, 1)
        self.conns = jit.new_records(lay.CONN, size, compiled)
        self.dirs = jit.new_records(lay.DIRECTION, 2 * size, compiled)
        self.quads = np.zeros((8 * size, 5), np.int64)
        self.hw = np.zeros((2 * size * lay.SEGS_TO_REMEMBER, 2), np.int64)
        self.active = np.full(size, -1, np.int64)
        self.pool = np.zeros((64, 7), np.int64)
        self.counts = np.array([0, -1, 0, 0], np.int64)
        self.samples = np.zeros((64, 4), np.int64)
        self.nconn = 0
        self._frames: list[np.ndarray] = []
        self._row_conn: list[np.ndarray] = []
        self._row_a2b: list[np.ndarray] = []
        self._marks: list[np.ndarray] = []

    def feed(self, cols: dict[str, np.ndarray], n: int) -> None:
        """The model over the next ``n`` rows (:func:`model_columns`)."""
        row_conn, row_a2b, marks = np.zeros(n, np.int64), np.zeros(n, np.int8), np.zeros(n, np.int8)
        for first, rows in jit.row_blocks(lay.ROW, n, cols, self.compiled):
            done = 0
            while True:
                self.nconn, done = self.fn(rows, done, first, self.nconn, False, 0, self.conns, self.dirs,
                                           self.active, self.quads, self.pool, self.counts, self.hw, self.samples,
                                           row_conn, row_a2b, marks)
                if done == len(rows):
                    break
                self._grow(int(rows[done]["key"] if self.compiled else rows[done].key))
        self._frames.append(np.asarray(cols["frame"]))
        self._row_conn.append(row_conn)
        self._row_a2b.append(row_a2b)
        self._marks.append(marks)

    def end(self, end_time: int) -> None:
        """The trace ends at ``end_time``: idle times of the connections still open."""
        self._no_rows(True, end_time)

    def load(self) -> ModelRun:
        """The model called once over no rows: compiled, its machine code is loaded from
        numba's cache (or compiled) now rather than at the first rows."""
        self._no_rows(False, 0)
        return self

    def _no_rows(self, last: bool, end_time: int) -> None:
        none = jit.as_records(np.zeros(0, lay.ROW), self.compiled)
        empty = np.zeros(0, np.int64)
        self.fn(none, 0, 0, self.nconn, last, end_time, self.conns, self.dirs, self.active, self.quads, self.pool,
                self.counts, self.hw, self.samples, empty, empty.astype(np.int8), empty.astype(np.int8))

    def _grow(self, key: int) -> None:
        self.pool = jit.grown(self.pool, model.pool_rows_needed(self.counts))
        self.samples = jit.grown(self.samples, model.sample_rows_needed(self.counts))
        size = len(self.conns)
        if self.nconn >= size:  # twice the connections (records copied, the rest zeroed)
            self.conns = jit.grown_records(self.conns, lay.CONN, 2 * size, self.compiled)
            self.dirs = jit.grown_records(self.dirs, lay.DIRECTION, 4 * size, self.compiled)
            self.quads = jit.grown(self.quads, 16 * size)
            self.hw = jit.grown(self.hw, 4 * size * lay.SEGS_TO_REMEMBER)
        if key >= self.active.shape[0]:
            active = np.full(max(key + 1, 2 * self.active.shape[0]), -1, np.int64)
            active[:self.active.shape[0]] = self.active
            self.active = active

    def table(self, addresses: list[str], error: PcapkitError | None) -> ConnectionTable:
        """The connections so far as a :class:`ConnectionTable` (after :meth:`end`)."""
        def joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
            return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.zeros(0, dtype)

        nconn = self.nconn
        return ConnectionTable(jit.to_array(self.conns, lay.CONN)[:nconn],
                               jit.to_array(self.dirs, lay.DIRECTION)[:2 * nconn], joined(self._frames, np.int64),
                               joined(self._row_conn, np.int64), joined(self._row_a2b, np.int8).astype(bool),
                               joined(self._marks, np.int8), self.samples[:int(self.counts[lay.C_SAMPLES])],
                               addresses, error)


def connection_table(source: Source | SegmentTable, *, compiled: bool | None = None) -> ConnectionTable:
    """Run the tcptrace model over every TCP segment tcptrace sees in a capture (a file,
    frames, or a segment table already read): no IP reassembly, nothing inside IP-in-IP.
    A capture file's batches are fed to the model as they are read
    (:func:`streamed_connection_table`)."""
    path = regular_file(source)
    if path is not None:
        streamed = streamed_connection_table(path, compiled=compiled)
        assert streamed is not None  # (no pair limit)
        return streamed
    table = source if isinstance(source, SegmentTable) else segment_table(source)
    view = table.tcptrace_view()
    cols = model_columns(view)
    n = len(view)
    run = ModelRun(compiled, int(cols["key"].max()) + 1 if n else 1)  # (a connection per pair, mostly)
    run.feed(cols, n)
    run.end(table.last_ts_ns // 1000)  # (tcptrace's clock at the end: the last packet read, of any kind)
    return run.table(table.addresses, table.error)


def regular_file(source: object) -> str | None:
    """``source``'s path when it names a regular file (one that can be read again)."""
    if not isinstance(source, (str, os.PathLike)):
        return None
    try:
        return os.fspath(source) if stat.S_ISREG(os.stat(source).st_mode) else None
    except OSError:
        return None  # (reading it reports why)


def pair_keys(src: np.ndarray, sport: np.ndarray, dst: np.ndarray, dport: np.ndarray) -> np.ndarray:
    """Each segment's unordered address/port pair as a :class:`~pcapkit.tcpflow.segments.KeyIds`
    key: (0, lower endpoint, higher endpoint), an endpoint being address id * 65536 + port."""
    a = src.astype(np.int64) * 65536 + sport
    b = dst.astype(np.int64) * 65536 + dport
    keys = np.zeros((a.shape[0], 3), np.uint64)
    keys[:, 1] = np.minimum(a, b)
    keys[:, 2] = np.maximum(a, b)
    return keys


def streamed_connection_table(path: str, *, filter: str | None = None, max_pairs: int | None = None,
                              compiled: bool | None = None, chunk_packets: int = 1 << 16,
                              read_ahead: bool | None = None) -> ConnectionTable | None:
    """:func:`connection_table` of a capture file, the model fed each record batch as it
    is read (no segment table is built): the same connections, rows and samples, with
    addresses numbered in order of meeting. None when the capture has more than
    ``max_pairs`` address/port pairs (the caller reads it as a table then).

    A big file is three threads' work on two cores: walking and decoding records (see
    :func:`pcapkit.tcpflow.segments.segment_table`), making the model's rows of the
    batch before, and the model (compiled, it releases the GIL) on the batch before that
    (``read_ahead``: None, for a file of ``READ_AHEAD_BYTES`` or more)."""
    from pcapkit.capture import readahead
    from pcapkit.tcpflow.segments import SegmentBatches, worth_reading_ahead

    batches = SegmentBatches(path, filter=filter, chunk_packets=chunk_packets, read_ahead=read_ahead)
    inputs = _model_inputs(batches, max_pairs)
    ahead = worth_reading_ahead(path) if read_ahead is None else read_ahead
    # (a big file: the model is made and loaded while the first batch is read)
    loading = _Loading(compiled) if ahead else None
    run: ModelRun | None = None
    try:
        for cols, n in readahead.read_ahead(inputs) if ahead else inputs:
            if run is None:
                run = loading.result() if loading is not None else ModelRun(compiled)
            run.feed(cols, n)
    except _TooManyPairs:
        return None
    if run is None:
        run = ModelRun(compiled)
    run.end(batches.facts.last_ts // 1000)
    return run.table(batches.addresses, batches.facts.error)


class _Loading:
    """A :class:`ModelRun` made and :meth:`~ModelRun.load`-ed in a thread of its own."""

    def __init__(self, compiled: bool | None) -> None:
        self._run: ModelRun | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._make, args=(compiled,), name="pcapkit-model-load", daemon=True)
        self._thread.start()

    def _make(self, compiled: bool | None) -> None:
        try:
            self._run = ModelRun(compiled).load()
        except BaseException as exc:  # (raised where the run is wanted)
            self._error = exc

    def result(self) -> ModelRun:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._run is not None
        return self._run


class _TooManyPairs(Exception):
    """A capture has more address/port pairs than a streamed model run takes."""


def _model_inputs(batches: Iterable[SegmentTable],
                  max_pairs: int | None) -> Iterator[tuple[dict[str, np.ndarray], int]]:
    """The model's rows of each batch that has some: (columns, rows). (A batch's table has
    the file's snapshot length already, which tcptrace_lengths cuts to: a pcap file's
    header holds it; other formats have none.)"""
    from pcapkit.tcpflow.segments import KeyIds

    pairs = KeyIds()
    for batch in batches:
        view = batch.tcptrace_view()
        if not len(view):
            continue
        key = pairs(pair_keys(view.src, view.sport, view.dst, view.dport))
        if max_pairs is not None and len(pairs.ids) > max_pairs:
            raise _TooManyPairs
        yield model_columns(view, key), len(view)
