"""The segment table: every TCP segment of a capture as numpy columns, and its views.

See :mod:`pcapkit.tcpflow.segments` for what the rows are; this module holds the table
(:class:`SegmentTable`, :class:`PacketTable`), the row kinds and the views consumers read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from os import PathLike

import numpy as np

from pcapkit.capture.batch import CaptureFiles
from pcapkit.errors import PcapkitError
from pcapkit.frame import Frame
from pcapkit.tcpflow.segment import Segment

I64 = np.int64
KIND_REASSEMBLED = 1
KIND_FIRST_FRAGMENT = 2
KIND_TUNNELLED = 4
MAX_SACK_BLOCKS = 4  # 40 option bytes hold at most four

# a capture file, several read as one, or frames
Source = str | PathLike[str] | CaptureFiles | Iterable[Frame]

# per-row integer columns, in the order the builders fill them
INT_COLUMNS = ("frame", "ts_ns", "wirelen", "caplen", "kind", "ip_version", "src", "dst", "sport", "dport",
               "seq", "ack", "flags", "window", "seglen", "hdr_len", "urgent", "ip_id", "ip_len",
               "ip_hdr_len", "tcp_offset", "captured", "mss", "wscale", "sack_perm", "tsval", "tsecr", "sack_n",
               "matched")
SEGMENT_CHUNK_ROWS = 65_536  # rows made Python values at a time by SegmentTable.segments
PACKET_COLUMNS = ("frame", "ts_ns", "wirelen", "ip_version", "proto", "sport", "dport", "udp_payload")

# How each column is stored: int64 where values are large or get multiplied (frame
# numbers, times, byte counts summed per conversation, address codes that make
# endpoint keys, raw sequence numbers and timestamps with their -1), int32 for header
# fields of at most 32 bits that stay small (ports, lengths, windows, option values;
# -1 marks absence), int16 for flags and small counts. Signed types only, so that
# ``x - 1`` or ``a - b`` never wraps. A batch holding a value its type cannot
# represent (a hostile header) widens that column to int64: no value is ever cut.
_WIDE = ("frame", "ts_ns", "wirelen", "src", "dst", "seq", "ack", "tsval", "tsecr")
_SMALL = ("kind", "ip_version", "flags", "hdr_len", "wscale", "sack_perm", "sack_n", "matched")
COLUMN_DTYPES: dict[str, np.dtype[np.signedinteger]] = {
    name: np.dtype(I64 if name in _WIDE else np.int16 if name in _SMALL else np.int32) for name in INT_COLUMNS}
PACKET_DTYPES: dict[str, np.dtype[np.signedinteger]] = {
    name: np.dtype(np.int16 if name in ("ip_version", "proto") else np.int32 if name in (
        "sport", "dport", "udp_payload") else I64) for name in (*PACKET_COLUMNS, "src", "dst")}

# what the row builders hand over: per-row columns (without src/dst), the (version, high,
# low) address keys of src and dst, the SACK blocks of the rows that have some, payloads
Rows = tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[bytes] | None]
PacketRows = tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]


@dataclass(eq=False)
class SegmentTable:
    """The TCP segments of a capture, one row each, in file order (see the module doc).

    Columns are stored as :data:`COLUMN_DTYPES` says (int16, int32 or int64, signed so
    that a difference or a -1 never wraps; a column whose values do not fit is int64):
    136 bytes a segment, not 232; widen before multiplying. Address columns
    ``src``/``dst`` index ``addresses`` (their text, as tshark prints them). ``mss``,
    ``wscale``, ``tsval``, ``tsecr`` are -1 when the option is absent.
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
    matched: np.ndarray      # 1 where the frame matches the table's ``mark`` expression (all 1 without)
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
    _sack_rows: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.frame.shape[0])

    # -- views -----------------------------------------------------------------------
    def select(self, rows: np.ndarray) -> SegmentTable:
        """The table of the rows ``rows`` (a boolean mask or sorted indices)."""
        idx = np.nonzero(rows)[0] if rows.dtype == bool else rows
        if idx.shape[0] == len(self):
            return self
        keep_sack = idx[self.sack_n[idx] > 0]
        sack_pos = self.sack_rows()[keep_sack]
        values = {name: getattr(self, name)[idx] for name in INT_COLUMNS}
        return SegmentTable(**values, sack_l=self.sack_l[sack_pos], sack_r=self.sack_r[sack_pos],
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

    def sack_rows(self) -> np.ndarray:
        """Per row, its row of ``sack_l``/``sack_r`` (meaningful where ``sack_n > 0``): made
        once, so that selecting a few rows (a stream of many) costs those rows, not the table."""
        if self._sack_rows is None:
            self._sack_rows = np.cumsum(self.sack_n > 0) - 1
        return self._sack_rows

    def sack_blocks(self, limit: int = MAX_SACK_BLOCKS) -> tuple[np.ndarray, np.ndarray]:
        """(left, right) edges of at most ``limit`` blocks, one row per segment with SACK."""
        return self.sack_l[:, :limit], self.sack_r[:, :limit]

    def address_text(self, codes: np.ndarray) -> np.ndarray:
        """Address texts (an object array) of address codes."""
        return np.asarray(self.addresses, dtype=object)[codes]

    def segments(self) -> Iterator[Segment]:
        """Each row as a :class:`~pcapkit.tcpflow.segment.Segment` (for per-segment models).
        ``SEGMENT_CHUNK_ROWS`` rows at a time, every field is made a Python list of the
        chunk's column first (addresses as text, absent options as None), then the rows
        are zipped: one tuple per row, no per-field work in the loop, and memory bounded
        by a chunk."""
        addresses = np.asarray(self.addresses, dtype=object)
        sack_index = self.sack_rows()

        def optional(values: np.ndarray) -> list[int | None]:
            out = values.astype(object)
            out[values < 0] = None
            return out.tolist()

        make = Segment._make
        for start in range(0, len(self), SEGMENT_CHUNK_ROWS):
            part = slice(start, start + SEGMENT_CHUNK_ROWS)
            n = len(self.frame[part])
            blocks: list[tuple[tuple[int, int], ...]] = [()] * n
            local = np.flatnonzero(self.sack_n[part] > 0)
            if local.size:
                picked = sack_index[start + local]
                lefts, rights = self.sack_l[picked].tolist(), self.sack_r[picked].tolist()
                for i, k, left, right in zip(local.tolist(), self.sack_n[part][local].tolist(), lefts, rights,
                                             strict=True):
                    blocks[i] = tuple(zip(left[:k], right[:k], strict=True))
            payloads = self.payloads[part] if self.payloads is not None else [b""] * n
            columns = (self.frame[part].tolist(), self.ts_ns[part].tolist(), addresses[self.src[part]].tolist(),
                       addresses[self.dst[part]].tolist(), self.sport[part].tolist(), self.dport[part].tolist(),
                       self.seq[part].tolist(), self.ack[part].tolist(), self.flags[part].tolist(),
                       self.window[part].tolist(), self.seglen[part].tolist(), self.hdr_len[part].tolist(),
                       self.captured[part].tolist(), optional(self.mss[part]), optional(self.wscale[part]),
                       (self.sack_perm[part] != 0).tolist(), blocks, optional(self.tsval[part]),
                       optional(self.tsecr[part]), self.ip_version[part].tolist(), self.wirelen[part].tolist(),
                       payloads)
            for row in zip(*columns, strict=True):
                yield make(row)


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


def _conversation_keys(src: np.ndarray, sport: np.ndarray, dst: np.ndarray,
                       dport: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from pcapkit.columnar.column_table import factorize

    n = src.shape[0]
    ep, ep_uniq = factorize(np.concatenate([src * 65536 + sport, dst * 65536 + dport]))
    src_ep = ep[:n].astype(I64, copy=False)
    dst_ep = ep[n:].astype(I64, copy=False)
    lo = np.minimum(src_ep, dst_ep)
    hi = np.maximum(src_ep, dst_ep)
    key, _ = factorize(lo * max(len(ep_uniq), 1) + hi)
    return key.astype(I64, copy=False), (src_ep > dst_ep).astype(I64)


def table_fields() -> tuple[str, ...]:
    """The names of the table's per-row columns (for tests and docs)."""
    return tuple(f.name for f in fields(SegmentTable) if f.name in INT_COLUMNS)
