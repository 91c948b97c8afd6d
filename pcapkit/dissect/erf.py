"""LINKTYPE_ERF (197): Endace ERF records, as read from ERF files by pcapkit.capture.erf.

tshark shows the ERF record header ("Extensible Record Format": erf.ts, erf.types.type,
erf.flags.*, erf.rlen, erf.lctr, erf.wlen, the Ethernet offset/pad) from wiretap's
pseudo-header, which is not part of the captured bytes: ``frame.cap_len`` counts only
the packet after it. pcapkit's ERF reader keeps that rule (``Frame.data`` is the
packet, ``caplen == len(data)``), so the header is not in the bytes a dissector sees
and its fields are not decoded here; this layer names the protocol ("erf", as in
tshark's ``frame.protocols``) and hands the packet to the Ethernet dissector, which is
what tshark does for the Ethernet record types (2, 10, 16, 20) -- the only ones the
ERF reader's files are dissected as.
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, Next, Result

LINKTYPE_ETHERNET = 1


def dissect_erf(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    """The ERF layer (no header bytes, see the module docstring), then Ethernet."""
    layer = Layer("erf", offset, 0)
    return layer, Next("link", LINKTYPE_ETHERNET, offset, end)
