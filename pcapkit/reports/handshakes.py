"""The three-way handshake of every TCP conversation (tcp.stream).

One row per stream: who opened it (client = sender of the SYN; when only the SYN-ACK
was seen, its receiver), the SYN / SYN-ACK / ACK frames and times, SYN
retransmissions, each side's raw ISN and SYN options (MSS, window scale shift, SACK
permitted, timestamps), tshark's ``tcp.analysis.initial_rtt`` and the outcome.

``tcp.analysis.initial_rtt`` is exactly tshark's (4.0): the time from the most recent
SYN to the first segment with ACK and without SYN -- so a connection refused by a
RST|ACK has one (SYN to RST time, as tshark shows it on the RST), one refused by a
bare RST has none.

The outcomes:

- ``established``: SYN-ACK and then the client's ACK were seen (``syn_frame`` is empty
  when the SYN itself is missing from the capture);
- ``incomplete``: SYN-ACK seen, but no ACK from the client afterwards;
- ``refused``: the server answered the SYN with a RST;
- ``unanswered``: SYN(s) only;
- ``mid-stream``: no SYN at all (the capture started after the handshake).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.columnar.column_table import Column, ColumnTable
from pcapkit.tcpflow.analysed import AnalysedSegments, analyse_table
from pcapkit.tcpflow.segment import ACK, RST, SYN
from pcapkit.tcpflow.segments import segment_table

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.reports.tcp import PathOrFrames


COLUMNS: dict[str, str] = {
    "tcp.stream": "Int64",
    "client": "string",
    "server": "string",
    "syn_frame": "Int64",
    "syn_time": "datetime64[ns]",
    "synack_frame": "Int64",
    "synack_time": "datetime64[ns]",
    "ack_frame": "Int64",
    "ack_time": "datetime64[ns]",
    "syn_retransmissions": "Int64",
    "client_isn": "Int64",
    "server_isn": "Int64",
    "client_mss": "Int64",
    "server_mss": "Int64",
    "client_wscale": "Int64",
    "server_wscale": "Int64",
    "client_sack_permitted": "boolean",
    "server_sack_permitted": "boolean",
    "client_timestamps": "boolean",
    "server_timestamps": "boolean",
    "tcp.analysis.initial_rtt": "float64",
    "outcome": "string",
}


def _endpoint(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def _first_per_stream(pos: np.ndarray, mask: np.ndarray, k: int, none: int) -> np.ndarray:
    """Per stream (``pos``: each row's stream index, of ``k``), its first row where ``mask``
    holds; ``none`` where there is none."""
    out = np.full(k, none, dtype=np.int64)
    rows = np.nonzero(mask)[0]
    if rows.size:
        groups, first = np.unique(pos[rows], return_index=True)  # rows ascend: first = earliest
        out[groups] = rows[first]
    return out


def _handshake_arrays(an: AnalysedSegments) -> dict[str, Any]:
    """The handshake of every stream as arrays (one entry per stream, sorted by
    tcp.stream): the stream numbers, the client's and server's (address code, port), and
    the rows of the first segment, the client's first SYN, the SYN-ACK to it and the
    client's ACK after that (``n``, the number of rows, where there is none), the SYN
    count and whether the server refused with a RST.

    Per stream in file order (what a state machine over its segments would decide): the
    client sent the first SYN, or received the first SYN-ACK, whichever came first; the
    SYN-ACK is the first one sent to the client; a RST without SYN from the other side,
    after the client is known and before that SYN-ACK, is a refusal; the ACK is the
    client's first segment after the SYN-ACK with ACK and neither SYN nor RST."""
    segs = an.segments
    stream = an.stream
    n = int(stream.shape[0])
    flags = segs.flags
    src, sport, dst, dport = segs.src, segs.sport, segs.dst, segs.dport
    streams, first = np.unique(stream, return_index=True)
    k = int(streams.shape[0])
    pos = np.searchsorted(streams, stream)
    synack_bits = flags & (SYN | ACK)
    pure_syn = synack_bits == SYN
    is_synack = synack_bits == (SYN | ACK)
    opener = _first_per_stream(pos, pure_syn | is_synack, k, n)
    has_client = opener < n
    at = np.where(has_client, opener, 0)
    opened_by_syn = pure_syn[at]
    # the client: the SYN's sender or the SYN-ACK's receiver; else the first segment's sender
    c_addr = np.where(has_client, np.where(opened_by_syn, src[at], dst[at]), src[first])
    c_port = np.where(has_client, np.where(opened_by_syn, sport[at], dport[at]), sport[first])
    first_is_client = (src[first] == c_addr) & (sport[first] == c_port)
    s_addr = np.where(first_is_client, dst[first], src[first])
    s_port = np.where(first_is_client, dport[first], sport[first])
    known = has_client[pos]  # per row: its stream has a client
    from_client = known & (src == c_addr[pos]) & (sport == c_port[pos])
    to_client = known & (dst == c_addr[pos]) & (dport == c_port[pos])
    client_syn = pure_syn & from_client
    syn = _first_per_stream(pos, client_syn, k, n)
    syn_count = np.bincount(pos[client_syn], minlength=k)
    synack = _first_per_stream(pos, is_synack & to_client, k, n)
    row = np.arange(n, dtype=np.int64)
    refusal = (((flags & RST) != 0) & ((flags & SYN) == 0) & known & ~from_client
               & (row > opener[pos]) & (row < synack[pos]))
    refused = np.bincount(pos[refusal], minlength=k) > 0
    acking = ((flags & ACK) != 0) & ((flags & (SYN | RST)) == 0) & from_client & (row > synack[pos])
    ack = _first_per_stream(pos, acking, k, n)
    return {"n": n, "stream": streams, "client": (c_addr, c_port), "server": (s_addr, s_port), "syn": syn,
            "syn_count": syn_count, "synack": synack, "ack": ack, "refused": refused}


def _endpoints(texts: list[str], addr: np.ndarray, port: np.ndarray) -> np.ndarray:
    """The "address:port" text of each (address code, port), as a numpy array of str
    (numpy's string kernels: no Python string per row)."""
    hosts = np.array([f"[{a}]" if ":" in a else a for a in texts] or [""], dtype=str)
    if not addr.shape[0]:
        return np.zeros(0, dtype=str)
    return np.char.add(np.char.add(hosts[np.asarray(addr, dtype=np.int64)], ":"),
                       np.asarray(port, dtype=np.int64).astype(str))


def _columns(an: AnalysedSegments) -> Iterator[tuple[str, Any, np.ndarray | None]]:
    """Every column of the report as (name, values, missing mask or None), one at a time:
    integers for the Int64, time (ns), boolean and float columns, "string" arrays or
    object arrays of texts for the others."""
    segs = an.segments
    h = _handshake_arrays(an)
    n = h["n"]
    syn, synack, ack = h["syn"], h["synack"], h["ack"]
    no_syn, no_synack, no_ack = syn == n, synack == n, ack == n
    # (rows of missing steps read row 0: their values are masked, and set to 0)
    syn_at, synack_at, ack_at = (np.where(r == n, 0, r) for r in (syn, synack, ack))
    texts = segs.addresses

    def at(values: np.ndarray, rows: np.ndarray, missing: np.ndarray) -> np.ndarray:
        if not values.shape[0]:
            return np.zeros(rows.shape[0], dtype=np.int64)
        out = values[rows]
        out[missing] = 0
        return out

    def option(values: np.ndarray, rows: np.ndarray, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = at(values, rows, missing)
        unset = missing | (v < 0)
        v[unset] = 0
        return v, unset

    yield "tcp.stream", h["stream"], None
    yield "client", _endpoints(texts, *h["client"]), None
    yield "server", _endpoints(texts, *h["server"]), None
    yield "syn_frame", at(segs.frame, syn_at, no_syn), no_syn
    yield "syn_time", at(segs.ts_ns, syn_at, no_syn), no_syn
    yield "synack_frame", at(segs.frame, synack_at, no_synack), no_synack
    yield "synack_time", at(segs.ts_ns, synack_at, no_synack), no_synack
    yield "ack_frame", at(segs.frame, ack_at, no_ack), no_ack
    yield "ack_time", at(segs.ts_ns, ack_at, no_ack), no_ack
    retrans = np.maximum(h["syn_count"] - 1, 0)
    retrans[no_syn] = 0
    yield "syn_retransmissions", retrans, no_syn
    yield "client_isn", at(segs.seq, syn_at, no_syn), no_syn
    yield "server_isn", at(segs.seq, synack_at, no_synack), no_synack
    yield "client_mss", *option(segs.mss, syn_at, no_syn)
    yield "server_mss", *option(segs.mss, synack_at, no_synack)
    yield "client_wscale", *option(segs.wscale, syn_at, no_syn)
    yield "server_wscale", *option(segs.wscale, synack_at, no_synack)
    yield "client_sack_permitted", at(segs.sack_perm, syn_at, no_syn) != 0, no_syn
    yield "server_sack_permitted", at(segs.sack_perm, synack_at, no_synack) != 0, no_synack
    yield "client_timestamps", (at(segs.tsval, syn_at, no_syn) >= 0) & ~no_syn, no_syn
    yield "server_timestamps", (at(segs.tsval, synack_at, no_synack) >= 0) & ~no_synack, no_synack
    irtt = np.full(h["stream"].shape[0], np.nan)
    have = [(st, v) for st, v in an.initial_rtt_by_stream().items() if v]
    if have:
        sts = np.array([st for st, _ in have], dtype=np.int64)
        irtt[np.searchsorted(h["stream"], sts)] = np.array([v for _, v in have], dtype=np.float64) / 1e9
    yield "tcp.analysis.initial_rtt", irtt, np.isnan(irtt)
    # the five texts shared, not one string object per stream
    choices = np.array(["established", "incomplete", "refused", "unanswered", "mid-stream"], dtype=object)
    code = np.select([~no_ack, ~no_synack, ~no_syn & h["refused"], ~no_syn], [0, 1, 2, 3], 4)
    yield "outcome", choices[code], None


def handshake_rows(an: AnalysedSegments) -> list[dict[str, Any]]:
    """One row (a dict) per tcp.stream of analysed segments (None where missing)."""
    out: dict[str, list[Any]] = {}
    for name, values, missing in _columns(an):
        plain = values.tolist() if isinstance(values, np.ndarray) else list(values)
        if missing is not None:
            plain = [None if m else v for v, m in zip(plain, missing.tolist(), strict=True)]
        out[name] = plain
    names = list(out)
    return [dict(zip(names, row, strict=True)) for row in zip(*out.values(), strict=True)]


def handshakes(path: PathOrFrames | AnalysedSegments) -> pd.DataFrame:
    """One row per tcp.stream of ``path`` describing its handshake (see module doc)."""
    return handshake_table(path).to_pandas()


def handshake_table(path: PathOrFrames | AnalysedSegments) -> ColumnTable:
    """:func:`handshakes` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what
    the CLI formats, without pandas)."""
    from pcapkit.reports.memory import release_memory

    if isinstance(path, AnalysedSegments):
        an = path
    else:
        table = segment_table(path)
        release_memory()  # (the reader's batches)
        an = _slim(analyse_table(table))
        del table
        release_memory()
    warnings, error = list(an.warnings), an.segments.error
    # every column's values first (a few arrays per stream), then the analysis goes
    # (per segment: ~0.4 KB) before the columns are typed, mostly without a copy
    raw = list(_columns(an))
    del an
    if not isinstance(path, AnalysedSegments):
        release_memory()
    data: dict[str, Column] = {}
    while raw:
        name, values, missing = raw.pop(0)
        data[name] = _typed(values, missing, COLUMNS[name])
        del values, missing
    attrs: dict[str, Any] = {"warnings": warnings}
    if error is not None:
        attrs["pcapkit.error"] = str(error)
    return ColumnTable(data, attrs)


# the segment columns the report reads
_READ = ("frame", "ts_ns", "src", "dst", "sport", "dport", "seq", "flags", "mss", "wscale", "sack_perm", "tsval")


def _slim(an: AnalysedSegments) -> AnalysedSegments:
    """``an`` with only what the report reads: the segment columns of :data:`_READ` (the
    others empty) and, of the analysis, tcp.stream and the initial RTT (copies: the
    results are rows of one array). A million segments: ~0.3 GB let go at once."""
    import dataclasses
    from types import SimpleNamespace

    from pcapkit.tcpflow.segments.table import INT_COLUMNS

    res = an.result
    empty: dict[str, Any] = {name: np.zeros(0, dtype=np.int64) for name in INT_COLUMNS if name not in _READ}
    segs = dataclasses.replace(an.segments, _keys=None, **empty)
    return AnalysedSegments(segs, SimpleNamespace(stream=np.array(res.stream), have=np.array(res.have),
                                                  irtt=np.array(res.irtt)), an.warnings)


def _typed(values: np.ndarray, missing: np.ndarray | None, dtype: str) -> Column:
    """The column of ``dtype`` (masked values are already 0 / False)."""
    if dtype == "float64":
        return Column(values.astype(np.float64, copy=False), None, dtype)  # (missing: NaN)
    if dtype == "string":
        return Column(values, missing, dtype)
    if dtype == "boolean":
        return Column(values.astype(bool, copy=False), missing, dtype)
    return Column(values.astype(np.int64, copy=False), missing, dtype)
