"""The input of the TCP flow engine: one TCP segment as seen in a frame.

One row of the segment source (:meth:`pcapkit.tcpflow.segments.SegmentTable.segments`),
as the per-segment models (Zeek, tcptrace, congestion) and the sans-I/O engine take it. All integers are raw header values:
``seq``/``ack`` are absolute 32-bit numbers, ``window`` is the unscaled 16-bit field.
"""

from __future__ import annotations

from typing import NamedTuple

# TCP flag bits (the low 12 bits of the flags field, as Wireshark's tcp.flags)
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, AE = 0x001, 0x002, 0x004, 0x008, 0x010, 0x020, 0x040, 0x080, 0x100


class Segment(NamedTuple):
    """One TCP segment (immutable; a named tuple because one is built per segment for the
    per-segment models, and a tuple is built several times faster than a frozen dataclass)."""

    frame_number: int
    ts_ns: int
    src: str              # IP address text ("10.0.0.1", "2001:db8::1")
    dst: str
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int            # 12-bit flags field
    window: int           # raw 16-bit window field
    seglen: int           # IP payload length - TCP header length (reported, not captured)
    header_len: int = 20
    captured_payload: int = 0            # payload bytes actually captured
    mss: int | None = None
    wscale: int | None = None            # shift count from the window scale option
    sack_permitted: bool = False
    sack_blocks: tuple[tuple[int, int], ...] = ()   # (left, right) absolute
    ts_val: int | None = None
    ts_ecr: int | None = None
    ip_version: int = 4
    wirelen: int = 0
    payload: bytes = b""  # captured payload (only when the extractor was asked to keep it)
