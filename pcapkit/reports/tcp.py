"""Per-frame TCP analysis as a DataFrame: one row per TCP frame, tshark's field names.

``tcp_frames(path)`` returns, per TCP frame, what ``tshark -o
tcp.analyze_sequence_numbers:TRUE`` shows: addresses and ports, relative and raw
sequence numbers, flags, the scaled window and every ``tcp.analysis.*`` field. The
segments come from the one segment source (:mod:`pcapkit.tcpflow.segments`) and the
analysis from the one TCP algorithm (:mod:`pcapkit.tcpflow.analysed`), compiled, or
interpreted with ``PCAPKIT_NO_NUMBA=1`` / ``fast=False``: the answers are identical.

Dtypes: a header field has the dtype it has in every pcapkit table (the packets table's:
``frame.number`` uint32, ports and ``tcp.flags`` UInt16, addresses categorical);
``ip.src``/``ip.dst`` hold IPv4 addresses and ``ipv6.src``/``ipv6.dst`` IPv6 ones, as
tshark's fields do. Analysis values: nullable integers, ``boolean`` flags (False when
tshark does not show the flag), ``datetime64[ns]`` for ``frame.time_epoch``, float
seconds for ``ack_rtt``/``initial_rtt``/``rto``/``time_relative``/``time_delta`` (as
tshark prints them). ``df.attrs["warnings"]`` lists the limits that cut the analysis
(unacked-segment cap, conversation cap); the ``analysis_limited`` column marks the
frames concerned. ``df.attrs["pcapkit.error"]`` holds the error that stopped reading a
damaged file (every frame before it is in the table).
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from typing import TYPE_CHECKING, Any

from pcapkit.capture.batch import CaptureFiles
from pcapkit.columnar.column_table import Column, ColumnTable, factorize
from pcapkit.dissect.tcp import flags_str
from pcapkit.tcpflow.analysed import TCP_MAX_UNACKED_SEGMENTS, AnalysedSegments, analyse_table
from pcapkit.tcpflow.engine import FLAG_FIELDS
from pcapkit.tcpflow.segments import segment_table

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.frame import Frame

PathOrFrames = str | PathLike[str] | CaptureFiles | Iterable["Frame"]  # (see pcapkit.tcpflow.segments.Source)

# columns whose dtype is that of the header field in every table (see _header_dtypes)
HEADER_COLUMNS = ("frame.number", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
                  "tcp.seq_raw", "tcp.ack_raw", "tcp.len", "tcp.flags", "tcp.flags.str",
                  "tcp.window_size_value")

COLUMNS: dict[str, str] = {
    "frame.number": "uint32",
    "frame.time_epoch": "datetime64[ns]",
    "tcp.stream": "Int64",
    "ip.src": "category",
    "ipv6.src": "category",
    "tcp.srcport": "UInt16",
    "ip.dst": "category",
    "ipv6.dst": "category",
    "tcp.dstport": "UInt16",
    "tcp.seq": "Int64",
    "tcp.ack": "Int64",
    "tcp.nxtseq": "Int64",
    "tcp.seq_raw": "UInt32",
    "tcp.ack_raw": "UInt32",
    "tcp.len": "UInt32",
    "tcp.flags": "UInt16",
    "tcp.flags.str": "string",
    "tcp.window_size_value": "UInt16",
    "tcp.window_size": "Int64",
    "tcp.window_size_scalefactor": "Int64",
    **{name: "boolean" for _, name in FLAG_FIELDS},
    "tcp.analysis.duplicate_ack_num": "Int64",
    "tcp.analysis.duplicate_ack_frame": "Int64",
    "tcp.analysis.acks_frame": "Int64",
    "tcp.analysis.ack_rtt": "float64",
    "tcp.analysis.initial_rtt": "float64",
    "tcp.analysis.bytes_in_flight": "Int64",
    "tcp.analysis.push_bytes_sent": "Int64",
    "tcp.analysis.rto": "float64",
    "tcp.analysis.rto_frame": "Int64",
    "tcp.time_relative": "float64",
    "tcp.time_delta": "float64",
    "analysis_limited": "boolean",
}


def _strings(codes: Any, texts: list[str]) -> Any:
    """The pandas "string" array of ``texts[codes]`` (what ``pd.array(list, dtype="string")``
    gives, built without a Python object per row when the storage is pyarrow)."""
    import numpy as np
    import pandas as pd

    if pd.StringDtype().storage == "pyarrow" and pd.StringDtype() == pd.array([], dtype="string").dtype:
        import pyarrow as pa
        import pyarrow.compute as pc

        # (a take from the texts: casting a dictionary array to strings took 10x longer)
        return pd.arrays.ArrowStringArray(pc.take(pa.array(texts, type=pa.string()),
                                                  pa.array(np.asarray(codes, dtype=np.int32))))
    return pd.array(np.array(texts, dtype=object)[codes], dtype="string")


def analysis_table(an: AnalysedSegments, *, release: bool = False) -> pd.DataFrame:
    """The tcp table (see the module doc) of analysed segments: the one builder.
    ``release``: the caller hands ``an`` over; its segment columns are let go once the
    header columns are made from them (before the analysis columns are built)."""
    return analysis_columns(an, release=release).to_pandas()


def analysis_columns(an: AnalysedSegments, *, release: bool = False) -> ColumnTable:
    """:func:`analysis_table` as a :class:`~pcapkit.columnar.column_table.ColumnTable`
    (what the CLI formats, without pandas)."""
    import numpy as np

    from pcapkit.tcpflow import flags as fl

    segs, res = an.segments, an.result
    have = np.asarray(res.have)
    short = (have & fl.H_SHORT) != 0
    flags = segs.flags
    is_syn = (flags & 0x002) != 0
    n = len(segs)

    def ints(values: np.ndarray, missing: np.ndarray | None = None) -> Column:
        return Column(np.ascontiguousarray(values, dtype=np.int64), None if missing is None else missing.copy(),
                      "Int64")

    def uints(values: np.ndarray, dtype: str, missing: np.ndarray | None = None) -> Column:
        if missing is None:
            return Column(np.asarray(values).astype(dtype), None, dtype.capitalize().replace("Uint", "UInt"))
        return Column(np.where(missing, 0, values).astype(dtype), missing.copy(),
                      dtype.capitalize().replace("Uint", "UInt"))

    def secs(values: np.ndarray, present: np.ndarray | None = None) -> Column:
        out = np.true_divide(values, 1e9)  # (int64 -> float64, then / 1e9: as int / 1e9)
        if present is not None:
            out[~present] = np.nan
        return Column(out, None, "float64")

    def opt(bit: int) -> np.ndarray:
        return (have & bit) == 0

    def booleans(values: np.ndarray) -> Column:
        return Column(values, None, "boolean")

    # (tcp.flags holds 12 bits: a table of the 4096 texts, indexed by the flags)
    fstr_all = ["" for _ in range(4096)]
    for f in np.unique(flags).tolist():
        fstr_all[f] = flags_str(f)
    a = np.asarray(res.aflags)
    data: dict[str, Column] = {
        "frame.number": Column(segs.frame.astype(np.uint32), None, "uint32"),
        "frame.time_epoch": Column(np.asarray(segs.ts_ns, dtype=np.int64), None, "datetime64[ns]"),
        "tcp.stream": ints(res.stream),
        "ip.src": _categorical(segs.src, segs.addresses, segs.ip_version == 4),
        "ipv6.src": _categorical(segs.src, segs.addresses, segs.ip_version == 6),
        "tcp.srcport": uints(segs.sport, "uint16"),
        "ip.dst": _categorical(segs.dst, segs.addresses, segs.ip_version == 4),
        "ipv6.dst": _categorical(segs.dst, segs.addresses, segs.ip_version == 6),
        "tcp.dstport": uints(segs.dport, "uint16"),
        "tcp.seq": ints(res.seq),
        "tcp.ack": ints(res.ack),
        "tcp.nxtseq": ints(res.nxtseq, short),
        "tcp.seq_raw": uints(segs.seq, "uint32"),
        "tcp.ack_raw": uints(segs.ack, "uint32"),
        "tcp.len": uints(segs.seglen, "uint32", short),
        "tcp.flags": uints(flags, "uint16"),
        "tcp.flags.str": Column(np.asarray(flags, dtype=np.int64), None, "string",
                                texts=np.array(fstr_all, dtype=object)),
        "tcp.window_size_value": uints(segs.window, "uint16"),
        "tcp.window_size": ints(res.window_size),
        "tcp.window_size_scalefactor": ints(res.scalefactor, is_syn | short),
    }
    warnings, error = list(an.warnings), segs.error
    if release:
        an.segments = segs.select(np.zeros(0, dtype=np.int64))  # (an empty table)
    del segs, flags, is_syn
    for bit, name in FLAG_FIELDS:
        data[name] = booleans((a & bit) != 0)
    data["tcp.analysis.duplicate_ack_num"] = ints(res.dupack_num, opt(fl.H_DUPACK))
    data["tcp.analysis.duplicate_ack_frame"] = ints(res.dupack_frame, opt(fl.H_DUPACK))
    data["tcp.analysis.acks_frame"] = ints(res.acks_frame, opt(fl.H_ACKS_FRAME))
    data["tcp.analysis.ack_rtt"] = secs(res.ack_rtt, ~opt(fl.H_ACK_RTT))
    data["tcp.analysis.initial_rtt"] = secs(res.irtt, ~opt(fl.H_IRTT))
    data["tcp.analysis.bytes_in_flight"] = ints(res.bif, opt(fl.H_BIF))
    data["tcp.analysis.push_bytes_sent"] = ints(res.push, opt(fl.H_PUSH))
    data["tcp.analysis.rto"] = secs(res.rto, ~opt(fl.H_RTO))
    data["tcp.analysis.rto_frame"] = ints(res.rto_frame, opt(fl.H_RTO))
    data["tcp.time_relative"] = secs(res.time_relative)
    data["tcp.time_delta"] = secs(res.time_delta)
    data["analysis_limited"] = booleans((have & fl.H_LIMITED) != 0)
    attrs: dict[str, Any] = {"warnings": warnings}
    if error is not None:
        attrs["pcapkit.error"] = str(error)
    return ColumnTable(data, attrs, n)


def _categorical(codes: Any, texts: list[str], present: Any) -> Column:
    """A categorical of ``texts[codes]`` where ``present``, missing elsewhere; categories
    in order of first appearance, as the packets table's."""
    import numpy as np

    out = np.full(codes.shape[0], -1, dtype=np.int32)
    sel = np.nonzero(present)[0]
    if sel.size == 0:
        return Column(out, None, "category", texts=np.zeros(0, dtype=object))
    local, uniques = factorize(codes[sel])
    out[sel] = local
    return Column(out, None, "category", texts=np.array([texts[c] for c in uniques.tolist()], dtype=object))


def tcp_frames(path: PathOrFrames, stream: int | None = None, *, bpf: str | None = None,
               max_unacked: int = TCP_MAX_UNACKED_SEGMENTS,
               max_conversations: int | None = None, fast: bool = True) -> pd.DataFrame:
    """One row per TCP frame of ``path`` with tshark's TCP analysis (see module doc).

    ``stream`` keeps one tcp.stream; ``bpf`` (a tcpdump filter) keeps the frames it
    matches -- the analysis itself always runs over every frame, as tshark's -Y.
    ``fast=False`` runs the interpreted analysis (identical results).
    """
    return tcp_table(path, stream, bpf=bpf, max_unacked=max_unacked, max_conversations=max_conversations,
                     fast=fast).to_pandas()


def tcp_table(path: PathOrFrames, stream: int | None = None, *, bpf: str | None = None,
              max_unacked: int = TCP_MAX_UNACKED_SEGMENTS,
              max_conversations: int | None = None, fast: bool = True) -> ColumnTable:
    """:func:`tcp_frames` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what
    the CLI formats, without pandas)."""
    import numpy as np

    from pcapkit.reports.memory import release_memory

    table = segment_table(path, mark=bpf)
    release_memory()  # (the reader's batches: free pages the analysis' arrays might not reuse)
    an = analyse_table(table, max_unacked=max_unacked, max_conversations=max_conversations,
                       compiled=None if fast else False)
    del table
    release_memory()
    if stream is not None or bpf:
        sel = np.ones(len(an), dtype=bool)
        if stream is not None:
            sel &= an.stream == stream
        if bpf:
            sel &= an.segments.matched == 1
        an = an.select(sel)
    columns = analysis_columns(an, release=True)
    del an  # (the table keeps the analysis' arrays, not the segment columns)
    release_memory()
    return columns


def column(values: list[Any], dtype: str) -> Any:
    """A typed pandas array from a list where None means missing (fast paths for numbers)."""
    import numpy as np
    import pandas as pd

    if dtype in ("Int64", "float64", "datetime64[ns]", "boolean"):
        has_none = None in values
        if has_none:
            mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
            filled = [0 if v is None else v for v in values]
        else:
            mask = np.zeros(len(values), dtype=bool)
            filled = values
        if dtype == "Int64":
            return pd.arrays.IntegerArray(np.array(filled, dtype=np.int64), mask)
        if dtype == "boolean":
            return pd.arrays.BooleanArray(np.array(filled, dtype=bool), mask)
        if dtype == "float64":
            arr = np.array(filled, dtype=np.float64)
            arr[mask] = np.nan
            return arr
        ns = np.array(filled, dtype=np.int64).view("datetime64[ns]")
        ns[mask] = np.datetime64("NaT")
        return ns
    return pd.array(values, dtype=dtype)  # type: ignore[call-overload]
