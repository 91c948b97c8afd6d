"""Record offsets of a pcap / pcapng file, found in large batches.

The file is read in chunks of ``chunk_bytes`` (gzip files are decompressed chunk by
chunk); every chunk becomes one ``numpy.uint8`` array and the records inside it are
located by a tight sequential walk that writes into preallocated numpy arrays. The
walk is compiled with numba when numba is installed (``cache=True``); otherwise a
pure-Python ``struct`` loop gives the same answer. No per-packet Python object is
built: a :class:`RecordBatch` holds the chunk plus columns (data offset, caplen,
wirelen, timestamp in ns, link type, interface id).

Memory is bounded by the chunk size: a record that crosses the chunk end is carried
into the next chunk (the chunk grows only when one record is bigger than it).

Errors are :class:`pcapkit.errors.CaptureFileError` subclasses carrying the path and
the byte offset (in the decompressed stream). Records before the error are delivered
first; the error is raised when the walk reaches it.
"""

from __future__ import annotations

import contextlib
import gzip
import mmap
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from pcapkit.errors import (
    CaptureFileError,
    MalformedRecordError,
    TruncatedFileError,
    UnknownFormatError,
    UnsupportedVersionError,
)

# pcap magic numbers (as read little-endian)
PCAP_US = 0xA1B2C3D4
PCAP_NS = 0xA1B23C4D
PCAP_KUZNETZOV = 0xA1B2CD34
PCAPNG_SHB = 0x0A0D0D0A
BYTE_ORDER_MAGIC = 0x1A2B3C4D

NO_TIME = np.iinfo(np.int64).min  # becomes NaT: the record has no timestamp
MAX_CAPLEN = 0x4000000  # 64 MiB: larger record lengths are taken as corruption
DEFAULT_CHUNK_BYTES = 32 << 20

ProgressCallback = Callable[[int, int], None]  # (packets done, bytes done)


@dataclass(slots=True)
class RecordBatch:
    """Records located in one chunk. ``data_off`` indexes ``buf``."""

    buf: np.ndarray            # uint8, the chunk
    data_off: np.ndarray       # int64, start of each record's captured bytes in buf
    caplen: np.ndarray         # int64
    wirelen: np.ndarray        # int64
    ts_ns: np.ndarray          # int64 ns since the epoch
    linktype: np.ndarray       # int32 LINKTYPE_* per record
    interface_id: np.ndarray   # int32 (pcapng interface index; 0 for pcap)
    first_number: int          # frame.number of the first record (1-based)
    end_offset: int = 0        # bytes of the (decompressed) file consumed after this batch
    pcapng: bool = False       # records come from a pcapng file (frame.interface_id exists)

    def __len__(self) -> int:
        return int(self.data_off.shape[0])


# --------------------------------------------------------------------------------------
# the walk kernels: numba when available, else struct loops (same results)

def _walk_pcap_np(buf: np.ndarray, pos: Any, big: bool, hdrlen: int, swap: int,
                  max_n: int, off: np.ndarray, sec: np.ndarray, frac: np.ndarray,
                  cap: np.ndarray, wlen: np.ndarray) -> tuple[int, int, int]:
    """Walk pcap records from ``pos``; returns (count, next pos, status).
    status 0: stopped at the end of complete records or max_n; 1: absurd caplen at pos."""
    end = buf.shape[0]
    n = 0
    while n < max_n and pos + hdrlen <= end:
        if big:
            a = (np.int64(buf[pos]) << 24) | (np.int64(buf[pos + 1]) << 16) | (np.int64(buf[pos + 2]) << 8) | np.int64(buf[pos + 3])
            b = (np.int64(buf[pos + 4]) << 24) | (np.int64(buf[pos + 5]) << 16) | (np.int64(buf[pos + 6]) << 8) | np.int64(buf[pos + 7])
            c = (np.int64(buf[pos + 8]) << 24) | (np.int64(buf[pos + 9]) << 16) | (np.int64(buf[pos + 10]) << 8) | np.int64(buf[pos + 11])
            d = (np.int64(buf[pos + 12]) << 24) | (np.int64(buf[pos + 13]) << 16) | (np.int64(buf[pos + 14]) << 8) | np.int64(buf[pos + 15])
        else:
            a = np.int64(buf[pos]) | (np.int64(buf[pos + 1]) << 8) | (np.int64(buf[pos + 2]) << 16) | (np.int64(buf[pos + 3]) << 24)
            b = np.int64(buf[pos + 4]) | (np.int64(buf[pos + 5]) << 8) | (np.int64(buf[pos + 6]) << 16) | (np.int64(buf[pos + 7]) << 24)
            c = np.int64(buf[pos + 8]) | (np.int64(buf[pos + 9]) << 8) | (np.int64(buf[pos + 10]) << 16) | (np.int64(buf[pos + 11]) << 24)
            d = np.int64(buf[pos + 12]) | (np.int64(buf[pos + 13]) << 8) | (np.int64(buf[pos + 14]) << 16) | (np.int64(buf[pos + 15]) << 24)
        if swap == 1 or (swap == 2 and c > d):
            c, d = d, c
        if c > MAX_CAPLEN:
            return n, pos, 1
        if pos + hdrlen + c > end:
            break
        off[n] = pos + hdrlen
        sec[n] = a
        frac[n] = b
        cap[n] = c
        wlen[n] = d
        n += 1
        pos += hdrlen + c
    return n, pos, 0


def _walk_pcap_struct(buf: np.ndarray, pos: int, big: bool, hdrlen: int, swap: int,
                      max_n: int, off: np.ndarray, sec: np.ndarray, frac: np.ndarray,
                      cap: np.ndarray, wlen: np.ndarray) -> tuple[int, int, int]:
    mv = memoryview(buf)  # type: ignore[arg-type]
    unpack = struct.Struct(">IIII" if big else "<IIII").unpack_from
    end = buf.shape[0]
    n = 0
    offs: list[int] = []
    rows: list[tuple[int, int, int, int]] = []
    status = 0
    while n < max_n and pos + hdrlen <= end:
        a, b, c, d = unpack(mv, pos)
        if swap == 1 or (swap == 2 and c > d):
            c, d = d, c
        if c > MAX_CAPLEN:
            status = 1
            break
        if pos + hdrlen + c > end:
            break
        offs.append(pos + hdrlen)
        rows.append((a, b, c, d))
        n += 1
        pos += hdrlen + c
    if n:
        off[:n] = offs
        arr = np.array(rows, dtype=np.int64)
        sec[:n] = arr[:, 0]
        frac[:n] = arr[:, 1]
        cap[:n] = arr[:, 2]
        wlen[:n] = arr[:, 3]
    return n, pos, status


def _walk_epb_np(buf: np.ndarray, pos: int, big: bool, max_n: int, off: np.ndarray,
                 iface: np.ndarray, tsraw: np.ndarray, cap: np.ndarray,
                 wlen: np.ndarray) -> tuple[int, int, int]:
    """Walk consecutive pcapng Enhanced Packet Blocks from ``pos``; stops at any other
    block (status 0), at an incomplete block (status 0) or a bad EPB (status 1)."""
    end = buf.shape[0]
    n = 0
    v = np.zeros(7, dtype=np.int64)
    while n < max_n and pos + 28 <= end:
        for k in range(7):
            p = pos + 4 * k
            if big:
                v[k] = (np.int64(buf[p]) << 24) | (np.int64(buf[p + 1]) << 16) | (np.int64(buf[p + 2]) << 8) | np.int64(buf[p + 3])
            else:
                v[k] = np.int64(buf[p]) | (np.int64(buf[p + 1]) << 8) | (np.int64(buf[p + 2]) << 16) | (np.int64(buf[p + 3]) << 24)
        if v[0] != 6:
            break
        blen = v[1]
        if pos + blen > end:
            break
        c = v[5]
        if blen < 32 or blen % 4 != 0 or c > blen - 32:
            return n, pos, 1
        off[n] = pos + 28
        iface[n] = v[2]
        tsraw[n] = (v[3] << 32) | v[4]
        cap[n] = c
        wlen[n] = v[6]
        n += 1
        pos += blen
    return n, pos, 0


def _walk_epb_struct(buf: np.ndarray, pos: int, big: bool, max_n: int, off: np.ndarray,
                     iface: np.ndarray, tsraw: np.ndarray, cap: np.ndarray,
                     wlen: np.ndarray) -> tuple[int, int, int]:
    mv = memoryview(buf)  # type: ignore[arg-type]
    unpack = struct.Struct(">7I" if big else "<7I").unpack_from
    end = buf.shape[0]
    n = 0
    status = 0
    while n < max_n and pos + 28 <= end:
        btype, blen, ifc, hi, lo, c, w = unpack(mv, pos)
        if btype != 6 or pos + blen > end:
            break
        if blen < 32 or blen % 4 != 0 or c > blen - 32:
            status = 1
            break
        off[n] = pos + 28
        iface[n] = ifc
        tsraw[n] = (hi << 32) | lo if hi < 0x80000000 else ((hi << 32) | lo) - (1 << 64)
        cap[n] = c
        wlen[n] = w
        n += 1
        pos += blen
    return n, pos, status


def _gather_rows_np(buf: np.ndarray, start: np.ndarray, width: int, out: np.ndarray) -> None:
    """out[i, :] = buf[start[i]:start[i] + width] (a compiled loop of small copies)."""
    for i in range(start.shape[0]):
        s = start[i]
        for k in range(width):
            out[i, k] = buf[s + k]


_GATHER: Any = None


def gather_rows(buf: np.ndarray, start: np.ndarray, width: int) -> np.ndarray:
    """The (len(start), width) matrix of ``width`` bytes at each start: numba's loop when
    numba is installed, else rows of a sliding-window view (same result)."""
    global _GATHER
    if _GATHER is None:
        try:
            import numba

            _GATHER = numba.njit(cache=True, nogil=True)(_gather_rows_np)
        except ImportError:
            _GATHER = False
    if _GATHER is False or start.shape[0] < 64:
        return np.lib.stride_tricks.sliding_window_view(buf, width)[start]
    out = np.empty((start.shape[0], width), dtype=np.uint8)
    _GATHER(buf, start, width, out)
    return out


def _compile() -> tuple[Any, Any, bool]:
    try:
        import numba
    except ImportError:
        return _walk_pcap_struct, _walk_epb_struct, False
    pcap = numba.njit(cache=True, nogil=True)(_walk_pcap_np)
    epb = numba.njit(cache=True, nogil=True)(_walk_epb_np)
    return pcap, epb, True


_KERNELS: tuple[Any, Any, bool] | None = None


def kernels(use_numba: bool | None = None) -> tuple[Any, Any]:
    """(pcap walk, EPB walk): the numba ones when numba is importable and allowed."""
    global _KERNELS
    if use_numba is False:
        return _walk_pcap_struct, _walk_epb_struct
    if _KERNELS is None:
        _KERNELS = _compile()
    return _KERNELS[0], _KERNELS[1]


def have_numba() -> bool:
    if _KERNELS is None:
        kernels()
    assert _KERNELS is not None
    return _KERNELS[2]


# --------------------------------------------------------------------------------------
# the byte stream

class _Stream:
    """A byte stream read in chunks, with the bytes not yet consumed kept in front.

    ``buf`` holds the unconsumed bytes read so far. Plain files are memory-mapped and
    ``buf`` is a zero-copy window on the mapping (pages already consumed are given
    back with ``madvise(MADV_DONTNEED)``, so resident memory stays bounded); gzip
    files are decompressed chunk by chunk into ``bytes``.
    """

    def __init__(self, path: str, chunk_bytes: int) -> None:
        self.path = path
        self.chunk_bytes = chunk_bytes
        self.base = 0        # stream offset of buf[0]
        self.eof = False
        self.mm: mmap.mmap | None = None
        self.size = 0
        self.end = 0         # mmap mode: stream offset of the end of buf
        self.released = 0    # mmap mode: bytes before this offset were given back
        raw = open(path, "rb")  # noqa: SIM115 - closed in close()
        head = raw.read(2)
        raw.seek(0)
        self.f: IO[bytes] = raw
        self.buf: bytes | memoryview = b""
        if head == b"\x1f\x8b":
            self.f = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
            self.raw: IO[bytes] | None = raw
            return
        self.raw = None
        self.size = os.fstat(raw.fileno()).st_size
        if self.size > 0:
            try:
                self.mm = mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):
                self.mm = None

    def fill(self, need: int = 0) -> None:
        """Read one more chunk (at least ``need`` bytes more if possible)."""
        want = max(self.chunk_bytes, need)
        if self.mm is not None:
            if self.end >= self.size:
                self.eof = True
                return
            self.end = min(self.size, self.end + want)
            self.buf = memoryview(self.mm)[self.base:self.end]
            return
        try:
            data = self.f.read(want)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise TruncatedFileError(f"compressed data is damaged ({exc})", path=self.path,
                                     offset=self.base + len(self.buf)) from None
        if not data:
            self.eof = True
        self.buf = bytes(self.buf) + data if len(self.buf) else data

    def ensure(self, n: int) -> bool:
        while len(self.buf) < n and not self.eof:
            self.fill(n - len(self.buf))
        return len(self.buf) >= n

    def consume(self, n: int) -> None:
        self.base += n
        if self.mm is not None:
            self.buf = memoryview(self.mm)[self.base:self.end]
            # give back what is consumed (whole pages, in large steps)
            done = (self.base // mmap.PAGESIZE) * mmap.PAGESIZE
            if done - self.released >= (64 << 20) and hasattr(self.mm, "madvise"):
                self.mm.madvise(mmap.MADV_DONTNEED, self.released, done - self.released)
                self.released = done
        else:
            self.buf = self.buf[n:]

    def close(self) -> None:
        self.buf = b""
        if self.mm is not None:
            # numpy views of the last batch may still be alive; then the GC unmaps it
            with contextlib.suppress(BufferError):
                self.mm.close()
        self.f.close()
        if self.raw is not None:
            self.raw.close()


# --------------------------------------------------------------------------------------
# pcap

def _fraction_ns(frac: np.ndarray, ns_scale: int) -> np.ndarray:
    """Nanoseconds of the records' sub-second fields. An invalid fraction (>= 1 s) is kept
    in a signed 32-bit integer, as Wireshark (and :mod:`pcapkit.capture.pcap`) keep it."""
    nsecs = frac * ns_scale
    bad = frac >= (1_000_000_000 // ns_scale)
    if bad.any():
        wrapped = nsecs[bad] & 0xFFFFFFFF
        nsecs[bad] = np.where(wrapped >= 1 << 31, wrapped - (1 << 32), wrapped)
    return nsecs


def _pcap_batches(st: _Stream, max_packets: int, use_numba: bool | None) -> Iterator[RecordBatch]:
    head = st.buf[:24]
    if len(head) < 24:
        raise TruncatedFileError("file ends inside the pcap header", path=st.path, offset=len(head))
    magic_le = struct.unpack_from("<I", head)[0]
    magic_be = struct.unpack_from(">I", head)[0]
    if magic_le in (PCAP_US, PCAP_NS, PCAP_KUZNETZOV):
        big, magic = False, magic_le
    else:
        big, magic = True, magic_be
    e = ">" if big else "<"
    major, minor, _zone, _sigfigs, _snaplen, network = struct.unpack_from(e + "HHiIII", head, 4)
    if major != 2:
        raise UnsupportedVersionError(f"pcap version {major}.{minor} is not supported",
                                      path=st.path, offset=4)
    if network & 0x03FF0000:
        raise UnsupportedVersionError(f"pcap link-type field 0x{network:08x} has reserved bits set",
                                      path=st.path, offset=20)
    linktype = network & 0xFFFF
    hdrlen = 24 if magic == PCAP_KUZNETZOV else 16
    ns_scale = 1 if magic == PCAP_NS else 1000
    swap = 1 if minor < 3 else (2 if minor == 3 else 0)
    st.consume(24)
    walk, _ = kernels(use_numba)
    number = 1
    while True:
        arr = np.frombuffer(st.buf, dtype=np.uint8)
        cap_n = max(1, min(max_packets, arr.shape[0] // 16 + 1))
        off = np.empty(cap_n, np.int64)
        sec = np.empty(cap_n, np.int64)
        frac = np.empty(cap_n, np.int64)
        cap = np.empty(cap_n, np.int64)
        wlen = np.empty(cap_n, np.int64)
        n, pos, status = walk(arr, 0, big, hdrlen, swap, cap_n, off, sec, frac, cap, wlen)
        if n:
            ts = sec[:n] * 1_000_000_000 + _fraction_ns(frac[:n], ns_scale)
            yield RecordBatch(arr, off[:n], cap[:n], wlen[:n], ts,
                              np.full(n, linktype, np.int32), np.zeros(n, np.int32), number,
                              st.base + pos)
            number += n
        if status == 1:
            raise MalformedRecordError("record caplen larger than 64 MiB (corrupt record header)",
                                       path=st.path, offset=st.base + pos)
        st.consume(pos)
        if n == cap_n and len(st.buf) >= hdrlen:
            continue  # stopped at max_packets with records left in the chunk
        if st.eof:
            if st.buf:
                raise TruncatedFileError(
                    "file ends in the middle of a packet record", path=st.path, offset=st.base)
            return
        need = hdrlen
        if len(st.buf) >= 16:
            c, d = struct.unpack_from(e + "II", st.buf, 8)
            if swap == 1 or (swap == 2 and c > d):
                c = d
            need = hdrlen + c
        st.fill(need - len(st.buf))


# --------------------------------------------------------------------------------------
# pcapng

@dataclass(slots=True)
class _Iface:
    linktype: int
    snaplen: int
    tsresol: int = 6        # exponent; negative: binary (2^-k encoded as -k-1000)
    binary: bool = False
    tsoffset: int = 0       # seconds


@dataclass(slots=True)
class _Section:
    big: bool
    ifaces: list[_Iface] = field(default_factory=list)


def _options(body: bytes | memoryview, big: bool) -> Iterator[tuple[int, bytes | memoryview]]:
    e = ">" if big else "<"
    p = 0
    while p + 4 <= len(body):
        code, length = struct.unpack_from(e + "HH", body, p)
        if code == 0:
            return
        value = body[p + 4:p + 4 + length]
        if len(value) < length:
            raise ValueError(f"option of length {length} runs past the block")
        yield code, value
        p += 4 + ((length + 3) & ~3)


def _ts_to_ns(raw: np.ndarray, iface: _Iface) -> np.ndarray:
    raw = raw.astype(np.uint64)
    if iface.binary:
        k = iface.tsresol
        whole = (raw >> np.uint64(k)).astype(np.int64) * 1_000_000_000
        part = ((raw & np.uint64((1 << k) - 1)) * np.uint64(1_000_000_000)) >> np.uint64(k)
        ns = whole + part.astype(np.int64)
    else:
        k = iface.tsresol
        if k <= 9:
            ns = raw.astype(np.int64) * (10 ** (9 - k))
        else:
            ns = (raw // np.uint64(10 ** (k - 9))).astype(np.int64)
    if iface.tsoffset:
        ns = ns + iface.tsoffset * 1_000_000_000
    return ns


def _pcapng_batches(st: _Stream, max_packets: int, use_numba: bool | None) -> Iterator[RecordBatch]:
    _, walk_epb = kernels(use_numba)
    section: _Section | None = None
    number = 1
    while True:
        if not st.ensure(8):
            if st.buf:
                raise TruncatedFileError("file ends inside a block header", path=st.path, offset=st.base)
            return
        head = st.buf[:12] if len(st.buf) >= 12 else st.buf
        btype_le = struct.unpack_from("<I", head)[0]
        if btype_le == PCAPNG_SHB:
            if not st.ensure(12):
                raise TruncatedFileError("file ends inside a section header", path=st.path, offset=st.base)
            bom = struct.unpack_from("<I", st.buf, 8)[0]
            if bom == BYTE_ORDER_MAGIC:
                big = False
            elif bom == 0x4D3C2B1A:
                big = True
            else:
                raise UnknownFormatError("pcapng section header has a bad byte-order magic",
                                         path=st.path, offset=st.base + 8)
        elif section is None:
            raise UnknownFormatError("pcapng file does not start with a section header",
                                     path=st.path, offset=st.base)
        else:
            big = section.big
        e = ">" if big else "<"
        btype, blen = struct.unpack_from(e + "II", st.buf, 0)
        if blen < 12 or blen % 4 != 0:
            raise MalformedRecordError(f"pcapng block length {blen} is invalid", path=st.path,
                                       offset=st.base + 4)
        if blen > MAX_CAPLEN + 4096:
            raise MalformedRecordError(f"pcapng block length {blen} is too large", path=st.path,
                                       offset=st.base + 4)
        if btype == 6 and section is not None:
            # a run of EPBs: the kernel walks as many as the chunk holds
            if not st.ensure(blen):
                raise TruncatedFileError("file ends in the middle of a packet block", path=st.path,
                                         offset=st.base)
            arr = np.frombuffer(st.buf, dtype=np.uint8)
            cap_n = max(1, min(max_packets, arr.shape[0] // 32 + 1))
            off = np.empty(cap_n, np.int64)
            ifc = np.empty(cap_n, np.int64)
            tsraw = np.empty(cap_n, np.int64)
            cap = np.empty(cap_n, np.int64)
            wlen = np.empty(cap_n, np.int64)
            n, pos, status = walk_epb(arr, 0, big, cap_n, off, ifc, tsraw, cap, wlen)
            if n:
                yield _epb_batch(st, section, arr, off[:n], ifc[:n], tsraw[:n], cap[:n], wlen[:n],
                                 number, st.base + pos)
                number += n
            if status == 1:
                raise MalformedRecordError("enhanced packet block is inconsistent (captured length "
                                           "exceeds block)", path=st.path, offset=st.base + pos)
            st.consume(pos)
            continue
        if not st.ensure(blen):
            raise TruncatedFileError("file ends in the middle of a block", path=st.path, offset=st.base)
        block = st.buf[:blen]
        body = block[8:blen - 4]
        try:
            if btype == PCAPNG_SHB:
                major, minor = struct.unpack_from(e + "HH", body, 4)
                if not (major == 1 and minor in (0, 2)):
                    raise UnsupportedVersionError(f"pcapng section version {major}.{minor} is not supported",
                                                  path=st.path, offset=st.base + 12)
                list(_options(body[16:], big))
                section = _Section(big)
            elif section is None:
                raise UnknownFormatError("pcapng block before the section header", path=st.path,
                                         offset=st.base)
            elif btype == 1:
                lt, _res, snap = struct.unpack_from(e + "HHI", body, 0)
                iface = _Iface(lt, snap)
                for code, value in _options(body[8:], big):
                    if code == 9 and value:
                        v = value[0]
                        iface.binary = bool(v & 0x80)
                        iface.tsresol = v & 0x7F
                    elif code == 14 and len(value) >= 8:
                        iface.tsoffset = struct.unpack_from(e + "q", value)[0]
                section.ifaces.append(iface)
            elif btype in (3, 2):
                if btype == 3:
                    wire = struct.unpack_from(e + "I", body, 0)[0]
                    ifc0 = 0
                    if not section.ifaces:
                        raise MalformedRecordError("simple packet block without an interface",
                                                   path=st.path, offset=st.base)
                    snap = section.ifaces[0].snaplen or 0xFFFFFFFF
                    c = min(wire, snap, len(body) - 4)
                    doff = 12
                    raw_ts = None
                else:
                    ifc0, _drops, hi, lo, c, wire = struct.unpack_from(e + "HHIIII", body, 0)
                    doff = 28
                    raw_ts = (hi << 32) | lo
                    if c > len(body) - 20:
                        raise MalformedRecordError("packet block captured length exceeds block",
                                                   path=st.path, offset=st.base)
                arr = np.frombuffer(block, dtype=np.uint8)
                ifc_arr = np.array([ifc0], np.int64)
                ts_arr = np.array([0 if raw_ts is None else raw_ts], np.uint64).view(np.int64)
                batch = _epb_batch(st, section, arr, np.array([doff], np.int64), ifc_arr, ts_arr,
                                   np.array([c], np.int64), np.array([wire], np.int64), number,
                                   st.base + blen)
                if raw_ts is None:
                    batch.ts_ns[:] = NO_TIME  # simple packet blocks carry no timestamp
                yield batch
                number += 1
            elif btype in (0xBAD, 0x40000BAD):
                # custom blocks: tshark 4.0 shows each as a frame of its data (no time, no
                # interface); we keep them as rows so frame numbers agree
                size = blen - 16
                arr = np.frombuffer(block, dtype=np.uint8)
                one = np.ones(1, np.int64)
                yield RecordBatch(arr, one * 12, one * size, one * size, one * NO_TIME,
                                  np.full(1, -1, np.int32), np.full(1, -1, np.int32), number,
                                  st.base + blen, pcapng=True)
                number += 1
            # other blocks (NRB, ISB, custom, DSB, ...) carry no packets
        except (struct.error, ValueError) as exc:
            raise MalformedRecordError(f"pcapng block type 0x{btype:x} is damaged ({exc})",
                                       path=st.path, offset=st.base) from None
        st.consume(blen)


def _epb_batch(st: _Stream, section: _Section, arr: np.ndarray, off: np.ndarray, ifc: np.ndarray,
               tsraw: np.ndarray, cap: np.ndarray, wlen: np.ndarray, number: int,
               end_offset: int) -> RecordBatch:
    n = off.shape[0]
    nif = len(section.ifaces)
    if nif == 0 or int(ifc.max()) >= nif:
        bad = int(ifc.max())
        raise MalformedRecordError(f"packet refers to interface {bad}, but only {nif} are defined",
                                   path=st.path, offset=end_offset)
    lt_table = np.array([i.linktype for i in section.ifaces], np.int32)
    ts = np.empty(n, np.int64)
    if nif == 1:
        ts[:] = _ts_to_ns(tsraw, section.ifaces[0])
    else:
        for k, iface in enumerate(section.ifaces):
            sel = ifc == k
            if sel.any():
                ts[sel] = _ts_to_ns(tsraw[sel], iface)
    return RecordBatch(arr, off, cap, wlen, ts, lt_table[ifc], ifc.astype(np.int32), number, end_offset,
                       pcapng=True)


# --------------------------------------------------------------------------------------

def iter_records(path: str, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES, max_packets: int = 1 << 20,
                 use_numba: bool | None = None) -> Iterator[RecordBatch]:
    """Batches of records of a pcap / pcapng (optionally gzip-compressed) file, in order."""
    try:
        st = _Stream(path, chunk_bytes)
    except OSError as exc:
        raise CaptureFileError(exc.strerror or str(exc), path=path) from None
    try:
        st.ensure(4)
        if len(st.buf) < 4:
            raise TruncatedFileError("file is too short to be a capture file", path=path, offset=0)
        magic_le = struct.unpack_from("<I", st.buf)[0]
        magic_be = struct.unpack_from(">I", st.buf)[0]
        if magic_le == PCAPNG_SHB:
            yield from _pcapng_batches(st, max_packets, use_numba)
        elif magic_le in (PCAP_US, PCAP_NS, PCAP_KUZNETZOV) or magic_be in (PCAP_US, PCAP_NS, PCAP_KUZNETZOV):
            st.ensure(24)
            yield from _pcap_batches(st, max_packets, use_numba)
        else:
            st.close()
            yield from _reader_batches(path, max_packets, magic_be)
    finally:
        st.close()


def _reader_batches(path: str, max_packets: int, magic: int) -> Iterator[RecordBatch]:
    """Other formats (Sun snoop, ERF) through :mod:`pcapkit.capture.files`, in batches."""
    try:
        from pcapkit.capture.files import open_capture
    except ImportError:
        raise UnknownFormatError(f"unknown capture format (magic 0x{magic:08x}); "
                                 "pcapkit columnar reads pcap and pcapng", path=path, offset=0) from None
    chunk: list[Any] = []
    number = 1
    # ERF records carry an interface (frame.interface_id), as pcapng's do
    with open_capture(path) as reader:
        has_if = reader.format == "erf"
        for frame in reader:
            chunk.append(frame)
            if len(chunk) >= max_packets:
                yield _frames_batch(chunk, number, has_if)
                number += len(chunk)
                chunk = []
    if chunk:
        yield _frames_batch(chunk, number, has_if)


def _frames_batch(frames: list[Any], number: int, has_interface: bool = False) -> RecordBatch:
    data = [f.data for f in frames]
    cap = np.array([len(d) for d in data], dtype=np.int64)
    off = np.zeros(len(data), dtype=np.int64)
    if len(data) > 1:
        off[1:] = np.cumsum(cap)[:-1]
    buf = np.frombuffer(b"".join(data), dtype=np.uint8)
    return RecordBatch(buf, off, cap, np.array([f.wirelen for f in frames], np.int64),
                       np.array([f.ts_ns for f in frames], np.int64),
                       np.array([f.linktype for f in frames], np.int32),
                       np.array([f.interface_id for f in frames], np.int32), number, 0, pcapng=has_interface)
