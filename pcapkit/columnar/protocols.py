"""Every frame's protocol stack (``frame.protocols``) and dissector findings, the fast path
serving the frames that can have none.

``stats --hierarchy`` and ``expert`` need, for every frame, the stack tshark writes
("eth:ethertype:ip:tcp") and every finding of the per-packet dissectors. Dissecting each
frame costs ~15-30 us; the columnar pass decodes a batch at ~1 us a frame. A row is
*served* (not dissected) when the dissectors cannot find anything on it and their stack
depends only on the headers the fast path decoded:

- a TCP segment without payload and without FIN (so no application dissector and no
  session state is involved), unmarked by the fast path (headers whole and consistent),
  the IP header's length ending with the TCP header (no payload by its own account), an
  IPv4 header without options or an IPv6 header followed by TCP, options only of the
  kinds whose well-formed decoding has no finding (NOP, EOL, MSS, window scale,
  SACK-permitted, SACK, timestamps), on a link type whose dissector has no findings;
- a TCP segment with payload under the same conditions (the IP length ending with the
  payload, all of it captured), without SYN, FIN, RST or URG, between two ports of no
  stream-level dissector (:data:`pcapkit.dissect.registry` ``tcp.port``) and without
  b"/1." in its payload: the driver then calls it "data" without involving the session
  (tshark's HTTP heuristic needs "HTTP/1." in the segment). Once the heuristic claims a
  connection, every TCP payload goes to the session's dispatcher: the pass then stops
  with :class:`NeedsPerFrame`;
- an IPv4 fragment (no IP options) that leaves its datagram incomplete: it only goes
  to the session's reassembler (in bulk, :mod:`pcapkit.columnar.fragments`), as
  :func:`pcapkit.columnar.perpacket.fill` does;
- a pcapng record that is not a packet (no stack).

Both paths see the same frames: the batch reader of :mod:`pcapkit.capture.batch` reads
exactly the records the per-frame reader reads, pcapng included, and stops with an error
where that reader stops with a warning.

The stack of a served row is the dissector's own: one row of each distinct shape (link
type, EtherType, VLAN EtherType, network layer, fragment or not) is dissected in a
session of its own and its stack is used for every row of that shape, so a value never
depends on which path decoded the row; a shape whose representative has a finding is
not served. Every other row is dissected, in file order, through one
:class:`~pcapkit.dissect.driver.DissectSession`, exactly as
:func:`~pcapkit.dissect.driver.dissect_file` does.

When the fast path cannot promise the same answer, :class:`NeedsPerFrame` is raised and
the caller dissects the whole file frame by frame: a damaged or unreadable pcap file (the
per-frame reader reports where it stopped), a frame whose time is missing or out of
range (its finding quotes the file's raw time), a reassembly drop (timeout or memory
limit) during a bulk add (the per-frame path leaves a finding on the frame that caused it),
or a TCP connection the HTTP heuristic claims (see above).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.capture.batch import NO_TIME, RecordBatch, iter_records
from pcapkit.columnar import fragments
from pcapkit.columnar.decode import FRAGMENT_IP_OFFSET, TCP_OFFSET, Columns, decode_batch
from pcapkit.errors import PcapkitError
from pcapkit.frame import TS_NS_MAX, TS_NS_MIN

if TYPE_CHECKING:
    from pcapkit.columnar.column_table import ColumnTable

I64 = np.int64
# link types whose dissectors (and the Ethernet/VLAN ones after them) have no findings on
# headers the fast path accepted: null, Ethernet, raw IP (three numbers), loopback, SLL, SLL2
SERVED_LINKTYPES = (0, 1, 12, 14, 101, 108, 113, 228, 229, 276)
# TCP option kinds decoded without a finding when well formed (the fast path's option
# walk marks the row otherwise): EOL, NOP, MSS, window scale, SACK-permitted, SACK, timestamps
QUIET_OPTION_KINDS = (0, 1, 2, 3, 4, 5, 8)
_TCP_FIN = 0x001
# a payload with any of these goes through more than the TCP dissector (SYN: Fast Open data,
# RST: its payload, URG: the urgent pointer cuts it, FIN: the session's stream end)
_TCP_NOT_PLAIN_DATA = 0x001 | 0x002 | 0x004 | 0x020
_TCP_PROTO = 6
_CHUNK_PACKETS = 1 << 16  # (a smaller batch: its decode is the pass's peak, ~150 MB at 256k frames)


class NeedsPerFrame(Exception):
    """The fast path cannot promise the per-frame answer for this file (see the module doc)."""


@dataclass
class StackBatch:
    """One batch of frames: ``codes[i]`` indexes :attr:`FrameStacks.names` (the stack of
    frame ``first_number + i``), ``wirelen`` their wire lengths, ``dissected`` the rows that
    were dissected (each handed to the ``on_packet`` of :meth:`FrameStacks.batches`)."""

    first_number: int
    codes: np.ndarray
    wirelen: np.ndarray
    dissected: np.ndarray
    table: ColumnTable | None = None  # the packets table's columns asked for (see FrameStacks.batches)


class FrameStacks:
    """The stacks of one file's frames, batch by batch (:meth:`batches`); ``names`` holds
    each distinct stack once (the batches refer to it by index)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._code: dict[str, int] = {}
        self._shapes: dict[int, int] = {}  # shape key -> stack code (-1: not served)

    def code(self, protocols: str) -> int:
        """The index of ``protocols`` in :attr:`names` (added on first sight)."""
        c = self._code.get(protocols)
        if c is None:
            c = self._code[protocols] = len(self.names)
            self.names.append(protocols)
        return c

    def batches(self, path: str | Path, table: Sequence[str] | None = None,
                on_packet: Callable[[int, Any], Any] | None = None) -> Iterator[StackBatch]:
        """The batches of ``path`` in file order. Raises :class:`NeedsPerFrame` (possibly
        after some batches) when the caller must dissect the file frame by frame.

        ``table``: columns of the packets table to give with each batch (a
        :class:`~pcapkit.columnar.column_table.ColumnTable` of the values
        :func:`pcapkit.columnar.api.read_packets` has: no pandas), the marked rows filled from
        this pass's dissections as :func:`pcapkit.columnar.perpacket.fill` does.
        ``on_packet(frame number, Packet)``: called for each dissected frame, in file order,
        before the batch is given (packets are not kept: a batch of 256k dissected frames
        would hold hundreds of MB of layers)."""
        from pcapkit.columnar.perpacket import new_session

        session = new_session()
        records = iter_records(str(path), max_packets=_CHUNK_PACKETS)
        given = False
        while True:
            try:
                rb = next(records)
            except StopIteration:
                if not given:  # (no record: the frame reader says whether the file is even readable)
                    raise NeedsPerFrame("no records") from None
                return
            except PcapkitError as exc:
                raise NeedsPerFrame(str(exc)) from exc
            given = True
            yield self._batch(rb, session, table, on_packet)

    def _batch(self, rb: RecordBatch, session: Any, table: Sequence[str] | None,
               on_packet: Callable[[int, Any], Any] | None) -> StackBatch:
        from pcapkit.columnar.perpacket import gc_paused

        n = len(rb)
        ts = rb.ts_ns
        if bool(((ts == TS_NS_MAX) | (ts == TS_NS_MIN) | (ts == NO_TIME)).any()):
            raise NeedsPerFrame("a frame without a usable time")
        cols = decode_batch(rb)
        codes = np.full(n, -1, dtype=I64)
        codes[rb.linktype < 0] = self.code("")  # pcapng records that are not packets
        if session.stream_heuristic:
            raise NeedsPerFrame("a TCP connection claimed by the HTTP heuristic")
        self._serve_segments(rb, cols, codes)
        rows = np.flatnonzero(codes < 0)
        frag_valid = cols.valid.get(FRAGMENT_IP_OFFSET)
        frag_off = cols.values.get(FRAGMENT_IP_OFFSET)
        if frag_valid is not None:
            frag_valid = frag_valid & (_column(cols, "ip.hdr_len", 0) == 20)
        pending: list[int] = []
        dissected: list[int] = []
        marked_packets: list[tuple[int, Any]] = []  # (for the table: the rows fill() would dissect)
        marked = cols.fallback
        code = self.code
        first_number = rb.first_number
        reassembler = session.reassembler
        row_list = rows.tolist()
        from pcapkit.capture.batch import BatchFrames
        from pcapkit.dissect.driver import dissect

        records = BatchFrames(rb) if row_list else None
        with gc_paused():
            def per_row(p: int) -> None:
                i = row_list[p]
                if frag_valid is not None and frag_off is not None and frag_valid[i]:
                    from pcapkit.dissect.ipreassembly import ipv4_fragment

                    info, payload = ipv4_fragment(rb.buf, int(rb.data_off[i]) + int(frag_off[i]))
                    dropped = reassembler.dropped
                    if reassembler.add_if_incomplete(info, payload, rb.first_number + i, int(ts[i])):
                        _check_drops(reassembler, dropped)
                        pending.append(i)
                        return
                assert records is not None
                packet = dissect(records.frame(i), session)
                dissected.append(i)
                codes[i] = code(packet.protocols)
                if on_packet is not None:
                    on_packet(first_number + i, packet)
                if table is not None and marked[i]:
                    marked_packets.append((i, packet))

            numbers = np.arange(rb.first_number, rb.first_number + n, dtype=I64)
            positions, frags = fragments.candidates(rb, numbers, rows, frag_valid, frag_off)

            def add_batch(lo: int, hi: int) -> int:
                dropped = reassembler.dropped
                stop = int(reassembler.add_pending_batch(frags, lo, hi))
                _check_drops(reassembler, dropped)
                return stop

            def on_bulk(lo: int, hi: int) -> None:
                pending.extend(rows[positions[lo:hi]].tolist())

            fragments.walk_rows(len(row_list), positions, add_batch, per_row, on_bulk)
        if session.stream_heuristic:  # (the data rows served after that frame should have gone to it)
            raise NeedsPerFrame("a TCP connection claimed by the HTTP heuristic")
        if pending:
            self._serve_fragments(rb, cols, np.array(pending, dtype=I64), codes)
        frame = None
        if table is not None:
            from pcapkit.columnar.perpacket import fill_dissected
            from pcapkit.columnar.table import batch_columns

            fill_dissected(cols, marked_packets, np.flatnonzero(rb.linktype < 0).tolist())
            frame = batch_columns(rb, cols, list(table)).select(list(table))
        return StackBatch(rb.first_number, codes, rb.wirelen, np.array(dissected, dtype=I64), frame)

    def _serve_segments(self, rb: RecordBatch, cols: Columns, codes: np.ndarray) -> None:
        """Set the codes of the TCP rows the fast path serves (see the module doc)."""
        tcp_len = _column(cols, "tcp.len", -1)
        flags = _column(cols, "tcp.flags", _TCP_FIN)
        tcp_hdr = _column(cols, "tcp.hdr_len", -1)
        ip4 = cols.valid.get("ip.version")
        ip6 = cols.valid.get("ipv6.nxt")
        network = np.zeros(cols.n, dtype=bool)
        # the IP header's own length ends with the TCP payload (a total length beyond the frame
        # is a finding the fast path leaves to the dissector)
        if ip4 is not None:
            network |= (ip4 & (_column(cols, "ip.hdr_len", 0) == 20) & (_column(cols, "ip.proto", 0) == _TCP_PROTO)
                        & (_column(cols, "ip.len", -1) == 20 + tcp_hdr + tcp_len))
        if ip6 is not None:
            network |= (ip6 & (_column(cols, "ipv6.nxt", 0) == _TCP_PROTO)
                        & (_column(cols, "ipv6.plen", -1) == tcp_hdr + tcp_len))
        # (the fast path's tcp.len is the IP header's account: a payload the capture cut has a finding)
        captured = _column(cols, TCP_OFFSET, 0) + tcp_hdr + tcp_len <= rb.caplen
        network &= captured
        bare = (tcp_len == 0) & ((flags & _TCP_FIN) == 0)
        data = (tcp_len > 0) & ((flags & _TCP_NOT_PLAIN_DATA) == 0)
        if data.any():
            from pcapkit.dissect.registry import table

            stream_ports = np.array(sorted(int(k) for k in table("tcp.port")), dtype=I64)
            data &= ~np.isin(_column(cols, "tcp.srcport", -1), stream_ports)
            data &= ~np.isin(_column(cols, "tcp.dstport", -1), stream_ports)
        ok = ~cols.fallback & (bare | data) & network & np.isin(rb.linktype, SERVED_LINKTYPES)
        if data.any():
            from pcapkit.columnar.payload_marks import heuristic_rows

            ok &= ~heuristic_rows(rb, cols, ok & data)
        rows = np.flatnonzero(ok)
        if rows.size == 0:
            return
        rows = rows[_quiet_options(rb, cols, rows)]
        self._serve(rb, cols, rows, codes, fragment=False)

    def _serve_fragments(self, rb: RecordBatch, cols: Columns, rows: np.ndarray, codes: np.ndarray) -> None:
        """Set the codes of the fragments left pending, or dissect a shape's rows when its
        representative has a finding (it cannot have: kept as a safety net)."""
        self._serve(rb, cols, rows, codes, fragment=True)
        if bool((codes[rows] < 0).any()):
            raise NeedsPerFrame("a pending fragment whose dissection has a finding")

    def _serve(self, rb: RecordBatch, cols: Columns, rows: np.ndarray, codes: np.ndarray, fragment: bool) -> None:
        keys = _shape_keys(rb, cols, rows, fragment)
        shapes, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        shape_codes = np.empty(shapes.size, dtype=I64)
        for k, (shape, at) in enumerate(zip(shapes.tolist(), first.tolist(), strict=True)):
            c = self._shapes.get(shape)
            if c is None:
                c = self._shapes[shape] = self._representative(rb, int(rows[at]))
            shape_codes[k] = c
        codes[rows] = shape_codes[inverse.reshape(-1)]

    def _representative(self, rb: RecordBatch, row: int) -> int:
        """The stack code of ``row`` dissected in a session of its own, or -1 when it has a finding."""
        from pcapkit.capture.batch import frame_at
        from pcapkit.columnar.perpacket import new_session
        from pcapkit.dissect.driver import dissect

        packet = dissect(frame_at(rb, row), new_session())
        return -1 if packet.findings else self.code(packet.protocols)


def _check_drops(reassembler: Any, before: int) -> None:
    if reassembler.dropped != before:
        raise NeedsPerFrame("the reassembler dropped a datagram during a bulk add")


def _column(cols: Columns, name: str, missing: int) -> np.ndarray:
    """A column as int64, ``missing`` where it is not valid."""
    values = cols.values.get(name)
    if values is None:
        return np.full(cols.n, missing, dtype=I64)
    return np.where(cols.valid[name], values.astype(I64), missing)


def _shape_keys(rb: RecordBatch, cols: Columns, rows: np.ndarray, fragment: bool) -> np.ndarray:
    """One integer per row naming what its stack and findings depend on: link type,
    EtherType, VLAN EtherType, network layer (IPv4, or IPv6 and its next header), fragment,
    payload, and a captured length over the frame's (a finding of its own)."""
    eth = _column(cols, "eth.type", -1)[rows] + 1
    vlan = _column(cols, "vlan.etype", -1)[rows] + 1
    network = np.where(cols.valid["ip.version"][rows], 1, 0) if "ip.version" in cols.valid else np.zeros(rows.size,
                                                                                                          dtype=I64)
    if "ipv6.nxt" in cols.valid:
        network = np.where(cols.valid["ipv6.nxt"][rows], 2 + _column(cols, "ipv6.nxt", 0)[rows], network)
    if fragment:
        payload = 1 + (_column(cols, "ip.len", 0)[rows] > _column(cols, "ip.hdr_len", 0)[rows])
    else:  # a TCP segment with payload shows "data" after "tcp"
        payload = (_column(cols, "tcp.len", 0)[rows] > 0).astype(I64)
    key = rb.linktype[rows].astype(I64) & 0xFFFF
    over = (rb.caplen[rows] > rb.wirelen[rows]).astype(I64)
    for part, width in ((eth, 17), (vlan, 17), (network, 9), (payload, 2), (over, 1)):
        key = (key << width) | part.astype(I64)
    return key


def _quiet_options(rb: RecordBatch, cols: Columns, rows: np.ndarray) -> np.ndarray:
    """Of ``rows`` (TCP headers the fast path took whole), which have only option kinds of
    :data:`QUIET_OPTION_KINDS` (a walk over all headers at once, one option per step)."""
    hdr_len = _column(cols, "tcp.hdr_len", 20)[rows]
    ok = np.ones(rows.size, dtype=bool)
    walk = np.flatnonzero(hdr_len > 20)
    if walk.size == 0:
        return ok
    buf = np.asarray(rb.buf)
    base = rb.data_off[rows[walk]].astype(I64) + cols.values[TCP_OFFSET][rows[walk]].astype(I64)
    pos = base + 20
    end = base + hdr_len[walk]
    active = pos < end
    while True:
        at = np.flatnonzero(active)
        if at.size == 0:
            return ok
        kind = buf[pos[at]]
        eol = kind == 0
        nop = kind == 1
        known = np.isin(kind, QUIET_OPTION_KINDS)
        bad = ~known
        ok[walk[at[bad]]] = False
        length = np.ones(at.size, dtype=I64)
        sized = ~(eol | nop | bad)
        length[sized] = buf[pos[at[sized]] + 1]
        bad_length = sized & (length < 2)
        ok[walk[at[bad_length]]] = False
        pos[at] += length
        active[at[eol | bad | bad_length]] = False
        active &= pos < end


def stack_counts(path: str | Path) -> list[tuple[str, int, int]]:
    """(frame.protocols, frames, bytes) of every distinct stack of ``path``, in order of
    first appearance (what :func:`pcapkit.dissect.hierarchy.hierarchy_from_counts` takes).
    Raises :class:`NeedsPerFrame` as :meth:`FrameStacks.batches`."""
    stacks = FrameStacks()
    frames = np.zeros(0, dtype=I64)
    nbytes = np.zeros(0, dtype=I64)
    first = np.zeros(0, dtype=I64)
    for batch in stacks.batches(path):
        size = len(stacks.names)
        if frames.size < size:
            grow = size - frames.size
            frames = np.concatenate([frames, np.zeros(grow, dtype=I64)])
            nbytes = np.concatenate([nbytes, np.zeros(grow, dtype=I64)])
            first = np.concatenate([first, np.full(grow, np.iinfo(I64).max, dtype=I64)])
        frames += np.bincount(batch.codes, minlength=size)
        nbytes += np.bincount(batch.codes, weights=batch.wirelen, minlength=size).astype(I64)
        present, at = np.unique(batch.codes, return_index=True)
        first[present] = np.minimum(first[present], at + batch.first_number)
    order = np.argsort(first, kind="stable")
    return [(stacks.names[c], int(frames[c]), int(nbytes[c])) for c in order.tolist() if frames[c]]


def protocol_hierarchy(path: str | Path) -> list[tuple[str, int, int]]:
    """The protocol hierarchy of a capture file, as ``tshark -q -z io,phs``: [(protocol
    path, frames, bytes), ...] (:mod:`pcapkit.dissect.hierarchy`), from the fast path's
    stacks, or frame by frame when it cannot serve the file."""
    from pcapkit.dissect import hierarchy

    try:
        counts = stack_counts(path)
    except NeedsPerFrame:
        return hierarchy.protocol_hierarchy(path)
    return hierarchy.hierarchy_from_counts(counts)
