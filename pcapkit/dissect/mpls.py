"""MPLS label stack (RFC 3032; EtherTypes 0x8847 unicast, 0x8848 multicast).

As in tshark 4.0 the whole stack is one "mpls" layer (``frame.protocols`` names it
once, with no "ethertype" pseudo-protocol after it); each label stack entry adds one
occurrence of ``mpls.label``, ``mpls.exp``, ``mpls.bottom`` and ``mpls.ttl``.

What follows the bottom-of-stack entry carries no type. tshark 4.0 guesses from the
first nibble of the payload and so does pcapkit, through the ``mpls.payload`` dispatch
table keyed by that nibble: 4 -> IPv4, 6 -> IPv6 (whatever the label, explicit-null
or not). Everything else is handed on with a key nobody registers, so the driver
names it "data": tshark 4.0 goes further there (nibble 0 -> its Ethernet pseudowire
heuristic "pwethheuristic:pwethcw:eth:...", nibble 1 -> "pwach", the G-ACh label 13 at
the bottom of the stack -> "pwach"), which pcapkit does not decode.

Bad input, as tshark reports it:

* an entry cut short, or a stack whose bottom-of-stack bit never comes, or a bottom of
  stack with no payload after it: *truncated* when the frame was snapped there
  (captured < reported length), *malformed* when the packet itself ends there;
  the entries read so far keep their fields;
* the G-ACh label (13) anywhere but at the bottom of the stack: a *note*
  (tshark's "Invalid Label" expert warning); the walk goes on.

The loop reads at most one entry per four captured bytes, so it is bounded by the
frame. ``summary`` is tcpdump's text for the stack, e.g.
``MPLS (label 254, tc 0, ttl 60) (label 99, tc 0, [S], ttl 60)``, ending in
`` [|mpls]`` (cut by the snapshot length) or `` (invalid)`` (no bottom of stack
before the packet's end) as tcpdump does.
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, FindingKind, Layer, Next, Result
from pcapkit.fields import FieldSpec

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("mpls.label", "uint", 32, doc="MPLS Label (20 bits)"),
    FieldSpec("mpls.exp", "uint", 32, doc="MPLS Experimental Bits / Traffic Class (3 bits)"),
    FieldSpec("mpls.bottom", "uint", 32, doc="MPLS Bottom Of Label Stack (1 bit)"),
    FieldSpec("mpls.ttl", "uint", 32, doc="MPLS TTL"),
)

LABEL_GACH = 13  # Generic Associated Channel Label (RFC 5586): only valid at the bottom

# the dispatch key for a payload pcapkit does not decode (the driver then names it "data")
DATA_KEY = "data"


def dissect_mpls(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    """Decode the label stack at ``offset``; hand the payload on by its first nibble."""
    layer = Layer("mpls", offset)
    end = min(end, len(data))
    reported_end = max(ctx.reported_end, end)
    pos = offset
    parts: list[str] = []
    label = -1
    bottom = 0
    while not bottom:
        if pos + 4 > end:
            if pos >= reported_end:
                layer.malformed(pos, "label stack ends without a bottom-of-stack entry")
                parts.append("(invalid)")
            elif pos + 4 <= reported_end:
                layer.truncated(pos, f"label stack entry cut short: {end - pos} of 4 bytes captured")
                parts.append("[|mpls]")
            else:
                layer.malformed(pos, f"label stack entry needs 4 bytes, {reported_end - pos} present")
                parts.append("(invalid)")
            return _done(layer, pos, parts), None
        entry = int.from_bytes(data[pos:pos + 4], "big")
        label = entry >> 12
        exp = (entry >> 9) & 0x7
        bottom = (entry >> 8) & 0x1
        ttl = entry & 0xFF
        layer.add("mpls.label", label)
        layer.add("mpls.exp", exp)
        layer.add("mpls.bottom", bottom)
        layer.add("mpls.ttl", ttl)
        parts.append(f"(label {label}, tc {exp}, {'[S], ' if bottom else ''}ttl {ttl})")
        if label == LABEL_GACH and not bottom:
            layer.finding(FindingKind.NOTE, pos, "invalid label: G-ACh (13) not at the bottom of the stack")
        pos += 4
    # bottom of stack reached: the payload's first nibble decides (tshark 4.0)
    if pos >= end:
        if pos < reported_end:
            layer.truncated(pos, "payload after the bottom of stack cut short: 0 bytes captured")
            parts.append("[|mpls]")
        else:
            layer.malformed(pos, "no payload after the bottom of stack")
        return _done(layer, pos, parts), None
    if label == LABEL_GACH:
        key: int | str = DATA_KEY  # tshark: PW Associated Channel (not decoded here)
    else:
        nibble = data[pos] >> 4
        key = nibble if nibble in (4, 6) else DATA_KEY
    return _done(layer, pos, parts), Next("mpls.payload", key, pos, end, reported_end)


def _done(layer: Layer, pos: int, parts: list[str]) -> Layer:
    layer.length = pos - layer.offset
    layer.summary = " ".join(["MPLS", *parts])
    return layer
