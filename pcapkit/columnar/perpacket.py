"""Rows the fast path marked, decoded by the per-packet dissectors.

:func:`fill` runs :func:`pcapkit.dissect.driver.dissect` on each marked frame (in file
order, through one :class:`~pcapkit.dissect.driver.DissectSession`, so IP fragments
are reassembled as tshark does) and replaces the row's header fields with the
dissector's, so a value never depends on which path decoded the row. A field that
occurs several times (tunnels, ICMP errors quoting a datagram) keeps its first, outer
occurrence. The ``pcapkit.fallback`` column stays True on these rows: it says which
path decoded them.
"""

from __future__ import annotations

import contextlib
import gc
import socket
from collections.abc import Iterator
from typing import Any

import numpy as np

from pcapkit.capture.batch import BatchFrames, RecordBatch
from pcapkit.columnar import dtypes, fragments
from pcapkit.columnar.decode import FRAGMENT_IP_OFFSET, Columns

# the columns the file layer gives (never taken from the dissector)
FRAME_COLUMNS = frozenset({"frame.number", "frame.time_epoch", "frame.len", "frame.cap_len",
                           "frame.interface_id"})
_HEADER_SPECS = [spec for name, spec in dtypes.specs().items() if name not in FRAME_COLUMNS]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector held off for one batch's per-packet loop (and restored
    as it was): the pending fragments the reassembler keeps are long-lived objects that
    each collection would scan again (200,000 never-completing fragments: ~1.5 s of
    collections); the loop makes no reference cycles, and a batch is bounded."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def new_session() -> Any:
    """A dissection session for one file."""
    from pcapkit.dissect.driver import DissectSession

    return DissectSession()


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def header_values(fields: dict[str, Any]) -> dict[str, Any]:
    """The packets-table values of one dissected frame (native Python values)."""
    out: dict[str, Any] = {}
    for spec in _HEADER_SPECS:
        v = _first(fields.get(spec.name))
        if v is not None:
            out[spec.name] = v
    if "tcp.srcport" in fields:
        kinds = fields.get("tcp.option_kind", [])
        kinds = kinds if isinstance(kinds, list) else [kinds]
        out["tcp.options.sack_perm"] = 4 in kinds
    return out


def _key(ftype: str, value: Any) -> Any:
    """The value as the decoder stores it (addresses as the integer of their bytes)."""
    if ftype == "ether":
        return int(str(value).replace(":", ""), 16)
    if ftype == "ipv4":
        return int.from_bytes(socket.inet_aton(str(value)), "big")
    if ftype == "bool":
        return bool(value)
    return int(value)


def layer_values(layers: Any) -> dict[str, Any]:
    """:func:`header_values` of a dissected frame, read from its layers directly (no
    merged dict of every field): the first occurrence of each column's field wins."""
    out: dict[str, Any] = {}
    seen: set[str] = set()
    kinds: list[Any] = []
    tcp = False
    names = _HEADER_NAMES
    for layer in layers:
        lf = layer.fields
        for name in names & lf.keys():  # (a set operation in C: the layer's column fields)
            if name not in seen:
                seen.add(name)
                v = _first(lf[name])
                if v is not None:
                    out[name] = v
        if "tcp.srcport" in lf:
            tcp = True
            value = lf.get("tcp.option_kind")
            if value is not None:
                kinds.extend(value if isinstance(value, list) else [value])
    if tcp:
        out["tcp.options.sack_perm"] = 4 in kinds
    return out


_HEADER_NAMES = frozenset(spec.name for spec in _HEADER_SPECS)
_FTYPES = {spec.name: spec.ftype for spec in _HEADER_SPECS}


def fill(rb: RecordBatch, cols: Columns, session: Any) -> int:
    """Decode the marked rows of ``cols`` with the per-packet path; returns how many.

    A fragment the fast path decoded up to its IP header (:data:`FRAGMENT_IP_OFFSET`) that
    leaves its datagram incomplete only goes through the session's reassembler: the
    dissectors would show no more of it than the fast path's link and IP columns (tshark
    stops at "Fragmented IP protocol"); runs of such fragments are added in bulk
    (:mod:`pcapkit.columnar.fragments`). The fragment that may complete a datagram, and
    every other marked row, is dissected in full, in file order."""
    if session is None:
        return 0
    rows = np.nonzero(cols.fallback)[0]
    if rows.size == 0:
        return 0
    frag_valid = cols.valid.get(FRAGMENT_IP_OFFSET)
    frag_off = cols.values.get(FRAGMENT_IP_OFFSET)
    quiet = session.reassembler.add_if_incomplete if frag_valid is not None and session.reassemble_ip else None
    # per column: the rows and their values, set at the end (one numpy write per column)
    found: dict[str, tuple[list[int], list[Any]]] = {}
    dissected: list[int] = []
    records = BatchFrames(rb)
    first_number = rb.first_number
    row_list = rows.tolist()
    with gc_paused():
        def per_row(p: int) -> None:
            _fill_row(row_list[p], records, frag_valid, frag_off, quiet, session, found, dissected)

        if quiet is None:
            for p in range(len(row_list)):
                per_row(p)
        else:
            numbers = np.arange(first_number, first_number + len(rb), dtype=np.int64)
            positions, frags = fragments.candidates(rb, numbers, rows, frag_valid, frag_off)
            reassembler = session.reassembler
            fragments.walk_rows(len(row_list), positions,
                                lambda lo, hi: reassembler.add_pending_batch(frags, lo, hi), per_row,
                                lambda lo, hi: None)
    _write(cols, found, dissected)
    return int(rows.size)


def fill_dissected(cols: Columns, packets: list[tuple[int, Any]], others: list[int]) -> None:
    """:func:`fill`'s result from dissections made elsewhere (the same session work, in
    file order): ``packets`` (row, Packet) of the marked rows dissected, ``others`` the
    marked rows that are not packets (pcapng records)."""
    found: dict[str, tuple[list[int], list[Any]]] = {}
    for i, packet in packets:
        _collect(i, packet.layers, found)
    _write(cols, found, [i for i, _ in packets] + others)


def _write(cols: Columns, found: dict[str, tuple[list[int], list[Any]]], dissected: list[int]) -> None:
    """The values of the dissected rows into ``cols`` (one numpy write per column)."""
    # the per-packet path decides every header field of the rows it dissected
    done = np.array(dissected, dtype=np.int64)
    for name in list(cols.valid):
        if name not in FRAME_COLUMNS:
            cols.own_valid(name)[done] = False
    for name, (idx, values) in found.items():
        dtype = np.uint64 if name.endswith((".hi", ".lo")) else None
        try:
            cols.set(name, np.array(idx, dtype=np.int64), np.array(values, dtype=dtype or _dtype_of(name)), dtype)
        except (TypeError, ValueError, OverflowError):
            for j, value in zip(idx, values, strict=True):  # one value out of range: the others stay
                with contextlib.suppress(TypeError, ValueError, OverflowError):
                    cols.set(name, np.array([j], dtype=np.int64), value, dtype)


def _fill_row(i: int, records: BatchFrames, frag_valid: Any, frag_off: Any, quiet: Any, session: Any,
              found: dict[str, tuple[list[int], list[Any]]], dissected: list[int]) -> None:
    """:func:`fill`'s work on one marked row (row ``i`` of the batch), in file order."""
    from pcapkit.dissect.driver import dissect
    from pcapkit.dissect.ipreassembly import ipv4_fragment

    if records.linktype[i] < 0:
        dissected.append(i)
        return  # a pcapng record that is not a packet
    if quiet is not None and frag_valid is not None and frag_off is not None and frag_valid[i]:
        info, payload = ipv4_fragment(records.buf, records.data_off[i] + int(frag_off[i]))
        if quiet(info, payload, records.first_number + i, records.ts_ns[i]):
            return  # pending: the fast path's columns are the row
    dissected.append(i)
    _collect(i, dissect(records.frame(i), session).layers, found)


def _collect(i: int, layers: Any, found: dict[str, tuple[list[int], list[Any]]]) -> None:
    """The column values of row ``i`` from its dissected layers, added to ``found``."""
    ftypes = _FTYPES
    for name, v in layer_values(layers).items():
        ftype = ftypes[name]
        try:
            if ftype == "ipv6":
                n = int.from_bytes(socket.inet_pton(socket.AF_INET6, str(v)), "big")
                _add(found, name + ".hi", i, n >> 64)
                _add(found, name + ".lo", i, n & ((1 << 64) - 1))
            else:
                _add(found, name, i, _key(ftype, v))
        except (TypeError, ValueError, OverflowError, OSError):
            continue  # a value the column cannot hold (e.g. bytes); leave it missing


def _add(found: dict[str, tuple[list[int], list[Any]]], name: str, row: int, value: Any) -> None:
    entry = found.get(name)
    if entry is None:
        found[name] = ([row], [value])
    else:
        entry[0].append(row)
        entry[1].append(value)


def _dtype_of(name: str) -> Any:
    return dtypes.numpy_dtype(dtypes.specs()[name])
