"""The columns of the packets table and their pandas dtypes, derived from FieldSpecs.

Each column is a Wireshark field name. Its :class:`pcapkit.fields.FieldSpec` comes from
the dissector registry (:func:`pcapkit.dissect.registry.field_specs`) when the
dissector module declaring it is importable; :data:`LOCAL_SPECS` holds the same
declarations for the columnar path so it works on its own, and a test checks that
the two agree. :func:`dtype_for` maps a spec to the column dtype:

==============  =============================================
ftype           pandas dtype
==============  =============================================
uint / int      nullable ``UInt8/16/32/64`` / ``Int..`` (by ``bits``)
framenum        ``uint32`` (never missing)
bool            nullable ``boolean``
ipv4/ipv6/ether ``category`` of the text tshark prints
time_ns         ``datetime64[ns]``
==============  =============================================
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from pcapkit.fields import FieldSpec

FALLBACK = "pcapkit.fallback"   # True: the fast path did not decode the row completely

LOCAL_SPECS: tuple[FieldSpec, ...] = (
    FieldSpec("frame.number", "framenum", 32, doc="frame number (1-based)"),
    FieldSpec("frame.time_epoch", "time_ns", doc="capture time"),
    FieldSpec("frame.len", "uint", 32, doc="bytes on the wire"),
    FieldSpec("frame.cap_len", "uint", 32, doc="bytes captured"),
    FieldSpec("frame.interface_id", "uint", 32, doc="pcapng interface index"),
    FieldSpec("eth.dst", "ether", doc="destination MAC"),
    FieldSpec("eth.src", "ether", doc="source MAC"),
    FieldSpec("eth.type", "uint", 16, "hex", doc="EtherType"),
    FieldSpec("vlan.id", "uint", 16, doc="802.1Q VLAN identifier"),
    FieldSpec("vlan.etype", "uint", 16, "hex", doc="EtherType after the 802.1Q tag"),
    FieldSpec("arp.opcode", "uint", 16, doc="ARP operation"),
    FieldSpec("arp.src.proto_ipv4", "ipv4", doc="ARP sender IPv4 address"),
    FieldSpec("arp.dst.proto_ipv4", "ipv4", doc="ARP target IPv4 address"),
    FieldSpec("ip.version", "uint", 8, doc="IP version"),
    FieldSpec("ip.hdr_len", "uint", 8, doc="IPv4 header length (bytes)"),
    FieldSpec("ip.dsfield", "uint", 8, "hex", doc="DS field (DSCP + ECN)"),
    FieldSpec("ip.len", "uint", 16, doc="IPv4 total length"),
    FieldSpec("ip.id", "uint", 16, "hex", doc="IPv4 identification"),
    FieldSpec("ip.flags.df", "bool", doc="don't fragment"),
    FieldSpec("ip.flags.mf", "bool", doc="more fragments"),
    FieldSpec("ip.frag_offset", "uint", 16, doc="fragment offset (8-byte units)"),
    FieldSpec("ip.ttl", "uint", 8, doc="time to live"),
    FieldSpec("ip.proto", "uint", 8, doc="IPv4 protocol"),
    FieldSpec("ip.src", "ipv4", doc="IPv4 source"),
    FieldSpec("ip.dst", "ipv4", doc="IPv4 destination"),
    FieldSpec("ipv6.plen", "uint", 16, doc="IPv6 payload length"),
    FieldSpec("ipv6.nxt", "uint", 8, doc="IPv6 next header"),
    FieldSpec("ipv6.hlim", "uint", 8, doc="IPv6 hop limit"),
    FieldSpec("ipv6.src", "ipv6", doc="IPv6 source"),
    FieldSpec("ipv6.dst", "ipv6", doc="IPv6 destination"),
    FieldSpec("icmp.type", "uint", 8, doc="ICMP type"),
    FieldSpec("icmp.code", "uint", 8, doc="ICMP code"),
    FieldSpec("icmpv6.type", "uint", 8, doc="ICMPv6 type"),
    FieldSpec("icmpv6.code", "uint", 8, doc="ICMPv6 code"),
    FieldSpec("udp.srcport", "uint", 16, doc="UDP source port"),
    FieldSpec("udp.dstport", "uint", 16, doc="UDP destination port"),
    FieldSpec("udp.length", "uint", 16, doc="UDP length"),
    FieldSpec("tcp.srcport", "uint", 16, doc="TCP source port"),
    FieldSpec("tcp.dstport", "uint", 16, doc="TCP destination port"),
    FieldSpec("tcp.seq_raw", "uint", 32, doc="absolute sequence number"),
    FieldSpec("tcp.ack_raw", "uint", 32, doc="absolute acknowledgment number"),
    FieldSpec("tcp.hdr_len", "uint", 8, doc="TCP header length (bytes)"),
    FieldSpec("tcp.flags", "uint", 16, "hex", doc="TCP flags (12 bits)"),
    FieldSpec("tcp.window_size_value", "uint", 16, doc="raw window field"),
    FieldSpec("tcp.urgent_pointer", "uint", 16, doc="urgent pointer"),
    FieldSpec("tcp.len", "uint", 32, doc="TCP segment length"),
    FieldSpec("tcp.options.mss_val", "uint", 16, doc="MSS option value"),
    FieldSpec("tcp.options.wscale.shift", "uint", 8, doc="window scale shift count"),
    FieldSpec("tcp.options.sack_perm", "bool", doc="SACK permitted option present"),
    FieldSpec("tcp.options.sack.count", "uint", 8, doc="SACK blocks in the SACK option"),
    FieldSpec("tcp.options.sack_le", "uint", 32, doc="first SACK block left edge (absolute)"),
    FieldSpec("tcp.options.sack_re", "uint", 32, doc="first SACK block right edge (absolute)"),
    FieldSpec("tcp.options.timestamp.tsval", "uint", 32, doc="TS value"),
    FieldSpec("tcp.options.timestamp.tsecr", "uint", 32, doc="TS echo reply"),
)

COLUMNS: tuple[str, ...] = tuple(s.name for s in LOCAL_SPECS)


@functools.lru_cache(maxsize=1)
def specs() -> dict[str, FieldSpec]:
    """The spec of every column: the registry's where it declares the field, else ours."""
    out = {s.name: s for s in LOCAL_SPECS}
    try:
        from pcapkit.dissect.registry import field_specs

        registry = field_specs()
    except ImportError:
        registry = {}
    for name in out:
        spec = registry.get(name)
        if isinstance(spec, FieldSpec) and spec.ftype == out[name].ftype:
            out[name] = spec
    return out


def numpy_dtype(spec: FieldSpec) -> Any:
    """The numpy dtype the columnar decoder stores values of ``spec`` in."""
    import numpy as np

    if spec.ftype in ("uint", "int"):
        bits = 8 if spec.bits <= 8 else 16 if spec.bits <= 16 else 32 if spec.bits <= 32 else 64
        return np.dtype(("uint" if spec.ftype == "uint" else "int") + str(bits))
    if spec.ftype == "bool":
        return np.dtype(bool)
    if spec.ftype == "ipv4":
        return np.dtype(np.uint32)
    return np.dtype(np.uint64)


def dtype_for(spec: FieldSpec) -> Any:
    """The pandas dtype of the column for ``spec``."""
    import pandas as pd

    t = spec.ftype
    if t == "framenum":
        return "uint32"
    if t == "time_ns":
        return "datetime64[ns]"
    if t == "bool":
        return pd.BooleanDtype()
    if t in ("ipv4", "ipv6", "ether"):
        return "category"
    if t in ("uint", "int"):
        bits = 8 if spec.bits <= 8 else 16 if spec.bits <= 16 else 32 if spec.bits <= 32 else 64
        return pd.api.types.pandas_dtype(("UInt" if t == "uint" else "Int") + str(bits))
    if t == "float":
        return "float64"
    return pd.StringDtype()


def dtypes(columns: Sequence[str] | None = None) -> dict[str, Any]:
    """Column name -> pandas dtype for the packets table (plus the fallback marker)."""
    all_specs = specs()
    names = COLUMNS if columns is None else tuple(columns)
    out = {name: dtype_for(all_specs[name]) for name in names if name in all_specs}
    if columns is None or FALLBACK in names:
        import pandas as pd

        out[FALLBACK] = pd.BooleanDtype()
    return out
