"""``pcapkit read``'s text lines formatted from columns, a batch of records at a time.

The columnar decoder (:func:`pcapkit.columnar.decode.decode_batch`) gives the header
fields of every record of a batch; the lines of the common packets (IPv4/IPv6 carrying a
whole TCP header without options or with tcpdump's usual ``nop,nop,TS`` / SACK layouts, or
a sane UDP header) are built column by column with pyarrow's string kernels, the same
text :func:`pcapkit.dissect.summary.summary_line` gives. Every other record (what the fast
path marked, other protocols, other TCP options) goes through the dissectors and
``summary_line``, one packet at a time, and its line is merged in frame order. The
lines of a batch are written as one byte string per run of fast rows, so the first lines
appear after the first batch and memory is bounded by the batch.

Only plain (uncompressed) pcap and pcapng files take this path, when numba's kernels run
(:func:`pcapkit.cli.read_cmd.batched`): their frames are numbered in file order, as the
record reader numbers them. On damage the caller resumes with the record
reader after the last line written (see :func:`write_lines`).
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import os
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pcapkit.capture.batch import RecordBatch
    from pcapkit.columnar.decode import Columns

BATCH_PACKETS = 1 << 16  # the first lines appear after this many records are decoded
_TS_OPTION = np.array([1, 1, 8, 10], dtype=np.uint8)  # nop, nop, timestamp (kind 8, length 10)
_SACK_HEAD = np.array([1, 1, 5], dtype=np.uint8)     # nop, nop, SACK (kind 5)
_MAX_SACK_BLOCKS = 4
ETHERNET = 1  # LINKTYPE_ETHERNET: the link layer record_lines.format_records reads


def write_lines(path: str, out: IO[str], number: bool, count: int | None,
                slow_line: Callable[[Any], str], skip: int = 0, start_up: bool = False) -> tuple[int, bool]:
    """Write the line of each record of ``path`` after the first ``skip`` (at most ``count``
    lines); return how many were written and whether that is all of them. ``slow_line(frame)`` gives the line of a record
    the fast path leaves alone. Not all (a damaged file, bytes after the last whole record):
    the caller goes on with the record reader after the lines written, which reports the
    damage as it always does. ``start_up``: the process starts numba here (see
    :class:`_StartUp`; the command line's read, not a library call)."""
    from pcapkit.capture.batch import iter_records
    from pcapkit.errors import CaptureFileError

    written = 0
    end = 0
    lines = _LineBuffer()
    collector = _StartUp(start_up)
    try:
        for rb in iter_records(path, max_packets=BATCH_PACKETS):
            end = rb.end_offset
            start = max(0, skip - (rb.first_number - 1))  # records of this batch already shown
            if start >= len(rb):
                continue
            n = len(rb) if count is None else min(len(rb), start + count - written)
            if rb.pcapng:
                rb = _timed(rb)
            written += _write_batch(rb, start, n, out, number, slow_line, lines)
            collector.done()
            if count is not None and written >= count:
                return written, True
    except CaptureFileError:
        return written, False
    finally:
        collector.done()
    return written, _read_to_the_end(path, end)


def _read_to_the_end(path: str, end: int) -> bool:
    """Whether the batches, ending at stream offset ``end`` without an error, read the whole
    file: a plain file's size says so (bytes after the last record are the record reader's
    to report); a compressed stream's reader raises on any such bytes itself."""
    from pcapkit.capture.files import GZIP_MAGIC

    with open(path, "rb") as f:
        if f.read(len(GZIP_MAGIC)) == GZIP_MAGIC:
            return True
    return end == os.path.getsize(path)


def _timed(rb: RecordBatch) -> RecordBatch:
    """``rb`` with time 0 on the records that have none (pcapng simple packet and custom
    blocks: the batch says NO_TIME), as the record reader's frames and libpcap have it."""
    from pcapkit.capture.batch import NO_TIME

    untimed = rb.ts_ns == NO_TIME
    if not untimed.any():
        return rb
    return dataclasses.replace(rb, ts_ns=np.where(untimed, 0, rb.ts_ns))


class _StartUp:
    """Python's cyclic garbage collector paused while the first batch starts numba (its
    import and the cached kernels' loading leave about 100,000 tracked objects and almost
    no garbage: some 240 collector passes over them, about 0.1 CPU s), then those objects
    frozen (gc.freeze: later passes, e.g. over the dissectors' rows, skip them)."""

    def __init__(self, enabled: bool) -> None:
        self._resume = enabled and gc.isenabled()
        if self._resume:
            gc.disable()

    def done(self) -> None:
        if self._resume:
            self._resume = False
            gc.freeze()
            gc.enable()


def warm_up() -> None:
    """Format a made-up capture into nothing, so that numba compiles (and caches on disk) every
    kernel of ``pcapkit read``'s batched path: the record walks (pcap, pcapng), format_records, and for the
    records it leaves (IPv4 first fragments, enough of them for the header gather; TCP
    options it does not print), the columnar decoder and format_lines. ``scripts/dev.sh
    setup`` runs it."""
    import struct
    import tempfile

    def tcp(options: bytes) -> bytes:
        return struct.pack("!HHIIBBHHH", 40000, 80, 1, 2, (5 + len(options) // 4) << 4, 0x18, 512, 0, 0) + options

    def ipv4(payload: bytes, fragment: int) -> bytes:
        return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, fragment, 64, 6, 0,
                           bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])) + payload

    link = bytes(6) + bytes([2] * 6) + b"\x08\x00"
    plain, first_fragment, mss = (link + ipv4(tcp(b""), 0), link + ipv4(tcp(b"") + bytes(8), 0x2000),
                                  link + ipv4(tcp(bytes([2, 4, 5, 180])), 0))
    # the columns read a batch's header bytes from a copy when 64 rows or more are left
    # to them (Batch.HEAD_BYTES), from the file's buffer otherwise: one capture of each
    captures = ([plain] * 8 + [first_fragment] * 80 + [mss] * 8, [plain] * 8 + [first_fragment] * 4 + [mss] * 4)
    with tempfile.TemporaryDirectory() as scratch, open(os.devnull, "w") as out:
        for k, frames in enumerate(captures):
            path = os.path.join(scratch, f"warm-up-{k}.pcap")
            with open(path, "wb") as f:
                f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, ETHERNET))
                for i, frame in enumerate(frames):
                    f.write(struct.pack("<IIII", 1_700_000_000, i, len(frame), len(frame)) + frame)
            write_lines(path, out, True, None, lambda frame: "")
        # a pcapng file: its packet blocks have a walk of their own
        from pcapkit.capture import pcapng_blocks as ng

        path = os.path.join(scratch, "warm-up.pcapng")
        with open(path, "wb") as f:
            f.write(ng.section_block("<", None, "pcapkit") + ng.interface_block(ETHERNET, 65535, None, "<"))
            for i, frame in enumerate(captures[0]):
                f.write(ng.packet_block(0, 1_700_000_000 * 10**9 + i, frame, len(frame), None, "<"))
        write_lines(path, out, True, None, lambda frame: "")


class _LineBuffer:
    """The bytes of a batch's lines, kept from batch to batch (its pages stay mapped), and
    the tables :func:`pcapkit.cli.record_lines.format_records` reads, made once."""

    def __init__(self) -> None:
        from pcapkit.columnar.decode import TUNNEL_UDP_PORTS
        from pcapkit.proto.consts import tcpdump_flags

        self.data = np.zeros(0, dtype=np.uint8)
        self.flag_text, self.flag_off = _texts([tcpdump_flags(f) for f in range(1 << 12)])
        self.tunnel_port = np.zeros(1 << 16, dtype=np.bool_)
        self.tunnel_port[list(TUNNEL_UDP_PORTS)] = True

    def room(self, rows: int) -> np.ndarray:
        from pcapkit.cli.line_kernel import MAX_LINE

        if self.data.size < rows * MAX_LINE:
            self.data = np.empty(rows * MAX_LINE, dtype=np.uint8)
        return self.data


def _write_batch(rb: RecordBatch, start: int, n: int, out: IO[str], number: bool,
                 slow_line: Callable[[Any], str], lines: _LineBuffer) -> int:
    """Write the lines of the batch's records [start, n); return how many. The common
    records' lines come straight from their bytes (record_lines.format_records); when some
    are left, the columns format most of those (:func:`_fast_lines`), the dissectors the
    rest, each line in frame order."""
    rows = n - start
    taken = np.zeros(rows, dtype=np.bool_)
    offsets = np.zeros(rows + 1, dtype=np.int64)
    data = lines.room(rows)
    if rows and bool((rb.linktype[start:n] == ETHERNET).all()):  # (pcapng: a link type per interface)
        from pcapkit.cli.record_lines import format_records

        format_records(rb.buf, rb.data_off[start:n], rb.caplen[start:n], rb.wirelen[start:n], rb.ts_ns[start:n],
                       rb.first_number + start, number, lines.flag_text, lines.flag_off, lines.tunnel_port,
                       data, offsets, taken)
    if taken.all():
        _write_bytes(out, data[:offsets[-1]])
        return rows
    # the records left: the columns' lines of those they format, the dissectors' of the rest
    from pcapkit.columnar.decode import decode_batch

    left = np.nonzero(~taken)[0] + start
    rest = dataclasses.replace(rb, data_off=rb.data_off[left], caplen=rb.caplen[left], wirelen=rb.wirelen[left],
                               ts_ns=rb.ts_ns[left], linktype=rb.linktype[left],
                               interface_id=rb.interface_id[left])
    numbers = rb.first_number + left
    columns_fast, col_offsets, col_data = _fast_lines(rest, decode_batch(rest), number, numbers)
    in_rest = np.cumsum(~taken) - 1  # each row's index in ``rest`` (on the rows left)
    rank = np.cumsum(columns_fast) - 1  # each of rest's rows' index among the columns' lines
    source = np.zeros(rows, dtype=np.int64)  # 0: format_records, 1: the columns, 2: the dissectors
    source[~taken] = np.where(columns_fast, 1, 2)
    bounds = [0, *(np.flatnonzero(np.diff(source)) + 1).tolist(), rows]
    for a, b in itertools.pairwise(bounds):
        if source[a] == 0:
            _write_bytes(out, data[offsets[a]:offsets[b]])
        elif source[a] == 1:
            first, last = rank[in_rest[a]], rank[in_rest[b - 1]]
            _write_bytes(out, col_data[col_offsets[first]:col_offsets[last + 1]])
        else:
            for j in in_rest[a:b].tolist():
                frame_number = int(numbers[j])
                line = slow_line(_frame(rest, j, frame_number))
                out.write(f"{frame_number:5d}  {line}\n" if number else line + "\n")
    return rows


def _write_bytes(out: IO[str], data: np.ndarray) -> None:
    raw = getattr(out, "buffer", None)
    if raw is None:
        out.write(data.tobytes().decode("utf-8"))
        return
    out.flush()
    raw.write(data.data)


def _frame(rb: RecordBatch, i: int, number: int) -> Any:
    from pcapkit.frame import Frame

    off, cap = int(rb.data_off[i]), int(rb.caplen[i])
    return Frame(number, int(rb.ts_ns[i]), cap, int(rb.wirelen[i]), int(rb.linktype[i]),
                 max(0, int(rb.interface_id[i])), rb.buf[off:off + cap].tobytes())


# --------------------------------------------------------------------------------------
# the fast rows' lines: the columns they need, then one compiled loop writes the bytes

def _col(cols: Columns, name: str) -> tuple[np.ndarray, np.ndarray]:
    values = cols.values.get(name)
    if values is None:
        return np.zeros(cols.n, dtype=np.uint64), np.zeros(cols.n, dtype=bool)
    return values, cols.valid[name]


def _fast_lines(rb: RecordBatch, cols: Columns, number: bool,
                numbers: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(which rows the columns format, where each of their lines starts in the buffer and
    where the last ends, the buffer: the lines' bytes, each ending in a newline).
    ``numbers``: the rows' frame numbers (default: the batch's, from its first)."""
    from pcapkit.cli.line_kernel import MAX_LINE, format_lines
    from pcapkit.proto.consts import tcpdump_flags

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
    fragment = _fragments(rb, cols)
    is_tcp = tcp_rows | fragment["is_tcp"]
    fast = tcp_rows | udp_rows | fragment["rows"]
    v4 |= fragment["rows"]
    rows = np.nonzero(fast)[0]
    offsets = np.zeros(rows.size + 1, dtype=np.int64)
    if rows.size == 0:
        return fast, offsets, np.zeros(0, dtype=np.uint8)

    def v(name: str) -> np.ndarray:
        """The column's values on the fast rows, the fragments' own where they have one."""
        values = _col(cols, name)[0].astype(np.int64)
        own = fragment.get(name)
        if own is not None:
            values = np.where(fragment["rows"], own, values)
        return np.ascontiguousarray(values[rows])

    is_v4 = v4[rows]
    addr_text, addr_off, (src, dst) = _addresses(cols, rows, is_v4)
    flags = v("tcp.flags")
    uniq, flag_index = np.unique(flags, return_inverse=True)
    flag_text, flag_off = _texts([tcpdump_flags(int(f)) for f in uniq.tolist()])
    seq, length = v("tcp.seq_raw"), v("tcp.len")
    ts_ns = rb.ts_ns[rows].astype(np.int64)
    out = np.empty(rows.size * MAX_LINE, dtype=np.uint8)
    tcp_here = is_tcp[rows]
    frame_numbers = rb.first_number + rows if numbers is None else numbers[rows]
    format_lines(number, frame_numbers.astype(np.int64), ts_ns // 1_000_000_000,
                 ts_ns % 1_000_000_000 // 1000, is_v4, src, dst, addr_text, addr_off,
                 np.where(tcp_here, v("tcp.srcport"), v("udp.srcport")),
                 np.where(tcp_here, v("tcp.dstport"), v("udp.dstport")),
                 tcp_here, flag_index.reshape(-1).astype(np.int64), flag_text, flag_off, flags, seq,
                 v("tcp.ack_raw"), v("tcp.window_size_value"), v("tcp.urgent_pointer"),
                 length, np.ascontiguousarray(options["ts"][rows]), v("tcp.options.timestamp.tsval"),
                 v("tcp.options.timestamp.tsecr"), np.ascontiguousarray(options["blocks"][rows]),
                 np.ascontiguousarray(options["edges"][rows]), v("udp.length") - 8,
                 np.ascontiguousarray(fragment["kind"][rows]), np.ascontiguousarray(fragment["aux1"][rows]),
                 np.ascontiguousarray(fragment["aux2"][rows]), out, offsets)
    return fast, offsets, out[:offsets[-1]]


def _fragments(rb: RecordBatch, cols: Columns) -> dict[str, np.ndarray]:
    """The IPv4 fragments whose line the columns give, as tcpdump prints a fragment (never
    reassembled): rows the columnar decoder found whole under a plain link layer (it says
    where their IP header is: FRAGMENT_IP_OFFSET). A later fragment is "ip-proto-N"; a
    first one shows the TCP or UDP header at its start, read here from the bytes within
    the fragment's IP length: a TCP header without options (the usual line, or one of
    tcp_print's complaints: cut, header length under 20 or over the segment's), a UDP
    header (its length field printed as is: the datagram's). Other first fragments (other
    protocols, TCP options, fewer than 4 bytes) are left to the dissectors.

    Returns n-row arrays: ``rows`` (taken here), ``is_tcp``, the kernel's ``kind``,
    ``aux1``, ``aux2`` and, on the rows taken, the values of the TCP and UDP columns
    the fragments do not have (``tcp.srcport``, ...)."""
    from pcapkit.cli import line_kernel as k
    from pcapkit.columnar.decode import FRAGMENT_IP_OFFSET

    n = cols.n
    out: dict[str, np.ndarray] = {name: np.zeros(n, dtype=np.int64) for name in (
        "kind", "aux1", "aux2", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "tcp.flags",
        "tcp.seq_raw", "tcp.ack_raw", "tcp.window_size_value", "tcp.urgent_pointer", "tcp.len", "udp.length")}
    taken = np.zeros(n, dtype=bool)
    is_tcp = np.zeros(n, dtype=bool)
    out["rows"], out["is_tcp"] = taken, is_tcp
    ip_at, has = _col(cols, FRAGMENT_IP_OFFSET)
    idx = np.nonzero(has & (rb.linktype >= 0) & _col(cols, "ip.src")[1] & _col(cols, "ip.len")[1])[0]
    if idx.size == 0:
        return out
    hl = _col(cols, "ip.hdr_len")[0][idx].astype(np.int64)
    size = _col(cols, "ip.len")[0][idx].astype(np.int64) - hl  # the fragment's payload (captured whole)
    proto = _col(cols, "ip.proto")[0][idx].astype(np.int64)
    later = _col(cols, "ip.frag_offset")[0][idx] != 0
    start = rb.data_off[idx].astype(np.int64) + ip_at[idx].astype(np.int64) + hl
    head = rb.buf[np.minimum(start[:, None] + np.arange(20), rb.buf.size - 1)].astype(np.int64)
    head[np.arange(20) >= size[:, None]] = 0  # (bytes past the fragment are not its)

    def word(at: int, width: int) -> np.ndarray:
        value = np.zeros(idx.size, dtype=np.int64)
        for i in range(at, at + width):
            value = (value << 8) | head[:, i]
        return value

    kind = np.full(idx.size, -1, dtype=np.int64)  # -1: left to the dissectors
    aux1 = np.zeros(idx.size, dtype=np.int64)
    aux2 = np.zeros(idx.size, dtype=np.int64)
    kind[later] = k.PROTOCOL_ONLY
    aux1[later] = proto[later]
    first = ~later & (size >= 4)
    tcp = first & (proto == 6)
    header = (head[:, 12] >> 4) * 4
    flags = word(12, 2) & 0xFFF
    kind[tcp & (size < 20)] = k.TCP_CUT
    whole = tcp & (size >= 20)
    short = whole & (header < 20)
    kind[short] = k.TCP_TOO_SHORT
    aux1[short], aux2[short] = size[short] - header[short], header[short]
    long = whole & (header > size)
    kind[long] = k.TCP_TOO_LONG
    aux1[long], aux2[long] = header[long], size[long]
    kind[whole & (header == 20)] = k.PLAIN
    udp = first & (proto == 17)
    ulen = word(4, 2)
    kind[udp & (size < 8)] = k.UDP_CUT
    aux1[udp & (size < 8)] = size[udp & (size < 8)]
    full = udp & (size >= 8)
    kind[full & (ulen < 8)] = k.UDP_BAD_LENGTH
    aux1[full & (ulen < 8)] = ulen[full & (ulen < 8)]
    kind[full & (ulen >= 8)] = k.PLAIN
    ok = kind >= 0
    rows = idx[ok]
    taken[rows] = True
    is_tcp[rows] = tcp[ok]
    out["kind"][rows], out["aux1"][rows], out["aux2"][rows] = kind[ok], aux1[ok], aux2[ok]
    for name, value in (("srcport", word(0, 2)), ("dstport", word(2, 2))):
        out[f"tcp.{name}"][rows] = value[ok]
        out[f"udp.{name}"][rows] = value[ok]
    out["tcp.flags"][rows] = flags[ok]
    out["tcp.seq_raw"][rows] = word(4, 4)[ok]
    out["tcp.ack_raw"][rows] = word(8, 4)[ok]
    out["tcp.window_size_value"][rows] = word(14, 2)[ok]
    out["tcp.urgent_pointer"][rows] = word(18, 2)[ok]
    out["tcp.len"][rows] = (size - 20)[ok]
    out["udp.length"][rows] = ulen[ok]
    return out


def _texts(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Texts laid end to end (UTF-8 bytes) and where each starts (plus the end)."""
    encoded = [t.encode("utf-8") for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def _udp_sane(cols: Columns, v4: np.ndarray) -> np.ndarray:
    """Rows whose UDP length is at least 8 and within the IP payload (tcpdump's plain line)."""
    ulen, has = _col(cols, "udp.length")
    ip_len, ihl = _col(cols, "ip.len")[0].astype(np.int64), _col(cols, "ip.hdr_len")[0].astype(np.int64)
    plen = _col(cols, "ipv6.plen")[0].astype(np.int64)
    payload = np.where(v4, ip_len - ihl, plen)
    u = ulen.astype(np.int64)
    return has & _col(cols, "udp.srcport")[1] & (u >= 8) & (u <= payload)


def _addresses(cols: Columns, rows: np.ndarray, is_v4: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                           tuple[np.ndarray, np.ndarray]]:
    """The distinct source and destination addresses' texts (see :func:`_texts`), and the
    index of each row's source and destination among them; each text is made once."""
    from pcapkit.fields import ipv4_text, ipv6_text

    texts: list[str] = []
    index = []
    for side in ("src", "dst"):
        at = np.zeros(rows.size, dtype=np.int64)
        if is_v4.any():
            uniq, inverse = np.unique(cols.values[f"ip.{side}"][rows[is_v4]], return_inverse=True)
            at[is_v4] = len(texts) + inverse.reshape(-1)
            texts += [ipv4_text(int(u).to_bytes(4, "big")) for u in uniq.tolist()]
        if not is_v4.all():
            r6 = rows[~is_v4]
            pairs = np.stack([cols.values[f"ipv6.{side}.hi"][r6], cols.values[f"ipv6.{side}.lo"][r6]], axis=1)
            uniq6, inverse6 = np.unique(pairs, axis=0, return_inverse=True)
            at[~is_v4] = len(texts) + inverse6.reshape(-1)
            texts += [ipv6_text(int(h).to_bytes(8, "big") + int(lo).to_bytes(8, "big")) for h, lo in uniq6.tolist()]
        index.append(at)
    text, offsets = _texts(texts)
    return text, offsets, (index[0], index[1])


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
