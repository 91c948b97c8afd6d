"""The compiled formatter of ``pcapkit read``'s common lines (see :mod:`pcapkit.cli.read_lines`).

One loop compiled by numba writes the bytes of each line from the columns prepared by
``read_lines`` (numbers, indices into the distinct address and flag texts, option
layouts) into one buffer: no Python object per packet. Imported only when numba's
compiled kernels run (``pcapkit.capture.compiled``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pcapkit.capture.compiled import numba_module

numba = numba_module()

MAX_LINE = 512  # bytes a line can take (two IPv6 addresses and four SACK blocks: under 400)


def ascii_bytes(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("ascii"), dtype=np.uint8).copy()


# the fixed texts of the line (numba freezes global arrays as constants)
T_GAP = ascii_bytes("  ")
T_IP = ascii_bytes(" IP ")
T_IP6 = ascii_bytes(" IP6 ")
T_TO = ascii_bytes(" > ")
T_COLON = ascii_bytes(": ")
T_FLAGS = ascii_bytes("Flags [")
T_SEQ = ascii_bytes(", seq ")
T_ACK = ascii_bytes(", ack ")
T_WIN = ascii_bytes(", win ")
T_URG = ascii_bytes(", urg ")
T_OPTIONS = ascii_bytes(", options [")
T_TS = ascii_bytes("nop,nop,TS val ")
T_ECR = ascii_bytes(" ecr ")
T_SACK = ascii_bytes("nop,nop,sack ")
T_LENGTH = ascii_bytes(", length ")
T_UDP = ascii_bytes("UDP, length ")
T_PROTO = ascii_bytes(": ip-proto-")
T_TCP_SHORT = ascii_bytes(" tcp ")
T_BAD_HDR = ascii_bytes(" [bad hdr length ")
T_TOO_SHORT = ascii_bytes(" - too short, < 20]")
T_TOO_LONG = ascii_bytes(" - too long, > ")
T_TCP_CUT = ascii_bytes(" [|tcp]")
T_UDP_CUT = ascii_bytes("truncated-udp ")
T_UDP_BAD_LENGTH = ascii_bytes("truncated-udplength ")

# what follows the addresses (``kind``; tcpdump's tcp_print / udp_print / ip_print cases)
PLAIN = 0            # TCP (is_tcp) or UDP: the usual line
PROTOCOL_ONLY = 1    # a fragment after the first: "a > b: ip-proto-N" (no ports; N in aux1)
TCP_TOO_SHORT = 2    # header length field under 20: " tcp N [bad hdr length H - too short, < 20]"
TCP_CUT = 3          # the segment ends inside the header: " [|tcp]"
TCP_TOO_LONG = 4     # header length over the segment's: "Flags [F] [bad hdr length H - too long, > L]"
UDP_CUT = 5          # fewer than 8 bytes: "truncated-udp N"
UDP_BAD_LENGTH = 6   # length field under 8: "truncated-udplength N"

jit = numba.njit(cache=True, nogil=True)


@jit
def put(out: Any, pos: int, text: Any) -> int:
    for i in range(text.size):
        out[pos + i] = text[i]
    return pos + text.size


@jit
def put_copy(out: Any, pos: int, source: Any, start: int, end: int) -> int:
    for i in range(start, end):
        out[pos] = source[i]
        pos += 1
    return pos


_POW10 = np.array([10 ** i for i in range(19)], dtype=np.int64)
_PAIRS = ascii_bytes("".join(f"{i:02d}" for i in range(100)))  # "00" to "99": two digits a division


@jit
def put_uint(out: Any, pos: int, value: int, width: int, pad: int) -> int:
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


@jit
def put_prefix(out: Any, pos: int, number_on: bool, number: int, sec: int, usec: int, v4: bool) -> int:
    """``"NNNNN  sec.usec IP "``: the frame number (when shown), the time, the IP version."""
    if number_on:
        pos = put_uint(out, pos, number, 5, 32)
        pos = put(out, pos, T_GAP)
    pos = put_uint(out, pos, sec, 0, 48)
    out[pos] = 46
    pos = put_uint(out, pos + 1, usec, 6, 48)
    return put(out, pos, T_IP if v4 else T_IP6)


@jit
def put_tcp_body(out: Any, pos: int, flag_text: Any, flag_start: int, flag_end: int, flags: int, seq: int,
              ack: int, win: int, urp: int, length: int, ts: bool, tsval: int, tsecr: int, sack_n: int,
              edges: Any) -> int:
    """``"Flags [S.], seq A:B, ack C, win D, options [...], length N"`` (tcpdump's tcp_print)."""
    pos = put(out, pos, T_FLAGS)
    pos = put_copy(out, pos, flag_text, flag_start, flag_end)
    out[pos] = 93  # ]
    pos += 1
    if length > 0 or flags & 0x07:
        pos = put(out, pos, T_SEQ)
        pos = put_uint(out, pos, seq, 0, 48)
        if length > 0:
            out[pos] = 58  # :
            pos = put_uint(out, pos + 1, (seq + length) & 0xFFFFFFFF, 0, 48)
    if flags & 0x10:
        pos = put(out, pos, T_ACK)
        pos = put_uint(out, pos, ack, 0, 48)
    pos = put(out, pos, T_WIN)
    pos = put_uint(out, pos, win, 0, 48)
    if flags & 0x20:
        pos = put(out, pos, T_URG)
        pos = put_uint(out, pos, urp, 0, 48)
    if ts or sack_n > 0:
        pos = put(out, pos, T_OPTIONS)
        if ts:
            pos = put(out, pos, T_TS)
            pos = put_uint(out, pos, tsval, 0, 48)
            pos = put(out, pos, T_ECR)
            pos = put_uint(out, pos, tsecr, 0, 48)
            if sack_n > 0:
                out[pos] = 44  # ,
                pos += 1
        if sack_n > 0:
            pos = put(out, pos, T_SACK)
            pos = put_uint(out, pos, sack_n, 0, 48)
            out[pos] = 32
            pos += 1
            for k in range(sack_n):
                out[pos] = 123  # {
                pos = put_uint(out, pos + 1, edges[2 * k], 0, 48)
                out[pos] = 58
                pos = put_uint(out, pos + 1, edges[2 * k + 1], 0, 48)
                out[pos] = 125  # }
                pos += 1
        out[pos] = 93
        pos += 1
    pos = put(out, pos, T_LENGTH)
    return put_uint(out, pos, length, 0, 48)


@jit
def format_lines(number_on: bool, number: Any, sec: Any, usec: Any, v4: Any, src: Any, dst: Any,
                 addr_text: Any, addr_off: Any, sport: Any, dport: Any, is_tcp: Any, flag_index: Any,
                 flag_text: Any, flag_off: Any, flags: Any, seq: Any, ack: Any, win: Any,
                 urp: Any, length: Any, ts: Any, tsval: Any, tsecr: Any, sack_n: Any, edges: Any,
                 udp_length: Any, kind: Any, aux1: Any, aux2: Any, out: Any, offsets: Any) -> None:
    """Write each row's line (ending in a newline) into ``out``; ``offsets[r]`` is where
    row ``r``'s starts, ``offsets[n]`` the end. Texts as the dissector's summary_line;
    ``kind`` (see PLAIN ...) says which, with its numbers in ``aux1``/``aux2``."""
    pos: Any = np.int64(0)  # (not the literal 0: numba would compile the callees for it too)
    for r in range(number.size):
        offsets[r] = pos
        pos = put_prefix(out, pos, number_on, number[r], sec[r], usec[r], v4[r])
        pos = put_copy(out, pos, addr_text, addr_off[src[r]], addr_off[src[r] + 1])
        k = kind[r]
        if k == PROTOCOL_ONLY:
            pos = put(out, pos, T_TO)
            pos = put_copy(out, pos, addr_text, addr_off[dst[r]], addr_off[dst[r] + 1])
            pos = put(out, pos, T_PROTO)
            pos = put_uint(out, pos, aux1[r], 0, 48)
            out[pos] = 10
            pos += 1
            continue
        out[pos] = 46
        pos = put_uint(out, pos + 1, sport[r], 0, 48)
        pos = put(out, pos, T_TO)
        pos = put_copy(out, pos, addr_text, addr_off[dst[r]], addr_off[dst[r] + 1])
        out[pos] = 46
        pos = put_uint(out, pos + 1, dport[r], 0, 48)
        pos = put(out, pos, T_COLON)
        if k == TCP_TOO_SHORT:
            pos = put(out, pos, T_TCP_SHORT)
            pos = put_uint(out, pos, aux1[r], 0, 48)
            pos = put(out, pos, T_BAD_HDR)
            pos = put_uint(out, pos, aux2[r], 0, 48)
            pos = put(out, pos, T_TOO_SHORT)
        elif k == TCP_CUT:
            pos = put(out, pos, T_TCP_CUT)
        elif k == TCP_TOO_LONG:
            pos = put(out, pos, T_FLAGS)
            pos = put_copy(out, pos, flag_text, flag_off[flag_index[r]], flag_off[flag_index[r] + 1])
            out[pos] = 93  # ]
            pos = put(out, pos + 1, T_BAD_HDR)
            pos = put_uint(out, pos, aux1[r], 0, 48)
            pos = put(out, pos, T_TOO_LONG)
            pos = put_uint(out, pos, aux2[r], 0, 48)
            out[pos] = 93
            pos += 1
        elif k == UDP_CUT:
            pos = put(out, pos, T_UDP_CUT)
            pos = put_uint(out, pos, aux1[r], 0, 48)
        elif k == UDP_BAD_LENGTH:
            pos = put(out, pos, T_UDP_BAD_LENGTH)
            pos = put_uint(out, pos, aux1[r], 0, 48)
        elif is_tcp[r]:
            pos = put_tcp_body(out, pos, flag_text, flag_off[flag_index[r]], flag_off[flag_index[r] + 1], flags[r],
                            seq[r], ack[r], win[r], urp[r], length[r], ts[r], tsval[r], tsecr[r], sack_n[r], edges[r])
        else:
            pos = put(out, pos, T_UDP)
            pos = put_uint(out, pos, udp_length[r], 0, 48)
        out[pos] = 10
        pos += 1
    offsets[number.size] = pos

