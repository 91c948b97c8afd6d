"""Raw IP link types: LINKTYPE_RAW (101, and the old 12 and 14) carry IPv4 or IPv6, told apart
by the version nibble; LINKTYPE_IPV4 (228) and LINKTYPE_IPV6 (229) say which in the link
type. There is no header: the dispatch key is the IP header's first nibble."""

from __future__ import annotations

from pcapkit.proto.spec import Dispatch, Field, Header

HEADER = Header("raw", 1, length=0, next=Dispatch("raw.version", "raw.version"), fields=(
    Field("raw.version", "uint", 0, 1, shift=4, doc="IP version of the packet", export=False),
))
