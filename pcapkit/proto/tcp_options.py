"""The TCP option walk, once: :func:`option_at` reads one option's kind, length and status,
the dissector (:mod:`pcapkit.dissect.tcp`, every option kind decoded and worded as tshark and
tcpdump do) and the columnar walk (:func:`walk_options`, compiled by numba there) step with it.

Both functions are in the subset of Python numba compiles (ints and byte indexing, no
objects), so the columnar decoder runs this very source compiled; nothing here imports numba.
"""

from __future__ import annotations

from typing import Any

# option kinds (IANA "TCP Option Kind Numbers")
EOL, NOP, MSS, WSCALE, SACK_PERM, SACK, TIMESTAMP = 0, 1, 2, 3, 4, 5, 8
MD5, MPTCP, TFO, ACCECN0, ACCECN1, EXP1, EXP2 = 19, 30, 34, 172, 174, 253, 254
# kinds whose length is fixed, and that length
FIXED_LENGTH = {MSS: 4, WSCALE: 3, SACK_PERM: 2, TIMESTAMP: 10, MD5: 18}
MD5_LENGTH = FIXED_LENGTH[MD5]  # (a plain int for the compiled walk, which reads no dict)
SACK_BLOCK = 8          # bytes per SACK block (two 32-bit edges)
EXP_TFO = 0xF989        # experiment ids of kinds 253/254: TCP Fast Open
EXP_ACCECN = (0xACC0, 0xACC1)  # AccECN, counter order 0 and 1
MAX_WSCALE = 14         # RFC 7323: larger shift counts are taken as 14

# option_at statuses
OPT_OK = 0          # a whole option: kind and length
OPT_EOL = 1         # end of option list
OPT_NOP = 2         # one byte of padding
OPT_CUT = 3         # the captured bytes end before the length byte (truncated)
OPT_NO_LENGTH = 4   # the header's options end before the length byte (malformed)
OPT_BAD_LENGTH = 5  # length < 2 or past the end of the options (malformed)
OPT_CUT_BODY = 6    # kind and length whole, the captured bytes end inside the body (truncated)


def option_at(buf: Any, pos: int, end: int, cap_end: int) -> tuple[int, int, int]:
    """(kind, length, status) of the option at ``buf[pos]``: ``end`` is where the header says
    the options end, ``cap_end`` where the captured bytes do (``pos < min(end, cap_end)``)."""
    kind = buf[pos]
    if kind == EOL:
        return kind, 1, OPT_EOL
    if kind == NOP:
        return kind, 1, OPT_NOP
    if pos + 1 >= cap_end and pos + 1 < end:
        return kind, 0, OPT_CUT
    if pos + 1 >= end:
        return kind, 0, OPT_NO_LENGTH
    olen = buf[pos + 1]
    if olen < 2 or pos + olen > end:
        return kind, olen, OPT_BAD_LENGTH
    if pos + olen > cap_end:
        return kind, olen, OPT_CUT_BODY
    return kind, olen, OPT_OK


def u32(buf: Any, pos: int) -> int:
    """The big-endian 32-bit value at ``buf[pos]`` (SACK edges, timestamps)."""
    return (int(buf[pos]) << 24) | (int(buf[pos + 1]) << 16) | (int(buf[pos + 2]) << 8) | int(buf[pos + 3])


# walk_options output columns
COL_MSS, COL_WSCALE, COL_SACK_PERM, COL_SACK_COUNT, COL_SACK_LE, COL_SACK_RE, COL_TSVAL, COL_TSECR = range(8)
COLUMNS = ("tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.sack_perm",
           "tcp.options.sack.count", "tcp.options.sack_le", "tcp.options.sack_re",
           "tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr")


def walk_options(buf: Any, start: Any, hdr_len: Any, values: Any, have: Any, odd: Any) -> None:
    """The options of many TCP headers: header ``i`` starts at ``buf[start[i]]`` and is
    ``hdr_len[i]`` bytes long (captured whole). Fills ``values[i, COL_*]`` / ``have[i, COL_*]``
    with MSS, window scale, SACK-permitted, the first SACK block and its count, timestamps;
    ``odd[i]`` is set when an option is malformed or of a wrong length, or one of these
    kinds occurs twice (the per-packet dissector then decides what tshark shows)."""
    for i in range(start.shape[0]):
        base = start[i]
        pos = base + 20
        end = base + hdr_len[i]
        seen = 0  # one bit per column
        while pos < end:
            kind, olen, status = option_at(buf, pos, end, end)
            if status == OPT_EOL:
                break
            if status == OPT_NOP:
                pos += 1
                continue
            if status != OPT_OK:
                odd[i] = True
                break
            body = pos + 2
            col = -1
            if kind == MSS and olen == 4:
                col = COL_MSS
                values[i, col] = (int(buf[body]) << 8) | int(buf[body + 1])
            elif kind == WSCALE and olen == 3:
                col = COL_WSCALE
                values[i, col] = buf[body]
            elif kind == SACK_PERM and olen == 2:
                col = COL_SACK_PERM
                values[i, col] = 1
            elif kind == TIMESTAMP and olen == 10:
                col = COL_TSVAL
                values[i, col] = u32(buf, body)
                values[i, COL_TSECR] = u32(buf, body + 4)
                have[i, COL_TSECR] = True
            elif kind == SACK and olen >= 2 + SACK_BLOCK and (olen - 2) % SACK_BLOCK == 0:
                col = COL_SACK_COUNT
                values[i, col] = (olen - 2) // SACK_BLOCK
                values[i, COL_SACK_LE] = u32(buf, body)
                values[i, COL_SACK_RE] = u32(buf, body + 4)
                have[i, COL_SACK_LE] = True
                have[i, COL_SACK_RE] = True
            elif (kind in (MSS, WSCALE, SACK_PERM, TIMESTAMP, SACK) or (kind == MD5 and olen != MD5_LENGTH)
                  or (kind == MPTCP and olen < 3)):
                odd[i] = True  # a kind the dissector finds of a wrong length: it decides
                break
            if col >= 0:
                if seen & (1 << col):
                    odd[i] = True
                seen |= 1 << col
                have[i, col] = True
            pos += olen
