"""``pcapkit read``'s text lines formatted from columns, a batch of records at a time.

The columnar decoder (:func:`pcapkit.columnar.decode.decode_batch`) gives the header
fields of every record of a batch; the lines of the common packets (IPv4/IPv6 carrying a
whole TCP header without options or with tcpdump's usual ``nop,nop,TS`` / SACK layouts, or
a sane UDP header) are built column by column with pyarrow's string kernels, the same
text :func:`pcapkit.dissect.driver.summary_line` gives. Every other record (what the fast
path marked, other protocols, other TCP options) goes through the dissectors and
``summary_line``, one packet at a time, and its line is merged in frame order. The
lines of a batch are written as one byte string per run of fast rows, so the first lines
appear after the first batch and memory is bounded by the batch.

Only plain (uncompressed) pcap files take this path: their time stamps are exact in
nanoseconds and their frames are numbered in file order. On damage the caller resumes
with the record reader after the last line written (see :func:`write_lines`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from pcapkit.capture.pcap import MAGICS

if TYPE_CHECKING:
    import pyarrow as pa

    from pcapkit.capture.batch import RecordBatch
    from pcapkit.columnar.decode import Columns

BATCH_PACKETS = 1 << 16  # the first lines appear after this many records are decoded
_TS_OPTION = np.array([1, 1, 8, 10], dtype=np.uint8)  # nop, nop, timestamp (kind 8, length 10)
_SACK_HEAD = np.array([1, 1, 5], dtype=np.uint8)     # nop, nop, SACK (kind 5)
_MAX_SACK_BLOCKS = 4


# Below this size the per-packet path is faster than importing the batch machinery
# (numpy, pyarrow, numba's kernels): a 213-frame trace takes 0.3 CPU s one packet at a
# time against about 2 s through the columns (benchmarks/bench_e2e.py)
BATCHED_MIN_BYTES = 1 << 20


def is_plain_pcap(path: str) -> bool:
    """Whether ``path`` is an uncompressed pcap file (by its magic number)."""
    try:
        with open(path, "rb") as f:
            return f.read(4) in MAGICS
    except OSError:
        return False


def batched(path: str) -> bool:
    """Whether ``pcapkit read`` formats ``path``'s lines from columns: a plain pcap file
    big enough for the batch machinery to pay for its imports."""
    try:
        big = os.path.getsize(path) >= BATCHED_MIN_BYTES
    except OSError:
        return False
    return big and is_plain_pcap(path)


def write_lines(path: str, out: IO[str], number: bool, count: int | None,
                slow_line: Callable[[Any], str]) -> tuple[int, bool]:
    """Write the line of each record of ``path`` (at most ``count``); return how many were
    written and whether that is all of them. ``slow_line(frame)`` gives the line of a record
    the fast path leaves alone. Not all (a damaged file, bytes after the last whole record):
    the caller goes on with the record reader after the lines written, which reports the
    damage as it always does."""
    from pcapkit.capture.batch import iter_records
    from pcapkit.errors import CaptureFileError

    written = 0
    end = 0
    try:
        for rb in iter_records(path, max_packets=BATCH_PACKETS):
            n = len(rb) if count is None else min(len(rb), count - written)
            written += _write_batch(rb, n, out, number, slow_line)
            end = rb.end_offset
            if count is not None and written >= count:
                return written, True
    except CaptureFileError:
        return written, False
    return written, end == os.path.getsize(path)


def _write_batch(rb: RecordBatch, n: int, out: IO[str], number: bool, slow_line: Callable[[Any], str]) -> int:
    from pcapkit.columnar.decode import decode_batch

    cols = decode_batch(rb)
    fast, lines = _fast_lines(rb, cols, number)
    fast = fast[:n]
    slow = np.nonzero(~fast)[0]
    pos = 0
    offsets = data = None
    if lines is not None:
        _, offset_buffer, data = lines.buffers()
        offsets = np.frombuffer(offset_buffer, dtype=np.int32)[lines.offset:lines.offset + len(lines) + 1]
    rank = np.cumsum(fast) - 1  # the index of each fast row in ``lines``
    for i in [*slow.tolist(), n]:
        if i > pos and offsets is not None and data is not None:  # rows [pos, i) are fast
            lo, hi = int(offsets[rank[pos]]), int(offsets[rank[i - 1] + 1])
            _write_bytes(out, memoryview(data)[lo:hi])
        if i < n:
            line = slow_line(_frame(rb, i))
            out.write(f"{rb.first_number + i:5d}  {line}\n" if number else line + "\n")
        pos = i + 1
    return n


def _write_bytes(out: IO[str], data: memoryview) -> None:
    raw = getattr(out, "buffer", None)
    if raw is None:
        out.write(bytes(data).decode("utf-8"))
        return
    out.flush()
    raw.write(data)


def _frame(rb: RecordBatch, i: int) -> Any:
    from pcapkit.frame import Frame

    off, cap = int(rb.data_off[i]), int(rb.caplen[i])
    return Frame(rb.first_number + i, int(rb.ts_ns[i]), cap, int(rb.wirelen[i]), int(rb.linktype[i]),
                 max(0, int(rb.interface_id[i])), rb.buf[off:off + cap].tobytes())


# --------------------------------------------------------------------------------------
# the fast rows' lines, column by column. Arrays go to pyarrow through their buffers:
# pa.array() on numpy arrays or lists imports pandas (about a second)

def _arrow(values: np.ndarray) -> Any:
    """A numeric or boolean numpy array as a pyarrow array (no copy for numbers)."""
    import pyarrow as pa

    if values.dtype == np.bool_:
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), values.size, [None, pa.py_buffer(bits)])
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), values.size, [None, pa.py_buffer(values)])


def _join(*items: Any) -> Any:
    """Element-wise concatenation of string arrays (without nulls: an absent piece is an
    empty string, which joins 4x faster than skipping nulls) and literal texts."""
    import pyarrow.compute as pc

    args = [_literal(x) if isinstance(x, str) else x for x in items]
    return pc.binary_join_element_wise(*args, _literal(""))


def _literal(text: str) -> Any:
    """``text`` as a pyarrow string scalar."""
    scalar = _LITERALS.get(text)
    if scalar is None:
        scalar = _LITERALS[text] = _strings([text])[0]
    return scalar


_LITERALS: dict[str, Any] = {}


def _strings(texts: list[str]) -> Any:
    """A list of str as a pyarrow string array."""
    import pyarrow as pa

    encoded = [t.encode("utf-8") for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets),
                                                              pa.py_buffer(b"".join(encoded))])


def _col(cols: Columns, name: str) -> tuple[np.ndarray, np.ndarray]:
    values = cols.values.get(name)
    if values is None:
        return np.zeros(cols.n, dtype=np.uint64), np.zeros(cols.n, dtype=bool)
    return values, cols.valid[name]


def _fast_lines(rb: RecordBatch, cols: Columns, number: bool) -> tuple[np.ndarray, pa.StringArray | None]:
    """(which rows the columns format, the lines of those rows, each ending in a newline)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ok = (~cols.fallback) & (rb.linktype >= 0)
    version, has_version = _col(cols, "ip.version")
    proto, has_proto = _col(cols, "pcapkit.transport_proto")
    ok &= has_version & has_proto
    v4 = ok & (version == 4) & _col(cols, "ip.src")[1]
    nxt, has_nxt = _col(cols, "ipv6.nxt")
    v6 = ok & (version == 6) & has_nxt & (nxt == proto) & _col(cols, "ipv6.src.hi")[1]  # no extension header
    ok = v4 | v6
    tcp_rows = ok & (proto == 6) & _col(cols, "tcp.flags")[1] & _col(cols, "tcp.len")[1]
    options, tcp_rows = _tcp_options(rb, cols, tcp_rows)
    udp_rows = ok & (proto == 17) & _udp_sane(cols, v4)
    fast = tcp_rows | udp_rows
    rows = np.nonzero(fast)[0]
    if rows.size == 0:
        return fast, None

    def num(values: np.ndarray) -> Any:
        return pc.cast(_arrow(values), pa.string())

    def when(mask: np.ndarray, *items: Any) -> list[Any]:
        """``items`` (texts and string arrays) on the rows of ``mask``: as they are, to be
        joined with the rest of the line, when every row has them (one join fewer)."""
        if mask.all():
            return list(items)
        if not mask.any():
            return []
        return [pc.if_else(_arrow(mask), _join(*items), _literal(""))]

    is_tcp = tcp_rows[rows]
    is_v4 = v4[rows]
    parts: list[Any] = []
    if number:
        parts += [pc.utf8_lpad(num(rb.first_number + rows), 5), "  "]
    ts = rb.ts_ns[rows]
    parts += [num(ts // 1_000_000_000), ".", pc.utf8_lpad(num(ts % 1_000_000_000 // 1000), 6, "0")]
    parts += [pc.take(_strings([" IP6 ", " IP "]), _arrow(is_v4.astype(np.int8))),
              _addresses(cols, rows, is_v4, "src"), "."]
    sport = np.where(is_tcp, _col(cols, "tcp.srcport")[0][rows], _col(cols, "udp.srcport")[0][rows])
    dport = np.where(is_tcp, _col(cols, "tcp.dstport")[0][rows], _col(cols, "udp.dstport")[0][rows])
    parts += [num(sport), " > ", _addresses(cols, rows, is_v4, "dst"), ".", num(dport), ": "]
    if is_tcp.any():
        parts += _tcp_text(cols, rows, is_tcp, options, num, when)
    if not is_tcp.all():
        ulen = cols.values["udp.length"][rows].astype(np.int64) - 8
        parts += when(~is_tcp, "UDP, length ", num(ulen))
    parts.append("\n")
    lines = _join(*parts)
    return fast, lines


def _udp_sane(cols: Columns, v4: np.ndarray) -> np.ndarray:
    """Rows whose UDP length is at least 8 and within the IP payload (tcpdump's plain line)."""
    ulen, has = _col(cols, "udp.length")
    ip_len, ihl = _col(cols, "ip.len")[0].astype(np.int64), _col(cols, "ip.hdr_len")[0].astype(np.int64)
    plen = _col(cols, "ipv6.plen")[0].astype(np.int64)
    payload = np.where(v4, ip_len - ihl, plen)
    u = ulen.astype(np.int64)
    return has & _col(cols, "udp.srcport")[1] & (u >= 8) & (u <= payload)


def _addresses(cols: Columns, rows: np.ndarray, is_v4: np.ndarray, side: str) -> Any:
    """The text of the ``side`` ("src"/"dst") address of each row, each distinct one made once."""
    import pyarrow.compute as pc

    from pcapkit.fields import ipv4_text, ipv6_text

    texts: list[str] = []
    index = np.zeros(rows.size, dtype=np.int64)
    if is_v4.any():
        uniq, inverse = np.unique(cols.values[f"ip.{side}"][rows[is_v4]], return_inverse=True)
        texts += [ipv4_text(int(u).to_bytes(4, "big")) for u in uniq.tolist()]
        index[is_v4] = inverse.reshape(-1)
    if not is_v4.all():
        r6 = rows[~is_v4]
        pairs = np.stack([cols.values[f"ipv6.{side}.hi"][r6], cols.values[f"ipv6.{side}.lo"][r6]], axis=1)
        uniq6, inverse6 = np.unique(pairs, axis=0, return_inverse=True)
        index[~is_v4] = len(texts) + inverse6.reshape(-1)
        texts += [ipv6_text(int(h).to_bytes(8, "big") + int(lo).to_bytes(8, "big")) for h, lo in uniq6.tolist()]
    return pc.take(_strings(texts), _arrow(index))


def _tcp_options(rb: RecordBatch, cols: Columns, tcp_rows: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    """Which TCP rows have an option layout the columns can print (none; ``nop,nop,TS``;
    ``nop,nop,sack N``, after ``nop,nop,TS`` or alone: the SACK edges read from the
    header's bytes), and the rows left out."""
    hdr = _col(cols, "tcp.hdr_len")[0].astype(np.int64)
    off = _col(cols, "pcapkit.tcp_offset")[0].astype(np.int64)
    plain = tcp_rows & (hdr == 20)
    ts = np.zeros(cols.n, dtype=bool)
    sack = np.zeros(cols.n, dtype=bool)
    blocks = np.zeros(cols.n, dtype=np.int64)
    edges = np.zeros((cols.n, 2 * _MAX_SACK_BLOCKS), dtype=np.int64)
    with_options = np.nonzero(tcp_rows & (hdr > 20) & (rb.caplen >= off + hdr))[0]
    if with_options.size:
        start = rb.data_off[with_options] + off[with_options] + 20
        h = hdr[with_options]
        has_ts = ((rb.buf[start[:, None] + np.arange(4)] == _TS_OPTION).all(axis=1)
                  & _col(cols, "tcp.options.timestamp.tsval")[1][with_options])
        at = np.where(has_ts, 12, 0)  # where a SACK option would start (after the TS words)
        head = rb.buf[np.minimum(start + at, rb.buf.size - 4)[:, None] + np.arange(4)]
        c = (head[:, 3].astype(np.int64) - 2) // 8
        is_sack = ((head[:, :3] == _SACK_HEAD).all(axis=1) & (c >= 1) & (c <= _MAX_SACK_BLOCKS)
                   & (head[:, 3] == 2 + 8 * c) & (h == 24 + at + 8 * c))
        ts[with_options] = has_ts & ((h == 32) | is_sack)
        sack[with_options] = is_sack
        blocks[with_options] = np.where(is_sack, c, 0)
        rows = with_options[is_sack]
        if rows.size:
            first = rb.data_off[rows] + off[rows] + 24 + at[is_sack]
            width = 8 * int(blocks[rows].max())
            raw = rb.buf[np.minimum(first[:, None] + np.arange(width), rb.buf.size - 1)].astype(np.int64)
            words = (raw[:, 0::4] << 24) | (raw[:, 1::4] << 16) | (raw[:, 2::4] << 8) | raw[:, 3::4]
            edges[rows, :words.shape[1]] = words
    return {"ts": ts, "sack": sack, "blocks": blocks, "edges": edges}, tcp_rows & (plain | ts | sack)


def _tcp_text(cols: Columns, rows: np.ndarray, is_tcp: np.ndarray, options: dict[str, Any],
              num: Callable[[np.ndarray], Any], when: Callable[..., list[Any]]) -> list[Any]:
    """The TCP summary of each row (null on the other rows): as the dissector's
    ``Flags [..], seq .., ack .., win .., urg .., options [..], length ..``."""
    import pyarrow.compute as pc

    from pcapkit.proto.consts import TCP_ACK, TCP_URG, tcpdump_flags

    def v(name: str) -> np.ndarray:
        return cols.values[name][rows].astype(np.int64)

    flags, seq, ack, win = v("tcp.flags"), v("tcp.seq_raw"), v("tcp.ack_raw"), v("tcp.window_size_value")
    length = v("tcp.len")
    uniq, inverse = np.unique(flags, return_inverse=True)
    letters = _strings([tcpdump_flags(int(f)) for f in uniq.tolist()])
    flag_text = pc.take(letters, _arrow(inverse.reshape(-1)))
    end = num((seq + length) & 0xFFFFFFFF)
    seq_text = num(seq)
    parts: list[Any] = [
        *when(is_tcp, "Flags [", flag_text, "]"),
        *when(is_tcp & (length > 0), ", seq ", seq_text, ":", end),
        *when(is_tcp & (length <= 0) & ((flags & 0x07) != 0), ", seq ", seq_text),
        *when(is_tcp & ((flags & TCP_ACK) != 0), ", ack ", num(ack)),
        *when(is_tcp, ", win ", num(win)),
    ]
    if ((flags & TCP_URG) != 0).any():
        parts.append(when(is_tcp & ((flags & TCP_URG) != 0),
                          _join(", urg ", num(v("tcp.urgent_pointer")))))
    ts, sack = options["ts"][rows], options["sack"][rows]
    if ts.any() or sack.any():
        words: list[Any] = []
        if ts.any():
            words += when(ts, "nop,nop,TS val ", num(v("tcp.options.timestamp.tsval")), " ecr ",
                          num(v("tcp.options.timestamp.tsecr")))
            words += when(ts & sack, ",")
        if sack.any():
            words += _sack_text(rows, options, num, when)
        parts += when(ts | sack, ", options [", *words, "]")
    parts += when(is_tcp, ", length ", num(length))
    return parts


def _sack_text(rows: np.ndarray, options: dict[str, Any], num: Callable[[np.ndarray], Any],
               when: Callable[..., list[Any]]) -> list[Any]:
    """``nop,nop,sack N {le:re}...`` of the SACK rows."""
    sack = options["sack"][rows]
    count = options["blocks"][rows]
    edges = options["edges"][rows]
    parts: list[Any] = ["nop,nop,sack ", num(count), " "]
    for k in range(_MAX_SACK_BLOCKS):
        block = sack & (count > k)
        if not block.any():
            break
        parts += when(block, "{", num(edges[:, 2 * k]), ":", num(edges[:, 2 * k + 1]), "}")
    return when(sack, *parts)
