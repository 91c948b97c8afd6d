"""The frame: one captured packet as the file layer delivers it.

Timestamps are integer nanoseconds since the Unix epoch. Files whose resolution is
finer than a nanosecond (pcapng ``if_tsresol`` above 10^-9) keep the exact value in
``ts_exact`` as a :class:`fractions.Fraction` of seconds; ``ts_ns`` is then floored.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

# The times a frame can hold: int64 nanoseconds, without int64's minimum (NaT in pandas,
# "no time stamp" in the record batches). A capture time outside them (a pcapng time stamp
# in the year 2262 or later, or before 1677) is kept exactly in ``Frame.ts_exact`` and
# saturates to the nearest bound in ``ts_ns``, so that every table holds it without an
# overflow; :func:`time_invalid` tells such frames (frame.time_invalid).
TS_NS_MAX = (1 << 63) - 1
TS_NS_MIN = -(1 << 63) + 1


def saturate_ns(ns: int) -> int:
    """``ns`` clipped to the times a frame can hold."""
    return TS_NS_MAX if ns > TS_NS_MAX else TS_NS_MIN if ns < TS_NS_MIN else ns


def time_invalid(ts_ns: int) -> bool:
    """Whether a frame's time saturated (its true time is out of the int64 ns range)."""
    return ts_ns in (TS_NS_MAX, TS_NS_MIN)


@dataclass(frozen=True, slots=True)
class Frame:
    """One packet record.

    number:        1-based position in the file, as tshark's ``frame.number``.
    ts_ns:         capture time, integer nanoseconds since the epoch (``frame.time_epoch``).
    caplen:        bytes captured (``frame.cap_len``) == len(data).
    wirelen:       bytes on the wire (``frame.len``).
    linktype:      LINKTYPE_* number of the interface (pcap header or pcapng IDB).
    interface_id:  pcapng interface index (0 for pcap), ``frame.interface_id``.
    data:          the captured bytes.
    comment:       pcapng packet comment(s), joined by newline, if any.
    ts_exact:      exact time in seconds when finer than ns, else None.
    section:       pcapng section index (0 for pcap).
    """

    number: int
    ts_ns: int
    caplen: int
    wirelen: int
    linktype: int
    interface_id: int
    data: bytes
    comment: str | None = None
    ts_exact: Fraction | None = None
    section: int = 0


def format_epoch_ns(ts_ns: int, digits: int = 9) -> str:
    """Exact decimal epoch seconds, as tshark prints ``frame.time_epoch`` (9 digits).

    >>> format_epoch_ns(1_000_000_001)
    '1.000000001'
    >>> format_epoch_ns(-1)
    '-0.000000001'
    """
    sign = "-" if ts_ns < 0 else ""
    seconds, nanos = divmod(abs(ts_ns), 1_000_000_000)
    if digits >= 9:
        return f"{sign}{seconds}.{nanos:09d}" + "0" * (digits - 9)
    scaled = nanos // 10 ** (9 - digits)
    return f"{sign}{seconds}.{scaled:0{digits}d}" if digits > 0 else f"{sign}{seconds}"


def format_epoch_exact(value: Fraction) -> str:
    """Exact decimal for a Fraction of seconds with a power-of-10 (or terminating) denominator;
    non-terminating values are given to 18 decimals, truncated."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    whole = value.numerator // value.denominator
    rem = value - whole
    digits = []
    for _ in range(18):
        if rem == 0:
            break
        rem *= 10
        d = rem.numerator // rem.denominator
        digits.append(str(d))
        rem -= d
    frac = "".join(digits) or "0"
    if len(frac) < 9:
        frac = frac.ljust(9, "0")
    return f"{sign}{whole}.{frac}"


def frame_epoch_text(frame: Frame, digits: int = 9) -> str:
    """A frame's capture time as exact decimal epoch seconds: its exact time when it has
    one (finer than 1 ns, or out of the int64 ns range: tshark prints the raw time there
    too), else ``ts_ns``; ``digits`` fractional digits, truncated."""
    if frame.ts_exact is None:
        return format_epoch_ns(frame.ts_ns, digits)
    text = format_epoch_exact(frame.ts_exact)
    whole, _, frac = text.partition(".")
    frac = (frac + "0" * digits)[:digits]
    return f"{whole}.{frac}" if digits > 0 else whole
