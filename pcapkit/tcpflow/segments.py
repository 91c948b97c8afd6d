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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.columnar.decode import TCP_OFFSET, TRANSPORT_PROTO
from pcapkit.errors import PcapkitError
from pcapkit.frame import Frame
from pcapkit.tcpflow.segment import Segment

if TYPE_CHECKING:
    from pcapkit.capture.batch import RecordBatch
    from pcapkit.columnar.decode import Columns
    from pcapkit.dissect.base import Layer
    from pcapkit.dissect.driver import DissectSession

I64 = np.int64
KIND_REASSEMBLED = 1
KIND_FIRST_FRAGMENT = 2
KIND_TUNNELLED = 4
MAX_SACK_BLOCKS = 4  # 40 option bytes hold at most four

Source = str | PathLike[str] | Iterable[Frame]

# per-row integer columns, in the order the builders fill them
_INT_COLUMNS = ("frame", "ts_ns", "wirelen", "caplen", "kind", "ip_version", "src", "dst", "sport", "dport",
                "seq", "ack", "flags", "window", "seglen", "hdr_len", "urgent", "ip_id", "ip_len",
                "ip_hdr_len", "tcp_offset", "captured", "mss", "wscale", "sack_perm", "tsval", "tsecr", "sack_n")


@dataclass(eq=False)
class SegmentTable:
    """The TCP segments of a capture, one row each, in file order (see the module doc).

    Address columns ``src``/``dst`` index ``addresses`` (their text, as tshark prints
    them). ``mss``, ``wscale``, ``tsval``, ``tsecr`` are -1 when the option is absent.
    ``sack_l``/``sack_r`` have one row per segment with ``sack_n > 0``, in order, holding
    its first four SACK blocks (raw edges). ``payloads`` holds each segment's captured
    payload when the table was built with ``keep_payload`` (True: whole; a number: at
    most that many bytes of each).

    File facts: ``frames`` read (of any kind), the time of the first and last of them,
    the pcap header's snapshot length (tcptrace cuts records to it) and the error that
    stopped reading (a cut or damaged file), if any: every row before it is here.
    """

    frame: np.ndarray
    ts_ns: np.ndarray
    wirelen: np.ndarray
    caplen: np.ndarray
    kind: np.ndarray
    ip_version: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    sport: np.ndarray
    dport: np.ndarray
    seq: np.ndarray
    ack: np.ndarray
    flags: np.ndarray
    window: np.ndarray
    seglen: np.ndarray
    hdr_len: np.ndarray
    urgent: np.ndarray
    ip_id: np.ndarray
    ip_len: np.ndarray
    ip_hdr_len: np.ndarray
    tcp_offset: np.ndarray
    captured: np.ndarray
    mss: np.ndarray
    wscale: np.ndarray
    sack_perm: np.ndarray
    tsval: np.ndarray
    tsecr: np.ndarray
    sack_n: np.ndarray
    sack_l: np.ndarray
    sack_r: np.ndarray
    addresses: list[str]
    payloads: list[bytes] | None = None
    frames: int = 0
    first_ts_ns: int = 0
    last_ts_ns: int = 0
    snaplen: int | None = None
    error: PcapkitError | None = None
    packets: PacketTable | None = None
    _keys: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.frame.shape[0])

    # -- views -----------------------------------------------------------------------
    def select(self, rows: np.ndarray) -> SegmentTable:
        """The table of the rows ``rows`` (a boolean mask or sorted indices)."""
        idx = np.nonzero(rows)[0] if rows.dtype == bool else rows
        if idx.shape[0] == len(self):
            return self
        has_sack = self.sack_n > 0
        sack_pos = np.cumsum(has_sack) - 1
        keep_sack = idx[has_sack[idx]]
        values = {name: getattr(self, name)[idx] for name in _INT_COLUMNS}
        return SegmentTable(**values, sack_l=self.sack_l[sack_pos[keep_sack]], sack_r=self.sack_r[sack_pos[keep_sack]],
                            addresses=self.addresses,
                            payloads=None if self.payloads is None else [self.payloads[i] for i in idx.tolist()],
                            frames=self.frames, first_ts_ns=self.first_ts_ns, last_ts_ns=self.last_ts_ns,
                            snaplen=self.snaplen, error=self.error)

    def tshark_view(self) -> SegmentTable:
        """The segments tshark's TCP analysis sees (reassembled datagrams, tunnels)."""
        return self.select((self.kind & KIND_FIRST_FRAGMENT) == 0)

    def tcptrace_view(self) -> SegmentTable:
        """The segments tcptrace sees: no reassembly (first fragments carry the TCP
        header), nothing inside IP-in-IP."""
        return self.select((self.kind & (KIND_REASSEMBLED | KIND_TUNNELLED)) == 0)

    # -- derived columns -------------------------------------------------------------
    def conversation_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """(key, direction): an id per unordered (address, port) pair, numbered in order of
        first appearance, and 0/1 for which of its two endpoints sent the segment (0 when
        both endpoints are the same)."""
        if self._keys is None:
            self._keys = _conversation_keys(self.src, self.sport, self.dst, self.dport)
        return self._keys

    def sack_blocks(self, limit: int = MAX_SACK_BLOCKS) -> tuple[np.ndarray, np.ndarray]:
        """(left, right) edges of at most ``limit`` blocks, one row per segment with SACK."""
        return self.sack_l[:, :limit], self.sack_r[:, :limit]

    def address_text(self, codes: np.ndarray) -> np.ndarray:
        """Address texts (an object array) of address codes."""
        return np.asarray(self.addresses, dtype=object)[codes]

    def segments(self) -> Iterator[Segment]:
        """Each row as a :class:`~pcapkit.tcpflow.segment.Segment` (for per-segment models)."""
        cols = {name: getattr(self, name).tolist() for name in _INT_COLUMNS}
        addresses = self.addresses
        sack_rows = np.nonzero(self.sack_n > 0)[0].tolist()
        sack_of = dict(zip(sack_rows, range(len(sack_rows)), strict=True))
        sl, sr = self.sack_l.tolist(), self.sack_r.tolist()
        payloads = self.payloads
        for i in range(len(self)):
            blocks: tuple[tuple[int, int], ...] = ()
            n = cols["sack_n"][i]
            if n:
                j = sack_of[i]
                blocks = tuple(zip(sl[j][:n], sr[j][:n], strict=True))
            mss, ws, tsval, tsecr = cols["mss"][i], cols["wscale"][i], cols["tsval"][i], cols["tsecr"][i]
            seglen = cols["seglen"][i]
            hl = cols["hdr_len"][i]
            yield Segment(
                cols["frame"][i], cols["ts_ns"][i], addresses[cols["src"][i]], addresses[cols["dst"][i]],
                cols["sport"][i], cols["dport"][i], cols["seq"][i], cols["ack"][i], cols["flags"][i],
                cols["window"][i], seglen, hl, cols["captured"][i],
                None if mss < 0 else mss, None if ws < 0 else ws, bool(cols["sack_perm"][i]), blocks,
                None if tsval < 0 else tsval, None if tsecr < 0 else tsecr, cols["ip_version"][i],
                cols["wirelen"][i], b"" if payloads is None else payloads[i])

@dataclass(eq=False)
class PacketTable:
    """The IP packets of a capture, one row per frame carrying IP, in file order: what a
    conversation table needs (the outermost IP header, as tshark's ``-z conv`` counts).

    ``src``/``dst`` index the segment table's ``addresses``; ``proto`` is the transport
    protocol (after IPv6 extension headers); ``sport``/``dport`` are -1 unless a TCP or
    UDP header follows the outer IP header in this frame (after reassembly, as tshark);
    ``udp_payload`` is the UDP length minus 8 (0 for others)."""

    frame: np.ndarray
    ts_ns: np.ndarray
    wirelen: np.ndarray
    ip_version: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    proto: np.ndarray
    sport: np.ndarray
    dport: np.ndarray
    udp_payload: np.ndarray

    def __len__(self) -> int:
        return int(self.frame.shape[0])


_PACKET_COLUMNS = ("frame", "ts_ns", "wirelen", "ip_version", "proto", "sport", "dport", "udp_payload")


# ------------------------------------------------------------------------------------
# building the table

class _Parts:
    """Columns of the rows found so far (a list of arrays per column)."""

    def __init__(self, keep_payload: bool | int) -> None:
        self.cols: dict[str, list[np.ndarray]] = {name: [] for name in _INT_COLUMNS}
        self.src_text: list[np.ndarray] = []   # addresses as integers until the end: see _addresses
        self.dst_text: list[np.ndarray] = []
        self.sack_l: list[np.ndarray] = []
        self.sack_r: list[np.ndarray] = []
        self.payloads: list[bytes] | None = [] if keep_payload else None
        self.packets: dict[str, list[np.ndarray]] = {name: [] for name in _PACKET_COLUMNS}
        self.packet_src: list[np.ndarray] = []
        self.packet_dst: list[np.ndarray] = []

    def add_packets(self, cols: dict[str, np.ndarray], src: np.ndarray, dst: np.ndarray) -> None:
        for name in _PACKET_COLUMNS:
            self.packets[name].append(cols[name])
        self.packet_src.append(src)
        self.packet_dst.append(dst)

    def add(self, part: dict[str, np.ndarray], src: np.ndarray, dst: np.ndarray, sack_l: np.ndarray,
            sack_r: np.ndarray, payloads: list[bytes] | None) -> None:
        for name in _INT_COLUMNS:
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


def _col(cols: Columns, name: str, rows: np.ndarray, default: int = 0) -> np.ndarray:
    """Column ``name`` at ``rows`` as int64, ``default`` where it is missing."""
    v = cols.values.get(name)
    if v is None:
        return np.full(rows.size, default, dtype=I64)
    out = v[rows].astype(I64)
    if default != 0:
        out[~cols.valid[name][rows]] = default
    return out


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
    pieces: list[_Rows] = []
    if fast.size:
        part, src, dst, sl, sr = _fast_rows(rb, numbers, cols, fast)
        pieces.append((part, src, dst, sl, sr, _payloads(rb, fast, part, keep_payload) if keep_payload else None))
    slow_packets: _PacketRows | None = None
    if slow.size:
        rows, slow_packets = _slow_rows(rb, numbers, slow, session, keep_payload, packets)
        pieces.append(rows)
    _merge_into(parts, pieces)
    if packets:
        fast_packets = _fast_packets(rb, numbers, cols, np.nonzero(fast_ok)[0])
        _merge_packets(parts, [fast_packets] if slow_packets is None else [fast_packets, slow_packets])


_PacketRows = tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]


def _fast_packets(rb: RecordBatch, numbers: np.ndarray, cols: Columns, rows: np.ndarray) -> _PacketRows:
    """Conversation facts of the IP rows the fast path decoded completely."""
    v4 = cols.valid["ip.src"][rows] if "ip.src" in cols.valid else np.zeros(rows.size, bool)
    v6 = cols.valid["ipv6.src.hi"][rows] if "ipv6.src.hi" in cols.valid else np.zeros(rows.size, bool)
    rows = rows[v4 | v6]
    v4 = v4[v4 | v6]
    n = rows.size
    tcp = cols.valid["tcp.srcport"][rows] if "tcp.srcport" in cols.valid else np.zeros(n, bool)
    udp = cols.valid["udp.srcport"][rows] if "udp.srcport" in cols.valid else np.zeros(n, bool)
    sport = np.where(tcp, _col(cols, "tcp.srcport", rows), np.where(udp, _col(cols, "udp.srcport", rows), -1))
    dport = np.where(tcp, _col(cols, "tcp.dstport", rows), np.where(udp, _col(cols, "udp.dstport", rows), -1))
    out = {
        "frame": numbers[rows], "ts_ns": rb.ts_ns[rows].astype(I64), "wirelen": rb.wirelen[rows].astype(I64),
        "ip_version": np.where(v4, 4, 6).astype(I64), "proto": _col(cols, TRANSPORT_PROTO, rows),
        "sport": sport, "dport": dport,
        "udp_payload": np.where(udp, np.maximum(_col(cols, "udp.length", rows) - 8, 0), 0),
    }
    src = _address_columns(cols, rows, v4, "ip.src", "ipv6.src")
    dst = _address_columns(cols, rows, v4, "ip.dst", "ipv6.dst")
    return out, src, dst


def _address_columns(cols: Columns, rows: np.ndarray, v4: np.ndarray, v4name: str, v6name: str) -> np.ndarray:
    """(version, high, low) integer keys of an address column pair (IPv4 in ``high``)."""
    out = np.empty((rows.size, 3), dtype=np.uint64)
    a4 = cols.values.get(v4name)
    hi = cols.values.get(v6name + ".hi")
    lo = cols.values.get(v6name + ".lo")
    out[:, 0] = np.where(v4, 4, 6).astype(np.uint64)
    out[:, 1] = np.where(v4, 0 if a4 is None else a4[rows].astype(np.uint64),
                         0 if hi is None else hi[rows].astype(np.uint64))
    out[:, 2] = np.where(v4, 0, 0 if lo is None else lo[rows].astype(np.uint64))
    return out


def _merge_packets(parts: _Parts, pieces: list[_PacketRows]) -> None:
    pieces = [p for p in pieces if p[0]["frame"].size]
    if not pieces:
        return
    if len(pieces) == 1:
        parts.add_packets(*pieces[0])
        return
    order = np.argsort(np.concatenate([p[0]["frame"] for p in pieces]), kind="stable")
    cols = {name: np.concatenate([p[0][name] for p in pieces])[order] for name in _PACKET_COLUMNS}
    parts.add_packets(cols, np.concatenate([p[1] for p in pieces])[order],
                      np.concatenate([p[2] for p in pieces])[order])


_Rows = tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[bytes] | None]


def _merge_into(parts: _Parts, pieces: list[_Rows]) -> None:
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


def _fast_rows(rb: RecordBatch, numbers: np.ndarray, cols: Columns,
               rows: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = rows.size
    part: dict[str, np.ndarray] = {
        "frame": numbers[rows],
        "ts_ns": rb.ts_ns[rows].astype(I64),
        "wirelen": rb.wirelen[rows].astype(I64),
        "caplen": rb.caplen[rows].astype(I64),
        "kind": np.zeros(n, dtype=I64),
    }
    v4 = cols.valid["ip.src"][rows] if "ip.src" in cols.valid else np.zeros(n, bool)
    part["ip_version"] = np.where(v4, 4, 6).astype(I64)
    part["sport"] = _col(cols, "tcp.srcport", rows)
    part["dport"] = _col(cols, "tcp.dstport", rows)
    part["seq"] = _col(cols, "tcp.seq_raw", rows)
    part["ack"] = _col(cols, "tcp.ack_raw", rows)
    part["flags"] = _col(cols, "tcp.flags", rows)
    part["window"] = _col(cols, "tcp.window_size_value", rows)
    part["seglen"] = _col(cols, "tcp.len", rows)
    part["hdr_len"] = _col(cols, "tcp.hdr_len", rows)
    part["urgent"] = _col(cols, "tcp.urgent_pointer", rows)
    part["ip_id"] = np.where(v4, _col(cols, "ip.id", rows), 0)
    part["ip_len"] = np.where(v4, _col(cols, "ip.len", rows), _col(cols, "ipv6.plen", rows))
    # IPv6: the fixed header plus the extension headers the fast path walked
    part["ip_hdr_len"] = np.where(v4, _col(cols, "ip.hdr_len", rows),
                                  40 + part["ip_len"] - part["seglen"] - part["hdr_len"])
    part["tcp_offset"] = _col(cols, TCP_OFFSET, rows)
    part["captured"] = np.clip(np.minimum(part["caplen"] - part["tcp_offset"] - part["hdr_len"], part["seglen"]),
                               0, None)
    part["mss"] = _col(cols, "tcp.options.mss_val", rows, -1)
    part["wscale"] = _col(cols, "tcp.options.wscale.shift", rows, -1)
    part["sack_perm"] = _col(cols, "tcp.options.sack_perm", rows)
    part["tsval"] = _col(cols, "tcp.options.timestamp.tsval", rows, -1)
    part["tsecr"] = _col(cols, "tcp.options.timestamp.tsecr", rows, -1)
    sack_n = _col(cols, "tcp.options.sack.count", rows)
    part["sack_n"] = sack_n
    has = sack_n > 0
    sl = np.zeros((int(has.sum()), MAX_SACK_BLOCKS), dtype=I64)
    sr = np.zeros_like(sl)
    sl[:, 0] = _col(cols, "tcp.options.sack_le", rows[has])
    sr[:, 0] = _col(cols, "tcp.options.sack_re", rows[has])
    # addresses as integers (IPv4) or two halves (IPv6): texts are made once per address
    src = _address_columns(cols, rows, v4, "ip.src", "ipv6.src")
    dst = _address_columns(cols, rows, v4, "ip.dst", "ipv6.dst")
    return part, src, dst, sl, sr


def _limit(keep_payload: bool | int) -> int | None:
    """How many payload bytes to keep per segment (None: all)."""
    return None if keep_payload is True else int(keep_payload)


def _payloads(rb: RecordBatch, rows: np.ndarray, part: dict[str, np.ndarray], keep_payload: bool | int) -> list[bytes]:
    start = rb.data_off[rows] + part["tcp_offset"] + part["hdr_len"]
    length = part["captured"]
    limit = _limit(keep_payload)
    if limit is not None:
        length = np.minimum(length, limit)
    buf = rb.buf
    return [buf[s:s + ln].tobytes() for s, ln in zip(start.tolist(), length.tolist(), strict=True)]


# -- rows through the dissectors ---------------------------------------------------

_NET = ("ip", "ipv6")


def _address_key(version: int, text: str) -> tuple[int, int, int]:
    if version == 4:
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big"), 0
    raw = socket.inet_pton(socket.AF_INET6, text)
    return 6, int.from_bytes(raw[:8], "big"), int.from_bytes(raw[8:], "big")


def _one(value: Any) -> Any:
    """The last occurrence of a field that occurs several times (an option given twice:
    the last one counts, as the analysis reads options in order)."""
    return value[-1] if isinstance(value, list) else value


def _transport(layers: Sequence[Layer]) -> tuple[Layer, Layer, int] | None:
    """(the IP layer carrying TCP, the TCP layer, how many IP layers enclose it) of the
    TCP segment tshark analyses in ``layers``: the first TCP layer not quoted by an ICMP
    error; None when there is none."""
    net: Layer | None = None
    depth = 0
    for layer in layers:
        proto = layer.protocol
        if proto in _NET:
            net = layer
            depth += 1
        elif proto in ("icmp", "icmpv6"):
            return None
        elif proto == "tcp":
            return (net, layer, depth) if net is not None else None
    return None


def _row_of(frame: Frame, net: Layer, tcp: Layer, kind: int) -> tuple[dict[str, int], tuple[int, int, int],
                                                                    tuple[int, int, int], list[tuple[int, int]]] | None:
    """One segment's values from its dissected IP and TCP layers, or None when the TCP
    header is not complete enough to analyse (as tshark: cut before 20 bytes, or a
    header length below 20)."""
    get = tcp.get
    hl = get("tcp.hdr_len")
    if hl is None or hl < 20 or get("tcp.ack_raw") is None or get("tcp.flags") is None:
        return None
    f = tcp.fields
    v6 = net.protocol == "ipv6"
    nf = net.fields
    seglen = f.get("tcp.len")
    kinds = f.get("tcp.option_kind", ())
    kinds = kinds if isinstance(kinds, list) else [kinds]
    sack_l = f.get("tcp.options.sack_le", [])
    sack_r = f.get("tcp.options.sack_re", [])
    sack_l = sack_l if isinstance(sack_l, list) else [sack_l]
    sack_r = sack_r if isinstance(sack_r, list) else [sack_r]
    mss = _one(f.get("tcp.options.mss_val", -1))
    ws = _one(f.get("tcp.options.wscale.shift", -1))
    tsval = _one(f.get("tcp.options.timestamp.tsval", -1))
    tsecr = _one(f.get("tcp.options.timestamp.tsecr", -1))
    version = 6 if v6 else 4
    row = {
        "frame": frame.number, "ts_ns": frame.ts_ns, "wirelen": frame.wirelen, "caplen": frame.caplen,
        "kind": kind, "ip_version": version,
        "sport": get("tcp.srcport"), "dport": get("tcp.dstport"), "seq": get("tcp.seq_raw"),
        "ack": get("tcp.ack_raw"), "flags": get("tcp.flags"), "window": get("tcp.window_size_value"),
        "seglen": -1 if seglen is None else seglen, "hdr_len": hl, "urgent": get("tcp.urgent_pointer"),
        "ip_id": 0 if v6 else int(nf.get("ip.id", 0)),
        "ip_len": int(nf.get("ipv6.plen", 0)) if v6 else int(nf.get("ip.len", 0)),
        # IPv6: the fixed header and the extension headers up to TCP
        "ip_hdr_len": tcp.offset - net.offset if v6 else int(nf.get("ip.hdr_len", 20)),
        "tcp_offset": tcp.offset,
        # a reassembled datagram holds every byte; else what the frame captured of the payload
        "captured": max(0, seglen or 0) if kind & KIND_REASSEMBLED
        else max(0, min(frame.caplen - tcp.offset - hl, -1 if seglen is None else seglen)),
        "mss": mss, "wscale": ws, "sack_perm": int(4 in kinds), "tsval": tsval, "tsecr": tsecr,
        "sack_n": min(len(sack_l), len(sack_r)),
    }
    src = _address_key(version, str(nf["ipv6.src" if v6 else "ip.src"]))
    dst = _address_key(version, str(nf["ipv6.dst" if v6 else "ip.dst"]))
    return row, src, dst, list(zip(sack_l, sack_r, strict=False))


def _slow_rows(rb: RecordBatch, numbers: np.ndarray, rows: np.ndarray, session: DissectSession,
               keep_payload: bool | int, packets: bool) -> tuple[_Rows, _PacketRows | None]:
    """Segments (and, with ``packets``, conversation facts) of the rows the columnar fast
    path left to the per-packet dissectors."""
    from pcapkit.dissect.driver import dissect

    found: list[tuple[dict[str, int], tuple[int, int, int], tuple[int, int, int], list[tuple[int, int]]]] = []
    payloads: list[bytes] = []
    packet_rows: list[tuple[dict[str, int], tuple[int, int, int], tuple[int, int, int]]] = []
    buf = rb.buf
    for r in rows.tolist():
        start = int(rb.data_off[r])
        cap = int(rb.caplen[r])
        frame = Frame(int(numbers[r]), int(rb.ts_ns[r]), cap, int(rb.wirelen[r]), int(rb.linktype[r]),
                      max(0, int(rb.interface_id[r])), buf[start:start + cap].tobytes())
        packet = dissect(frame, session)
        layers = packet.layers
        if packets:
            info = _packet_row(frame, layers)
            if info is not None:
                packet_rows.append(info)
        first_fragment = _first_fragment(frame, layers)
        if first_fragment is not None:
            found.append(first_fragment)
            if keep_payload:
                payloads.append(b"")
        hit = _transport(layers)
        if hit is None:
            continue
        net, tcp, depth = hit
        kind = (KIND_TUNNELLED if depth > 1 else 0) | (KIND_REASSEMBLED if _reassembled(layers, net) else 0)
        row = _row_of(frame, net, tcp, kind)
        if row is None:
            continue
        found.append(row)
        if keep_payload:
            payloads.append(_payload_of(tcp, frame, row[0])[:_limit(keep_payload)])
    packed = _pack(found, payloads if keep_payload else None)
    return packed, (_pack_packets(packet_rows) if packets else None)


def _packet_row(frame: Frame, layers: Sequence[Layer]) -> tuple[dict[str, int], tuple[int, int, int],
                                                                 tuple[int, int, int]] | None:
    """Conversation facts of one dissected frame: its outermost IP header and the TCP or
    UDP header right after it (and its extension headers), if any."""
    for i, layer in enumerate(layers):
        if layer.protocol not in _NET:
            continue
        v6 = layer.protocol == "ipv6"
        f = layer.fields
        src, dst = f.get("ipv6.src" if v6 else "ip.src"), f.get("ipv6.dst" if v6 else "ip.dst")
        if src is None or dst is None:
            return None
        proto = f.get("ipv6.nxt" if v6 else "ip.proto", 0)
        nxt = i + 1
        while v6 and nxt < len(layers) and layers[nxt].protocol.startswith("ipv6."):  # extension headers
            proto = _one(layers[nxt].fields.get(f"{layers[nxt].protocol}.nxt", proto))
            nxt += 1
        sport = dport = -1
        udp_payload = 0
        if nxt < len(layers) and layers[nxt].protocol in ("tcp", "udp"):
            t = layers[nxt]
            name = t.protocol
            sport = int(t.get(f"{name}.srcport", -1) if t.get(f"{name}.srcport") is not None else -1)
            dport = int(t.get(f"{name}.dstport", -1) if t.get(f"{name}.dstport") is not None else -1)
            if name == "udp" and t.get("udp.length") is not None:
                udp_payload = max(int(t.get("udp.length")) - 8, 0)
        version = 6 if v6 else 4
        row = {"frame": frame.number, "ts_ns": frame.ts_ns, "wirelen": frame.wirelen, "ip_version": version,
               "proto": int(_one(proto) or 0), "sport": sport, "dport": dport, "udp_payload": udp_payload}
        return row, _address_key(version, str(src)), _address_key(version, str(dst))
    return None


def _pack_packets(found: list[tuple[dict[str, int], tuple[int, int, int], tuple[int, int, int]]]) -> _PacketRows:
    m = len(found)
    cols = {name: np.zeros(m, dtype=I64) for name in _PACKET_COLUMNS}
    src = np.zeros((m, 3), dtype=np.uint64)
    dst = np.zeros((m, 3), dtype=np.uint64)
    for j, (row, s, d) in enumerate(found):
        for name, value in row.items():
            cols[name][j] = value
        src[j] = s
        dst[j] = d
    return cols, src, dst


def _reassembled(layers: Sequence[Layer], net: Layer) -> bool:
    """Whether the TCP header of ``net`` comes from a reassembled datagram: an enclosing
    or the carrying IP layer is a fragment."""
    for layer in layers:
        if layer.protocol == "ip" and (layer.get("ip.flags.mf") or layer.get("ip.frag_offset")):
            return True
        if layer.protocol == "ipv6.fraghdr":
            return True
        if layer is net:
            break
    return False


def _first_fragment(frame: Frame, layers: Sequence[Layer]) -> tuple[dict[str, int], tuple[int, int, int],
                                                                    tuple[int, int, int],
                                                                    list[tuple[int, int]]] | None:
    """The TCP header of a first IPv4 fragment, as a tool that does not reassemble reads
    it (tcptrace), or None."""
    for layer in layers:
        if layer.protocol in ("icmp", "icmpv6"):
            return None
        if layer.protocol != "ip" or layer.get("ip.proto") != 6:
            continue
        if not layer.get("ip.flags.mf") or layer.get("ip.frag_offset"):
            continue
        from pcapkit.dissect.driver import dissect

        plain = dissect(frame, None)  # without reassembly the first fragment's TCP is dissected
        hit = _transport(plain.layers)
        if hit is None or hit[2] > 1:
            return None
        return _row_of(frame, hit[0], hit[1], KIND_FIRST_FRAGMENT)
    return None


def _payload_of(tcp: Layer, frame: Frame, row: dict[str, int]) -> bytes:
    payload = tcp.fields.get("tcp.payload")
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)[:max(0, row["seglen"])]
    return b""


def _pack(found: list[tuple[dict[str, int], tuple[int, int, int], tuple[int, int, int], list[tuple[int, int]]]],
          payloads: list[bytes] | None) -> _Rows:
    m = len(found)
    part = {name: np.zeros(m, dtype=I64) for name in _INT_COLUMNS if name not in ("src", "dst")}
    src = np.zeros((m, 3), dtype=np.uint64)
    dst = np.zeros((m, 3), dtype=np.uint64)
    sack_rows = [blocks for _, _, _, blocks in found if blocks]
    sl = np.zeros((len(sack_rows), MAX_SACK_BLOCKS), dtype=I64)
    sr = np.zeros_like(sl)
    k = 0
    for j, (row, s, d, blocks) in enumerate(found):
        for name, value in row.items():
            part[name][j] = value
        src[j] = s
        dst[j] = d
        if blocks:
            for b, (left, right) in enumerate(blocks[:MAX_SACK_BLOCKS]):
                sl[k, b] = left
                sr[k, b] = right
            k += 1
    # sack_n counts every block; the table keeps the first four
    return part, src, dst, sl, sr, payloads


# -- the end: addresses and one set of arrays ----------------------------------------

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


def _conversation_keys(src: np.ndarray, sport: np.ndarray, dst: np.ndarray,
                       dport: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    n = src.shape[0]
    ep, ep_uniq = pd.factorize(np.concatenate([src * 65536 + sport, dst * 65536 + dport]))
    src_ep = ep[:n].astype(I64, copy=False)
    dst_ep = ep[n:].astype(I64, copy=False)
    lo = np.minimum(src_ep, dst_ep)
    hi = np.maximum(src_ep, dst_ep)
    key, _ = pd.factorize(lo * max(len(ep_uniq), 1) + hi)
    return key.astype(I64, copy=False), (src_ep > dst_ep).astype(I64)


def table_fields() -> tuple[str, ...]:
    """The names of the table's per-row columns (for tests and docs)."""
    return tuple(f.name for f in fields(SegmentTable) if f.name in _INT_COLUMNS)


def segments(source: Source) -> Iterator[Segment]:
    """The segments tshark's analysis sees in a capture, as :class:`Segment` objects."""
    return segment_table(source).tshark_view().segments()
