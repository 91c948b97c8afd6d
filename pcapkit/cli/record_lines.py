"""``pcapkit read``'s common lines straight from the records' bytes, in one compiled pass
(see :mod:`pcapkit.cli.read_lines`): Ethernet (one 802.1Q tag at most), IPv4 or IPv6, TCP or
UDP, the cases :func:`pcapkit.cli.line_kernel.format_lines` formats from the columns, with
the same text (its helpers write both). Every other record is left to the columns and the
dissectors. Header offsets come from the declarations in :mod:`pcapkit.proto`. Imported
only when numba's compiled kernels run (``pcapkit.capture.compiled``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pcapkit.cli.line_kernel import (
    T_COLON,
    T_TO,
    T_UDP,
    ascii_bytes,
    jit,
    put,
    put_prefix,
    put_tcp_body,
    put_uint,
)
from pcapkit.proto import consts, ethernet, ipv4, ipv6, tcp, tcp_options, udp, vlan
from pcapkit.proto.spec import Header

_SPECS: list[tuple[int, int, int, int, int]] = []


def _field_spec(header: Header, name: str, mask: int = 0) -> Any:
    """Where the declared field's (offset, size, shift, mask, scale) are in FIELDS, the
    table :func:`_field` reads (one compiled reader for every field)."""
    f = header[name]
    _SPECS.append((f.off, f.size, f.shift, mask or f.mask or (1 << 8 * f.size) - 1, f.scale))
    return np.int64(len(_SPECS) - 1)  # (a numpy int: numba compiles _field once, not per literal)


ETH_LEN = ethernet.HEADER.min_len
ETH_TYPE = _field_spec(ethernet.HEADER, "eth.type")
IP_MIN = ipv4.HEADER.min_len
IP_VERSION = _field_spec(ipv4.HEADER, "ip.version")
IP_HDR_LEN = _field_spec(ipv4.HEADER, "ip.hdr_len")
IP_LEN = _field_spec(ipv4.HEADER, "ip.len")
IP_FRAGMENT = _field_spec(ipv4.HEADER, "ip.frag_offset", mask=ipv4.FRAGMENT_BITS)  # MF or an offset
IP_PROTO = _field_spec(ipv4.HEADER, "ip.proto")
IP_SRC = ipv4.HEADER["ip.src"].off
IP_DST = ipv4.HEADER["ip.dst"].off
IP6_LEN = ipv6.HEADER.min_len
IP6_VERSION = _field_spec(ipv6.HEADER, "ipv6.version")
IP6_PLEN = _field_spec(ipv6.HEADER, "ipv6.plen")
IP6_NXT = _field_spec(ipv6.HEADER, "ipv6.nxt")
IP6_SRC = ipv6.HEADER["ipv6.src"].off
IP6_DST = ipv6.HEADER["ipv6.dst"].off
VLAN_LEN = vlan.HEADER.min_len
VLAN_ETYPE = _field_spec(vlan.HEADER, "vlan.etype")
ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN = consts.ETHERTYPE_IPV4, consts.ETHERTYPE_IPV6, consts.ETHERTYPE_VLAN
TCP_MIN = tcp.HEADER.min_len
TCP_SPORT = _field_spec(tcp.HEADER, "tcp.srcport")
TCP_DPORT = _field_spec(tcp.HEADER, "tcp.dstport")
TCP_SEQ = _field_spec(tcp.HEADER, "tcp.seq_raw")
TCP_ACK = _field_spec(tcp.HEADER, "tcp.ack_raw")
TCP_HDR_LEN = _field_spec(tcp.HEADER, "tcp.hdr_len")
TCP_FLAGS = _field_spec(tcp.HEADER, "tcp.flags")
TCP_WIN = _field_spec(tcp.HEADER, "tcp.window_size_value")
TCP_URP = _field_spec(tcp.HEADER, "tcp.urgent_pointer")
UDP_MIN = udp.HEADER.min_len
UDP_SPORT = _field_spec(udp.HEADER, "udp.srcport")
UDP_DPORT = _field_spec(udp.HEADER, "udp.dstport")
UDP_LENGTH = _field_spec(udp.HEADER, "udp.length")
FIELDS = np.array(_SPECS, dtype=np.int64)
OPT_NOP, OPT_SACK, OPT_TS = tcp_options.NOP, tcp_options.SACK, tcp_options.TIMESTAMP
OPT_TS_LEN = tcp_options.FIXED_LENGTH[OPT_TS]
SACK_BLOCK = tcp_options.SACK_BLOCK
MAX_SACK_BLOCKS = 4  # tcpdump's usual SACK layouts (longer ones: the dissectors)


@jit
def _field(buf: Any, at: int, which: int) -> Any:
    """The value of a field (``which``: see :func:`_field_spec`) of the header at ``buf[at]``."""
    f = FIELDS[which]
    raw = np.int64(0)
    for i in range(f[1]):
        raw = (raw << 8) | np.int64(buf[at + f[0] + i])
    return ((raw >> f[2]) & f[3]) * f[4]


@jit
def _u32(buf: Any, at: int) -> Any:
    return ((np.int64(buf[at]) << 24) | (np.int64(buf[at + 1]) << 16) | (np.int64(buf[at + 2]) << 8)
            | np.int64(buf[at + 3]))


@jit
def _ipv4_text(out: Any, pos: int, buf: Any, at: int) -> int:
    for i in range(4):
        if i:
            out[pos] = 46
            pos += 1
        octet: Any = np.int64(buf[at + i])  # (an int64 for numba: a uint8 would mix signs)
        pos = put_uint(out, pos, octet, 0, 48)
    return pos


_HEX = ascii_bytes("0123456789abcdef")


@jit
def _hex(out: Any, pos: int, value: Any) -> int:
    """A 16-bit ``value`` in lower-case hex without leading zeros (printf's %x)."""
    shift = 12
    while shift > 0 and (value >> shift) == 0:
        shift -= 4
    while shift >= 0:
        out[pos] = _HEX[(value >> shift) & 0xF]
        pos += 1
        shift -= 4
    return pos


@jit
def _word(buf: Any, at: int) -> Any:
    return (np.int64(buf[at]) << 8) | np.int64(buf[at + 1])


@jit
def _ipv6_text(out: Any, pos: int, buf: Any, at: int) -> int:
    """The 16 bytes at ``buf[at]`` as glibc's inet_ntop writes them (fields.ipv6_text): the
    longest run of two or more zero words (the first of equal ones) as "::", an IPv4-mapped
    or -compatible address with its dotted quad."""
    best, best_len, run, run_len = -1, 0, -1, 0
    for i in range(8):
        if _word(buf, at + 2 * i) == 0:
            if run == -1:
                run, run_len = i, 1
            else:
                run_len += 1
        elif run != -1:
            if best == -1 or run_len > best_len:
                best, best_len = run, run_len
            run = -1
    if run != -1 and (best == -1 or run_len > best_len):
        best, best_len = run, run_len
    if best_len < 2:
        best = -1
    for i in range(8):
        if best != -1 and best <= i < best + best_len:
            if i == best:
                out[pos] = 58  # :
                pos += 1
            continue
        if i:
            out[pos] = 58
            pos += 1
        if i == 6 and best == 0 and (best_len == 6 or (best_len == 5 and _word(buf, at + 10) == 0xFFFF)):
            return _ipv4_text(out, pos, buf, at + 12)
        pos = _hex(out, pos, _word(buf, at + 2 * i))
    if best != -1 and best + best_len == 8:
        out[pos] = 58
        pos += 1
    return pos


@jit
def _sack_blocks(buf: Any, at: int, end: int) -> Any:
    """The number of blocks when ``nop,nop,SACK`` fills [at, end) exactly, else 0."""
    if end - at < 4 + SACK_BLOCK or buf[at] != OPT_NOP or buf[at + 1] != OPT_NOP or buf[at + 2] != OPT_SACK:
        return 0
    length = np.int64(buf[at + 3])
    blocks = (length - 2) // SACK_BLOCK
    if blocks < 1 or blocks > MAX_SACK_BLOCKS or length != 2 + SACK_BLOCK * blocks or at + 2 + length != end:
        return 0
    return blocks


@jit
def format_records(buf: Any, data_off: Any, caplen: Any, wirelen: Any, ts_ns: Any, first_number: int,
                   number_on: bool, flag_text: Any, flag_off: Any, tunnel_port: Any, out: Any,
                   offsets: Any, done: Any) -> None:
    """The lines of Ethernet records (at most one 802.1Q tag) carrying a whole, unfragmented
    IPv4 header or an IPv6 header without extension headers, then a TCP header (no options,
    ``nop,nop,TS``, ``nop,nop,sack`` after it or alone) or a sane UDP header (not a tunnel
    port), written from the records' bytes: row ``r``'s
    line is ``out[offsets[r]:offsets[r + 1]]`` and ``done[r]`` is set; every other row
    (``done[r]`` False, no bytes) is left to the columns or the dissectors. The rows
    taken are a subset of what :func:`format_lines` formats, with the same text.
    ``flag_text``/``flag_off``: tcpdump's flag letters of each of the 4096 flag values."""
    edges = np.zeros(2 * MAX_SACK_BLOCKS, dtype=np.int64)
    pos: Any = np.int64(0)  # (not the literal 0: numba would compile the callees for it too)
    for r in range(data_off.size):
        offsets[r] = pos
        done[r] = False
        o = data_off[r]
        cap = caplen[r]
        t = ts_ns[r]
        if cap < ETH_LEN or t < 0:
            continue
        l3 = ETH_LEN  # where the network header starts
        etype = _field(buf, o, ETH_TYPE)
        if etype == ETHERTYPE_VLAN:  # one 802.1Q tag
            if cap < ETH_LEN + VLAN_LEN:
                continue
            etype = _field(buf, o + ETH_LEN, VLAN_ETYPE)
            l3 += VLAN_LEN
        ip = o + l3
        reported = wirelen[r] - l3
        if etype == ETHERTYPE_IPV4:
            if cap < l3 + IP_MIN:
                continue
            hl = _field(buf, ip, IP_HDR_LEN)
            total = _field(buf, ip, IP_LEN)
            proto = _field(buf, ip, IP_PROTO)
            if (_field(buf, ip, IP_VERSION) != 4 or hl < IP_MIN or total < hl or cap < l3 + hl
                    or reported < hl or _field(buf, ip, IP_FRAGMENT) != 0 or (proto != 6 and proto != 17)):
                continue
            v4 = True
            size = min(total, reported) - hl  # the transport's bytes
            udp_room = total - hl  # what a UDP length may claim
        elif etype == ETHERTYPE_IPV6:
            if cap < l3 + IP6_LEN:
                continue
            hl = IP6_LEN
            size = _field(buf, ip, IP6_PLEN)
            proto = _field(buf, ip, IP6_NXT)  # (an extension header: left to the columns)
            if (_field(buf, ip, IP6_VERSION) != 6 or size == 0 or size > reported - IP6_LEN
                    or (proto != 6 and proto != 17)):
                continue
            v4 = False
            udp_room = size
        else:
            continue
        th = ip + hl
        th_end = l3 + hl  # (the transport header's offset in the record)
        tcp_len = 0
        sack_n = 0
        ts = False
        if proto == 6:
            doff = _field(buf, th, TCP_HDR_LEN)
            if cap < th_end + TCP_MIN or size < TCP_MIN or doff < TCP_MIN or doff > size or cap < th_end + doff:
                continue
            tcp_len = size - doff
            if doff > TCP_MIN:
                at = th + TCP_MIN
                end = th + doff
                ts = (end - at >= 12 and buf[at] == OPT_NOP and buf[at + 1] == OPT_NOP and buf[at + 2] == OPT_TS
                      and buf[at + 3] == OPT_TS_LEN)
                if ts:
                    at += 12
                if at < end:
                    sack_n = _sack_blocks(buf, at, end)
                    if sack_n == 0:
                        continue
                    for k in range(2 * sack_n):
                        edges[k] = _u32(buf, at + 4 + 4 * k)
            sport = _field(buf, th, TCP_SPORT)
            dport = _field(buf, th, TCP_DPORT)
        else:
            if cap < th_end + UDP_MIN or size < UDP_MIN:
                continue
            sport = _field(buf, th, UDP_SPORT)
            dport = _field(buf, th, UDP_DPORT)
            ulen = _field(buf, th, UDP_LENGTH)
            if tunnel_port[sport] or tunnel_port[dport] or ulen < UDP_MIN or ulen > udp_room:
                continue
        done[r] = True
        pos = put_prefix(out, pos, number_on, first_number + r, t // 1_000_000_000, t % 1_000_000_000 // 1000, v4)
        pos = _ipv4_text(out, pos, buf, ip + IP_SRC) if v4 else _ipv6_text(out, pos, buf, ip + IP6_SRC)
        out[pos] = 46
        pos = put_uint(out, pos + 1, sport, 0, 48)
        pos = put(out, pos, T_TO)
        pos = _ipv4_text(out, pos, buf, ip + IP_DST) if v4 else _ipv6_text(out, pos, buf, ip + IP6_DST)
        out[pos] = 46
        pos = put_uint(out, pos + 1, dport, 0, 48)
        pos = put(out, pos, T_COLON)
        if proto == 6:
            flags = _field(buf, th, TCP_FLAGS)
            pos = put_tcp_body(out, pos, flag_text, flag_off[flags], flag_off[flags + 1], flags,
                            _field(buf, th, TCP_SEQ), _field(buf, th, TCP_ACK), _field(buf, th, TCP_WIN),
                            _field(buf, th, TCP_URP), tcp_len, ts, _u32(buf, th + TCP_MIN + 4),
                            _u32(buf, th + TCP_MIN + 8), sack_n, edges)
        else:
            pos = put(out, pos, T_UDP)
            pos = put_uint(out, pos, ulen - UDP_MIN, 0, 48)
        out[pos] = 10
        pos += 1
    offsets[data_off.size] = pos
