"""One pcap file cut into byte ranges that start on record boundaries, so that several
workers can read one big capture.

A pcap file has no index: the record that follows an arbitrary offset is found as
RAPCAP and libpcapnav find it. A position is taken for a record header when the header
is plausible (captured length within the snapshot length, wire length at least the
captured length, the fraction of a second below one second, a time stamp within a day
before the first record and ten years after it) and the ``CHAIN`` headers it leads to,
one after the other, are plausible too (or the chain ends exactly at the end of the
file). Only plain (uncompressed) pcap files can be cut; :func:`byte_ranges` and
:func:`ranges_cut_at` give one range for anything else.
"""

from __future__ import annotations

import itertools
import mmap
import os
import struct
from collections.abc import Sequence

from pcapkit.capture.linktypes import max_snaplen
from pcapkit.capture.pcap import FILE_HEADER_LEN, MAGICS, parse_file_header

CHAIN = 8                      # headers after the candidate that must chain up
EARLIEST = 86_400              # seconds before the first record a record may be stamped
LATEST = 10 * 365 * 86_400     # seconds after it


class _Header:
    def __init__(self, mm: mmap.mmap, path: str) -> None:
        h = parse_file_header(bytes(mm[:FILE_HEADER_LEN]), path)
        self.e = h.byte_order
        self.hdrlen = h.record_header_len
        most = max_snaplen(h.linktype)
        self.limit = h.snaplen if 0 < h.snaplen <= most else most
        self.frac_max = 1_000_000_000 if h.nanosecond else 1_000_000
        self.size = len(mm)
        first = self.fields(mm, FILE_HEADER_LEN)
        self.t0 = first[0] if first is not None else 0

    def fields(self, mm: mmap.mmap, pos: int) -> tuple[int, int, int, int] | None:
        if pos + 16 > self.size:
            return None
        sec, frac, incl, orig = struct.unpack_from(self.e + "IIII", mm, pos)
        return sec, frac, incl, orig

    def plausible(self, mm: mmap.mmap, pos: int) -> int:
        """The position of the next record when ``pos`` holds a plausible header, else -1."""
        f = self.fields(mm, pos)
        if f is None:
            return -1
        sec, frac, incl, orig = f
        if incl > self.limit or orig < incl or frac >= self.frac_max:
            return -1
        if not self.t0 - EARLIEST <= sec <= self.t0 + LATEST:
            return -1
        nxt = pos + self.hdrlen + incl
        return nxt if nxt <= self.size else -1


def next_record(mm: mmap.mmap, header: _Header, offset: int) -> int:
    """The first position at or after ``offset`` that starts a chain of plausible record
    headers (the file size when there is none)."""
    start = max(offset, FILE_HEADER_LEN)
    stop = min(header.size, start + header.limit + header.hdrlen + 1)
    for pos in range(start, stop):
        at = pos
        for _ in range(CHAIN + 1):
            nxt = header.plausible(mm, at)
            if nxt < 0:
                break
            at = nxt
            if at == header.size:
                return pos  # the chain ends exactly at the end of the file
        else:
            return pos
    return header.size


def byte_ranges(path: str, parts: int) -> list[tuple[int, int]]:
    """``(start, end)`` byte ranges of the records of ``path`` in about ``parts`` equal
    pieces, each starting on a record boundary (one range: the whole file after its
    header; None of the ranges is empty). A file that is not plain pcap: one range,
    ``(0, size)``."""
    size = os.path.getsize(path)
    return ranges_cut_at(path, [FILE_HEADER_LEN + (size - FILE_HEADER_LEN) * i // parts
                                for i in range(1, max(1, parts))])


def ranges_cut_at(path: str, offsets: Sequence[int]) -> list[tuple[int, int]]:
    """``(start, end)`` byte ranges of the records of ``path``, cut at the first record
    boundary at or after each of ``offsets`` (ascending; a cut that would leave a range
    empty is dropped). A file that is not plain pcap: one range, ``(0, size)``."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if size <= FILE_HEADER_LEN or f.read(4) not in MAGICS:
            return [(0, size)]
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            header = _Header(mm, path)
            cuts = [FILE_HEADER_LEN]
            for offset in offsets:
                at = next_record(mm, header, offset)
                if at > cuts[-1] and at < size:
                    cuts.append(at)
    cuts.append(size)
    return list(itertools.pairwise(cuts))
