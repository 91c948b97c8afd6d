"""tcp / flows / rtt tables over several files analysed as ONE capture, partitioned by
conversation so the work can be spread over many workers.

Single process (:func:`merged_report`): the frames of all inputs, in the order given,
are renumbered 1..N and analysed together (a conversation split across files is
analysed whole).

Partitioned (:func:`bucket_report` + :func:`combine`): every frame goes to a bucket by
a hash of its unordered IP address pair, so every conversation (TCP, UDP, ICMP, other
IP: all are keyed by that pair plus more) falls entirely into one bucket; each bucket
is analysed on its own; the bucket tables are concatenated, their ``tcp.stream``
numbers replaced by the global ones (streams in order of their first frame, as tshark
numbers them) and the rows put in the single-process order. The result equals
:func:`merged_report` exactly; a test proves it on real captures.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.frame import Frame

TABLES = ("tcp", "flows", "rtt")


def frames_of(files: Sequence[str]) -> Iterator[Frame]:
    """Frames of all files in order, renumbered 1..N."""
    from pcapkit.capture.files import read_frames

    number = 0
    for path in files:
        for frame in read_frames(path):
            number += 1
            yield dataclasses.replace(frame, number=number)


def bucket_of(frame: Frame, buckets: int) -> int:
    """The bucket of a frame: a stable hash of its unordered IP pair (0 for non-IP)."""
    from pcapkit.dissect.driver import dissect

    for layer in dissect(frame).layers:  # the outermost IP header, as the conversation tables key
        if layer.protocol in ("ip", "ipv6"):
            prefix = layer.protocol
            src, dst = layer.get(f"{prefix}.src"), layer.get(f"{prefix}.dst")
            if src is None or dst is None:
                return 0
            a, b = sorted((str(src), str(dst)))
            return zlib.crc32(f"{a} {b}".encode()) % buckets
    return 0


def _report(frames: list[Frame], table: str) -> pd.DataFrame:
    if table == "tcp":
        from pcapkit.reports.tcp import tcp_frames

        return tcp_frames(frames)
    if table == "flows":
        from pcapkit.reports.flows import flows

        return flows(frames)
    if table == "rtt":
        from pcapkit.reports.rtt import rtt_samples

        return rtt_samples(frames)
    raise ValueError(f"unknown table {table!r}; one of {', '.join(TABLES)}")


def merged_report(files: Sequence[str], table: str) -> pd.DataFrame:
    """The table of all files analysed as one capture, in one process."""
    return _report(list(frames_of(files)), table)


def _stream_starts(frames: list[Frame], df: pd.DataFrame, table: str) -> dict[int, int]:
    """Local tcp.stream -> its first frame number."""
    if table == "tcp":
        g = df.groupby("tcp.stream")["frame.number"].min()
    elif table == "flows":
        tcp = df[df["tcp.stream"].notna()]
        g = tcp.groupby("tcp.stream")["first_frame"].min()
    else:
        from pcapkit.reports.tcp import tcp_frames

        t = tcp_frames(frames)
        if len(t) == 0:
            return {}
        g = t.groupby("tcp.stream")["frame.number"].min()
    return {int(str(k)): int(v) for k, v in g.items()}


def bucket_report(files: Sequence[str], table: str, bucket: int, buckets: int) -> tuple[Any, dict[int, int]]:
    """One bucket's table and its streams' first frames (the unit of work)."""
    frames = [f for f in frames_of(files) if bucket_of(f, buckets) == bucket]
    df = _report(frames, table)
    return df, _stream_starts(frames, df, table)


def combine(parts: list[tuple[Any, dict[int, int]]], table: str) -> pd.DataFrame:
    """Concatenate bucket tables, renumber tcp.stream globally, restore the row order."""
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
            new = [pd.NA if pd.isna(v) else mapping[(b, int(v))] for v in col.tolist()]
            df["tcp.stream"] = pd.array(new, dtype=col.dtype)
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
