"""IEEE 802.1Q tag (TPID 0x8100, 0x9100) and IEEE 802.1ad service tag (0x88A8): the 4 bytes
after the TPID: PCP (3 bits), DEI (1 bit), VLAN id (12 bits), then the inner EtherType (or an
802.3 length, followed by LLC)."""

from __future__ import annotations

from pcapkit.proto.spec import Dispatch, Field, Header

HEADER = Header("vlan", 4, length=4, next=Dispatch("ethertype", "vlan.etype"), fields=(
    Field("vlan.priority", "uint", 0, 2, shift=13, mask=0x7, doc="priority code point (PCP)"),
    Field("vlan.dei", "bool", 0, 2, mask=0x1000, doc="drop eligible indicator"),
    Field("vlan.id", "uint", 0, 2, mask=0xFFF, doc="VLAN identifier"),
    Field("vlan.etype", "uint", 2, 2, base="hex", doc="inner EtherType"),
    Field("vlan.len", "uint", 2, 2, doc="inner 802.3 length"),
))

# tshark names the fields of an 802.1ad tag otherwise (and shows its DEI as a number); the
# inner EtherType is where an 802.1Q tag has it
IEEE8021AD = Header("ieee8021ad", 4, length=4, fields=(
    Field("ieee8021ad.priority", "uint", 0, 2, shift=13, mask=0x7, doc="802.1ad priority"),
    Field("ieee8021ad.dei", "uint", 0, 2, shift=12, mask=0x1, doc="802.1ad drop eligible"),
    Field("ieee8021ad.id", "uint", 0, 2, mask=0xFFF, doc="802.1ad VLAN id"),
    Field("ieee8021ad.etype", "uint", 2, 2, base="hex", doc="inner EtherType", export=False),
))
