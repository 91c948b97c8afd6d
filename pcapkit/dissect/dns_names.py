"""DNS names (RFC 1035 4.1.4 compression, RFC 2673 bitstring labels) read as tshark 4.0 reads them.

:func:`read_name` follows labels and compression pointers and gives the name text tshark
shows, the raw length and label count behind ``dns.qry.name.len`` / ``dns.count.labels``,
and how many bytes the name takes where it starts. tshark's quirks are kept:

* the empty name is ``<Root>``; a name of 254 characters or more is ``<Name too long>``;
* more than 255 pointers in one name, or a pointer to two bytes past itself, is a loop:
  ``<Name contains a pointer that loops>`` (and a *malformed* finding here);
* an extended label type other than a bitstring is ``<Unknown extended label>`` and
  ends the name at once; the label type 0x80 and running off the bytes end the message;
* label bytes are shown through Wireshark's ``format_text``: control characters as C
  escapes (``\\t``, ``\\000``), invalid UTF-8 as U+FFFD, dots inside a label unescaped.

Work is bounded twice: by that loop rule (at most 256 pointers per name) and by a
:class:`Budget` of label and pointer steps shared by every name of one message.
"""

from __future__ import annotations

from typing import NamedTuple

ROOT = "<Root>"
LOOP = "<Name contains a pointer that loops>"
TOO_LONG = "<Name too long>"
UNKNOWN_EXTENDED = "<Unknown extended label>"
MAX_NAME_TEXT = 253  # longest name tshark prints (its 255-byte buffer, less the reserved bytes)
MAX_POINTERS = 255   # more compression pointers in one name: tshark calls it a loop
MIN_NAME_BYTES = 2   # tshark's MIN_DNAME_LEN: a shorter non-root name is malformed


class NameUnreadable(Exception):
    """Reading a name ran off the bytes (``past`` = the offset it needed) or met label type 0x80
    (``past`` = -1). Caught by the DNS dissector, which turns it into a finding."""

    def __init__(self, offset: int, past: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.past = past
        self.reason = reason


class Budget:
    """Label and pointer steps left for the names of one message (hostile pointer chains
    cost at most this much work, whatever the message size)."""

    __slots__ = ("left",)

    def __init__(self, steps: int = 50_000) -> None:
        self.left = steps


class BudgetExhausted(Exception):
    """The message's names needed more steps than its :class:`Budget` allows."""


class Name(NamedTuple):
    text: str        # as tshark shows it
    raw_len: int     # tshark's name_len: raw bytes of the name text (dots included)
    labels: int      # tshark's label count (dots + 1; 0 for names of one byte or none)
    used: int        # bytes the name occupies where it starts (up to the first pointer)
    loop: bool       # the loop rule fired


_PRINTABLE_ASCII = bytes(range(32, 127))
_C_ESCAPES = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}


def format_text(raw: bytes) -> str:
    """Wireshark's ``format_text``: printable ASCII and valid UTF-8 as they are, ASCII
    control characters as C escapes (octal ``\\ooo`` where C has no letter), each invalid
    UTF-8 sequence as U+FFFD."""
    if not raw.translate(None, _PRINTABLE_ASCII):
        return raw.decode("ascii")
    # an HTTP header line: printable ASCII and its line end (the common case, kept off the
    # per-character loop)
    if raw.endswith(b"\r\n") and not raw[:-2].translate(None, _PRINTABLE_ASCII):
        return raw[:-2].decode("ascii") + "\\r\\n"
    return _format_text_escaped(raw)


def _format_text_escaped(raw: bytes) -> str:
    out: list[str] = []
    for ch in raw.decode("utf-8", "replace"):
        code = ord(ch)
        if code < 32 or code == 127:
            out.append(_C_ESCAPES.get(code) or f"\\{code:03o}")
        else:
            out.append(ch)
    return "".join(out)


def _labels(raw: bytes) -> int:
    return raw.count(b".") + 1 if len(raw) > 1 else 0


def read_name(data: bytes, offset: int, msg_start: int, end: int, budget: Budget) -> Name:
    """The name at ``offset`` of the message starting at ``msg_start`` (captured bytes end at
    ``end``). Raises :class:`NameUnreadable` when the bytes run out, a label type is reserved or
    the name is one tshark refuses (``get_dns_name``'s minimum length), and
    :class:`BudgetExhausted` when the message's step budget is spent.

    Names of plain labels and pointers (all but hostile ones) take this short path; an
    extended or reserved label type hands over to :func:`_read_name_exact`."""
    start = offset
    parts: list[bytes] = []
    used = -1
    pointers = 0
    steps = budget.left
    while True:
        steps -= 1
        if steps < 0:
            budget.left = 0
            raise BudgetExhausted
        if offset >= end:
            raise NameUnreadable(start, offset + 1, "name runs past the end of the data")
        length = data[offset]
        offset += 1
        if length == 0:
            break
        if length < 0x40:
            after = offset + length
            if after > end:
                raise NameUnreadable(start, after, "label runs past the end of the data")
            parts.append(data[offset:after])
            offset = after
        elif length >= 0xC0:
            if offset >= end:
                raise NameUnreadable(start, offset + 1, "compression pointer runs past the end of the data")
            target = msg_start + (((length & 0x3F) << 8) | data[offset])
            offset += 1
            pointers += 1
            if used < 0:
                used = offset - start
            if target == offset + 2 or pointers > MAX_POINTERS:
                budget.left = steps
                return Name(LOOP, len(LOOP), 1, used, True)
            offset = target
        else:
            budget.left = steps
            return _read_name_exact(data, start, msg_start, end, budget)
    budget.left = steps
    if used < 0:
        used = offset - start
    if not parts:
        return Name(ROOT, len(ROOT), 1, used, False)  # (used is at most 2 here)
    raw = b".".join(parts)
    if len(raw) > MAX_NAME_TEXT:
        return Name(TOO_LONG, len(TOO_LONG), 1, used, False)
    return Name(format_text(raw), len(raw), _labels(raw), used, False)


def _read_name_exact(data: bytes, offset: int, msg_start: int, end: int, budget: Budget) -> Name:
    """:func:`read_name` for any name, a port of tshark 4.0's ``expand_dns_name``.

    The name buffer holds at most 254 characters
    (``maxname``); a bitstring label is written to it without counting in the name's length,
    so tshark's text of such a name is cut (kept here, byte for byte)."""
    start = offset
    buf = bytearray()
    name_len = 0
    maxname = MAX_NAME_TEXT + 2
    used = -1
    pointers = 0
    result: str | None = None
    while True:
        budget.left -= 1
        if budget.left < 0:
            raise BudgetExhausted
        if offset >= end:
            raise NameUnreadable(start, offset + 1, "name runs past the end of the data")
        length = data[offset]
        offset += 1
        if length == 0:
            break
        kind = length & 0xC0
        if kind == 0:
            if buf:
                if maxname > 0:
                    buf.append(0x2E)
                    name_len += 1
                    maxname -= 1
            else:
                maxname -= 1
            if offset + length > end:
                raise NameUnreadable(start, offset + length, "label runs past the end of the data")
            take = max(0, min(length, maxname))
            buf += data[offset:offset + take]
            name_len += take
            maxname -= take
            offset += length
        elif kind == 0x40:
            if length & 0x3F != 1:
                # tshark returns at once, measuring from the name's start even after a pointer
                used = offset - start
                result = UNKNOWN_EXTENDED
                break
            # bitstring label (RFC 2673): a bit count, then the bits
            if offset >= end:
                raise NameUnreadable(start, offset + 1, "bitstring label runs past the end of the data")
            bits = data[offset]
            offset += 1
            nbytes = int((bits - 1) / 8) + 1  # C division: a count of 0 still reads one byte
            if offset + nbytes > end:
                raise NameUnreadable(start, offset + nbytes, "bitstring label runs past the end of the data")
            # written to the buffer (snprintf) without counting in name_len
            for piece in ("\\[x", *(f"{b:02x}" for b in data[offset:offset + nbytes]), f"/{bits}]"):
                if maxname > 0:
                    if len(piece) <= maxname:
                        buf += piece.encode()
                        maxname -= len(piece)
                    else:
                        maxname = 0
            offset += nbytes
        elif kind == 0x80:
            raise NameUnreadable(start, -1, f"reserved label type 0x{length:02x}")
        else:
            if offset >= end:
                raise NameUnreadable(start, offset + 1, "compression pointer runs past the end of the data")
            target = msg_start + (((length & 0x3F) << 8) | data[offset])
            offset += 1
            pointers += 1
            if used < 0:
                used = offset - start
            if target == offset + 2 or pointers > MAX_POINTERS:
                result = LOOP
                break
            offset = target
    if used < 0:
        used = offset - start
    if result is None and maxname <= 0:
        result = TOO_LONG
    if result is not None:
        if used < MIN_NAME_BYTES:
            raise NameUnreadable(start, -1, f"name of {used} byte where tshark needs {MIN_NAME_BYTES}")
        return Name(result, len(result), 1, used, result == LOOP)
    if not buf and used <= MIN_NAME_BYTES:
        return Name(ROOT, len(ROOT), 1, used, False)
    if used < MIN_NAME_BYTES or (used > MIN_NAME_BYTES and name_len == 0):
        raise NameUnreadable(start, -1, "name without characters (tshark refuses it)")
    raw = bytes(buf[:name_len])
    return Name(format_text(raw), name_len, _labels(raw), used, False)
