"""The tcp table of captures on Dask workers: partitioned by file (or byte range), then by
conversation, then by frame range, with only narrow numpy columns moving between
workers and every heavy step -- decoding, analysis, building and writing the table --
done on the workers. The driver only sees counts and places the tasks.

1. **Units** (:func:`unit_rows`): one task per file, or per byte range of one
   (:mod:`pcapkit.capture.ranges`), makes the unit's segment table (tshark's view) and
   the bucket of each row, a hash of its conversation (:func:`conversation_buckets`: the
   same number in every process, so a conversation is never split). The driver gets the
   rows per bucket and the unit's frame count.
2. **Groups** (:func:`group_rows`, :func:`group_analysis`): the driver deals the buckets
   to one group per worker, biggest first onto the lightest group (rows balanced however
   few conversations there are); each unit hands each group its rows (the columns the
   analysis and the table read, :data:`NARROW`), the group joins them, frames numbered on
   across the units, and runs the analysis. The driver gets each stream's first frame
   and how the group's rows spread over the frame numbers.
3. **Ranges** (:func:`range_rows`, :func:`write_range`): the frames are cut into one
   range per worker holding about equal rows; each group hands each range its rows with
   the global ``tcp.stream`` numbers (streams in order of their first frame, as tshark
   numbers them); the range merges them by frame number (the groups' rows are each in
   frame order), builds its rows of the tcp table and writes them as its own part file.

Read in part-file order, the parts are the single-process table (a test proves it on a
real local cluster).
"""

from __future__ import annotations

import operator
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.reports.export import ExportResult
    from pcapkit.tcpflow.analysed import AnalysedSegments
    from pcapkit.tcpflow.segments import SegmentTable

Unit = tuple[str, tuple[int, int] | None]
BUCKETS = 64            # conversation buckets: many, so that the groups can be balanced
FRAME_BINS = 4096       # how finely the driver sees where the rows lie, to cut the ranges

# the per-row columns the analysis and the tcp table read (the others are not shipped)
NARROW = ("frame", "ts_ns", "ip_version", "src", "dst", "sport", "dport", "seq", "ack", "flags", "window",
          "seglen", "wscale", "sack_n")


def conversation_buckets(table: SegmentTable, buckets: int) -> np.ndarray:
    """The bucket of each row: a hash of its unordered (address, port) pair that does not
    depend on the table (address texts hashed with CRC-32)."""
    text_hash = np.array([zlib.crc32(a.encode()) for a in table.addresses] or [0], dtype=np.uint64)
    one = text_hash[table.src] * np.uint64(65_599) + table.sport.astype(np.uint64)
    two = text_hash[table.dst] * np.uint64(65_599) + table.dport.astype(np.uint64)
    lo, hi = np.minimum(one, two), np.maximum(one, two)
    # splitmix64's finaliser: conversations differing in one port bit land anywhere
    x = lo * np.uint64(0x9E3779B97F4A7C15) ^ hi
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xC4CEB9FE1A85EC53)
    x ^= x >> np.uint64(33)
    return (x % np.uint64(buckets)).astype(np.int64)


@dataclass(eq=False)
class Rows:
    """Segment rows in transit between workers: the :data:`NARROW` columns, the SACK
    blocks, the address texts the codes index, the frames read by the unit the rows
    came from, and (after the analysis) the analysis' columns."""

    columns: dict[str, np.ndarray]
    sack_l: np.ndarray
    sack_r: np.ndarray
    addresses: list[str]
    frames: int = 0
    result: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return int(self.columns["frame"].shape[0])

    @classmethod
    def of(cls, table: SegmentTable, rows: np.ndarray) -> Rows:
        """The ``rows`` (indices, in the order wanted) of ``table``."""
        with_sack = rows[table.sack_n[rows] > 0]
        pos = table.sack_rows()[with_sack]
        return cls({name: getattr(table, name)[rows] for name in NARROW}, table.sack_l[pos], table.sack_r[pos],
                   table.addresses, table.frames)

    @classmethod
    def join(cls, parts: Sequence[Rows]) -> Rows:
        """The rows of ``parts`` one after the other: frames numbered on by each part's
        ``frames``, address codes into one list."""
        if len(parts) == 1:
            return parts[0]
        index: dict[str, int] = {}
        columns: dict[str, list[np.ndarray]] = {name: [] for name in NARROW}
        offset = 0
        for p in parts:
            lut = np.array([index.setdefault(a, len(index)) for a in p.addresses] or [0], dtype=np.int64)
            for name in NARROW:
                col = p.columns[name]
                if name == "frame" and offset:
                    col = col + offset
                elif name in ("src", "dst"):
                    col = lut[col]
                columns[name].append(col)
            offset += p.frames
        return cls({name: np.concatenate(cols) for name, cols in columns.items()},
                   np.concatenate([p.sack_l for p in parts]), np.concatenate([p.sack_r for p in parts]),
                   list(index), offset)

    @classmethod
    def merge(cls, parts: Sequence[Rows]) -> Rows:
        """The rows of ``parts`` (each in frame order, frames numbered alike) in frame
        order: each part's columns written straight to their places in the result."""
        parts = [p for p in parts if len(p)] or list(parts[:1])
        if len(parts) == 1:
            return parts[0]
        frames = np.concatenate([p.columns["frame"] for p in parts])
        n = frames.shape[0]
        where = np.empty(n, dtype=np.int64)
        where[np.argsort(frames, kind="stable")] = np.arange(n)
        ends = np.cumsum([len(p) for p in parts])
        places = np.split(where, ends[:-1])
        index: dict[str, int] = {}
        luts = [np.array([index.setdefault(a, len(index)) for a in p.addresses] or [0], dtype=np.int64)
                for p in parts]

        def scatter(values: list[np.ndarray], at: list[np.ndarray], rows: int) -> np.ndarray:
            out = np.empty((rows, *values[0].shape[1:]), dtype=np.result_type(*values))
            for v, i in zip(values, at, strict=True):
                out[i] = v
            return out

        columns = {name: scatter([lut[p.columns[name]] if name in ("src", "dst") else p.columns[name]
                                  for p, lut in zip(parts, luts, strict=True)], places, n) for name in NARROW}
        sack_row = np.cumsum(columns["sack_n"] > 0) - 1
        sack_at = [sack_row[i[p.columns["sack_n"] > 0]] for p, i in zip(parts, places, strict=True)]
        sacks = int(sack_row[-1]) + 1
        result = None
        if all(p.result is not None for p in parts):
            result = {name: scatter([p.result[name] for p in parts if p.result is not None], places, n)
                      for name in parts[0].result or {}}
        return cls(columns, scatter([p.sack_l for p in parts], sack_at, sacks),
                   scatter([p.sack_r for p in parts], sack_at, sacks), list(index), 0, result)

    def table(self) -> SegmentTable:
        """As a segment table (the columns nobody downstream reads are zeros)."""
        from pcapkit.tcpflow.segments import SegmentTable
        from pcapkit.tcpflow.segments.table import COLUMN_DTYPES, INT_COLUMNS

        n = len(self)
        values: dict[str, Any] = {name: self.columns[name] if name in self.columns else np.zeros(n, COLUMN_DTYPES[name])
                  for name in INT_COLUMNS}
        return SegmentTable(**values, sack_l=self.sack_l, sack_r=self.sack_r, addresses=self.addresses,
                            frames=self.frames)


# -- 1. units ---------------------------------------------------------------------------

def unit_rows(unit: Unit, buckets: int) -> tuple[dict[str, Any], SegmentTable, np.ndarray]:
    """A unit's tshark view, the bucket of each row, and what the driver needs: rows per
    bucket, frames read, the error that stopped the reading (a cut file)."""
    from pcapkit.reports.conversations import file_segments

    view = file_segments(*unit).tshark_view()
    which = conversation_buckets(view, buckets)
    summary = {"rows": np.bincount(which, minlength=buckets), "frames": view.frames,
               "error": None if view.error is None else str(view.error)}
    return summary, view, which


def deal_buckets(rows: np.ndarray, groups: int) -> list[np.ndarray]:
    """The buckets of each group: biggest bucket first onto the group with fewest rows."""
    load = [0] * groups
    out: list[list[int]] = [[] for _ in range(groups)]
    for b in np.argsort(-rows, kind="stable").tolist():
        if rows[b] == 0:
            break
        g = load.index(min(load))
        out[g].append(b)
        load[g] += int(rows[b])
    return [np.array(sorted(bs), dtype=np.int64) for bs in out]


def unit_part(made: tuple[dict[str, Any], SegmentTable, np.ndarray], group: np.ndarray) -> Rows:
    """The rows of one unit that fall in ``group``'s buckets, in frame order."""
    _, view, which = made
    return Rows.of(view, np.flatnonzero(np.isin(which, group)))


# -- 2. groups --------------------------------------------------------------------------

def group_analysis(parts: Sequence[Rows], total_frames: int) -> tuple[dict[str, Any], AnalysedSegments]:
    """The analysis of a group's rows from every unit (in unit order: frames numbered on),
    and for the driver: each local stream's first frame, rows per frame bin."""
    from pcapkit.tcpflow.analysed import analyse_table

    an = analyse_table(Rows.join(parts).table())
    frame, stream = an.segments.frame, an.stream
    # (a local number without rows, if any, sorts last: it shifts no other stream's number)
    firsts = np.full(int(stream.max()) + 1 if stream.size else 0, np.iinfo(np.int64).max, dtype=np.int64)
    firsts[stream[::-1]] = frame[::-1]  # (the last write of each stream wins: its first row)
    summary = {"starts": firsts, "bins": np.bincount(_bins(frame, total_frames), minlength=FRAME_BINS)}
    return summary, an


def _bins(frame: np.ndarray, total_frames: int) -> np.ndarray:
    return (frame - 1) * FRAME_BINS // max(total_frames, 1)


def stream_numbers(starts: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Per group, the global ``tcp.stream`` of each of its local streams: all streams in
    order of their first frame."""
    first = np.concatenate([*starts, np.zeros(0, np.int64)])
    order = np.argsort(first, kind="stable")
    number = np.empty(first.shape[0], dtype=np.int64)
    number[order] = np.arange(first.shape[0])
    ends = np.cumsum([s.shape[0] for s in starts])
    return np.split(number, ends[:-1]) if starts else []


def frame_cuts(bins: np.ndarray, ranges: int, total_frames: int) -> list[int]:
    """Frame numbers that cut the rows into ``ranges`` ranges of about equal rows (bin
    edges; the first is 1, the last past every frame)."""
    cum = np.cumsum(bins)
    total = int(cum[-1]) if cum.size else 0
    cuts = [1]
    for r in range(1, ranges):
        b = int(np.searchsorted(cum, total * r / ranges, side="left")) + 1  # (bins 0..b-1 below the cut)
        frame = -(-b * total_frames // FRAME_BINS) + 1  # the first frame of bin b
        if frame > cuts[-1]:
            cuts.append(frame)
    cuts.append(total_frames + 1)
    return cuts


# -- 3. ranges --------------------------------------------------------------------------

def range_rows(made: tuple[dict[str, Any], AnalysedSegments], lo: int, hi: int, numbers: np.ndarray) -> Rows:
    """A group's analysed rows of the frames ``lo`` to ``hi - 1``, with global stream numbers."""
    an = made[1]
    segs = an.segments
    i, j = np.searchsorted(segs.frame, [lo, hi]).tolist()
    rows = Rows.of(segs, np.arange(i, j))
    rows.frames = 0  # (already numbered across the units)
    res = {name: value[i:j] for name, value in vars(an.result).items() if isinstance(value, np.ndarray)}
    res["stream"] = numbers[res["stream"]]
    rows.result = res
    return rows


def range_frame(parts: Sequence[Rows], file_ends: np.ndarray | None, names: Sequence[str]) -> pd.DataFrame:
    """One frame range's rows of the tcp table, merged from every group in frame order;
    with ``file_ends`` (the last frame number of each input) the ``pcapkit.file`` column."""
    from pcapkit.reports.export import label_frames
    from pcapkit.reports.tcp import analysis_table
    from pcapkit.tcpflow.analysed import AnalysedSegments
    from pcapkit.tcpflow.analysis import AnalysisResult

    joined = Rows.merge(parts)
    an = AnalysedSegments(joined.table(), AnalysisResult([], 0, **(joined.result or {})), [])
    df = analysis_table(an, release=True)
    df.attrs = {}
    if file_ends is not None:
        df = label_frames(df, file_ends, names)
    return df


def write_range(parts: Sequence[Rows], file_ends: np.ndarray | None, names: Sequence[str],
                path: str | None) -> Any:
    """:func:`range_frame` written to ``path`` (its row count returned), or returned when
    ``path`` is None (the driver writes)."""
    from pcapkit.reports.export import write_parts

    df = range_frame(parts, file_ends, names)
    if path is None:
        return df
    return write_parts([df], "", 0, None, None, path).rows


# -- the whole --------------------------------------------------------------------------

@dataclass(slots=True)
class TcpExport:
    rows: int
    files: list[str]
    errors: list[str]
    frames: list[pd.DataFrame]  # the ranges' tables, in order, when no directory was given


def tcp_export(client: Any, units: Sequence[Unit], unit_input: Sequence[int], names: Sequence[str],
               out_dir: str | None, buckets: int = BUCKETS) -> TcpExport:
    """The tcp table of ``units`` (in order, as one capture; ``unit_input``: the input
    each comes from) made on the workers of ``client``: written as part files
    ``part-00000-RRRRR.parquet`` into ``out_dir``, or returned as one table per range
    (``out_dir`` None). With several input ``names``, the ``pcapkit.file`` column names
    each row's input."""
    workers = sorted(client.scheduler_info()["workers"]) or [None]
    n = len(workers)

    def on(i: int) -> dict[str, Any]:
        w = workers[i % n]
        # (loose: should that worker be gone, another runs the task)
        return {} if w is None else {"workers": [w], "allow_other_workers": True}

    place = [i * n // len(units) for i in range(len(units))]  # (consecutive units on one worker)
    made = [client.submit(unit_rows, u, buckets, pure=False, **on(w)) for u, w in zip(units, place, strict=True)]
    summaries = client.gather([client.submit(operator.getitem, m, 0, pure=False) for m in made])
    # a file read in byte ranges ends where one of them met damage, as it does read whole
    damaged: set[int] = set()
    keep = []
    for i, s in enumerate(summaries):
        if unit_input[i] not in damaged:
            keep.append(i)
        if s["error"]:
            damaged.add(unit_input[i])
    made, summaries, unit_input = [made[i] for i in keep], [summaries[i] for i in keep], [unit_input[i] for i in keep]
    place = [place[i] for i in keep]
    frames = [int(s["frames"]) for s in summaries]
    total_frames = sum(frames)
    errors = [s["error"] for s in summaries if s["error"]]
    groups = deal_buckets(np.sum([s["rows"] for s in summaries], axis=0), n)
    analysed = []
    for g, group in enumerate(groups):
        parts = [client.submit(unit_part, m, group, pure=False, **on(w)) for m, w in zip(made, place, strict=True)]
        analysed.append(client.submit(group_analysis, parts, total_frames, pure=False, **on(g)))
    del made
    group_summaries = client.gather([client.submit(operator.getitem, a, 0, pure=False) for a in analysed])
    numbers = stream_numbers([s["starts"] for s in group_summaries])
    cuts = frame_cuts(np.sum([s["bins"] for s in group_summaries], axis=0), n, total_frames)

    file_ends = None
    if len(names) > 1:
        file_ends = np.cumsum(np.bincount(np.asarray(unit_input, dtype=np.int64), weights=frames,
                                          minlength=len(names)).astype(np.int64))
    outs = []
    for r in range(len(cuts) - 1):
        parts = [client.submit(range_rows, a, cuts[r], cuts[r + 1], numbers[g], pure=False, **on(g))
                 for g, a in enumerate(analysed)]
        path = None if out_dir is None else os.path.join(os.path.abspath(out_dir), _part_name(r))
        outs.append((path, client.submit(write_range, parts, file_ends, names, path, pure=False, **on(r))))
    results = client.gather([f for _, f in outs])
    if out_dir is None:
        return TcpExport(sum(len(df) for df in results), [], errors, results)
    return TcpExport(sum(results), [p for p, _ in outs if p is not None], errors, [])


def _part_name(r: int) -> str:
    from pcapkit.reports.export import part_name

    return part_name(0, r)


def tcp_units(files: Sequence[str], workers: int) -> tuple[list[Unit], list[int]]:
    """The units of ``files`` and the input of each: files cut into byte ranges when there
    are fewer files than two per worker."""
    from pcapkit.capture.ranges import byte_ranges

    per_file = -(-2 * workers // max(1, len(files)))
    units: list[Unit] = []
    unit_input: list[int] = []
    for i, path in enumerate(files):
        ranges = byte_ranges(path, per_file) if per_file > 1 else []
        cut: list[Unit] = [(path, r) for r in ranges] if len(ranges) > 1 else [(path, None)]
        units += cut
        unit_input += [i] * len(cut)
    return units, unit_input


def tcp_table(client: Any, files: Sequence[str], buckets: int = BUCKETS, label: bool = False) -> pd.DataFrame:
    """The tcp table of ``files`` (as one capture; ``label``: with ``pcapkit.file`` when
    there are several) made on the workers of ``client``, as one DataFrame."""
    from pcapkit.columnar.api import concat_frames

    units, unit_input = tcp_units(files, len(client.scheduler_info()["workers"]))
    names = [os.path.basename(f) for f in files] if label else []
    made = tcp_export(client, units, unit_input, names, None, buckets)
    import pandas as pd

    out = concat_frames(made.frames)
    for name in out.columns:  # (union_categoricals makes the categories str: back to object, as one process)
        col = out[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            out[name] = pd.Categorical.from_codes(col.cat.codes, categories=pd.Index(col.cat.categories, dtype=object))
    if made.errors:
        out.attrs["pcapkit.error"] = made.errors[0]
    return out


def export_tcp(client: Any, files: Sequence[str], output: str, partition_rows: int | None) -> ExportResult:
    """``export --table tcp`` on the workers of ``client``: into the directory ``output``
    (it exists or ends with a slash) each worker writes its frame ranges' part files;
    to one file, or with ``partition_rows``, the driver writes the ranges' tables."""
    from pcapkit.reports.export import ExportResult, is_directory, write_table

    if partition_rows is not None or not is_directory(output):
        return write_table(lambda: tcp_table(client, files, label=True), output, partition_rows)
    from pcapkit.errors import PcapkitError

    os.makedirs(output, exist_ok=True)
    try:
        units, unit_input = tcp_units(files, len(client.scheduler_info()["workers"]))
        made = tcp_export(client, units, unit_input, [os.path.basename(f) for f in files], output)
    except PcapkitError as exc:  # (an input with no readable frame: as the local engine says it)
        return ExportResult(errors=[str(exc)])
    return ExportResult(made.rows, made.files, made.errors)
