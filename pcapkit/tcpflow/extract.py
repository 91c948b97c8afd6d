"""Frames -> TCP segments: a fast, minimal parser for the TCP flow engine.

Link layers: Ethernet (with 802.1Q/802.1ad/QinQ tags, MPLS, and 802.3 + LLC/SNAP),
Linux SLL and SLL2, raw IP (101, 228, 229, 12/14), BSD null/loopback (0, 108), PPP (9,
50), Cisco HDLC (104), FDDI (10), Token Ring (6), IP over InfiniBand (242), radiotap +
802.11 data (127), Juniper Ethernet (178). IP-in-IP tunnels are followed to the
innermost IP header. Then IPv4 (options skipped; only unfragmented packets and
first fragments carry a TCP header) or IPv6 (extension headers skipped), then the TCP
header and its options (MSS, window scale, SACK permitted, SACK blocks, timestamps).

``seglen`` is the IP payload length minus the TCP header length, computed from the IP
length fields, so it is right on snapped captures (as Wireshark's tcp.len).

Frames come from :func:`pcapkit.capture.files.open_capture` when it is available; a
small built-in pcap/pcapng reader is used otherwise. Any iterable of
:class:`pcapkit.frame.Frame` is accepted too.
"""

from __future__ import annotations

import gzip
import importlib
import socket
import struct
from collections.abc import Iterable, Iterator
from os import PathLike
from pathlib import Path
from typing import Any

from pcapkit.frame import Frame
from pcapkit.tcpflow.segment import Segment

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_TCP = struct.Struct("!HHIIBBHHH")

_ETHER_IPV4, _ETHER_IPV6 = 0x0800, 0x86DD
_VLAN_TYPES = frozenset((0x8100, 0x88A8, 0x9100, 0x9200))


def _ipv4_text(b: bytes) -> str:
    return "%d.%d.%d.%d" % (b[0], b[1], b[2], b[3])  # noqa: UP031 - fastest for 4 bytes


_addr_cache: dict[bytes, str] = {}


def _ipv6_text(b: bytes) -> str:
    s = _addr_cache.get(b)
    if s is None:
        s = socket.inet_ntop(socket.AF_INET6, b)
        if len(_addr_cache) < 65536:
            _addr_cache[b] = s
    return s


def _ether_payload(data: bytes, off: int) -> tuple[int, int]:
    """(ethertype, offset of the payload) after an Ethernet header at ``off``; -1 if none."""
    n = len(data)
    if n < off + 14:
        return -1, 0
    etype = (data[off + 12] << 8) | data[off + 13]
    off += 14
    while etype in _VLAN_TYPES:
        if n < off + 4:
            return -1, 0
        etype = (data[off + 2] << 8) | data[off + 3]
        off += 4
    if etype <= 1500:  # 802.3 length: LLC (+ SNAP)
        if n >= off + 8 and data[off] == 0xAA and data[off + 1] == 0xAA:
            return (data[off + 6] << 8) | data[off + 7], off + 8
        return -1, 0
    return etype, off


def _mpls(data: bytes, proto: int, off: int) -> tuple[int, int]:
    """Skip an MPLS label stack (ethertype 0x8847/0x8848); the payload's version nibble says IPv4/6."""
    if proto not in (0x8847, 0x8848):
        return proto, off
    n = len(data)
    while off + 4 <= n:
        bottom = data[off + 2] & 0x01
        off += 4
        if bottom:
            if off < n:
                v = data[off] >> 4
                return (_ETHER_IPV4 if v == 4 else _ETHER_IPV6 if v == 6 else -1), off
            break
    return -1, 0


def _radiotap_80211(data: bytes) -> tuple[int, int]:
    """Radiotap + 802.11 data frame + LLC/SNAP -> (ethertype, offset)."""
    if len(data) < 4:
        return -1, 0
    off = data[2] | (data[3] << 8)
    if len(data) < off + 24:
        return -1, 0
    fc0, fc1 = data[off], data[off + 1]
    if (fc0 >> 2) & 0x3 != 2 or fc1 & 0x40:  # not a data frame, or protected
        return -1, 0
    subtype = fc0 >> 4
    if subtype & 0x4:  # null-function data: no payload
        return -1, 0
    hl = 24
    if fc1 & 0x3 == 0x3:
        hl += 6
    if subtype & 0x8:  # QoS
        hl += 2
        if fc1 & 0x80:
            hl += 4
    off += hl
    if len(data) >= off + 8 and data[off] == 0xAA and data[off + 1] == 0xAA:
        return (data[off + 6] << 8) | data[off + 7], off + 8
    return -1, 0


def network_start(linktype: int, data: bytes, wirelen: int | None = None) -> tuple[int, int]:
    """(ethertype-like network protocol, offset) for a frame; (-1, 0) when not IP."""
    if linktype == 1:
        etype, off = _ether_payload(data, 0)
        return _mpls(data, etype, off) if etype in (0x8847, 0x8848) else (etype, off)
    if linktype == 197:  # ERF: the packet alone (ERF files) or the whole record (pcap/pcapng)
        from pcapkit.dissect.erf import packet_start

        kind, start = packet_start(data, len(data) if wirelen is None else wirelen)
        if kind == "eth":
            etype, off = _ether_payload(data, start)
            return _mpls(data, etype, off) if etype in (0x8847, 0x8848) else (etype, off)
        return {"ipv4": (_ETHER_IPV4, start), "ipv6": (_ETHER_IPV6, start)}.get(kind, (-1, 0))
    if linktype == 127:
        return _radiotap_80211(data)
    if linktype == 178:  # Juniper Ethernet: "MGC", flags, [extension length + TLVs], Ethernet
        if len(data) < 4 or data[:3] != b"MGC":
            return -1, 0
        off = 4
        if data[3] & 0x80:
            if len(data) < 6:
                return -1, 0
            off = 6 + ((data[4] << 8) | data[5])
        return _ether_payload(data, off)
    if linktype in (101, 12, 14):  # raw IP (version from the first nibble)
        if not data:
            return -1, 0
        v = data[0] >> 4
        return (_ETHER_IPV4 if v == 4 else _ETHER_IPV6 if v == 6 else -1), 0
    if linktype == 228:
        return _ETHER_IPV4, 0
    if linktype == 229:
        return _ETHER_IPV6, 0
    if linktype == 113:  # Linux cooked v1: 16-byte header, protocol at 14
        if len(data) < 16:
            return -1, 0
        proto = (data[14] << 8) | data[15]
        if proto in _VLAN_TYPES:
            if len(data) < 20:
                return -1, 0
            return (data[18] << 8) | data[19], 20
        return proto, 16
    if linktype == 276:  # Linux cooked v2: 20-byte header, protocol at 0
        if len(data) < 20:
            return -1, 0
        return (data[0] << 8) | data[1], 20
    if linktype in (0, 108):  # BSD loopback: 4-byte family in host (0) or network (108) order
        if len(data) < 4:
            return -1, 0
        fam = struct.unpack_from("<I" if linktype == 0 else "!I", data)[0]
        if linktype == 0 and fam > 0xFFFF:
            fam = struct.unpack_from("!I", data)[0]
        if fam == 2:
            return _ETHER_IPV4, 4
        if fam in (10, 24, 28, 30):
            return _ETHER_IPV6, 4
        return -1, 0
    if linktype in (9, 50, 104):  # PPP / PPP-HDLC / Cisco HDLC
        off = 0
        if len(data) >= 2 and data[0] in (0xFF, 0x0F, 0x8F):
            off = 2  # address + control
        if len(data) < off + 2:
            return -1, 0
        proto = (data[off] << 8) | data[off + 1]
        if linktype == 104 or data[0] in (0x0F, 0x8F):  # Cisco HDLC framing (also seen in PPP files)
            return _mpls(data, proto, off + 2)
        if proto == 0x0021:
            return _ETHER_IPV4, off + 2
        if proto == 0x0057:
            return _ETHER_IPV6, off + 2
        return -1, 0
    if linktype == 6:  # Token Ring: AC, FC, DA, SA (+ routing information) + LLC/SNAP
        if len(data) < 15:
            return -1, 0
        off = 14 + ((data[14] & 0x1F) if data[8] & 0x80 else 0)
        if len(data) >= off + 8 and data[off] == 0xAA and data[off + 1] == 0xAA:
            return (data[off + 6] << 8) | data[off + 7], off + 8
        return -1, 0
    if linktype == 242:  # IP over InfiniBand: 40-byte destination address, type, reserved
        if len(data) < 44:
            return -1, 0
        return (data[40] << 8) | data[41], 44
    if linktype == 10:  # FDDI: 13-byte header (fc, da, sa) + LLC/SNAP
        off = 13
        if len(data) >= off + 8 and data[off] == 0xAA and data[off + 1] == 0xAA:
            return (data[off + 6] << 8) | data[off + 7], off + 8
        return -1, 0
    return -1, 0


def _options(data: bytes, start: int, end: int) -> tuple[int | None, int | None, bool,
                                                        tuple[tuple[int, int], ...], int | None, int | None]:
    mss: int | None = None
    ws: int | None = None
    sackp = False
    blocks: list[tuple[int, int]] = []
    tsval: int | None = None
    tsecr: int | None = None
    i = start
    while i < end:
        kind = data[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= end:
            break
        olen = data[i + 1]
        if olen < 2 or i + olen > end:
            break
        if kind == 2 and olen == 4:
            mss = (data[i + 2] << 8) | data[i + 3]
        elif kind == 3 and olen == 3:
            ws = data[i + 2]
        elif kind == 4 and olen == 2:
            sackp = True
        elif kind == 5 and olen >= 10:
            j = i + 2
            while j + 8 <= i + olen:
                blocks.append((_U32.unpack_from(data, j)[0], _U32.unpack_from(data, j + 4)[0]))
                j += 8
        elif kind == 8 and olen == 10:
            tsval = _U32.unpack_from(data, i + 2)[0]
            tsecr = _U32.unpack_from(data, i + 6)[0]
        i += olen
    return mss, ws, sackp, tuple(blocks), tsval, tsecr


_pair_cache: dict[bytes, tuple[str, str]] = {}


def _ipv4_pair(b: bytes) -> tuple[str, str]:
    """(src, dst) text of the 8 address bytes of an IPv4 header."""
    pair = _pair_cache.get(b)
    if pair is None:
        pair = (_ipv4_text(b[:4]), _ipv4_text(b[4:]))
        if len(_pair_cache) < 65536:
            _pair_cache[b] = pair
    return pair


def segment_from_frame(frame: Frame, keep_payload: bool = False,
                       defrag: _Defragmenter | None = None, *, tunnels: bool = True) -> Segment | None:
    """The TCP segment carried by ``frame`` (outermost IP layer), or None.

    Without ``defrag`` a first IPv4 fragment carries the TCP header and later fragments
    none; with it, fragments are kept until the datagram is complete (see :func:`segments`).
    With ``tunnels=False`` TCP inside IP-in-IP is not looked for (tcptrace does not).
    """
    data = frame.data
    proto, off = network_start(frame.linktype, data, frame.wirelen)
    n = len(data)
    for _ in range(3 if tunnels else 0):  # IP-in-IP tunnels (4in4, 6in4, 4in6, 6in6): TCP is in the innermost
        if proto == _ETHER_IPV4 and n >= off + 20 and data[off + 9] in (4, 41) \
                and not ((data[off + 6] & 0x3F) | data[off + 7]):
            proto = _ETHER_IPV4 if data[off + 9] == 4 else _ETHER_IPV6
            off += (data[off] & 0x0F) * 4
        elif proto == _ETHER_IPV6 and n >= off + 40 and data[off + 6] in (4, 41):
            proto = _ETHER_IPV4 if data[off + 6] == 4 else _ETHER_IPV6
            off += 40
        else:
            break
    if proto == _ETHER_IPV4:
        if n < off + 20 or (data[off] >> 4) != 4:
            return None
        ihl = (data[off] & 0x0F) * 4
        if ihl < 20 or data[off + 9] != 6:
            return None
        if (data[off + 6] & 0x3F) | data[off + 7]:  # MF or a fragment offset
            if defrag is not None:
                whole = defrag.add(frame, data, off)
                if whole is None:
                    return None
                data, off, n = whole, 0, len(whole)
            elif ((data[off + 6] & 0x1F) << 8) | data[off + 7]:
                return None  # a non-first fragment
        total = (data[off + 2] << 8) | data[off + 3]
        avail = (frame.wirelen if frame.wirelen > n else n) - off
        if total == 0 or total > avail:
            total = avail  # TSO (length 0), or longer than the packet: what the frame holds
        src, dst = _ipv4_pair(data[off + 12:off + 20])
        tcp = off + ihl
        ip_payload = total - ihl
        version = 4
    elif proto == _ETHER_IPV6:
        if n < off + 40 or (data[off] >> 4) != 6:
            return None
        plen = (data[off + 4] << 8) | data[off + 5]
        nxt = data[off + 6]
        src = _ipv6_text(data[off + 8:off + 24])
        dst = _ipv6_text(data[off + 24:off + 40])
        tcp = off + 40
        ip_payload = plen
        avail = (frame.wirelen if frame.wirelen > n else n) - off - 40
        if ip_payload > avail:
            ip_payload = avail
        while nxt != 6:
            if nxt in (0, 43, 60, 135, 139, 140):  # hop-by-hop, routing, dst opts, mobility, HIP, shim6
                if n < tcp + 2:
                    return None
                hl = (data[tcp + 1] + 1) * 8
            elif nxt == 44:  # fragment
                if n < tcp + 8:
                    return None
                if _U16.unpack_from(data, tcp + 2)[0] & 0xFFF8:
                    return None
                hl = 8
            elif nxt == 51:  # AH
                if n < tcp + 2:
                    return None
                hl = (data[tcp + 1] + 2) * 4
            else:
                return None
            nxt = data[tcp]
            tcp += hl
            ip_payload -= hl
        version = 6
    else:
        return None
    if n < tcp + 20:
        return None
    sport, dport, seq, ack, offb, flagb, win, _csum, _urg = _TCP.unpack_from(data, tcp)
    hlen = (offb >> 4) * 4
    if hlen < 20:
        return None
    flags = ((offb & 0x0F) << 8) | flagb
    seglen = ip_payload - hlen
    if seglen < 0:
        seglen = -1  # the header does not fit in the IP payload (tshark: "Short segment")
    mss = ws = tsval = tsecr = None
    sackp = False
    blocks: tuple[tuple[int, int], ...] = ()
    if hlen > 20:
        mss, ws, sackp, blocks, tsval, tsecr = _options(data, tcp + 20, min(tcp + hlen, n))
    pstart = tcp + hlen
    captured = max(0, min(n, pstart + seglen) - pstart)
    payload = data[pstart:pstart + captured] if keep_payload else b""
    return Segment(frame.number, frame.ts_ns, src, dst, sport, dport, seq, ack, flags, win, seglen,
                   hlen, captured, mss, ws, sackp, blocks, tsval, tsecr, version, frame.wirelen, payload)


# ---------------------------------------------------------------------------
# frames from a file


def _fallback_frames(path: Path) -> Iterator[Frame]:
    """A minimal pcap/pcapng reader, used only when pcapkit.capture.files is unavailable."""
    with open(path, "rb") as fh:
        head = fh.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic = raw[:4]
    number = 0
    if magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic[0] in (0xD4, 0x4D) else ">"
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        linktype = struct.unpack_from(e + "I", raw, 20)[0] & 0x0FFFFFFF
        rec = struct.Struct(e + "IIII")
        off = 24
        while off + 16 <= len(raw):
            sec, frac, incl, orig = rec.unpack_from(raw, off)
            off += 16
            data = raw[off:off + incl]
            off += incl
            number += 1
            ts = sec * 1_000_000_000 + (frac if nano else frac * 1000)
            yield Frame(number, ts, len(data), orig, linktype, 0, data)
        return
    if magic != b"\x0a\x0d\x0d\x0a":
        from pcapkit.errors import UnknownFormatError

        raise UnknownFormatError("not a pcap or pcapng file", path=str(path), offset=0)
    off = 0
    e = "<"
    ifaces: list[tuple[int, int]] = []  # (linktype, ticks per second)
    while off + 12 <= len(raw):
        btype = struct.unpack_from(e + "I", raw, off)[0]
        if btype == 0x0A0D0D0A:
            e = "<" if raw[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        blen = struct.unpack_from(e + "I", raw, off + 4)[0]
        if blen < 12:
            break
        body = raw[off + 8:off + blen - 4]
        if btype == 1:
            lt = struct.unpack_from(e + "H", body, 0)[0]
            tps = 1_000_000
            o = 8
            while o + 4 <= len(body):
                code, olen = struct.unpack_from(e + "HH", body, o)
                if code == 0:
                    break
                if code == 9 and olen >= 1:
                    r = body[o + 4]
                    tps = 2 ** (r & 0x7F) if r & 0x80 else 10 ** r
                o += 4 + ((olen + 3) & ~3)
            ifaces.append((lt, tps))
        elif btype in (6, 2):
            if btype == 6:
                iid, th, tl, incl, orig = struct.unpack_from(e + "IIIII", body, 0)
                data = body[20:20 + incl]
            else:
                iid, _drops, th, tl, incl, orig = struct.unpack_from(e + "HHIIII", body, 0)
                data = body[20:20 + incl]
            lt, tps = ifaces[iid] if iid < len(ifaces) else (1, 1_000_000)
            ticks = (th << 32) | tl
            number += 1
            yield Frame(number, ticks * 1_000_000_000 // tps, len(data), orig, lt, iid, data)
        elif btype == 3:
            orig = struct.unpack_from(e + "I", body, 0)[0]
            lt = ifaces[0][0] if ifaces else 1
            data = body[4:4 + orig]
            number += 1
            yield Frame(number, 0, len(data), orig, lt, 0, data)
        off += blen


def frames_of(path: str | PathLike[str]) -> Iterator[Frame]:
    """Frames of a capture file, through pcapkit.capture.files when it exists."""
    try:
        files = importlib.import_module("pcapkit.capture.files")
        reader = files.open_capture(path)
    except (ImportError, AttributeError):
        yield from _fallback_frames(Path(path))
        return
    if hasattr(reader, "__enter__"):
        with reader as frames:
            yield from frames
    else:
        yield from reader


class _Defragmenter:
    """IPv4 reassembly of fragmented TCP datagrams, as tshark (ip.defragment): the
    segment appears in the frame that completes the datagram. Fragments are keyed by
    (source, destination, IP id); at most 4096 incomplete datagrams are kept."""

    __slots__ = ("pending",)

    def __init__(self) -> None:
        # (src, dst, id) -> (first header or None, {offset: payload}, total length or None)
        self.pending: dict[tuple[bytes, bytes, int], list[Any]] = {}

    def add(self, frame: Frame, data: bytes, off: int) -> bytes | None:
        """Store one fragment (IPv4 header at ``off``); the reassembled datagram (header
        with length updated and fragment fields cleared, then payload) once complete."""
        frag = ((data[off + 6] & 0x3F) << 8) | data[off + 7]
        ihl = (data[off] & 0x0F) * 4
        total = (data[off + 2] << 8) | data[off + 3]
        avail = (frame.wirelen if frame.wirelen > len(data) else len(data)) - off
        if total > avail:
            total = avail
        key = (data[off + 12:off + 16], data[off + 16:off + 20], (data[off + 4] << 8) | data[off + 5])
        entry = self.pending.get(key)
        if entry is None:
            if len(self.pending) > 4096:
                self.pending.clear()
            entry = self.pending[key] = [None, {}, None]
        start = (frag & 0x1FFF) * 8
        if start == 0:
            entry[0] = data[off:off + ihl]
        entry[1][start] = data[off + ihl:off + total]
        if not frag & 0x2000:
            entry[2] = start + max(0, total - ihl)
        if entry[0] is None or entry[2] is None:
            return None
        payload = bytearray()
        for pos in sorted(entry[1]):
            chunk = entry[1][pos]
            if pos > len(payload):
                return None  # a hole
            payload[pos:pos + len(chunk)] = chunk
        if len(payload) < entry[2]:
            return None
        del self.pending[key]
        header = bytearray(entry[0])
        header[2:4] = (len(header) + entry[2]).to_bytes(2, "big")
        header[6:8] = b"\x00\x00"
        return bytes(header) + bytes(payload[:entry[2]])




def segments(path_or_frames: str | PathLike[str] | Iterable[Frame],
             keep_payload: bool = False, defragment: bool = True) -> Iterator[Segment]:
    """Every TCP segment of a capture file (or of an iterable of frames), in order.

    With ``defragment`` (tshark's default), fragmented IPv4 datagrams are reassembled
    and their segment is reported in the frame that completes them; without it, the
    first fragment carries the TCP header (and ``seglen`` from its IP length).
    """
    frames: Iterable[Frame]
    if isinstance(path_or_frames, (str, PathLike)):
        frames = frames_of(path_or_frames)
    else:
        frames = path_or_frames
    defrag = _Defragmenter() if defragment else None
    for frame in frames:
        seg = segment_from_frame(frame, keep_payload, defrag)
        if seg is not None:
            yield seg
