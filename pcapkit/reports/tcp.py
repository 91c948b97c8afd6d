"""Per-frame TCP analysis as a DataFrame: one row per TCP frame, tshark's field names.

``tcp_frames(path)`` runs the flow engine (:mod:`pcapkit.tcpflow.engine`) over every TCP
segment of the file and returns, per frame, what ``tshark -o
tcp.analyze_sequence_numbers:TRUE`` shows: addresses and ports, relative and raw
sequence numbers, flags, the scaled window and every ``tcp.analysis.*`` field.

Dtypes: nullable ``Int64`` for numbers, ``boolean`` for the analysis flags (False when
tshark does not show the flag), ``datetime64[ns]`` for ``frame.time_epoch``, float
seconds for ``ack_rtt``/``initial_rtt``/``rto``/``time_relative``/``time_delta`` (as
tshark prints them), ``string`` for addresses. ``ip.src``/``ip.dst`` hold IPv6
addresses too. ``df.attrs["warnings"]`` lists the limits that cut the analysis
(unacked-segment cap, conversation cap); the ``analysis_limited`` column marks the
frames concerned.

Speed: a file path is analysed by :func:`pcapkit.tcpflow.analysis.run` (compiled by
numba; interpreted when numba is missing or ``PCAPKIT_NO_NUMBA=1`` is set) over columns
built by the columnar reader (:mod:`pcapkit.tcpflow.columns`); the result is identical
to the per-frame extractor + engine, which is used when ``fast=False`` is given or the
input is an iterable of frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from os import PathLike
from typing import TYPE_CHECKING, Any

from pcapkit.dissect.tcp import flags_str
from pcapkit.tcpflow.engine import FLAG_FIELDS, TCP_MAX_UNACKED_SEGMENTS, FrameAnalysis, TcpEngine

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.frame import Frame

PathOrFrames = str | PathLike[str] | Iterable["Frame"]

COLUMNS: dict[str, str] = {
    "frame.number": "Int64",
    "frame.time_epoch": "datetime64[ns]",
    "tcp.stream": "Int64",
    "ip.src": "string",
    "tcp.srcport": "Int64",
    "ip.dst": "string",
    "tcp.dstport": "Int64",
    "tcp.seq": "Int64",
    "tcp.ack": "Int64",
    "tcp.nxtseq": "Int64",
    "tcp.seq_raw": "Int64",
    "tcp.ack_raw": "Int64",
    "tcp.len": "Int64",
    "tcp.flags": "string",
    "tcp.flags.str": "string",
    "tcp.window_size_value": "Int64",
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

def run_engine(source: PathOrFrames, *, max_unacked: int = TCP_MAX_UNACKED_SEGMENTS,
               max_conversations: int | None = None) -> tuple[TcpEngine, Iterator[FrameAnalysis]]:
    """A fresh engine and the generator of its records over ``source``."""
    from pcapkit.tcpflow.extract import segments

    engine = TcpEngine(max_unacked=max_unacked, max_conversations=max_conversations)

    def records() -> Iterator[FrameAnalysis]:
        feed = engine.feed
        for seg in segments(source):
            rec = feed(seg)
            if rec is not None:
                yield rec

    return engine, records()


def _bpf_numbers(path: str | PathLike[str], expr: str) -> set[int]:
    from pcapkit.capture.bpf import filter_frames
    from pcapkit.tcpflow.extract import frames_of

    return {f.number for f in filter_frames(frames_of(path), expr)}


def _column(values: list[Any], dtype: str) -> Any:
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


def frames_table(records: Iterable[FrameAnalysis], warnings: list[str] | None = None) -> pd.DataFrame:
    """The DataFrame of already computed records."""
    import pandas as pd

    cols: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    flag_cols = [(bit, cols[name]) for bit, name in FLAG_FIELDS]
    c_num, c_time, c_stream = cols["frame.number"], cols["frame.time_epoch"], cols["tcp.stream"]
    c_src, c_sport, c_dst, c_dport = cols["ip.src"], cols["tcp.srcport"], cols["ip.dst"], cols["tcp.dstport"]
    c_seq, c_ack, c_nxt = cols["tcp.seq"], cols["tcp.ack"], cols["tcp.nxtseq"]
    c_sraw, c_araw, c_len = cols["tcp.seq_raw"], cols["tcp.ack_raw"], cols["tcp.len"]
    c_flags, c_fstr = cols["tcp.flags"], cols["tcp.flags.str"]
    c_wv, c_ws, c_wsf = cols["tcp.window_size_value"], cols["tcp.window_size"], cols["tcp.window_size_scalefactor"]
    rest = [cols[n] for n in ("tcp.analysis.duplicate_ack_num", "tcp.analysis.duplicate_ack_frame",
                              "tcp.analysis.acks_frame", "tcp.analysis.ack_rtt", "tcp.analysis.initial_rtt",
                              "tcp.analysis.bytes_in_flight", "tcp.analysis.push_bytes_sent",
                              "tcp.analysis.rto", "tcp.analysis.rto_frame", "tcp.time_relative",
                              "tcp.time_delta", "analysis_limited")]
    fstr_cache: dict[int, str] = {}
    for r in records:
        s = r.segment
        c_num.append(s.frame_number)
        c_time.append(s.ts_ns)
        c_stream.append(r.stream)
        c_src.append(s.src)
        c_sport.append(s.sport)
        c_dst.append(s.dst)
        c_dport.append(s.dport)
        c_seq.append(r.seq)
        c_ack.append(r.ack)
        c_sraw.append(s.seq)
        c_araw.append(s.ack)
        short = r.short
        c_nxt.append(None if short else r.nxtseq)
        c_len.append(None if short else s.seglen)
        fs = fstr_cache.get(s.flags)
        if fs is None:
            fs = fstr_cache[s.flags] = flags_str(s.flags)
        c_flags.append(f"0x{s.flags:04x}")
        c_fstr.append(fs)
        c_wv.append(s.window)
        c_ws.append(r.window_size)
        c_wsf.append(None if s.flags & 0x002 or short else r.scalefactor)
        a = r.flags
        for bit, col in flag_cols:
            col.append(bool(a & bit))
        for col, value in zip(rest, (
                r.dupack_num, r.dupack_frame, r.acks_frame,
                None if r.ack_rtt is None else r.ack_rtt / 1e9,
                None if r.initial_rtt is None else r.initial_rtt / 1e9,
                r.bytes_in_flight, r.push_bytes_sent,
                None if r.rto is None else r.rto / 1e9, r.rto_frame,
                r.time_relative / 1e9, r.time_delta / 1e9, r.limited), strict=True):
            col.append(value)
    data: dict[str, Any] = {name: _column(cols[name], dtype) for name, dtype in COLUMNS.items()}
    df = pd.DataFrame(data)
    df.attrs["warnings"] = list(warnings or [])
    return df


def _strings(codes: Any, texts: list[str]) -> Any:
    """The pandas "string" array of ``texts[codes]`` (what ``pd.array(list, dtype="string")``
    gives, built without a Python object per row when the storage is pyarrow)."""
    import numpy as np
    import pandas as pd

    if pd.StringDtype().storage == "pyarrow" and pd.StringDtype() == pd.array([], dtype="string").dtype:
        import pyarrow as pa

        dictionary = pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, dtype=np.int32)), pa.array(texts))
        return pd.arrays.ArrowStringArray(dictionary.cast(pa.string()))
    return pd.array(np.array(texts, dtype=object)[codes], dtype="string")


def kernel_table(path: str | PathLike[str], *, max_unacked: int = TCP_MAX_UNACKED_SEGMENTS,
                 max_conversations: int | None = None) -> pd.DataFrame | None:
    """The table of :func:`frames_table` computed by :func:`pcapkit.tcpflow.analysis.run`
    over columns (:mod:`pcapkit.tcpflow.columns`), or None when that path does not apply
    (packets only the per-frame extractor handles)."""
    from pcapkit.tcpflow import analysis
    from pcapkit.tcpflow import flags as fl
    from pcapkit.tcpflow.columns import tcp_columns

    tc = tcp_columns(path)
    if tc is None:
        return None
    import numpy as np
    import pandas as pd

    res = analysis.run(tc.frame, tc.ts_ns, tc.key, tc.dirb, tc.seq, tc.ack, tc.flags, tc.window,
                       tc.seglen, tc.wscale, tc.sack_n, tc.sack_l, tc.sack_r,
                       max_unacked=max_unacked, max_conversations=max_conversations)
    kept = np.nonzero(res.stream >= 0)[0]
    # (every row kept, the usual case: views instead of copies)
    keep: Any = slice(None) if kept.shape[0] == len(tc) else kept
    have = res.have[keep]
    short = (have & fl.H_SHORT) != 0
    flags = tc.flags[keep]
    is_syn = (flags & 0x002) != 0

    def ints(values: np.ndarray, missing: np.ndarray | None = None) -> Any:
        m = np.zeros(values.shape[0], dtype=bool) if missing is None else missing
        return pd.arrays.IntegerArray(np.ascontiguousarray(values, dtype=np.int64), m.copy())

    def secs(values: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
        out = np.true_divide(values, 1e9)  # (int64 -> float64, then / 1e9: as int / 1e9)
        if present is not None:
            out[~present] = np.nan
        return out

    def opt(bit: int) -> np.ndarray:
        return (have & bit) == 0

    # (tcp.flags holds 12 bits: a table of the 4096 texts, indexed by the flags)
    used = np.unique(flags)
    fhex_all = ["" for _ in range(4096)]
    fstr_all = ["" for _ in range(4096)]
    for f in used.tolist():
        fhex_all[f] = f"0x{f:04x}"
        fstr_all[f] = flags_str(f)
    a = res.aflags[keep]
    g = {name: res.__dict__[name][keep] for name in (
        "stream", "seq", "ack", "nxtseq", "window_size", "scalefactor", "acks_frame", "ack_rtt", "irtt", "bif",
        "push", "dupack_num", "dupack_frame", "rto", "rto_frame", "time_relative", "time_delta")}
    data: dict[str, Any] = {
        "frame.number": ints(tc.frame[keep]),
        "frame.time_epoch": np.asarray(tc.ts_ns[keep], dtype=np.int64).view("datetime64[ns]"),
        "tcp.stream": ints(g["stream"]),
        "ip.src": _strings(tc.src_code[keep], tc.addresses),
        "tcp.srcport": ints(tc.sport[keep]),
        "ip.dst": _strings(tc.dst_code[keep], tc.addresses),
        "tcp.dstport": ints(tc.dport[keep]),
        "tcp.seq": ints(g["seq"]),
        "tcp.ack": ints(g["ack"]),
        "tcp.nxtseq": ints(g["nxtseq"], short),
        "tcp.seq_raw": ints(tc.seq[keep]),
        "tcp.ack_raw": ints(tc.ack[keep]),
        "tcp.len": ints(tc.seglen[keep], short),
        "tcp.flags": _strings(flags, fhex_all),
        "tcp.flags.str": _strings(flags, fstr_all),
        "tcp.window_size_value": ints(tc.window[keep]),
        "tcp.window_size": ints(g["window_size"]),
        "tcp.window_size_scalefactor": ints(g["scalefactor"], is_syn | short),
    }
    nomask = np.zeros(kept.shape[0], dtype=bool)
    for bit, name in FLAG_FIELDS:
        data[name] = pd.arrays.BooleanArray((a & bit) != 0, nomask.copy())
    data["tcp.analysis.duplicate_ack_num"] = ints(g["dupack_num"], opt(fl.H_DUPACK))
    data["tcp.analysis.duplicate_ack_frame"] = ints(g["dupack_frame"], opt(fl.H_DUPACK))
    data["tcp.analysis.acks_frame"] = ints(g["acks_frame"], opt(fl.H_ACKS_FRAME))
    data["tcp.analysis.ack_rtt"] = secs(g["ack_rtt"], ~opt(fl.H_ACK_RTT))
    data["tcp.analysis.initial_rtt"] = secs(g["irtt"], ~opt(fl.H_IRTT))
    data["tcp.analysis.bytes_in_flight"] = ints(g["bif"], opt(fl.H_BIF))
    data["tcp.analysis.push_bytes_sent"] = ints(g["push"], opt(fl.H_PUSH))
    data["tcp.analysis.rto"] = secs(g["rto"], ~opt(fl.H_RTO))
    data["tcp.analysis.rto_frame"] = ints(g["rto_frame"], opt(fl.H_RTO))
    data["tcp.time_relative"] = secs(g["time_relative"])
    data["tcp.time_delta"] = secs(g["time_delta"])
    data["analysis_limited"] = pd.arrays.BooleanArray((have & fl.H_LIMITED) != 0, nomask.copy())
    df = pd.DataFrame(data, copy=False)
    df.attrs["warnings"] = list(res.warnings)
    return df


def tcp_frames(path: PathOrFrames, stream: int | None = None, *, bpf: str | None = None,
               max_unacked: int = TCP_MAX_UNACKED_SEGMENTS,
               max_conversations: int | None = None, fast: bool = True) -> pd.DataFrame:
    """One row per TCP frame of ``path`` with tshark's TCP analysis (see module doc).

    ``stream`` keeps one tcp.stream; ``bpf`` (a tcpdump filter) keeps the frames it
    matches -- the analysis itself always runs over every frame, as tshark's -Y.
    A file path goes through the compiled engine when it applies (see
    :func:`kernel_table`; identical results), else -- or with ``fast=False`` --
    through the per-frame extractor and the engine.
    """
    if fast and isinstance(path, (str, PathLike)):
        from pcapkit.errors import PcapkitError

        try:
            df = kernel_table(path, max_unacked=max_unacked, max_conversations=max_conversations)
        except PcapkitError:
            df = None  # the per-frame path reads what it can and reports the error its way
        if df is not None:
            if stream is not None or bpf:
                import numpy as np

                sel = np.ones(len(df), dtype=bool)
                if stream is not None:
                    sel &= (df["tcp.stream"] == stream).to_numpy(dtype=bool, na_value=False)
                if bpf:
                    numbers = _bpf_numbers(path, bpf)
                    sel &= df["frame.number"].isin(numbers).to_numpy(dtype=bool, na_value=False)
                warnings = df.attrs["warnings"]
                df = df[sel].reset_index(drop=True)
                df.attrs["warnings"] = warnings
            return df
    engine, records = run_engine(path, max_unacked=max_unacked, max_conversations=max_conversations)
    keep: set[int] | None = None
    if bpf:
        if not isinstance(path, (str, PathLike)):
            raise TypeError("bpf filtering needs a file path")
        keep = _bpf_numbers(path, bpf)
    selected: Iterable[FrameAnalysis] = records
    if stream is not None or keep is not None:
        selected = (r for r in records
                    if (stream is None or r.stream == stream)
                    and (keep is None or r.segment.frame_number in keep))
    df = frames_table(selected)
    df.attrs["warnings"] = list(engine.warnings)
    return df
