"""The one TCP segment source: every TCP segment of a capture as numpy columns.

Every TCP consumer (the tshark analysis, handshakes, RTT, flows, the Zeek and tcptrace
models, plots, the labs, congestion) reads its segments here, so they all see the same
segments with the same values. The columns come from the columnar decoder
(:mod:`pcapkit.columnar.decode`) in batches; rows its fast path does not decode
completely (IP fragments, tunnels, link types it does not walk, cut or
self-contradicting headers, several SACK blocks, ...) are dissected by the per-packet
dissectors (:mod:`pcapkit.dissect.driver`, one session per file, so IPv4/IPv6
fragments are reassembled as tshark reassembles them). There is no third parser.

One row per TCP header that some reference tool analyses, in file order. ``kind``
says which ones a consumer should read:

- ``KIND_REASSEMBLED``: the TCP header of a reassembled IP datagram, on the frame that
  completed it (tshark analyses it; tcptrace does not reassemble);
- ``KIND_FIRST_FRAGMENT``: the TCP header in the first fragment of an IP datagram, as
  a tool that does not reassemble sees it (tcptrace), never analysed by tshark;
- ``KIND_TUNNELLED``: TCP inside IP-in-IP (tshark analyses it; tcptrace does not look).

:meth:`SegmentTable.tshark_view` and :meth:`SegmentTable.tcptrace_view` select them.
Sequence numbers and everything else are raw header values; ``seglen`` is tshark's
``tcp.len`` (IP payload length minus the TCP header length, from the IP length field,
so right on snapped captures) or -1 when the TCP header does not fit in the IP payload
(tshark's "short segment").
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.columnar.decode import FRAGMENT_IP_OFFSET
from pcapkit.tcpflow.segment import Segment
from pcapkit.tcpflow.segments.columns import fast_packets, fast_rows, payloads
from pcapkit.tcpflow.segments.dissected import dissected_rows
from pcapkit.tcpflow.segments.reading import (
    ReadFacts,
    RecordSelect,
    read_batches,
    worth_reading_ahead,
)
from pcapkit.tcpflow.segments.table import (
    COLUMN_DTYPES,
    I64,
    INT_COLUMNS,
    KIND_FIRST_FRAGMENT,
    KIND_REASSEMBLED,
    KIND_TUNNELLED,
    MAX_SACK_BLOCKS,
    PACKET_COLUMNS,
    PACKET_DTYPES,
    PacketRows,
    PacketTable,
    Rows,
    SegmentTable,
    Source,
    table_fields,
)

if TYPE_CHECKING:
    from pcapkit.capture.batch import RecordBatch
    from pcapkit.columnar.decode import Columns
    from pcapkit.dissect.driver import DissectSession
    from pcapkit.frame import Frame

__all__ = ["KIND_FIRST_FRAGMENT", "KIND_REASSEMBLED", "KIND_TUNNELLED", "MAX_SACK_BLOCKS", "KeyIds", "PacketTable",
           "SegmentBatches", "SegmentTable", "Source", "segment_table", "segments", "table_fields",
           "worth_reading_ahead"]


class KeyIds:
    """Keys met so far across batches, each with an id in order of meeting. A key is a row
    of three unsigned integers, the first below 8 (an address's (version, high, low); a
    conversation's two endpoints: :func:`pcapkit.tcpflow.tcptrace.table.pair_keys`), with a
    few distinct ones per batch as a rule: a batch's keys are numbered with array
    operations and only its distinct ones are looked up."""

    def __init__(self) -> None:
        self.ids: dict[tuple[int, int, int], int] = {}

    def __call__(self, keys: np.ndarray) -> np.ndarray:
        """The ids of the keys (the rows of ``keys``, uint64)."""
        from pcapkit.columnar.column_table import factorize

        if keys.shape[0] == 0:
            return np.zeros(0, dtype=I64)
        hi, hi_uniq = factorize(keys[:, 1])
        if not keys[:, 2].any() and bool((keys[:, 0] == keys[0, 0]).all()):
            # one first value, no third (a batch of IPv4 addresses): the second is the key
            local = hi
            high = np.asarray(hi_uniq)
            version, low = np.full(high.shape[0], keys[0, 0]), np.zeros(high.shape[0], dtype=np.uint64)
        else:
            lo, lo_uniq = factorize(keys[:, 2])
            width = len(lo_uniq)
            combo = (hi.astype(I64) * width + lo) * 8 + keys[:, 0].astype(I64)
            local, uniq = factorize(combo)
            # each distinct key once, decoded back from its combination
            uniq = np.asarray(uniq, dtype=I64)
            version, pair = uniq % 8, uniq // 8
            high, low = np.asarray(hi_uniq)[pair // width], np.asarray(lo_uniq)[pair % width]
        ids = self.ids
        known = np.array([ids.setdefault(key, len(ids)) for key in zip(version.tolist(), high.tolist(), low.tolist(),
                                                                        strict=True)], dtype=I64)
        return known[local]


class _AddressBook(KeyIds):
    """Addresses met so far, each with an id (in order of meeting): the batches keep ids,
    not (version, high, low) keys, and the text of an address is made once."""

    def texts(self, order: np.ndarray) -> list[str]:
        """The text of the addresses with ids ``order``."""
        keys = list(self.ids)
        out = []
        for i in order.tolist():
            version, high, low = keys[i]
            if version == 4:
                out.append(socket.inet_ntop(socket.AF_INET, high.to_bytes(4, "big")))
            else:
                out.append(socket.inet_ntop(socket.AF_INET6, high.to_bytes(8, "big") + low.to_bytes(8, "big")))
        return out


class _Column:
    """One column filled batch by batch into a single array that grows in place (by a
    quarter at a time, ``ndarray.resize`` reallocating, so at most that much is spare)
    and is cut to its length at the end: the table is never held twice, as batches and
    as their join. Stored in ``dtype`` unless a batch holds a value it cannot represent:
    then the column becomes int64."""

    def __init__(self, dtype: np.dtype[Any]) -> None:
        self.data = np.empty(0, dtype)
        self.length = 0

    def append(self, values: np.ndarray) -> None:
        size = values.shape[0]
        if size == 0:
            return
        if self.data.dtype != I64 and not _fits(values, self.data.dtype):
            self.data = self.data.astype(I64)
        if self.length == 0:  # (a copy in the column's dtype: growing from nothing would zero it first)
            self.data = values.astype(self.data.dtype)
            self.length = size
            return
        end = self.length + size
        if end > self.data.shape[0]:
            self.data.resize(max(end, self.data.shape[0] + self.data.shape[0] // 4, 1024), refcheck=False)
        self.data[self.length:end] = values
        self.length = end

    def finish(self) -> np.ndarray:
        data = self.data
        self.data = np.empty(0, data.dtype)
        data.resize(self.length, refcheck=False)
        return data


def _fits(values: np.ndarray, dtype: np.dtype[Any]) -> bool:
    info = np.iinfo(dtype)
    return bool(values.min() >= info.min) and bool(values.max() <= info.max)


class _Parts:
    """The rows found so far, column by column (:class:`_Column`)."""

    def __init__(self, keep_payload: bool | int) -> None:
        self.cols = {name: _Column(COLUMN_DTYPES[name]) for name in INT_COLUMNS}
        self.book = _AddressBook()  # (src/dst hold address ids until the end: see _finish)
        self.sack_l: list[np.ndarray] = []
        self.sack_r: list[np.ndarray] = []
        self.payloads: list[bytes] | None = [] if keep_payload else None
        self.packets = {name: _Column(PACKET_DTYPES[name]) for name in (*PACKET_COLUMNS, "src", "dst")}

    def add_packets(self, cols: dict[str, np.ndarray], src: np.ndarray, dst: np.ndarray) -> None:
        for name in PACKET_COLUMNS:
            self.packets[name].append(cols[name])
        self.packets["src"].append(self.book(src))
        self.packets["dst"].append(self.book(dst))

    def add(self, part: dict[str, np.ndarray], src: np.ndarray, dst: np.ndarray, sack_l: np.ndarray,
            sack_r: np.ndarray, payloads: list[bytes] | None) -> None:
        for name in INT_COLUMNS:
            if name not in ("src", "dst"):
                self.cols[name].append(part[name])
        self.cols["src"].append(self.book(src))
        self.cols["dst"].append(self.book(dst))
        if sack_l.shape[0]:
            self.sack_l.append(sack_l)
            self.sack_r.append(sack_r)
        if self.payloads is not None and payloads is not None:
            self.payloads.extend(payloads)


class _BatchRows(_Parts):
    """One batch's rows as :func:`_add_batch` makes them (int64, and views where it can:
    a batch's table is read once and dropped, so its columns are not narrowed into the
    table's dtypes, a copy each), for :class:`SegmentBatches`."""

    def __init__(self, book: _AddressBook) -> None:
        super().__init__(False)
        self.book = book
        self.rows: dict[str, np.ndarray] | None = None

    def add(self, part: dict[str, np.ndarray], src: np.ndarray, dst: np.ndarray, sack_l: np.ndarray,
            sack_r: np.ndarray, payloads: list[bytes] | None) -> None:
        assert self.rows is None  # (_add_batch adds a batch's rows at once)
        self.rows = {**part, "src": self.book(src), "dst": self.book(dst)}
        self.sack_l.append(sack_l)
        self.sack_r.append(sack_r)

    def table(self, facts: ReadFacts) -> SegmentTable:
        """The batch's table: address ids as the book numbers them, no address texts."""
        rows = self.rows if self.rows is not None else {name: np.zeros(0, COLUMN_DTYPES[name])
                                                         for name in INT_COLUMNS}
        empty = np.zeros((0, MAX_SACK_BLOCKS), dtype=I64)
        cols: dict[str, Any] = {name: rows[name] for name in INT_COLUMNS}
        return SegmentTable(**cols,
                            sack_l=self.sack_l[0] if self.sack_l else empty,
                            sack_r=self.sack_r[0] if self.sack_r else empty, addresses=[], frames=facts.frames,
                            first_ts_ns=facts.first_ts, last_ts_ns=facts.last_ts, snaplen=facts.snaplen)


def segment_table(source: Source, *, keep_payload: bool | int = False, packets: bool = False,
                  filter: str | None = None, mark: str | None = None, strict: bool = False,
                  chunk_packets: int = 1 << 16, byte_range: tuple[int, int] | None = None,
                  read_ahead: bool | None = None, select: RecordSelect | None = None) -> SegmentTable:
    """Every TCP segment of ``source`` (a capture file, ``"-"`` for standard input, or an
    iterable of frames), read once; with ``packets=True`` also the :class:`PacketTable`
    of its IP packets, from the same pass.

    ``filter``: a tcpdump expression; frames it rejects are left out of everything, as
    ``tcpdump -r FILE EXPR | ...`` would. ``mark``: a tcpdump expression whose answer
    for each segment's frame goes in the ``matched`` column (the frames are all read,
    as ``tshark -Y`` selects after the analysis).

    A damaged or cut file gives the segments read before the damage and the error in
    :attr:`SegmentTable.error` (``strict=True`` raises it instead); a file with no
    readable frame raises its error. ``byte_range``: only the records in those bytes of
    a plain pcap file (see :func:`pcapkit.capture.ranges.byte_ranges`), numbered from 1.
    ``read_ahead``: read and decode the next batch in a second thread (None: for regular
    files of :data:`~.reading.READ_AHEAD_BYTES` and more; a process per core, as Dask's workers,
    has no core to spare). ``select``: which records of each decoded batch to keep (one
    bucket of conversations: :func:`pcapkit.tcpflow.segments.buckets.conversation_select`)."""
    from pcapkit.dissect.driver import DissectSession
    from pcapkit.tcpflow.segments.heap import fix_mmap_threshold

    fix_mmap_threshold()  # (freed batch arrays go back to the system: see heap)
    parts = _Parts(keep_payload)
    session = DissectSession()
    facts = ReadFacts()
    for rb, numbers, cols, matched in read_batches(source, facts, filter, mark, strict, chunk_packets,
                                                   byte_range, read_ahead, select):
        _add_batch(parts, rb, numbers, cols, session, keep_payload, packets, matched)
    return _finish(parts, facts, packets)


class SegmentBatches:
    """The segments of a capture file one record batch at a time, each batch a
    :class:`SegmentTable` of its rows (for a consumer that keeps no table: the tcptrace
    model over a big capture), the rows and values :func:`segment_table` gives.

    A batch's ``src``/``dst`` are ids of one numbering for the whole capture, in order of
    meeting (not of first appearance as sources, then destinations); their texts are
    :attr:`addresses` and the file facts (``frames``, ``first_ts_ns``, ``last_ts_ns``,
    ``snaplen``, ``error``) are known once the batches are all read. A batch's table has
    the facts known when it was read and no ``addresses``."""

    def __init__(self, source: str | PathLike[str] | Iterable[Frame], *, filter: str | None = None,
                 chunk_packets: int = 1 << 16, read_ahead: bool | None = None) -> None:
        self._source, self._filter, self._read_ahead = source, filter, read_ahead
        self._chunk_packets = chunk_packets
        self.facts = ReadFacts()
        self._book = _AddressBook()

    def __iter__(self) -> Iterator[SegmentTable]:
        from pcapkit.dissect.driver import DissectSession
        from pcapkit.tcpflow.segments.heap import batch_heap

        session = DissectSession()
        facts = self.facts
        with batch_heap():  # (no table is kept: a batch's memory serves the next: see heap)
            for rb, numbers, cols, matched in read_batches(self._source, facts, self._filter, None, False,
                                                    self._chunk_packets, None, self._read_ahead):
                rows = _BatchRows(self._book)
                _add_batch(rows, rb, numbers, cols, session, False, False, matched)
                yield rows.table(facts)

    @property
    def addresses(self) -> list[str]:
        """The text of each address id met so far."""
        return self._book.texts(np.arange(len(self._book.ids)))


def segments(source: Source) -> Iterator[Segment]:
    """The segments tshark's analysis sees in a capture, as :class:`Segment` objects."""
    return segment_table(source).tshark_view().segments()


def _add_batch(parts: _Parts, rb: RecordBatch, numbers: np.ndarray, cols: Columns, session: DissectSession,
               keep_payload: bool | int, packets: bool, matched: np.ndarray | None = None) -> None:
    """The segments of one record batch: fast-path rows from the columns, the others
    (and rows with several SACK blocks, whose columns hold the first only) dissected.
    ``matched``: per record, whether the ``mark`` expression accepts it."""
    tl = cols.valid.get("tcp.len")
    fast_ok = ~cols.fallback & (rb.wirelen >= rb.caplen)
    if "tcp.options.sack.count" in cols.values:
        fast_ok &= ~(cols.valid["tcp.options.sack.count"] & (cols.values["tcp.options.sack.count"] > 1))
    fast = np.nonzero(tl & fast_ok)[0] if tl is not None else np.zeros(0, dtype=I64)
    slow = np.nonzero(~fast_ok & (rb.linktype >= 0))[0]
    pieces: list[Rows] = []
    if fast.size:
        part, src, dst, sl, sr = fast_rows(rb, numbers, cols, fast)
        pieces.append((part, src, dst, sl, sr, payloads(rb, fast, part, keep_payload) if keep_payload else None))
    slow_packets: PacketRows | None = None
    if slow.size:
        frag = cols.valid.get(FRAGMENT_IP_OFFSET)
        rows, slow_packets = dissected_rows(rb, numbers, slow, session, keep_payload, packets,
                                            None if frag is None else (cols.values[FRAGMENT_IP_OFFSET], frag))
        pieces.append(rows)
    for piece in pieces:
        frame = piece[0]["frame"]
        piece[0]["matched"] = (np.ones(frame.shape[0], dtype=I64) if matched is None
                               else matched[np.searchsorted(numbers, frame)].astype(I64))
    _merge_into(parts, pieces)
    if packets:
        facts = fast_packets(rb, numbers, cols, np.nonzero(fast_ok)[0])
        _merge_packets(parts, [facts] if slow_packets is None else [facts, slow_packets])


def _merge_packets(parts: _Parts, pieces: list[PacketRows]) -> None:
    pieces = [p for p in pieces if p[0]["frame"].size]
    if not pieces:
        return
    if len(pieces) == 1:
        parts.add_packets(*pieces[0])
        return
    order = np.argsort(np.concatenate([p[0]["frame"] for p in pieces]), kind="stable")
    cols = {name: np.concatenate([p[0][name] for p in pieces])[order] for name in PACKET_COLUMNS}
    parts.add_packets(cols, np.concatenate([p[1] for p in pieces])[order],
                      np.concatenate([p[2] for p in pieces])[order])


def _merge_into(parts: _Parts, pieces: list[Rows]) -> None:
    """Add rows from several builders, back in file order (stable on the frame number)."""
    pieces = [p for p in pieces if p[0]["frame"].size]
    if not pieces:
        return
    if len(pieces) == 1:
        parts.add(*pieces[0])
        return
    frame = np.concatenate([p[0]["frame"] for p in pieces])
    order = np.argsort(frame, kind="stable")
    part = {name: np.concatenate([p[0][name] for p in pieces])[order] for name in pieces[0][0]}
    src = np.concatenate([p[1] for p in pieces])[order]
    dst = np.concatenate([p[2] for p in pieces])[order]
    # SACK rows keep their relative order: reorder them with the rows that own them
    has = np.concatenate([p[0]["sack_n"] > 0 for p in pieces])
    sack_rank = np.cumsum(has) - 1
    sl_all = np.concatenate([p[3] for p in pieces])
    sr_all = np.concatenate([p[4] for p in pieces])
    take = sack_rank[order][has[order]]
    payloads: list[bytes] | None = None
    if all(p[5] is not None for p in pieces):
        flat = [b for p in pieces for b in (p[5] or [])]
        payloads = [flat[i] for i in order.tolist()]
    parts.add(part, src, dst, sl_all[take], sr_all[take], payloads)


def _finish(parts: _Parts, facts: ReadFacts, packets: bool) -> SegmentTable:
    cols: dict[str, Any] = {name: column.finish() for name, column in parts.cols.items()}
    pcols: dict[str, Any] = {name: column.finish() for name, column in parts.packets.items()} if packets else {}
    # address codes numbered in order of first appearance in the segments' sources, their
    # destinations, then the packets' sources and destinations
    order = _first_appearance([cols["src"], cols["dst"], *([pcols["src"], pcols["dst"]] if packets else [])],
                              len(parts.book.ids))
    texts = parts.book.texts(order)
    packet_table = PacketTable(**pcols) if packets else None
    sack_l = np.concatenate(parts.sack_l) if parts.sack_l else np.zeros((0, MAX_SACK_BLOCKS), dtype=I64)
    sack_r = np.concatenate(parts.sack_r) if parts.sack_r else np.zeros((0, MAX_SACK_BLOCKS), dtype=I64)
    return SegmentTable(**cols, sack_l=sack_l, sack_r=sack_r, addresses=texts, payloads=parts.payloads,
                        frames=facts.frames, first_ts_ns=facts.first_ts, last_ts_ns=facts.last_ts,
                        snaplen=facts.snaplen, error=facts.error, packets=packet_table)


def _first_appearance(columns: list[np.ndarray], known: int) -> np.ndarray:
    """Renumber the address ids in ``columns`` (in place) in order of first appearance
    across them, one column after the other (none is joined to another); the id of each
    new code."""
    from pcapkit.columnar.column_table import unique_in_order

    code = np.full(known, -1, dtype=I64)
    order: list[np.ndarray] = []
    given = 0
    for ids in columns:
        if ids.shape[0] == 0:
            continue
        seen = np.asarray(unique_in_order(ids), dtype=I64)
        new = seen[code[seen] < 0]
        code[new] = np.arange(given, given + new.shape[0], dtype=I64)
        given += new.shape[0]
        order.append(new)
        ids[:] = code[ids]
    return np.concatenate(order) if order else np.zeros(0, dtype=I64)
