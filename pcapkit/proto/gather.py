"""A header's fields for a whole batch at once: :func:`gather` reads them from an ``(m, width)``
uint8 matrix of header bytes (one row per packet), with the same per-byte masks and shifts the
per-packet getters use (:mod:`pcapkit.proto.codegen`).

Values are numpy arrays: integers as int64, flags as bool, addresses as integer keys the
columnar tables turn into text once per distinct value (IPv4: uint32, MAC: uint64, IPv6: two
uint64 halves under ``name + ".hi"`` and ``name + ".lo"``).

This module imports numpy; :mod:`pcapkit.proto` itself does not.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from pcapkit.proto.spec import Field, Header

I64 = np.int64
U64 = np.uint64


def _int(f: Field, w: np.ndarray, base: int) -> np.ndarray:
    """``((raw >> shift) & mask) * scale`` for every row, reading only the masked bytes
    (int64; uint64 for a field that may not fit)."""
    effective = f.bitmask
    kind = U64 if (effective >> f.shift) * f.scale >= 1 << 63 else I64
    if f.size in (1, 2, 4):
        # the field's bytes read as one big-endian integer: ((raw & mask) >> shift) * scale,
        # the value the byte-by-byte loop below assembles
        raw = w[:, base + f.off:base + f.off + f.size]
        if raw.strides[1] != 1:
            raw = np.ascontiguousarray(raw)
        whole = raw.view(f">u{f.size}")[:, 0].astype(kind)
        if effective != (1 << (8 * f.size)) - 1:
            whole &= kind(effective)
        if f.shift:
            whole >>= kind(f.shift)
        if f.scale != 1:
            whole *= kind(f.scale)
        return whole
    out: np.ndarray | None = None
    for i in range(f.size):
        byte_mask = (effective >> (8 * (f.size - 1 - i))) & 0xFF
        if not byte_mask:
            continue
        col = w[:, base + f.off + i].astype(kind)
        if byte_mask != 0xFF:
            col &= kind(byte_mask)
        move = 8 * (f.size - 1 - i) - f.shift
        if move > 0:
            col <<= kind(move)
        elif move < 0:
            col >>= kind(-move)
        out = col if out is None else out | col
    assert out is not None
    if f.scale != 1:
        out *= kind(f.scale)
    return out


def address_key(w: np.ndarray, base: int, size: int) -> np.ndarray:
    """``size`` (<= 8) bytes as one unsigned big-endian integer per row."""
    out = np.zeros(w.shape[0], dtype=U64)
    for j in range(size):
        out = (out << U64(8)) | w[:, base + j].astype(U64)
    return out


def field_values(f: Field, w: np.ndarray, base: int = 0) -> dict[str, np.ndarray]:
    """The values of ``f`` for every row of ``w`` (the header starting at column ``base``)."""
    t = f.ftype
    if t == "bool":
        return {f.name: _int(f, w, base) != 0}
    if t in ("uint", "int"):
        values = _int(f, w, base)
        if t == "int" and f.size < 8:
            sign = 1 << (8 * f.size - 1)
            values = (values ^ sign) - sign
        return {f.name: values}
    if t == "ipv4":
        return {f.name: address_key(w, base + f.off, 4).astype(np.uint32)}
    if t == "ether":
        return {f.name: address_key(w, base + f.off, 6)}
    if t == "ipv6":
        return {f.name + ".hi": address_key(w, base + f.off, 8), f.name + ".lo": address_key(w, base + f.off + 8, 8)}
    raise ValueError(f"{f.name}: {t} fields are not gathered")


def gather(header: Header, w: np.ndarray, names: Iterable[str] | None = None, base: int = 0) -> dict[str, np.ndarray]:
    """The values of ``names`` (default: every field) of ``header`` for every row of ``w``,
    whose columns from ``base`` on hold the header's first bytes."""
    wanted = header.names if names is None else tuple(names)
    need = max((header[n].end for n in wanted), default=0)
    if w.shape[1] < base + need:
        raise ValueError(f"{header.proto}: {w.shape[1] - base} bytes per row, the fields need {need}")
    out: dict[str, np.ndarray] = {}
    for name in wanted:
        out.update(field_values(header[name], w, base))
    return out
