"""The tcp table of captures on Dask workers: partitioned by file (or byte range), then by
conversation, then by frame range, with only narrow numpy columns moving between
workers and every heavy step -- decoding, analysis, building and writing the table --
done on the workers. The driver sees counts once and places the tasks.

1. **Units** (:func:`unit_rows`): one task per file, or per byte range of one
   (:func:`tcp_units`: the inputs, one stream of bytes, cut into one equal share per
   worker; only a plain pcap file that straddles the edge of a share is cut, at a record
   boundary, :mod:`pcapkit.capture.ranges`), on the worker whose share holds it. It makes
   the unit's segment table (tshark's view) and the bucket of each row, a hash of its
   conversation (:func:`conversation_buckets`: the same number in every process, so a
   conversation is never split), and a summary: the rows per bucket, how the rows spread
   over the unit's frames, the frames read and the error that stopped the reading.
2. **Groups** (:func:`deal`, :func:`unit_part`, :func:`group_analysis`): a task deals
   the buckets to one group per worker, biggest first onto the lightest group (rows
   balanced however few conversations there are), as soon as every unit is read (no
   round trip through the driver); each unit hands each group the columns the analysis
   reads (:data:`ANALYSED`) of its rows in the group's buckets; the group joins them,
   frames numbered on across the units, and runs the analysis. A small task numbers the
   streams of every group in order of their first frame (:func:`stream_numbers`, as
   tshark numbers ``tcp.stream``).
3. **Ranges** (:func:`unit_slice`, :func:`range_results`, :func:`write_range`): the
   driver reads the units' summaries while the groups work (its one look) and the
   frames are cut into one range per worker holding about equal rows, at the boundary
   between units when one is close (:func:`range_cuts`), each range on the worker that
   decoded most of its rows: a range's segment rows then stay where they are, and only
   the analysis results of the rows another worker's group analysed move. Each unit
   hands each range the columns the table reads (:data:`TABLED`) of its rows and each
   row's group; each group hands it its rows' results as soon as its analysis is done
   (the range gives them the global stream numbers); a group's rows of the range, in
   frame order, are the range's rows of that group in frame order, so each result lands
   in its place without sorting. The range builds its rows of the tcp table and writes
   them as its own part file. Rows another worker waits for are made first (Dask
   priorities).

Read in part-file order, the parts are the single-process table (a test proves it on a
real local cluster).
"""

from __future__ import annotations

import itertools
import operator
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.reports.partition_rows import (
    ANALYSED,
    RESULT_DTYPE,
    TABLED,
    Rows,
    conversation_buckets,
    narrow,
)

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable
    from pcapkit.reports.export import ExportResult
    from pcapkit.tcpflow.analysed import AnalysedSegments
    from pcapkit.tcpflow.segments import SegmentTable

Unit = tuple[str, tuple[int, int] | None]
BUCKETS = 64            # conversation buckets: many, so that the groups can be balanced
UNIT_BINS = 1024        # a unit's rows counted per 1/1024 of its frames: where the ranges may be cut
# a range cut moves to a unit boundary within this share of a range's rows: the rows past
# the boundary would ship to another worker (an extra small task), the imbalance costs
# building and writing them (about 1 us a row; one file of bench-1M in two byte ranges:
# 506,191 and 493,809 rows, so the cut falls inside the first)
SNAP = 0.01

# -- 1. units ---------------------------------------------------------------------------

def unit_rows(unit: Unit, buckets: int) -> tuple[dict[str, Any], SegmentTable, np.ndarray]:
    """A unit's tshark view, the bucket of each row, and what the driver needs: rows per
    bucket, rows per 1/:data:`UNIT_BINS` of its frames, frames read, the error that
    stopped the reading (a cut file)."""
    from pcapkit.reports.conversations import file_segments

    view = file_segments(*unit, read_ahead=False).tshark_view()  # (a worker per core: none to spare)
    which = conversation_buckets(view, buckets)
    summary = {"rows": np.bincount(which, minlength=buckets),
               "bins": np.bincount((view.frame - 1) * UNIT_BINS // max(view.frames, 1), minlength=UNIT_BINS),
               "frames": view.frames, "error": None if view.error is None else str(view.error)}
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


def kept_units(summaries: Sequence[dict[str, Any]], unit_input: Sequence[int]) -> list[int]:
    """The units whose rows count: a file read in byte ranges ends where one of them met
    damage, as it does read whole (its later units are left out)."""
    damaged: set[int] = set()
    keep = []
    for i, s in enumerate(summaries):
        if unit_input[i] not in damaged:
            keep.append(i)
        if s["error"]:
            damaged.add(unit_input[i])
    return keep


def deal(summaries: Sequence[dict[str, Any]], unit_input: Sequence[int], groups: int,
         buckets: int) -> tuple[np.ndarray, list[int]]:
    """The group of each bucket (the kept units' rows dealt, :func:`deal_buckets`) and the
    kept units (:func:`kept_units`): a task, so that the groups start without waiting for
    the driver."""
    keep = kept_units(summaries, unit_input)
    group_of = np.full(buckets, -1, dtype=np.int32)
    for g, group in enumerate(deal_buckets(np.sum([summaries[i]["rows"] for i in keep], axis=0), groups)):
        group_of[group] = g
    return group_of, keep


def unit_part(made: tuple[dict[str, Any], SegmentTable, np.ndarray], dealt: tuple[np.ndarray, list[int]],
              unit: int, group: int, ship: bool) -> Rows:
    """The rows of one unit in ``group`` (``dealt``: the group of each bucket and the
    kept units; none when the unit is not kept), in frame order: the columns the
    analysis reads (narrowed when they ``ship`` to another worker)."""
    group_of, keep = dealt
    _, view, which = made
    if unit not in keep:
        rows = Rows.of(view, slice(0, 0), ANALYSED)
        rows.frames = 0
        return rows
    mine = group_of[which] == group
    rows = Rows.of(view, slice(None) if mine.all() else np.flatnonzero(mine), ANALYSED)  # (all: views)
    return rows.narrowed() if ship else rows


# -- 2. groups --------------------------------------------------------------------------

def group_analysis(parts: Sequence[Rows]) -> tuple[np.ndarray, AnalysedSegments]:
    """The analysis of a group's rows from every unit (in unit order: frames numbered on),
    and each local stream's first frame."""
    from pcapkit.tcpflow.analysed import analyse_table

    an = analyse_table(Rows.join(parts).table())
    frame, stream = an.segments.frame, an.stream
    # (a local number without rows, if any, sorts last: it shifts no other stream's number)
    firsts = np.full(int(stream.max()) + 1 if stream.size else 0, np.iinfo(np.int64).max, dtype=np.int64)
    firsts[stream[::-1]] = frame[::-1]  # (the last write of each stream wins: its first row)
    return firsts, an


def stream_numbers(starts: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Per group, the global ``tcp.stream`` of each of its local streams: all streams in
    order of their first frame."""
    first = np.concatenate([*starts, np.zeros(0, np.int64)])
    order = np.argsort(first, kind="stable")
    number = np.empty(first.shape[0], dtype=np.int64)
    number[order] = np.arange(first.shape[0])
    ends = np.cumsum([s.shape[0] for s in starts])
    return np.split(number, ends[:-1]) if starts else []


# -- 3. ranges --------------------------------------------------------------------------

def range_cuts(bins: Sequence[np.ndarray], frames: Sequence[int], ranges: int) -> list[int]:
    """Frame numbers (numbered on across the units) that cut the rows into at most
    ``ranges`` ranges of about equal rows, none empty: edges of the units' bins
    (``bins``: each unit's rows per 1/:data:`UNIT_BINS` of its ``frames``), each moved to
    the nearest boundary between units when that is within :data:`SNAP` of a range's
    rows. The first is 1, the last past every frame."""
    lower: list[np.ndarray] = []
    starts: list[int] = []
    offset = count = 0
    for b, f in zip(bins, frames, strict=True):
        starts.append(count)
        count += len(b)
        k = np.arange(len(b), dtype=np.int64)
        lower.append(offset + 1 - (-k * f // len(b)))  # the first frame of each bin
        offset += f
    edge = np.concatenate([*lower, np.zeros(0, np.int64)])
    rows = np.concatenate([*bins, np.zeros(0, np.int64)]).astype(np.int64)
    before = np.cumsum(rows) - rows  # rows before each bin edge
    total = int(rows.sum())
    unit_edges = np.array(starts[1:], dtype=np.int64)
    cuts, done = [1], 0
    for r in range(1, ranges if total else 1):
        target = total * r / ranges
        i = int(np.argmin(np.abs(before - target)))
        if unit_edges.size:
            j = int(unit_edges[np.argmin(np.abs(before[unit_edges] - target))])
            if abs(before[j] - target) <= SNAP * total / ranges:
                i = j
        if done < before[i] < total and cuts[-1] < edge[i] <= offset:
            cuts.append(int(edge[i]))
            done = int(before[i])
    cuts.append(offset + 1)
    return cuts


def range_workers(bins: Sequence[np.ndarray], frames: Sequence[int], place: Sequence[int], cuts: Sequence[int],
                  workers: int) -> list[int]:
    """The worker of each range: of those not given one yet, the one whose units hold
    most of its rows."""
    taken: set[int] = set()
    out = []
    for lo, hi in itertools.pairwise(cuts):
        weight = np.zeros(workers)
        offset = 0
        for b, f, w in zip(bins, frames, place, strict=True):
            k = np.arange(len(b), dtype=np.int64)
            first = offset + 1 - (-k * f // len(b))
            weight[w] += b[(first >= lo) & (first < hi)].sum()
            offset += f
        free = [w for w in range(workers) if w not in taken] or list(range(workers))
        best = max(free, key=lambda w: (weight[w], -w))
        taken.add(best)
        out.append(best)
    return out


def unit_slice(made: tuple[dict[str, Any], SegmentTable, np.ndarray], lo: int, hi: int, offset: int,
               dealt: tuple[np.ndarray, list[int]], ship: bool) -> Rows:
    """A unit's rows of the frames ``lo`` to ``hi - 1`` (numbered on across the units:
    the unit's own plus ``offset``): the columns the table reads, and each row's group
    (narrowed when they ``ship`` to another worker)."""
    _, view, which = made
    i, j = np.searchsorted(view.frame, [lo - offset, hi - offset]).tolist()
    rows = Rows.of(view, slice(i, j), TABLED, sacks=False)
    rows.columns["frame"] = rows.columns["frame"] + offset
    rows.columns["group"] = dealt[0][which[i:j]]
    rows.frames = 0  # (already numbered across the units)
    return rows.narrowed() if ship else rows


def range_results(made: tuple[np.ndarray, AnalysedSegments], lo: int, hi: int, ship: bool) -> dict[str, np.ndarray]:
    """The analysis results of a group's rows of the frames ``lo`` to ``hi - 1`` (the
    group's own stream numbers: the range numbers them when every group is done),
    narrowed when they ``ship`` to another worker (the range places them into arrays of
    the analysis' own type)."""
    an = made[1]
    i, j = np.searchsorted(an.segments.frame, [lo, hi]).tolist()
    res = {name: value[i:j] for name, value in vars(an.result).items() if isinstance(value, np.ndarray)}
    return {name: narrow(value) for name, value in res.items()} if ship else res


def range_frame(slices: Sequence[Rows], results: Sequence[dict[str, np.ndarray]], numbers: Sequence[np.ndarray],
                file_ends: np.ndarray | None, names: Sequence[str]) -> ColumnTable:
    """One frame range's rows of the tcp table: the units' rows, each row's analysis
    results taken from its group's (``numbers``: the global number of each group's
    streams); with ``file_ends`` (the last frame number of each input) the
    ``pcapkit.file`` column. A ColumnTable: written to Parquet without a DataFrame, as
    the local export writes it (through pandas, a range of 500,000 rows took 0.2 s more)."""
    from pcapkit.reports.export import label_frames
    from pcapkit.reports.tcp import analysis_columns
    from pcapkit.tcpflow.analysed import AnalysedSegments
    from pcapkit.tcpflow.analysis import AnalysisResult

    rows = Rows.join(slices)
    group = rows.columns.pop("group")
    at = [np.flatnonzero(group == g) for g in range(len(results))]
    for g, (where, res) in enumerate(zip(at, results, strict=True)):
        if where.shape[0] != res["stream"].shape[0]:
            raise RuntimeError(f"group {g} analysed {res['stream'].shape[0]} rows of a range that holds "
                               f"{where.shape[0]} of its rows")
    results = [{**res, "stream": number[res["stream"]]} for res, number in zip(results, numbers, strict=True)]
    result = {}
    for name in results[0]:
        whole = [res[name] for where, res in zip(at, results, strict=True) if where.shape[0] == len(rows)]
        if whole and whole[0].dtype == RESULT_DTYPE:  # (every row in one group: its results as they are)
            result[name] = whole[0]
            continue
        out = np.empty(len(rows), dtype=RESULT_DTYPE)
        for where, res in zip(at, results, strict=True):
            out[where] = res[name]
        result[name] = out
    an = AnalysedSegments(rows.table(), AnalysisResult([], 0, **result), [])
    table = analysis_columns(an, release=True)
    table.attrs = {}
    if file_ends is not None:
        table = label_frames(table, file_ends, names)
    return table


def write_range(slices: Sequence[Rows], results: Sequence[dict[str, np.ndarray]], numbers: Sequence[np.ndarray],
                file_ends: np.ndarray | None, names: Sequence[str], path: str | None) -> Any:
    """:func:`range_frame` written to ``path`` (its row count returned), or returned when
    ``path`` is None (the driver writes)."""
    from pcapkit.reports.export import write_parts

    table = range_frame(slices, results, numbers, file_ends, names)
    if path is None:
        return table.to_pandas()
    return write_parts([table], "", 0, None, None, path).rows


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

    place = unit_places(units, n)
    made = [client.submit(unit_rows, u, buckets, pure=False, **on(w)) for u, w in zip(units, place, strict=True)]
    # (priorities: what another worker waits for first, the write last)
    heads = [client.submit(operator.getitem, m, 0, pure=False, priority=4, **on(w))
             for m, w in zip(made, place, strict=True)]
    dealt = client.submit(deal, heads, list(unit_input), n, buckets, pure=False, priority=4)
    analysed = []
    for g in range(n):
        parts = [client.submit(unit_part, m, dealt, u, g, w != g, pure=False, priority=3 if w != g else 2, **on(w))
                 for u, (m, w) in enumerate(zip(made, place, strict=True))]
        analysed.append(client.submit(group_analysis, parts, pure=False, priority=2, **on(g)))
    starts = [client.submit(operator.getitem, a, 0, pure=False, priority=1, **on(g)) for g, a in enumerate(analysed)]
    numbers = client.submit(stream_numbers, starts, pure=False, priority=1)
    # the driver's one look at the units, while the workers deal and analyse: where to cut the ranges
    summaries = client.gather(heads)
    keep = kept_units(summaries, unit_input)
    made, summaries, unit_input = [made[i] for i in keep], [summaries[i] for i in keep], [unit_input[i] for i in keep]
    place = [place[i] for i in keep]
    frames = [int(s["frames"]) for s in summaries]
    offsets = np.cumsum([0, *frames]).tolist()
    errors = [s["error"] for s in summaries if s["error"]]

    file_ends = None
    if names:
        file_ends = np.cumsum(np.bincount(np.asarray(unit_input, dtype=np.int64), weights=frames,
                                          minlength=len(names)).astype(np.int64))
    bins = [s["bins"] for s in summaries]
    cuts = range_cuts(bins, frames, n)
    outs = []
    for r, (w, (lo, hi)) in enumerate(zip(range_workers(bins, frames, place, cuts, n), itertools.pairwise(cuts),
                                          strict=True)):
        held = [u for u in range(len(made)) if offsets[u] + 1 < hi and offsets[u + 1] + 1 > lo] or [0]
        slices = [client.submit(unit_slice, made[u], lo, hi, offsets[u], dealt, place[u] != w, pure=False,
                                priority=3 if place[u] != w else 0, **on(place[u])) for u in held]
        results = [client.submit(range_results, a, lo, hi, g != w, pure=False, priority=1, **on(g))
                   for g, a in enumerate(analysed)]
        path = None if out_dir is None else os.path.join(os.path.abspath(out_dir), _part_name(r))
        outs.append((path, client.submit(write_range, slices, results, numbers, file_ends, names, path, pure=False,
                                         **on(w))))
    del made, analysed
    written = client.gather([f for _, f in outs])
    if out_dir is None:
        return TcpExport(sum(len(df) for df in written), [], errors, written)
    return TcpExport(sum(written), [p for p, _ in outs if p is not None], errors, [])


def unit_places(units: Sequence[Unit], workers: int) -> list[int]:
    """The worker of each unit: the inputs' bytes, one after the other, in one equal share
    per worker; a unit goes to the share that holds its middle."""
    sizes = []
    for path, byte_range in units:
        try:
            sizes.append(os.path.getsize(path) if byte_range is None else byte_range[1] - byte_range[0])
        except OSError:  # (the driver may not see the files of a remote cluster: by count)
            sizes.append(1)
    total = max(1, sum(sizes))
    place, before = [], 0
    for size in sizes:  # (a middle on the edge of two shares: the first)
        place.append(min(workers - 1, max(0, ((2 * before + size) * workers - 1) // (2 * total))))
        before += size
    return place


def _part_name(r: int) -> str:
    from pcapkit.reports.export import part_name

    return part_name(0, r)


def tcp_units(files: Sequence[str], workers: int) -> tuple[list[Unit], list[int]]:
    """The units of ``files`` and the input of each: the inputs' bytes, one after the
    other, cut into one equal share per worker; a file that straddles the edge of a share
    is cut there (at the next record boundary; a file that is not plain pcap stays whole)."""
    from pcapkit.capture.ranges import ranges_cut_at

    sizes = [os.path.getsize(f) for f in files]
    total = sum(sizes)
    edges = [total * w // workers for w in range(1, workers)]
    units: list[Unit] = []
    unit_input: list[int] = []
    before = 0
    for i, (path, size) in enumerate(zip(files, sizes, strict=True)):
        inside = [e - before for e in edges if before < e < before + size]
        ranges = ranges_cut_at(path, inside) if inside else []
        cut: list[Unit] = [(path, r) for r in ranges] if len(ranges) > 1 else [(path, None)]
        units += cut
        unit_input += [i] * len(cut)
        before += size
    return units, unit_input


def tcp_table(client: Any, files: Sequence[str], buckets: int = BUCKETS, label: bool = False) -> pd.DataFrame:
    """The tcp table of ``files`` (as one capture; ``label``: with ``pcapkit.file``) made
    on the workers of ``client``, as one DataFrame."""
    from pcapkit.columnar.api import concat_frames
    from pcapkit.reports.export import input_names

    units, unit_input = tcp_units(files, len(client.scheduler_info()["workers"]))
    names = input_names(files) if label else []
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


def export_tcp(client: Any, files: Sequence[str], output: str, partition_rows: int | None,
               label: bool) -> ExportResult:
    """``export --table tcp`` on the workers of ``client``: into the directory ``output``
    (it exists or ends with a slash) each worker writes its frame ranges' part files;
    to one file, or with ``partition_rows``, the driver writes the ranges' tables.
    ``label``: with ``pcapkit.file``."""
    from pcapkit.reports.export import ExportResult, input_names, is_directory, write_table

    if partition_rows is not None or not is_directory(output):
        return write_table(lambda: tcp_table(client, files, label=label), output, partition_rows)
    from pcapkit.errors import PcapkitError

    os.makedirs(output, exist_ok=True)
    try:
        units, unit_input = tcp_units(files, len(client.scheduler_info()["workers"]))
        made = tcp_export(client, units, unit_input, input_names(files) if label else [], output)
    except PcapkitError as exc:  # (an input with no readable frame: as the local engine says it)
        return ExportResult(errors=[str(exc)])
    return ExportResult(made.rows, made.files, made.errors)
