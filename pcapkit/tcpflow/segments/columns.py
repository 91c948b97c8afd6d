"""Segment rows from the columnar fast path: the columns :func:`decode_batch` made."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pcapkit.columnar.decode import TCP_OFFSET, TRANSPORT_PROTO
from pcapkit.tcpflow.segments.table import I64, MAX_SACK_BLOCKS, PacketRows

if TYPE_CHECKING:
    from pcapkit.capture.batch import RecordBatch
    from pcapkit.columnar.decode import Columns


def col(cols: Columns, name: str, rows: np.ndarray | slice, default: int = 0) -> np.ndarray:
    """Column ``name`` at ``rows`` (indices, or a slice) as int64, ``default`` where it is
    missing."""
    v = cols.values.get(name)
    if v is None:
        return np.full(cols.fallback[rows].shape[0], default, dtype=I64)
    out = v[rows].astype(I64)
    if default != 0:
        out[~cols.valid[name][rows]] = default
    return out


def fast_rows(rb: RecordBatch, numbers: np.ndarray, cols: Columns,
               rows: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = rows.size
    at: np.ndarray | slice = slice(None) if n == len(rb) else rows  # (every record: views, not copies)
    part: dict[str, np.ndarray] = {
        "frame": numbers[at],
        "ts_ns": rb.ts_ns[at].astype(I64),
        "wirelen": rb.wirelen[at].astype(I64),
        "caplen": rb.caplen[at].astype(I64),
        "kind": np.zeros(n, dtype=I64),
    }
    v4 = cols.valid["ip.src"][at] if "ip.src" in cols.valid else np.zeros(n, bool)
    part["ip_version"] = np.where(v4, 4, 6).astype(I64)
    part["sport"] = col(cols, "tcp.srcport", at)
    part["dport"] = col(cols, "tcp.dstport", at)
    part["seq"] = col(cols, "tcp.seq_raw", at)
    part["ack"] = col(cols, "tcp.ack_raw", at)
    part["flags"] = col(cols, "tcp.flags", at)
    part["window"] = col(cols, "tcp.window_size_value", at)
    part["seglen"] = col(cols, "tcp.len", at)
    part["hdr_len"] = col(cols, "tcp.hdr_len", at)
    part["urgent"] = col(cols, "tcp.urgent_pointer", at)
    part["ip_id"] = np.where(v4, col(cols, "ip.id", at), 0)
    part["ip_len"] = np.where(v4, col(cols, "ip.len", at), col(cols, "ipv6.plen", at))
    # IPv6: the fixed header plus the extension headers the fast path walked
    part["ip_hdr_len"] = np.where(v4, col(cols, "ip.hdr_len", at),
                                  40 + part["ip_len"] - part["seglen"] - part["hdr_len"])
    part["tcp_offset"] = col(cols, TCP_OFFSET, at)
    part["captured"] = np.clip(np.minimum(part["caplen"] - part["tcp_offset"] - part["hdr_len"], part["seglen"]),
                               0, None)
    part["mss"] = col(cols, "tcp.options.mss_val", at, -1)
    part["wscale"] = col(cols, "tcp.options.wscale.shift", at, -1)
    part["sack_perm"] = col(cols, "tcp.options.sack_perm", at)
    part["tsval"] = col(cols, "tcp.options.timestamp.tsval", at, -1)
    part["tsecr"] = col(cols, "tcp.options.timestamp.tsecr", at, -1)
    sack_n = col(cols, "tcp.options.sack.count", at)
    part["sack_n"] = sack_n
    has = sack_n > 0
    sl = np.zeros((int(has.sum()), MAX_SACK_BLOCKS), dtype=I64)
    sr = np.zeros_like(sl)
    sl[:, 0] = col(cols, "tcp.options.sack_le", rows[has])
    sr[:, 0] = col(cols, "tcp.options.sack_re", rows[has])
    # addresses as integers (IPv4) or two halves (IPv6): texts are made once per address
    src = address_columns(cols, at, v4, "ip.src", "ipv6.src")
    dst = address_columns(cols, at, v4, "ip.dst", "ipv6.dst")
    return part, src, dst, sl, sr


def fast_packets(rb: RecordBatch, numbers: np.ndarray, cols: Columns, rows: np.ndarray) -> PacketRows:
    """Conversation facts of the IP rows the fast path decoded completely."""
    v4 = cols.valid["ip.src"][rows] if "ip.src" in cols.valid else np.zeros(rows.size, bool)
    v6 = cols.valid["ipv6.src.hi"][rows] if "ipv6.src.hi" in cols.valid else np.zeros(rows.size, bool)
    rows = rows[v4 | v6]
    v4 = v4[v4 | v6]
    n = rows.size
    tcp = cols.valid["tcp.srcport"][rows] if "tcp.srcport" in cols.valid else np.zeros(n, bool)
    udp = cols.valid["udp.srcport"][rows] if "udp.srcport" in cols.valid else np.zeros(n, bool)
    sport = np.where(tcp, col(cols, "tcp.srcport", rows), np.where(udp, col(cols, "udp.srcport", rows), -1))
    dport = np.where(tcp, col(cols, "tcp.dstport", rows), np.where(udp, col(cols, "udp.dstport", rows), -1))
    out = {
        "frame": numbers[rows], "ts_ns": rb.ts_ns[rows].astype(I64), "wirelen": rb.wirelen[rows].astype(I64),
        "ip_version": np.where(v4, 4, 6).astype(I64), "proto": col(cols, TRANSPORT_PROTO, rows),
        "sport": sport, "dport": dport,
        "udp_payload": np.where(udp, np.maximum(col(cols, "udp.length", rows) - 8, 0), 0),
    }
    src = address_columns(cols, rows, v4, "ip.src", "ipv6.src")
    dst = address_columns(cols, rows, v4, "ip.dst", "ipv6.dst")
    return out, src, dst


def address_columns(cols: Columns, rows: np.ndarray | slice, v4: np.ndarray, v4name: str,
                    v6name: str) -> np.ndarray:
    """(version, high, low) integer keys of an address column pair (IPv4 in ``high``) at
    ``rows`` (``v4``: whether each of them is IPv4)."""
    out = np.empty((v4.shape[0], 3), dtype=np.uint64)
    a4 = cols.values.get(v4name)
    hi = cols.values.get(v6name + ".hi")
    lo = cols.values.get(v6name + ".lo")
    out[:, 0] = np.where(v4, 4, 6).astype(np.uint64)
    out[:, 1] = np.where(v4, 0 if a4 is None else a4[rows].astype(np.uint64),
                         0 if hi is None else hi[rows].astype(np.uint64))
    out[:, 2] = np.where(v4, 0, 0 if lo is None else lo[rows].astype(np.uint64))
    return out


def payload_limit(keep_payload: bool | int) -> int | None:
    """How many payload bytes to keep per segment (None: all)."""
    return None if keep_payload is True else int(keep_payload)


def payloads(rb: RecordBatch, rows: np.ndarray, part: dict[str, np.ndarray], keep_payload: bool | int) -> list[bytes]:
    start = rb.data_off[rows] + part["tcp_offset"] + part["hdr_len"]
    length = part["captured"]
    limit = payload_limit(keep_payload)
    if limit is not None:
        length = np.minimum(length, limit)
    buf = rb.buf
    return [buf[s:s + ln].tobytes() for s, ln in zip(start.tolist(), length.tolist(), strict=True)]
