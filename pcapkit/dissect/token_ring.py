"""IEEE 802.5 Token Ring (LINKTYPE_IEEE802_5 = 6): access control, frame control,
destination, source (14 bytes), the routing information field of a source-routed frame,
then 802.2 LLC (LLC frames), "trmac" (MAC frames, not decoded: "data") or "data".

As tshark 4.0 (``fix_linux_botches`` off): the high bit of the source address says the
frame is source routed; the low 5 bits of byte 14 are then the RIF length (2 control
bytes plus ring/bridge pairs; up to 30 bytes are decoded, the rest is
``tr.rif.extra``). ``tr.src`` is added twice, as it is and with the routing bit cleared.
tshark reads byte 14 before it adds any field, so a frame of 14 bytes shows nothing.

``summary`` is tcpdump's ``-e`` text: "10 40 00:01:fa:68:c4:67 > 68:00:19:69:95:8b" (access
and frame control in hex, source with the routing bit cleared, destination), followed for
a source-routed frame by tcpdump's route "rt = 830:aaaa:300:0 (4472)" (which tcpdump
prints after the frame length).
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, Next, Result
from pcapkit.dissect.link_common import cut_short, mac
from pcapkit.fields import FieldSpec

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("tr.ac", "uint", 8, "hex", doc="access control"),
    FieldSpec("tr.priority", "uint", 8, doc="priority"),
    FieldSpec("tr.frame", "bool", doc="frame (1) or token (0)"),
    FieldSpec("tr.monitor_cnt", "uint", 8, doc="monitor count"),
    FieldSpec("tr.priority_reservation", "uint", 8, doc="priority reservation"),
    FieldSpec("tr.fc", "uint", 8, "hex", doc="frame control"),
    FieldSpec("tr.frame_type", "uint", 8, doc="frame type (0 MAC, 1 LLC)"),
    FieldSpec("tr.frame_pcf", "uint", 8, doc="physical control field"),
    FieldSpec("tr.dst", "ether", doc="destination"),
    FieldSpec("tr.src", "ether", doc="source (as sent, then without the routing bit)"),
    FieldSpec("tr.addr", "ether", doc="source or destination"),
    FieldSpec("tr.sr", "bool", doc="source routed"),
    FieldSpec("tr.rif_bytes", "uint", 8, doc="routing information length, control included"),
    FieldSpec("tr.broadcast", "uint", 8, doc="broadcast type (routing control bits 7-5)"),
    FieldSpec("tr.max_frame_size", "uint", 8, doc="largest frame (routing control bits 6-4)"),
    FieldSpec("tr.direction", "uint", 8, doc="direction bit (routing control)"),
    FieldSpec("tr.rif", "string", doc="ring-bridge pairs"),
    FieldSpec("tr.rif.ring", "uint", 16, "hex", doc="ring number"),
    FieldSpec("tr.rif.bridge", "uint", 8, "hex", doc="bridge number"),
    FieldSpec("tr.rif.extra", "bytes", doc="routing information beyond 30 bytes"),
)

HEADER_LEN = 14
RIF_MAX = 30  # bytes of routing information the standard allows (and tshark decodes)
_LARGEST_FRAME = ("516", "1500", "2052", "4472", "8144", "11407", "17800", "??")


def dissect_token_ring(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("tr", offset)
    layer.summary = _summary(data, offset, end)
    if end - offset <= HEADER_LEN:  # byte 14 (the RIF length) is read first
        cut_short(layer, offset, offset + HEADER_LEN + 1, end, ctx, "Token Ring header")
        return layer, None
    ac, fc = data[offset], data[offset + 1]
    src = data[offset + 8:offset + 14]
    routed = bool(src[0] & 0x80)
    rif_len = data[offset + 14] & 0x1F if routed else 0
    frame_type = fc >> 6
    layer.add("tr.ac", ac)
    layer.add("tr.priority", ac >> 5)
    layer.add("tr.frame", bool(ac & 0x10))
    layer.add("tr.monitor_cnt", (ac >> 3) & 1)
    layer.add("tr.priority_reservation", ac & 0x07)
    layer.add("tr.fc", fc)
    layer.add("tr.frame_type", frame_type)
    layer.add("tr.frame_pcf", fc & 0x0F)
    layer.add("tr.dst", mac(data[offset + 2:offset + 8]))
    layer.add("tr.src", mac(src))
    layer.add("tr.addr", mac(data[offset + 2:offset + 8]))
    layer.add("tr.addr", mac(src))
    layer.add("tr.sr", routed)
    layer.add("tr.src", mac(bytes((src[0] & 0x7F,)) + src[1:]))
    layer.length = HEADER_LEN
    if routed and not _routing(layer, data, offset, end, ctx, rif_len):
        return layer, None
    payload = offset + HEADER_LEN + rif_len
    layer.length = HEADER_LEN + rif_len
    if frame_type == 1:
        return layer, Next("llc", 0, payload, end)
    return layer, Next("tr.frame_type", frame_type, payload, end)  # MAC ("trmac") / reserved: "data"


def _routing(layer: Layer, data: bytes, offset: int, end: int, ctx: Context, rif_len: int) -> bool:
    """The routing control and the ring-bridge pairs; False when the bytes run out."""
    rcf1 = data[offset + 14]
    layer.add("tr.rif_bytes", rif_len)
    layer.add("tr.broadcast", rcf1 & 0xE0)
    if end - offset < 16:
        cut_short(layer, offset + 15, offset + 16, end, ctx, "Token Ring routing control")
        return False
    rcf2 = data[offset + 15]
    layer.add("tr.max_frame_size", rcf2 & 0x70)
    layer.add("tr.direction", rcf2 & 0x80)
    if rif_len <= 2:
        return True
    pairs_len = min(rif_len, RIF_MAX) - 2
    text: list[str] = []
    rif = offset + 16  # the first ring number
    for j in range(1, pairs_len - 1, 2):
        if j == 1:
            if end < rif + 2:
                cut_short(layer, rif, rif + 2, end, ctx, "Token Ring routing information")
                return False
            ring = ((data[rif] << 8) | data[rif + 1]) >> 4
            text.append(f"{ring:03X}")
            layer.add("tr.rif.ring", ring)
        if end < rif + j + 3:
            cut_short(layer, rif + j, rif + j + 3, end, ctx, "Token Ring routing information")
            return False
        ring = ((data[rif + j + 1] << 8) | data[rif + j + 2]) >> 4
        bridge = data[rif + j] & 0x0F
        text.append(f"-{bridge:01X}-{ring:03X}")
        layer.add("tr.rif.ring", ring)
        layer.add("tr.rif.bridge", bridge)
    if text:
        layer.add("tr.rif", "".join(text))
    if rif_len > RIF_MAX:
        extra = offset + HEADER_LEN + RIF_MAX
        if end < offset + HEADER_LEN + rif_len:
            cut_short(layer, extra, offset + HEADER_LEN + rif_len, end, ctx, "Token Ring routing information")
            return False
        layer.add("tr.rif.extra", bytes(data[extra:offset + HEADER_LEN + rif_len]))
    return True


def _summary(data: bytes, offset: int, end: int) -> str:
    if end - offset < HEADER_LEN:
        return "[|token-ring]"
    src = bytes((data[offset + 8] & 0x7F,)) + data[offset + 9:offset + 14]
    head = f"{data[offset]:02x} {data[offset + 1]:02x} {mac(src)} > {mac(data[offset + 2:offset + 8])}"
    if not data[offset + 8] & 0x80:
        return head
    if end - offset < HEADER_LEN + 2:
        return head + "  [|token-ring]"
    rcf = (data[offset + 14] << 8) | data[offset + 15]
    segments = ((rcf & 0x1F00) >> 8) - 2
    route = [f"rt = {rcf:x}"]
    for seg in range(segments // 2 if segments > 0 else 0):
        pos = offset + 16 + 2 * seg
        if pos + 2 > end:
            return head + "  [|token-ring]"
        route.append(f"{(data[pos] << 8) | data[pos + 1]:x}")
    return f"{head} {':'.join(route)} ({_LARGEST_FRAME[(rcf & 0x0070) >> 4]})"
