"""The columns of the packets table and their dtypes.

Each column is a Wireshark field name. Its :class:`~pcapkit.fields.FieldSpec` is the one
declared for that field everywhere else: header fields and the values derived from them in
:mod:`pcapkit.proto` (generated from the header declarations), ``frame.*`` in
:mod:`pcapkit.dissect.frame_fields`. The pandas dtype is :func:`pcapkit.fields.dtype_for`
of that spec, as in every other table; :func:`numpy_dtype` is what the decoder stores the
values in before the DataFrame is built (addresses as integer keys).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from pcapkit.fields import FieldSpec, dtype_for

__all__ = ["COLUMNS", "FALLBACK", "dtype_for", "dtypes", "numpy_dtype", "specs"]

FALLBACK = "pcapkit.fallback"   # True: the fast path did not decode the row completely

COLUMNS: tuple[str, ...] = (
    "frame.number", "frame.time_epoch", "frame.len", "frame.cap_len", "frame.interface_id",
    "eth.dst", "eth.src", "eth.type", "vlan.id", "vlan.etype",
    "arp.opcode", "arp.src.proto_ipv4", "arp.dst.proto_ipv4",
    "ip.version", "ip.hdr_len", "ip.dsfield", "ip.len", "ip.id", "ip.flags.df", "ip.flags.mf",
    "ip.frag_offset", "ip.ttl", "ip.proto", "ip.src", "ip.dst",
    "ipv6.plen", "ipv6.nxt", "ipv6.hlim", "ipv6.src", "ipv6.dst",
    "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
    "udp.srcport", "udp.dstport", "udp.length",
    "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.hdr_len", "tcp.flags",
    "tcp.window_size_value", "tcp.urgent_pointer", "tcp.len",
    "tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.sack_perm",
    "tcp.options.sack.count", "tcp.options.sack_le", "tcp.options.sack_re",
    "tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr",
)


@functools.lru_cache(maxsize=1)
def specs() -> dict[str, FieldSpec]:
    """The spec of every column, by name (in column order)."""
    from pcapkit.dissect.frame_fields import FIELDS as FRAME_FIELDS
    from pcapkit.proto import field_specs

    declared = {**field_specs(), **{s.name: s for s in FRAME_FIELDS}}
    return {name: declared[name] for name in COLUMNS}


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


def dtypes(columns: Sequence[str] | None = None) -> dict[str, Any]:
    """Column name -> pandas dtype for the packets table (plus the fallback marker)."""
    all_specs = specs()
    names = COLUMNS if columns is None else tuple(columns)
    out = {name: dtype_for(all_specs[name]) for name in names if name in all_specs}
    if columns is None or FALLBACK in names:
        import pandas as pd

        out[FALLBACK] = pd.BooleanDtype()
    return out
