"""DNS message header (RFC 1035 4.1.1; AD and CD bits RFC 4035; LLMNR RFC 4795): the fixed
12 bytes. Questions and resource records follow (variable: :mod:`pcapkit.dissect.dns`).

Which flag bits tshark shows depends on the message: a query has no AA, RA, AD or RCODE
line, LLMNR names bits 10 and 8 "conflict" and "tentative", an UPDATE names its counts
zones, prerequisites and updates. The spans are declared once per name; the dissector
picks the names.
"""

from __future__ import annotations

from pcapkit.proto.spec import Field, Header

FLAGS_AT = 2


def _flag(name: str, bit: int, doc: str) -> Field:
    return Field(f"dns.flags.{name}", "bool", FLAGS_AT, 2, mask=bit, doc=doc)


HEADER = Header("dns", 12, length=12, fields=(
    Field("dns.id", "uint", 0, 2, base="hex", doc="Transaction ID"),
    Field("dns.flags", "uint", FLAGS_AT, 2, base="hex", doc="Flags"),
    _flag("response", 0x8000, "Response (QR)"),
    Field("dns.flags.opcode", "uint", FLAGS_AT, 2, shift=11, mask=0xF, doc="Opcode"),
    _flag("authoritative", 0x0400, "Authoritative answer (AA, responses)"),
    _flag("conflict", 0x0400, "Conflict (LLMNR C bit)"),
    _flag("truncated", 0x0200, "Truncated (TC)"),
    _flag("recdesired", 0x0100, "Recursion desired (RD)"),
    _flag("tentative", 0x0100, "Tentative (LLMNR T bit)"),
    _flag("recavail", 0x0080, "Recursion available (RA, responses)"),
    _flag("z", 0x0040, "Z (reserved)"),
    _flag("authenticated", 0x0020, "Authentic data (AD)"),
    _flag("checkdisable", 0x0010, "Checking disabled (CD)"),
    Field("dns.flags.rcode", "uint", FLAGS_AT, 2, mask=0xF, doc="Reply code (responses)"),
    Field("dns.count.queries", "uint", 4, 2, doc="Questions"),
    Field("dns.count.zones", "uint", 4, 2, doc="Zones (UPDATE)"),
    Field("dns.count.answers", "uint", 6, 2, doc="Answer RRs"),
    Field("dns.count.prerequisites", "uint", 6, 2, doc="Prerequisites (UPDATE)"),
    Field("dns.count.auth_rr", "uint", 8, 2, doc="Authority RRs"),
    Field("dns.count.updates", "uint", 8, 2, doc="Updates (UPDATE)"),
    Field("dns.count.add_rr", "uint", 10, 2, doc="Additional RRs"),
))

OPCODE_UPDATE = 5
RESPONSE = HEADER["dns.flags.response"].mask

# the header fields tshark shows, in its order, by kind of message
QUERY_FLAGS = ("dns.flags.response", "dns.flags.opcode", "dns.flags.truncated", "dns.flags.recdesired",
               "dns.flags.z", "dns.flags.checkdisable")
RESPONSE_FLAGS = ("dns.flags.response", "dns.flags.opcode", "dns.flags.authoritative", "dns.flags.truncated",
                  "dns.flags.recdesired", "dns.flags.recavail", "dns.flags.z", "dns.flags.authenticated",
                  "dns.flags.checkdisable", "dns.flags.rcode")
LLMNR_QUERY_FLAGS = ("dns.flags.response", "dns.flags.opcode", "dns.flags.conflict", "dns.flags.truncated",
                     "dns.flags.tentative")
LLMNR_RESPONSE_FLAGS = (*LLMNR_QUERY_FLAGS, "dns.flags.rcode")
COUNTS = ("dns.count.queries", "dns.count.answers", "dns.count.auth_rr", "dns.count.add_rr")
UPDATE_COUNTS = ("dns.count.zones", "dns.count.prerequisites", "dns.count.updates", "dns.count.add_rr")
