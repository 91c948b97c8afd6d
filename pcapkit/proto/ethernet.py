"""Ethernet II / IEEE 802.3 header (LINKTYPE_ETHERNET), IEEE 802.2 LLC and SNAP headers.

The type/length field at offset 12 is an EtherType from 0x0600 on (Ethernet II, dispatched
on the ``ethertype`` table) and an 802.3 length up to 1500, followed by LLC.
"""

from __future__ import annotations

from pcapkit.proto.spec import Dispatch, Field, Header

HEADER = Header("eth", 14, length=14, next=Dispatch("ethertype", "eth.type"), fields=(
    Field("eth.dst", "ether", 0, 6, doc="destination MAC"),
    Field("eth.dst.oui", "uint", 0, 3, doc="destination OUI"),
    Field("eth.dst.lg", "bool", 0, 1, mask=0x02, doc="destination locally administered"),
    Field("eth.dst.ig", "bool", 0, 1, mask=0x01, doc="destination group address"),
    Field("eth.src", "ether", 6, 6, doc="source MAC"),
    Field("eth.src.oui", "uint", 6, 3, doc="source OUI"),
    Field("eth.src.lg", "bool", 6, 1, mask=0x02, doc="source locally administered"),
    Field("eth.src.ig", "bool", 6, 1, mask=0x01, doc="source group address"),
    Field("eth.type", "uint", 12, 2, base="hex", doc="EtherType"),
    Field("eth.len", "uint", 12, 2, doc="802.3 length"),
))

LLC = Header("llc", 3, length=3, next=Dispatch("llc.sap", "llc.dsap"), fields=(
    Field("llc.dsap", "uint", 0, 1, base="hex", doc="destination SAP"),
    Field("llc.dsap.sap", "uint", 0, 1, shift=1, doc="DSAP address"),
    Field("llc.dsap.ig", "bool", 0, 1, mask=0x01, doc="DSAP individual/group"),
    Field("llc.ssap", "uint", 1, 1, base="hex", doc="source SAP"),
    Field("llc.ssap.sap", "uint", 1, 1, shift=1, doc="SSAP address"),
    Field("llc.ssap.cr", "bool", 1, 1, mask=0x01, doc="SSAP command/response"),
    Field("llc.control", "uint", 2, 1, base="hex", bits=16, doc="control field"),
    Field("llc.control.ftype", "uint", 2, 1, mask=0x03, base="hex", doc="frame type"),
    # the modifier bits (0xec) shifted down, as tshark shows them: control 0x47 -> 0x11
    Field("llc.control.u_modifier_cmd", "uint", 2, 1, shift=2, mask=0x3B, base="hex", doc="U modifier (command)"),
    Field("llc.control.u_modifier_resp", "uint", 2, 1, shift=2, mask=0x3B, base="hex", doc="U modifier (response)"),
))
LLC_SAP_SNAP = 0xAA        # DSAP and SSAP of a SNAP header
LLC_U_FRAME = 0x03         # control & 0x03 == 0x03: an unnumbered frame (8-bit control)
LLC_IS_LONG = 4            # I and S frames have a 16-bit control field

# after an LLC header whose SAPs are 0xAA
SNAP = Header("snap", 5, length=5, fields=(
    Field("llc.oui", "uint", 0, 3, doc="SNAP OUI"),
    Field("llc.pid", "uint", 3, 2, base="hex", doc="SNAP protocol id"),
    Field("llc.type", "uint", 3, 2, base="hex", doc="SNAP type (OUI 0: an EtherType)"),
))
