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

from pcapkit.errors import PcapkitError
from pcapkit.frame import Frame
from pcapkit.tcpflow.segment import Segment
from pcapkit.tcpflow.segments.columns import fast_packets, fast_rows, payloads
from pcapkit.tcpflow.segments.dissected import dissected_rows
from pcapkit.tcpflow.segments.table import (
    I64,
    INT_COLUMNS,
    KIND_FIRST_FRAGMENT,
    KIND_REASSEMBLED,
    KIND_TUNNELLED,
    MAX_SACK_BLOCKS,
    PACKET_COLUMNS,
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

__all__ = ["KIND_FIRST_FRAGMENT", "KIND_REASSEMBLED", "KIND_TUNNELLED", "MAX_SACK_BLOCKS", "PacketTable",
           "SegmentTable", "Source", "segment_table", "segments", "table_fields"]


class _Parts:
    """Columns of the rows found so far (a list of arrays per column)."""

    def __init__(self, keep_payload: bool | int) -> None:
        self.cols: dict[str, list[np.ndarray]] = {name: [] for name in INT_COLUMNS}
        self.src_text: list[np.ndarray] = []   # addresses as integers until the end: see _addresses
        self.dst_text: list[np.ndarray] = []
        self.sack_l: list[np.ndarray] = []
        self.sack_r: list[np.ndarray] = []
        self.payloads: list[bytes] | None = [] if keep_payload else None
        self.packets: dict[str, list[np.ndarray]] = {name: [] for name in PACKET_COLUMNS}
        self.packet_src: list[np.ndarray] = []
        self.packet_dst: list[np.ndarray] = []

    def add_packets(self, cols: dict[str, np.ndarray], src: np.ndarray, dst: np.ndarray) -> None:
        for name in PACKET_COLUMNS:
            self.packets[name].append(cols[name])
        self.packet_src.append(src)
        self.packet_dst.append(dst)

    def add(self, part: dict[str, np.ndarray], src: np.ndarray, dst: np.ndarray, sack_l: np.ndarray,
            sack_r: np.ndarray, payloads: list[bytes] | None) -> None:
        for name in INT_COLUMNS:
            if name not in ("src", "dst"):
                self.cols[name].append(part[name])
        self.src_text.append(src)
        self.dst_text.append(dst)
        self.sack_l.append(sack_l)
        self.sack_r.append(sack_r)
        if self.payloads is not None and payloads is not None:
            self.payloads.extend(payloads)


def segment_table(source: Source, *, keep_payload: bool | int = False, packets: bool = False, strict: bool = False,
                  chunk_packets: int = 1 << 18) -> SegmentTable:
    """Every TCP segment of ``source`` (a capture file or an iterable of frames); with
    ``packets=True`` also the :class:`PacketTable` of its IP packets, from the same pass.

    A damaged or cut file gives the segments read before the damage and the error in
    :attr:`SegmentTable.error` (``strict=True`` raises it instead); a file with no
    readable frame raises its error."""
    from pcapkit.capture.batch import DEFAULT_CHUNK_BYTES, iter_records
    from pcapkit.columnar.decode import decode_batch
    from pcapkit.dissect.driver import DissectSession

    parts = _Parts(keep_payload)
    session = DissectSession()
    frames = 0
    first_ts = last_ts = 0
    snaplen: int | None = None
    error: PcapkitError | None = None
    batches: Iterable[tuple[RecordBatch, np.ndarray]]
    if isinstance(source, (str, PathLike)):
        path = str(source)
        snaplen = _pcap_snaplen(path)
        batches = ((rb, np.arange(rb.first_number, rb.first_number + len(rb), dtype=I64))
                   for rb in iter_records(path, chunk_bytes=DEFAULT_CHUNK_BYTES, max_packets=chunk_packets))
    else:
        batches = _frame_batches(source, chunk_packets)
    try:
        for rb, numbers in batches:
            if len(rb) == 0:
                continue
            if frames == 0:
                first_ts = int(rb.ts_ns[0])
            frames += len(rb)
            last_ts = int(rb.ts_ns[-1])
            _add_batch(parts, rb, numbers, decode_batch(rb), session, keep_payload, packets)
    except PcapkitError as exc:
        if strict or frames == 0:
            raise  # nothing readable (or asked to): the error is the answer
        error = exc
    return _finish(parts, frames, first_ts, last_ts, snaplen, error, packets)


def segments(source: Source) -> Iterator[Segment]:
    """The segments tshark's analysis sees in a capture, as :class:`Segment` objects."""
    return segment_table(source).tshark_view().segments()


def _frame_batches(frames: Iterable[Frame], chunk_packets: int) -> Iterator[tuple[RecordBatch, np.ndarray]]:
    from pcapkit.capture.batch import frames_batch

    chunk: list[Frame] = []
    for frame in frames:
        chunk.append(frame)
        if len(chunk) >= chunk_packets:
            yield frames_batch(chunk, chunk[0].number), np.array([f.number for f in chunk], dtype=I64)
            chunk = []
    if chunk:
        yield frames_batch(chunk, chunk[0].number), np.array([f.number for f in chunk], dtype=I64)


def _pcap_snaplen(path: str) -> int | None:
    """The snapshot length in a pcap file header (tcptrace cuts longer records to it)."""
    from pcapkit.capture.files import open_capture

    try:
        with open_capture(path) as reader:
            if reader.format not in ("pcap", "pcap-ns") or not reader.interfaces:
                return None
            snap = int(reader.interfaces[0].snaplen or 0)
    except (PcapkitError, OSError):
        return None
    return snap if snap > 0 else None


def _add_batch(parts: _Parts, rb: RecordBatch, numbers: np.ndarray, cols: Columns, session: DissectSession,
               keep_payload: bool | int, packets: bool) -> None:
    """The segments of one record batch: fast-path rows from the columns, the others
    (and rows with several SACK blocks, whose columns hold the first only) dissected."""
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
        rows, slow_packets = dissected_rows(rb, numbers, slow, session, keep_payload, packets)
        pieces.append(rows)
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


def _finish(parts: _Parts, frames: int, first_ts: int, last_ts: int, snaplen: int | None,
            error: PcapkitError | None, packets: bool) -> SegmentTable:
    cols: dict[str, Any] = {name: (np.concatenate(chunks) if chunks else np.zeros(0, dtype=I64))
                            for name, chunks in parts.cols.items() if name not in ("src", "dst")}
    n = int(cols["frame"].shape[0])
    empty = np.zeros((0, 3), dtype=np.uint64)
    keys = [*parts.src_text, *parts.dst_text, *parts.packet_src, *parts.packet_dst]
    codes, texts = _addresses(np.concatenate(keys) if keys else empty)
    cols["src"] = codes[:n]
    cols["dst"] = codes[n:2 * n]
    packet_table = None
    if packets:
        pcols = {name: (np.concatenate(chunks) if chunks else np.zeros(0, dtype=I64))
                 for name, chunks in parts.packets.items()}
        m = int(pcols["frame"].shape[0])
        packet_table = PacketTable(**pcols, src=codes[2 * n:2 * n + m], dst=codes[2 * n + m:2 * n + 2 * m])
    sack_l = np.concatenate(parts.sack_l) if parts.sack_l else np.zeros((0, MAX_SACK_BLOCKS), dtype=I64)
    sack_r = np.concatenate(parts.sack_r) if parts.sack_r else np.zeros((0, MAX_SACK_BLOCKS), dtype=I64)
    return SegmentTable(**cols, sack_l=sack_l, sack_r=sack_r, addresses=texts, payloads=parts.payloads,
                        frames=frames, first_ts_ns=first_ts, last_ts_ns=last_ts, snaplen=snaplen, error=error,
                        packets=packet_table)


def _addresses(keys: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Codes of (version, hi, lo) address keys, numbered in order of first appearance,
    and the text of each address."""
    if keys.shape[0] == 0:
        return np.zeros(0, dtype=I64), []
    import pandas as pd

    hi, hi_uniq = pd.factorize(keys[:, 1])
    lo, lo_uniq = pd.factorize(keys[:, 2])
    combo = (hi.astype(I64) * (len(lo_uniq) + 1) + lo) * 8 + keys[:, 0].astype(I64)
    codes, uniq = pd.factorize(combo)
    first = np.empty(len(uniq), dtype=I64)
    first[codes[::-1]] = np.arange(keys.shape[0] - 1, -1, -1, dtype=I64)  # the last write wins
    texts = []
    for r in first.tolist():
        version, high, low = (int(x) for x in keys[r])
        if version == 4:
            texts.append(socket.inet_ntop(socket.AF_INET, high.to_bytes(4, "big")))
        else:
            texts.append(socket.inet_ntop(socket.AF_INET6, high.to_bytes(8, "big") + low.to_bytes(8, "big")))
    del hi_uniq
    return codes.astype(I64, copy=False), texts
