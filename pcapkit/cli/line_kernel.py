"""The compiled formatter of ``pcapkit read``'s common lines (see :mod:`pcapkit.cli.read_lines`).

One loop compiled by numba writes the bytes of each line from the columns prepared by
``read_lines`` (numbers, indices into the distinct address and flag texts, option
layouts) into one buffer: no Python object per packet. Imported only when numba's
compiled kernels run (``pcapkit.capture.compiled``).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from pcapkit.proto import ethernet, ipv4, tcp, tcp_options, udp
from pcapkit.proto.spec import Header

MAX_LINE = 512  # bytes a line can take (two IPv6 addresses and four SACK blocks: under 400)


def _text(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("ascii"), dtype=np.uint8).copy()


# the fixed texts of the line (numba freezes global arrays as constants)
T_GAP = _text("  ")
T_IP = _text(" IP ")
T_IP6 = _text(" IP6 ")
T_TO = _text(" > ")
T_COLON = _text(": ")
T_FLAGS = _text("Flags [")
T_SEQ = _text(", seq ")
T_ACK = _text(", ack ")
T_WIN = _text(", win ")
T_URG = _text(", urg ")
T_OPTIONS = _text(", options [")
T_TS = _text("nop,nop,TS val ")
T_ECR = _text(" ecr ")
T_SACK = _text("nop,nop,sack ")
T_LENGTH = _text(", length ")
T_UDP = _text("UDP, length ")
T_PROTO = _text(": ip-proto-")
T_TCP_SHORT = _text(" tcp ")
T_BAD_HDR = _text(" [bad hdr length ")
T_TOO_SHORT = _text(" - too short, < 20]")
T_TOO_LONG = _text(" - too long, > ")
T_TCP_CUT = _text(" [|tcp]")
T_UDP_CUT = _text("truncated-udp ")
T_UDP_BAD_LENGTH = _text("truncated-udplength ")

# what follows the addresses (``kind``; tcpdump's tcp_print / udp_print / ip_print cases)
PLAIN = 0            # TCP (is_tcp) or UDP: the usual line
PROTOCOL_ONLY = 1    # a fragment after the first: "a > b: ip-proto-N" (no ports; N in aux1)
TCP_TOO_SHORT = 2    # header length field under 20: " tcp N [bad hdr length H - too short, < 20]"
TCP_CUT = 3          # the segment ends inside the header: " [|tcp]"
TCP_TOO_LONG = 4     # header length over the segment's: "Flags [F] [bad hdr length H - too long, > L]"
UDP_CUT = 5          # fewer than 8 bytes: "truncated-udp N"
UDP_BAD_LENGTH = 6   # length field under 8: "truncated-udplength N"

_jit = numba.njit(cache=True, nogil=True)


@_jit
def _put(out: Any, pos: int, text: Any) -> int:
    for i in range(text.size):
        out[pos + i] = text[i]
    return pos + text.size


@_jit
def _copy(out: Any, pos: int, source: Any, start: int, end: int) -> int:
    for i in range(start, end):
        out[pos] = source[i]
        pos += 1
    return pos


_POW10 = np.array([10 ** i for i in range(19)], dtype=np.int64)
_PAIRS = _text("".join(f"{i:02d}" for i in range(100)))  # "00" to "99": two digits a division


@_jit
def _uint(out: Any, pos: int, value: int, width: int, pad: int) -> int:
    """``value`` (>= 0) in decimal, padded on the left with ``pad`` to ``width``."""
    digits = 1
    while digits < 19 and value >= _POW10[digits]:
        digits += 1
    while width > digits:
        out[pos] = pad
        pos += 1
        width -= 1
    end = pos + digits
    p = end
    while value >= 100:
        q = value // 100
        r = 2 * (value - 100 * q)
        p -= 2
        out[p] = _PAIRS[r]
        out[p + 1] = _PAIRS[r + 1]
        value = q
    if value >= 10:
        out[p - 2] = _PAIRS[2 * value]
        out[p - 1] = _PAIRS[2 * value + 1]
    else:
        out[p - 1] = 48 + value
    return end


@_jit
def _prefix(out: Any, pos: int, number_on: bool, number: int, sec: int, usec: int, v4: bool) -> int:
    """``"NNNNN  sec.usec IP "``: the frame number (when shown), the time, the IP version."""
    if number_on:
        pos = _uint(out, pos, number, 5, 32)
        pos = _put(out, pos, T_GAP)
    pos = _uint(out, pos, sec, 0, 48)
    out[pos] = 46
    pos = _uint(out, pos + 1, usec, 6, 48)
    return _put(out, pos, T_IP if v4 else T_IP6)


@_jit
def _tcp_body(out: Any, pos: int, flag_text: Any, flag_start: int, flag_end: int, flags: int, seq: int,
              ack: int, win: int, urp: int, length: int, ts: bool, tsval: int, tsecr: int, sack_n: int,
              edges: Any) -> int:
    """``"Flags [S.], seq A:B, ack C, win D, options [...], length N"`` (tcpdump's tcp_print)."""
    pos = _put(out, pos, T_FLAGS)
    pos = _copy(out, pos, flag_text, flag_start, flag_end)
    out[pos] = 93  # ]
    pos += 1
    if length > 0 or flags & 0x07:
        pos = _put(out, pos, T_SEQ)
        pos = _uint(out, pos, seq, 0, 48)
        if length > 0:
            out[pos] = 58  # :
            pos = _uint(out, pos + 1, (seq + length) & 0xFFFFFFFF, 0, 48)
    if flags & 0x10:
        pos = _put(out, pos, T_ACK)
        pos = _uint(out, pos, ack, 0, 48)
    pos = _put(out, pos, T_WIN)
    pos = _uint(out, pos, win, 0, 48)
    if flags & 0x20:
        pos = _put(out, pos, T_URG)
        pos = _uint(out, pos, urp, 0, 48)
    if ts or sack_n > 0:
        pos = _put(out, pos, T_OPTIONS)
        if ts:
            pos = _put(out, pos, T_TS)
            pos = _uint(out, pos, tsval, 0, 48)
            pos = _put(out, pos, T_ECR)
            pos = _uint(out, pos, tsecr, 0, 48)
            if sack_n > 0:
                out[pos] = 44  # ,
                pos += 1
        if sack_n > 0:
            pos = _put(out, pos, T_SACK)
            pos = _uint(out, pos, sack_n, 0, 48)
            out[pos] = 32
            pos += 1
            for k in range(sack_n):
                out[pos] = 123  # {
                pos = _uint(out, pos + 1, edges[2 * k], 0, 48)
                out[pos] = 58
                pos = _uint(out, pos + 1, edges[2 * k + 1], 0, 48)
                out[pos] = 125  # }
                pos += 1
        out[pos] = 93
        pos += 1
    pos = _put(out, pos, T_LENGTH)
    return _uint(out, pos, length, 0, 48)


@_jit
def format_lines(number_on: bool, number: Any, sec: Any, usec: Any, v4: Any, src: Any, dst: Any,
                 addr_text: Any, addr_off: Any, sport: Any, dport: Any, is_tcp: Any, flag_index: Any,
                 flag_text: Any, flag_off: Any, flags: Any, seq: Any, ack: Any, win: Any,
                 urp: Any, length: Any, ts: Any, tsval: Any, tsecr: Any, sack_n: Any, edges: Any,
                 udp_length: Any, kind: Any, aux1: Any, aux2: Any, out: Any, offsets: Any) -> None:
    """Write each row's line (ending in a newline) into ``out``; ``offsets[r]`` is where
    row ``r``'s starts, ``offsets[n]`` the end. Texts as the dissector's summary_line;
    ``kind`` (see PLAIN ...) says which, with its numbers in ``aux1``/``aux2``."""
    pos = 0
    for r in range(number.size):
        offsets[r] = pos
        pos = _prefix(out, pos, number_on, number[r], sec[r], usec[r], v4[r])
        pos = _copy(out, pos, addr_text, addr_off[src[r]], addr_off[src[r] + 1])
        k = kind[r]
        if k == PROTOCOL_ONLY:
            pos = _put(out, pos, T_TO)
            pos = _copy(out, pos, addr_text, addr_off[dst[r]], addr_off[dst[r] + 1])
            pos = _put(out, pos, T_PROTO)
            pos = _uint(out, pos, aux1[r], 0, 48)
            out[pos] = 10
            pos += 1
            continue
        out[pos] = 46
        pos = _uint(out, pos + 1, sport[r], 0, 48)
        pos = _put(out, pos, T_TO)
        pos = _copy(out, pos, addr_text, addr_off[dst[r]], addr_off[dst[r] + 1])
        out[pos] = 46
        pos = _uint(out, pos + 1, dport[r], 0, 48)
        pos = _put(out, pos, T_COLON)
        if k == TCP_TOO_SHORT:
            pos = _put(out, pos, T_TCP_SHORT)
            pos = _uint(out, pos, aux1[r], 0, 48)
            pos = _put(out, pos, T_BAD_HDR)
            pos = _uint(out, pos, aux2[r], 0, 48)
            pos = _put(out, pos, T_TOO_SHORT)
        elif k == TCP_CUT:
            pos = _put(out, pos, T_TCP_CUT)
        elif k == TCP_TOO_LONG:
            pos = _put(out, pos, T_FLAGS)
            pos = _copy(out, pos, flag_text, flag_off[flag_index[r]], flag_off[flag_index[r] + 1])
            out[pos] = 93  # ]
            pos = _put(out, pos + 1, T_BAD_HDR)
            pos = _uint(out, pos, aux1[r], 0, 48)
            pos = _put(out, pos, T_TOO_LONG)
            pos = _uint(out, pos, aux2[r], 0, 48)
            out[pos] = 93
            pos += 1
        elif k == UDP_CUT:
            pos = _put(out, pos, T_UDP_CUT)
            pos = _uint(out, pos, aux1[r], 0, 48)
        elif k == UDP_BAD_LENGTH:
            pos = _put(out, pos, T_UDP_BAD_LENGTH)
            pos = _uint(out, pos, aux1[r], 0, 48)
        elif is_tcp[r]:
            pos = _tcp_body(out, pos, flag_text, flag_off[flag_index[r]], flag_off[flag_index[r] + 1], flags[r],
                            seq[r], ack[r], win[r], urp[r], length[r], ts[r], tsval[r], tsecr[r], sack_n[r], edges[r])
        else:
            pos = _put(out, pos, T_UDP)
            pos = _uint(out, pos, udp_length[r], 0, 48)
        out[pos] = 10
        pos += 1
    offsets[number.size] = pos


# --------------------------------------------------------------------------------------
# the records' lines straight from their bytes: Ethernet, IPv4, TCP / UDP, the common case


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


@_jit
def _field(buf: Any, at: int, which: int) -> Any:
    """The value of a field (``which``: see :func:`_field_spec`) of the header at ``buf[at]``."""
    f = FIELDS[which]
    raw = np.int64(0)
    for i in range(f[1]):
        raw = (raw << 8) | np.int64(buf[at + f[0] + i])
    return ((raw >> f[2]) & f[3]) * f[4]


@_jit
def _u32(buf: Any, at: int) -> Any:
    return ((np.int64(buf[at]) << 24) | (np.int64(buf[at + 1]) << 16) | (np.int64(buf[at + 2]) << 8)
            | np.int64(buf[at + 3]))


@_jit
def _ipv4_text(out: Any, pos: int, buf: Any, at: int) -> int:
    for i in range(4):
        if i:
            out[pos] = 46
            pos += 1
        octet: Any = np.int64(buf[at + i])  # (an int64 for numba: a uint8 would mix signs)
        pos = _uint(out, pos, octet, 0, 48)
    return pos


@_jit
def _sack_blocks(buf: Any, at: int, end: int) -> Any:
    """The number of blocks when ``nop,nop,SACK`` fills [at, end) exactly, else 0."""
    if end - at < 4 + SACK_BLOCK or buf[at] != OPT_NOP or buf[at + 1] != OPT_NOP or buf[at + 2] != OPT_SACK:
        return 0
    length = np.int64(buf[at + 3])
    blocks = (length - 2) // SACK_BLOCK
    if blocks < 1 or blocks > MAX_SACK_BLOCKS or length != 2 + SACK_BLOCK * blocks or at + 2 + length != end:
        return 0
    return blocks


@_jit
def format_records(buf: Any, data_off: Any, caplen: Any, wirelen: Any, ts_ns: Any, first_number: int,
                   number_on: bool, flag_text: Any, flag_off: Any, tunnel_port: Any, out: Any,
                   offsets: Any, done: Any) -> None:
    """The lines of Ethernet records carrying a whole, unfragmented IPv4 datagram header
    with a TCP header (no options, ``nop,nop,TS``, ``nop,nop,sack`` after it or alone) or
    a sane UDP header (not a tunnel port), written from the records' bytes: row ``r``'s
    line is ``out[offsets[r]:offsets[r + 1]]`` and ``done[r]`` is set; every other row
    (``done[r]`` False, no bytes) is left to the columns or the dissectors. The rows
    taken are a subset of what :func:`format_lines` formats, with the same text.
    ``flag_text``/``flag_off``: tcpdump's flag letters of each of the 4096 flag values."""
    edges = np.zeros(2 * MAX_SACK_BLOCKS, dtype=np.int64)
    pos = 0
    for r in range(data_off.size):
        offsets[r] = pos
        done[r] = False
        o = data_off[r]
        cap = caplen[r]
        t = ts_ns[r]
        if cap < ETH_LEN + IP_MIN or t < 0 or _field(buf, o, ETH_TYPE) != 0x0800:
            continue
        ip = o + ETH_LEN
        hl = _field(buf, ip, IP_HDR_LEN)
        total = _field(buf, ip, IP_LEN)
        reported = wirelen[r] - ETH_LEN
        proto = _field(buf, ip, IP_PROTO)
        if (_field(buf, ip, IP_VERSION) != 4 or hl < IP_MIN or total < hl or cap < ETH_LEN + hl
                or reported < hl or _field(buf, ip, IP_FRAGMENT) != 0 or (proto != 6 and proto != 17)):
            continue
        size = min(total, reported) - hl  # the transport's bytes
        th = ip + hl
        tcp_len = 0
        sack_n = 0
        ts = False
        if proto == 6:
            doff = _field(buf, th, TCP_HDR_LEN)
            if cap < ETH_LEN + hl + TCP_MIN or size < TCP_MIN or doff < TCP_MIN or doff > size \
                    or cap < ETH_LEN + hl + doff:
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
            if cap < ETH_LEN + hl + UDP_MIN or size < UDP_MIN:
                continue
            sport = _field(buf, th, UDP_SPORT)
            dport = _field(buf, th, UDP_DPORT)
            ulen = _field(buf, th, UDP_LENGTH)
            if tunnel_port[sport] or tunnel_port[dport] or ulen < UDP_MIN or ulen > total - hl:
                continue
        done[r] = True
        pos = _prefix(out, pos, number_on, first_number + r, t // 1_000_000_000, t % 1_000_000_000 // 1000, True)
        pos = _ipv4_text(out, pos, buf, ip + IP_SRC)
        out[pos] = 46
        pos = _uint(out, pos + 1, sport, 0, 48)
        pos = _put(out, pos, T_TO)
        pos = _ipv4_text(out, pos, buf, ip + IP_DST)
        out[pos] = 46
        pos = _uint(out, pos + 1, dport, 0, 48)
        pos = _put(out, pos, T_COLON)
        if proto == 6:
            flags = _field(buf, th, TCP_FLAGS)
            pos = _tcp_body(out, pos, flag_text, flag_off[flags], flag_off[flags + 1], flags,
                            _field(buf, th, TCP_SEQ), _field(buf, th, TCP_ACK), _field(buf, th, TCP_WIN),
                            _field(buf, th, TCP_URP), tcp_len, ts, _u32(buf, th + TCP_MIN + 4),
                            _u32(buf, th + TCP_MIN + 8), sack_n, edges)
        else:
            pos = _put(out, pos, T_UDP)
            pos = _uint(out, pos, ulen - UDP_MIN, 0, 48)
        out[pos] = 10
        pos += 1
    offsets[data_off.size] = pos
