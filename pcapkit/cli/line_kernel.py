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


@_jit
def _uint(out: Any, pos: int, value: int, width: int, pad: int) -> int:
    """``value`` (>= 0) in decimal, padded on the left with ``pad`` to ``width``."""
    digits = 1
    rest = value
    while rest >= 10:
        rest //= 10
        digits += 1
    while width > digits:
        out[pos] = pad
        pos += 1
        width -= 1
    end = pos + digits
    p = end - 1
    while True:
        out[p] = 48 + value % 10
        value //= 10
        if p == pos:
            break
        p -= 1
    return end


@_jit
def format_lines(number_on: bool, number: Any, sec: Any, usec: Any, v4: Any, src: Any, dst: Any,
                 addr_text: Any, addr_off: Any, sport: Any, dport: Any, is_tcp: Any, flag_index: Any,
                 flag_text: Any, flag_off: Any, flags: Any, seq: Any, seq_end: Any, ack: Any, win: Any,
                 urp: Any, length: Any, ts: Any, tsval: Any, tsecr: Any, sack_n: Any, edges: Any,
                 udp_length: Any, kind: Any, aux1: Any, aux2: Any, out: Any, offsets: Any) -> None:
    """Write each row's line (ending in a newline) into ``out``; ``offsets[r]`` is where
    row ``r``'s starts, ``offsets[n]`` the end. Texts as the dissector's summary_line;
    ``kind`` (see PLAIN ...) says which, with its numbers in ``aux1``/``aux2``."""
    pos = 0
    for r in range(number.size):
        offsets[r] = pos
        if number_on:
            pos = _uint(out, pos, number[r], 5, 32)
            pos = _put(out, pos, T_GAP)
        pos = _uint(out, pos, sec[r], 0, 48)
        out[pos] = 46
        pos = _uint(out, pos + 1, usec[r], 6, 48)
        pos = _put(out, pos, T_IP if v4[r] else T_IP6)
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
            pos = _put(out, pos, T_FLAGS)
            pos = _copy(out, pos, flag_text, flag_off[flag_index[r]], flag_off[flag_index[r] + 1])
            out[pos] = 93  # ]
            pos += 1
            if length[r] > 0 or flags[r] & 0x07:
                pos = _put(out, pos, T_SEQ)
                pos = _uint(out, pos, seq[r], 0, 48)
                if length[r] > 0:
                    out[pos] = 58  # :
                    pos = _uint(out, pos + 1, seq_end[r], 0, 48)
            if flags[r] & 0x10:
                pos = _put(out, pos, T_ACK)
                pos = _uint(out, pos, ack[r], 0, 48)
            pos = _put(out, pos, T_WIN)
            pos = _uint(out, pos, win[r], 0, 48)
            if flags[r] & 0x20:
                pos = _put(out, pos, T_URG)
                pos = _uint(out, pos, urp[r], 0, 48)
            if ts[r] or sack_n[r] > 0:
                pos = _put(out, pos, T_OPTIONS)
                if ts[r]:
                    pos = _put(out, pos, T_TS)
                    pos = _uint(out, pos, tsval[r], 0, 48)
                    pos = _put(out, pos, T_ECR)
                    pos = _uint(out, pos, tsecr[r], 0, 48)
                    if sack_n[r] > 0:
                        out[pos] = 44  # ,
                        pos += 1
                if sack_n[r] > 0:
                    pos = _put(out, pos, T_SACK)
                    pos = _uint(out, pos, sack_n[r], 0, 48)
                    out[pos] = 32
                    pos += 1
                    for k in range(sack_n[r]):
                        out[pos] = 123  # {
                        pos = _uint(out, pos + 1, edges[r, 2 * k], 0, 48)
                        out[pos] = 58
                        pos = _uint(out, pos + 1, edges[r, 2 * k + 1], 0, 48)
                        out[pos] = 125  # }
                        pos += 1
                out[pos] = 93
                pos += 1
            pos = _put(out, pos, T_LENGTH)
            pos = _uint(out, pos, length[r], 0, 48)
        else:
            pos = _put(out, pos, T_UDP)
            pos = _uint(out, pos, udp_length[r], 0, 48)
        out[pos] = 10
        pos += 1
    offsets[number.size] = pos
