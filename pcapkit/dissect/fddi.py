"""FDDI (LINKTYPE_FDDI = 10): frame control, destination, source (13 bytes), then 802.2 LLC.

tshark 4.0 reads LINKTYPE_FDDI as "FDDI with bit-swapped MAC addresses": each address
byte is shown with its bit order reversed (00:00:0c:7e:59:a0 on the wire is
00:00:30:7e:9a:05), and each address is added twice (the second a hidden "swapped"
copy, equal here), so ``fddi.dst`` holds two values and ``fddi.addr`` four. The frame
control gives ``fddi.fc.clf`` (its high nibble) and, by class, the priority (async LLC
0x50-0x57), the SMT subtype (0x4_) or the MAC subtype (0xc_ but the restricted token 0xc0).
Only async LLC frames (0x50-0x5f) carry LLC; anything else is "data".

``summary`` is tcpdump's ``-e`` text: the frame-control word ("async0", "smt2", "void",
...) then "src > dst" with the addresses as they are on the wire (tcpdump on Linux does
not swap them).
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, Next, Result
from pcapkit.dissect.link_common import cut_short, mac
from pcapkit.fields import FieldSpec

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("fddi.fc", "uint", 8, "hex", doc="frame control"),
    FieldSpec("fddi.fc.clf", "uint", 8, "hex", doc="class/length/format (high nibble)"),
    FieldSpec("fddi.fc.prio", "uint", 8, doc="priority (async LLC frames)"),
    FieldSpec("fddi.fc.smt_subtype", "uint", 8, doc="SMT subtype"),
    FieldSpec("fddi.fc.mac_subtype", "uint", 8, doc="MAC subtype"),
    FieldSpec("fddi.dst", "ether", doc="destination (bit-swapped)"),
    FieldSpec("fddi.src", "ether", doc="source (bit-swapped)"),
    FieldSpec("fddi.addr", "ether", doc="source or destination (bit-swapped)"),
)

HEADER_LEN = 13
_BITSWAP = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))

# tcpdump's print_fddi_fc: whole-byte names first, then by class
_FC_NAMES = {0x40: "void", 0x80: "nrt", 0xC0: "rt", 0x41: "info", 0x4F: "nsa", 0xC2: "beacon", 0xC3: "claim"}
_FC_CLASSES = {0xC0: "mac", 0x40: "smt", 0x50: "async", 0xD0: "sync", 0x60: "imp_async", 0xE0: "imp_sync"}


def dissect_fddi(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("fddi", offset)
    layer.summary = _summary(data, offset, end)
    if end <= offset:
        cut_short(layer, offset, offset + 1, end, ctx, "FDDI header")
        return layer, None
    fc = data[offset]
    layer.add("fddi.fc", fc)
    layer.add("fddi.fc.clf", fc >> 4)
    clf = fc & 0xF0
    if fc & 0xF8 == 0x50:
        layer.add("fddi.fc.prio", fc & 0x07)
    elif clf == 0x40:
        layer.add("fddi.fc.smt_subtype", fc & 0x0F)
    elif clf == 0xC0 and fc != 0xC0:
        layer.add("fddi.fc.mac_subtype", fc & 0x0F)
    for name, start in (("fddi.dst", offset + 1), ("fddi.src", offset + 7)):
        if end < start + 6:
            cut_short(layer, start, start + 6, end, ctx, "FDDI header")
            return layer, None
        swapped = mac(data[start:start + 6].translate(_BITSWAP))
        for field in (name, name, "fddi.addr", "fddi.addr"):  # the shown and the hidden copy
            layer.add(field, swapped)
    layer.length = HEADER_LEN
    if 0x50 <= fc <= 0x5F:
        return layer, Next("llc", 0, offset + HEADER_LEN, end)
    return layer, Next("fddi.fc", fc, offset + HEADER_LEN, end)  # tshark: "data"


def _summary(data: bytes, offset: int, end: int) -> str:
    if end - offset < HEADER_LEN:
        return "[|fddi]"
    fc = data[offset]
    word = _FC_NAMES.get(fc)
    if word is None:
        cls = _FC_CLASSES.get(fc & 0xF0)
        word = f"{cls}{fc & 0x0F:x}" if cls else f"{fc:02x}"
    return f"{word} {mac(data[offset + 7:offset + 13])} > {mac(data[offset + 1:offset + 7])}"
