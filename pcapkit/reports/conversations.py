"""tcp / flows / rtt tables over several files analysed as ONE capture, partitioned by
conversation so the work can be spread over many workers.

Single process (:func:`merged_report`): the records of all inputs, in the order given,
are numbered on across the files (:class:`pcapkit.capture.batch.CaptureFiles`) and
analysed together (a conversation split across files is analysed whole).

Partitioned (:func:`bucket_report` + :func:`combine`): every record goes to a bucket by
a hash of its unordered IP address pair (:mod:`pcapkit.tcpflow.segments.buckets`), so
every conversation (TCP, UDP, ICMP, other IP: all are keyed by that pair plus more)
falls entirely into one bucket; each bucket is decoded and analysed on its own; the
bucket tables are concatenated, their ``tcp.stream`` numbers replaced by the global ones
(streams in order of their first frame, as tshark numbers them) and the rows put in the
single-process order. The result equals :func:`merged_report` exactly; a test proves it
on real captures.

The tcp table: each file's segment table (:func:`file_segments`, the columnar decoder),
joined with frames numbered on (:func:`concat_tables`) and analysed whole
(:func:`merged_tcp_columns`), or partitioned on workers
(:mod:`pcapkit.reports.partitions`). IP fragments are reassembled within their file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from pcapkit.capture.batch import CaptureFiles
    from pcapkit.columnar.column_table import ColumnTable
    from pcapkit.frame import Frame
    from pcapkit.tcpflow.segments import SegmentTable

TABLES = ("tcp", "flows", "rtt")


def report_frame(source: str | CaptureFiles | list[Frame], table: str) -> pd.DataFrame:
    """The tcp / flows / rtt table of one capture file, or of frames (from pcapkit.reports)."""
    if table == "tcp":
        from pcapkit.reports.tcp import tcp_frames

        return tcp_frames(source)
    if table == "flows":
        from pcapkit.reports.flows import flows

        return flows(source)
    if table == "rtt":
        from pcapkit.reports.rtt import rtt_samples

        return rtt_samples(source)
    raise ValueError(f"unknown table {table!r}; one of {', '.join(TABLES)}")


def merged_report(files: Sequence[str], table: str) -> pd.DataFrame:
    """The table of all files analysed as one capture, in one process."""
    if table == "tcp":
        return merged_tcp_columns(files)[0].to_pandas()
    # (from the files themselves, one after the other: their frames are never all held as objects)
    return report_frame(one_capture(files), table)


def one_capture(files: Sequence[str]) -> str | CaptureFiles:
    """``files`` as one capture source: a file itself, several as :class:`CaptureFiles`."""
    from pcapkit.capture.batch import CaptureFiles

    return files[0] if len(files) == 1 else CaptureFiles(tuple(files))


def merged_tcp_columns(files: Sequence[str]) -> tuple[ColumnTable, np.ndarray]:
    """The tcp table of all files analysed as one capture, as a ColumnTable (what export
    writes to Parquet without building a DataFrame), and the last frame number of each
    file (from the files' segment tables: what names each row's input)."""
    import numpy as np

    from pcapkit.reports.memory import release_memory
    from pcapkit.reports.tcp import analysis_columns
    from pcapkit.tcpflow.analysed import analyse_table

    # each stage's input let go (and its free pages handed back) before the next
    # builds: the segment table, then the analysis (1M segments: ~0.2 GB each)
    tables = [file_segments(f) for f in files]
    file_ends = np.cumsum([t.frames for t in tables])
    segments = concat_tables(tables)
    del tables
    error = segments.error
    release_memory()
    an = analyse_table(segments)
    del segments
    release_memory()
    columns = analysis_columns(an, release=True)
    del an
    release_memory()
    if error is not None:
        columns.attrs["pcapkit.error"] = str(error)
    return columns, file_ends


# --------------------------------------------------------------------------------------
# the tcp table from segment tables

def file_segments(path: str, byte_range: tuple[int, int] | None = None, *,
                  read_ahead: bool | None = None) -> SegmentTable:
    """The segment table of one capture, or of the records in a byte range of it (the unit
    of work of the map step; frames numbered from 1)."""
    from pcapkit.tcpflow.segments import segment_table

    return segment_table(path, byte_range=byte_range, read_ahead=read_ahead)


def concat_tables(tables: Sequence[SegmentTable]) -> SegmentTable:
    """The segment tables of consecutive files as one: frames numbered on across the
    files, address codes into one list."""
    import numpy as np

    from pcapkit.tcpflow.segments import SegmentTable
    from pcapkit.tcpflow.segments.table import INT_COLUMNS

    if len(tables) == 1:
        return tables[0]
    addresses: list[str] = []
    index: dict[str, int] = {}
    columns: dict[str, list[np.ndarray]] = {name: [] for name in INT_COLUMNS}
    offset = 0
    for t in tables:
        for a in t.addresses:
            if a not in index:
                index[a] = len(addresses)
                addresses.append(a)
        lut = np.array([index[a] for a in t.addresses] or [0], dtype=np.int64)
        for name in INT_COLUMNS:
            col = getattr(t, name)
            if name == "frame":
                col = col + offset
            elif name in ("src", "dst"):
                col = lut[col].astype(col.dtype, copy=False)
            columns[name].append(col)
        offset += t.frames
    errors = [t.error for t in tables if t.error is not None]
    joined: dict[str, Any] = {name: np.concatenate(parts) for name, parts in columns.items()}
    return SegmentTable(**joined,
                        sack_l=np.concatenate([t.sack_l for t in tables]),
                        sack_r=np.concatenate([t.sack_r for t in tables]), addresses=addresses,
                        frames=offset, first_ts_ns=tables[0].first_ts_ns, last_ts_ns=tables[-1].last_ts_ns,
                        snaplen=next((t.snaplen for t in tables if t.snaplen is not None), None),
                        error=errors[0] if errors else None)


def bucket_report(files: Sequence[str], table: str, bucket: int, buckets: int) -> tuple[Any, dict[int, int]]:
    """One bucket's table and the first frame of each of its streams (the unit of work):
    the files read as one capture, only the records of the bucket's conversations
    (:func:`pcapkit.tcpflow.segments.buckets.conversation_select`) decoded and analysed."""
    from pcapkit.tcpflow.segments.buckets import conversation_select

    source = one_capture(files)
    select = conversation_select(bucket, buckets)
    if table == "flows":
        from pcapkit.reports.flows import flows_table

        df = flows_table(source, select=select).to_pandas()
        tcp = df[df["tcp.stream"].notna()]
        starts = tcp.groupby("tcp.stream")["first_frame"].min()
        return df, {int(k): int(v) for k, v in starts.items()}
    if table not in ("tcp", "rtt"):
        raise ValueError(f"unknown table {table!r}; one of {', '.join(TABLES)}")
    import numpy as np

    from pcapkit.reports.rtt import analysed_samples
    from pcapkit.reports.tcp import analysis_table
    from pcapkit.tcpflow.analysed import analyse_table
    from pcapkit.tcpflow.segments import segment_table

    segments = segment_table(source, select=select)
    an = analyse_table(segments)
    first_of: dict[int, int] = {}
    if len(an):
        order = np.lexsort((an.segments.frame, an.stream))
        stream, frame = an.stream[order], an.segments.frame[order]
        head = np.r_[True, stream[1:] != stream[:-1]]
        first_of = {int(k): int(v) for k, v in zip(stream[head].tolist(), frame[head].tolist(), strict=True)}
    if table == "tcp":
        return analysis_table(an), first_of
    return analysed_samples(an, table=segments), first_of


def combine(parts: list[tuple[Any, dict[int, int]]], table: str) -> pd.DataFrame:
    """Concatenate bucket tables, renumber tcp.stream globally, restore the row order."""
    import numpy as np
    import pandas as pd

    starts = sorted((first, b, local) for b, (_, m) in enumerate(parts) for local, first in m.items())
    mapping = {(b, local): g for g, (_, b, local) in enumerate(starts)}
    frames = []
    for b, (df, _) in enumerate(parts):
        if len(df) == 0:
            continue
        df = df.copy()
        if "tcp.stream" in df.columns:
            col = df["tcp.stream"]
            local = col.to_numpy(dtype=np.int64, na_value=-1)
            lut = np.zeros(int(local.max()) + 2 if local.size else 1, dtype=np.int64)
            for (bucket, stream), g in mapping.items():
                if bucket == b:
                    lut[stream] = g
            df["tcp.stream"] = pd.arrays.IntegerArray(lut[local], local < 0).astype(col.dtype)
        frames.append(df)
    if not frames:
        return parts[0][0].iloc[0:0] if parts else pd.DataFrame()
    from pcapkit.columnar.api import concat_frames

    out = concat_frames(frames)
    if table == "tcp":
        out = out.sort_values("frame.number", kind="stable")
    elif table == "flows":
        out = out.sort_values("first_frame", kind="stable")
    else:
        out = out.sort_values(["frame.number", "data_src"], kind="stable")
    out = out.reset_index(drop=True)
    for name in out.columns:  # categories in order of first appearance, as one process gives them
        col = out[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            out[name] = pd.Categorical(col, categories=pd.Index(col.dropna().unique().astype(object), dtype=object))
    out.attrs = {}
    return out
