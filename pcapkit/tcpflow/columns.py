"""The TCP engine's input as numpy columns, built by the columnar reader.

:func:`tcp_columns` decodes a capture with :mod:`pcapkit.columnar` (vectorised header
fields) and returns one entry per TCP segment, in file order: the arrays
:func:`pcapkit.tcpflow.kernel.analyse_columns` takes, plus the addresses as text.

Packets the columnar fast path did not decode completely (IP fragments, tunnels, cut
or contradictory headers, malformed TCP options...) and packets of link types outside
:data:`SHARED_LINKTYPES` go, in file order, through the per-frame extractor
(:func:`pcapkit.tcpflow.extract.segment_from_frame`, with one IPv4 defragmenter for
the file), which is the reference: the two paths must never disagree. Segments with
two or more SACK blocks (the columnar table keeps only the first) have their options
parsed again by the same extractor. It returns None -- the caller then runs the whole
file through the per-frame path -- only for frames whose wire length is below their
captured length or TCP rows without an IP address.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np

I64 = np.int64


@dataclass
class TcpColumns:
    frame: np.ndarray      # frame numbers
    ts_ns: np.ndarray
    key: np.ndarray        # conversation key id (unordered endpoint pair)
    dirb: np.ndarray       # 0/1: which endpoint of the pair sent the segment
    src_code: np.ndarray   # index into ``addresses``
    dst_code: np.ndarray
    addresses: list[str]
    sport: np.ndarray
    dport: np.ndarray
    seq: np.ndarray
    ack: np.ndarray
    flags: np.ndarray
    window: np.ndarray
    seglen: np.ndarray     # -1: short segment
    wscale: np.ndarray     # -1: no window scale option
    sack_n: np.ndarray
    sack_l: np.ndarray     # (m, 3): the first 3 blocks of each segment with sack_n > 0, in order
    sack_r: np.ndarray

    def __len__(self) -> int:
        return int(self.frame.shape[0])


# link types decoded alike by the columnar path and pcapkit.tcpflow.extract
SHARED_LINKTYPES = (1, 113, 276, 101, 12, 14, 228, 229, 0, 108)

_PARTS = ("frame", "ts", "ver", "a4s", "a4d", "s_hi", "s_lo", "d_hi", "d_lo", "sport", "dport", "seq", "ack",
          "flags", "window", "seglen", "wscale", "sack_n", "sack_l", "sack_r")
_U64_PARTS = ("s_hi", "s_lo", "d_hi", "d_lo")


def _col(cols: Any, name: str, rows: np.ndarray, default: int = 0) -> np.ndarray:
    v = cols.values.get(name)
    if v is None:
        return np.full(rows.size, default, dtype=I64)
    out = v[rows]  # (the native dtype: widened once, when the batches are concatenated)
    if default != 0:
        out = out.astype(I64)
        ok = cols.valid[name][rows]
        out[~ok] = default
    return out


def _frame(rb: Any, r: int) -> Any:
    from pcapkit.frame import Frame

    start = int(rb.data_off[r])
    data = rb.buf[start:start + int(rb.caplen[r])].tobytes()
    return Frame(rb.first_number + r, int(rb.ts_ns[r]), len(data), int(rb.wirelen[r]), int(rb.linktype[r]),
                 max(0, int(rb.interface_id[r])), data)


def _slow_rows(rb: Any, rows: np.ndarray, defrag: Any) -> dict[str, np.ndarray]:
    """Segments of the rows the columnar path did not decode, by the per-frame extractor."""
    from pcapkit.tcpflow.extract import segment_from_frame

    segs = []
    for r in rows.tolist():
        if rb.linktype[r] < 0:
            continue
        seg = segment_from_frame(_frame(rb, r), defrag=defrag)
        if seg is not None:
            segs.append(seg)
    m = len(segs)
    part = {name: np.zeros(m, dtype=I64) for name in _PARTS}
    for name in ("s_hi", "s_lo", "d_hi", "d_lo"):
        part[name] = np.zeros(m, dtype=np.uint64)
    part["sack_l"] = np.zeros((m, 3), dtype=I64)
    part["sack_r"] = np.zeros((m, 3), dtype=I64)
    for j, seg in enumerate(segs):
        part["frame"][j] = seg.frame_number
        part["ts"][j] = seg.ts_ns
        part["ver"][j] = seg.ip_version
        if seg.ip_version == 4:
            part["a4s"][j] = int.from_bytes(socket.inet_pton(socket.AF_INET, seg.src), "big")
            part["a4d"][j] = int.from_bytes(socket.inet_pton(socket.AF_INET, seg.dst), "big")
        else:
            for side, text in (("s", seg.src), ("d", seg.dst)):
                raw = socket.inet_pton(socket.AF_INET6, text)
                part[side + "_hi"][j] = int.from_bytes(raw[:8], "big")
                part[side + "_lo"][j] = int.from_bytes(raw[8:], "big")
        part["sport"][j] = seg.sport
        part["dport"][j] = seg.dport
        part["seq"][j] = seg.seq
        part["ack"][j] = seg.ack
        part["flags"][j] = seg.flags
        part["window"][j] = seg.window
        part["seglen"][j] = seg.seglen
        part["wscale"][j] = -1 if seg.wscale is None else seg.wscale
        part["sack_n"][j] = len(seg.sack_blocks)
        for b, (left, right) in enumerate(seg.sack_blocks[:3]):
            part["sack_l"][j, b] = left
            part["sack_r"][j, b] = right
    return part


def _batch(rb: Any, cols: Any, defrag: Any) -> dict[str, np.ndarray] | None:
    from pcapkit.tcpflow.extract import segment_from_frame

    # rows of link types the two paths do not both read go through the per-frame extractor
    fallback = cols.fallback | ~np.isin(rb.linktype, SHARED_LINKTYPES)
    tl = cols.valid.get("tcp.len")
    rows = np.nonzero(tl & ~fallback)[0] if tl is not None else np.zeros(0, dtype=I64)
    if bool((rb.wirelen[rows] < rb.caplen[rows]).any()):
        return None  # the per-frame extractor measures such frames differently
    part: dict[str, np.ndarray] = {}
    part["frame"] = rows.astype(I64) + rb.first_number
    part["ts"] = rb.ts_ns[rows].astype(I64, copy=False)
    v4 = cols.valid["ip.src"][rows] if "ip.src" in cols.valid else np.zeros(rows.size, bool)
    v6 = cols.valid["ipv6.src.hi"][rows] if "ipv6.src.hi" in cols.valid else np.zeros(rows.size, bool)
    if not bool((v4 | v6).all()):
        return None
    part["ver"] = np.where(v4, 4, 6).astype(I64)
    part["a4s"] = _col(cols, "ip.src", rows)
    part["a4d"] = _col(cols, "ip.dst", rows)
    for side, name in (("s", "ipv6.src"), ("d", "ipv6.dst")):
        for half in ("hi", "lo"):
            v = cols.values.get(f"{name}.{half}")
            arr = np.zeros(rows.size, dtype=np.uint64) if v is None else v[rows].astype(np.uint64, copy=False)
            arr[v4] = 0
            part[f"{side}_{half}"] = arr
    part["sport"] = _col(cols, "tcp.srcport", rows)
    part["dport"] = _col(cols, "tcp.dstport", rows)
    part["seq"] = _col(cols, "tcp.seq_raw", rows)
    part["ack"] = _col(cols, "tcp.ack_raw", rows)
    part["flags"] = _col(cols, "tcp.flags", rows)
    part["window"] = _col(cols, "tcp.window_size_value", rows)
    part["seglen"] = _col(cols, "tcp.len", rows)
    part["wscale"] = _col(cols, "tcp.options.wscale.shift", rows, default=-1)
    sack_n = _col(cols, "tcp.options.sack.count", rows)
    sl = np.zeros((rows.size, 3), dtype=I64)
    sr = np.zeros((rows.size, 3), dtype=I64)
    sl[:, 0] = _col(cols, "tcp.options.sack_le", rows)
    sr[:, 0] = _col(cols, "tcp.options.sack_re", rows)
    for j in np.nonzero(sack_n >= 2)[0].tolist():
        seg = segment_from_frame(_frame(rb, int(rows[j])), defrag=None)
        if seg is None:
            return None
        blocks = seg.sack_blocks
        sack_n[j] = len(blocks)
        for b, (left, right) in enumerate(blocks[:3]):
            sl[j, b] = left
            sr[j, b] = right
    part["sack_n"] = sack_n
    part["sack_l"] = sl
    part["sack_r"] = sr
    slow_rows = np.nonzero(fallback)[0]
    if slow_rows.size:
        slow = _slow_rows(rb, slow_rows, defrag)
        if slow["frame"].size:
            order = np.argsort(np.concatenate([part["frame"], slow["frame"]]), kind="stable")
            part = {name: np.concatenate([part[name], slow[name]])[order] for name in _PARTS}
    # SACK blocks: one row per segment that has some (the kernel walks them in order)
    has_sack = part["sack_n"] > 0
    part["sack_l"] = part["sack_l"][has_sack]
    part["sack_r"] = part["sack_r"][has_sack]
    return part


def _addr_text(ver: int, a4: int, hi: int, lo: int) -> str:
    if ver == 4:
        return socket.inet_ntop(socket.AF_INET, a4.to_bytes(4, "big"))
    return socket.inet_ntop(socket.AF_INET6, hi.to_bytes(8, "big") + lo.to_bytes(8, "big"))


def _mixed_addresses(cat: dict[str, np.ndarray], ver: np.ndarray, n: int) -> tuple[np.ndarray, list[str]]:
    """Address ids of the 2n source then destination addresses (IPv4 and IPv6) and their text."""
    import pandas as pd

    addr_keys = np.empty((2 * n, 3), dtype=np.uint64)
    addr_keys[:n, 0] = np.where(ver == 4, cat["a4s"].astype(np.uint64), cat["s_hi"])
    addr_keys[:n, 1] = cat["s_lo"]
    addr_keys[n:, 0] = np.where(ver == 4, cat["a4d"].astype(np.uint64), cat["d_hi"])
    addr_keys[n:, 1] = cat["d_lo"]
    addr_keys[:n, 2] = ver.astype(np.uint64)
    addr_keys[n:, 2] = ver.astype(np.uint64)
    c0, _ = pd.factorize(addr_keys[:, 0])
    c1, u1 = pd.factorize(addr_keys[:, 1])
    combo = (c0.astype(I64) * (len(u1) + 1) + c1) * 7 + addr_keys[:, 2].astype(I64)
    addr_id, uniq = pd.factorize(combo)
    # a row holding each address gives its text
    first = np.full(len(uniq), -1, dtype=I64)
    first[addr_id] = np.arange(2 * n, dtype=I64)
    texts = []
    for r in first.tolist():
        v = int(addr_keys[r, 2])
        texts.append(_addr_text(v, int(addr_keys[r, 0]), int(addr_keys[r, 0]), int(addr_keys[r, 1])))
    return addr_id, texts


def tcp_columns(path: str | PathLike[str], *, chunk_packets: int = 1 << 18) -> TcpColumns | None:
    """The TCP segments of ``path`` as columns, or None when the per-frame path must be
    used (see the module doc). Raises what the columnar reader raises on bad files."""
    import pandas as pd

    from pcapkit.capture.batch import DEFAULT_CHUNK_BYTES, iter_records
    from pcapkit.columnar.decode import decode_batch
    from pcapkit.tcpflow.extract import _Defragmenter

    parts: list[dict[str, np.ndarray]] = []
    defrag = _Defragmenter()
    for rb in iter_records(str(path), chunk_bytes=DEFAULT_CHUNK_BYTES, max_packets=chunk_packets):
        part = _batch(rb, decode_batch(rb), defrag)
        if part is None:
            return None
        if part["frame"].size:
            parts.append(part)
    if not parts:  # no TCP at all
        e = np.zeros(0, dtype=I64)
        e3 = np.zeros((0, 3), dtype=I64)
        return TcpColumns(e, e, e, e, e, e, [], e, e, e, e, e, e, e, e, e, e3, e3)
    cat = {name: np.concatenate([p[name] for p in parts],
                                dtype=np.uint64 if name in _U64_PARTS else I64) for name in _PARTS}
    parts.clear()
    n = cat["frame"].shape[0]
    ver = cat["ver"]
    # address ids: one per distinct (version, address); the text of each
    if bool((ver == 4).all()):
        addr_id, uniq4 = pd.factorize(np.concatenate([cat["a4s"], cat["a4d"]]))
        texts = [socket.inet_ntop(socket.AF_INET, int(a).to_bytes(4, "big")) for a in np.asarray(uniq4).tolist()]
    else:
        addr_id, texts = _mixed_addresses(cat, ver, n)
    src_code = addr_id[:n].astype(I64, copy=False)
    dst_code = addr_id[n:].astype(I64, copy=False)
    sport, dport = cat["sport"], cat["dport"]
    ep, ep_uniq = pd.factorize(np.concatenate([src_code * 65536 + sport, dst_code * 65536 + dport]))
    src_ep = ep[:n].astype(I64, copy=False)
    dst_ep = ep[n:].astype(I64, copy=False)
    lo = np.minimum(src_ep, dst_ep)
    hi = np.maximum(src_ep, dst_ep)
    dirb = (src_ep > dst_ep).astype(I64)
    key, _ = pd.factorize(lo * len(ep_uniq) + hi)
    return TcpColumns(cat["frame"], cat["ts"], key.astype(I64, copy=False), dirb, src_code, dst_code, texts,
                      sport, dport, cat["seq"], cat["ack"], cat["flags"], cat["window"], cat["seglen"],
                      cat["wscale"], cat["sack_n"], cat["sack_l"], cat["sack_r"])
