"""tcptrace's statistics of a capture, a run of address/port pairs at a time, so that a
capture with a million connections never holds every connection's records (about 2 KB
each) nor every row of the statistics (82 columns) at once.

tcptrace's connections of different address/port pairs never meet, so the model run
over the segments of some pairs gives those pairs' connections exactly as one run over
everything does. :class:`StatsRuns` cuts the pairs (numbered by first appearance) into
runs of at most :data:`RUN_PAIRS` pairs and about :data:`RUN_SEGMENTS` segments, and
goes over them twice:

* :meth:`StatsRuns.survey`: the model over each run, kept only as the number of each
  connection (tcptrace numbers them by the segment that opened them) and how each
  NA-able statistic is held (:func:`~pcapkit.tcpflow.tcptrace.stats.nullable_state`:
  a column's dtype depends on every row); optionally each run's rows (provisional
  connection numbers, the same set as the final ones) for a table's column widths;
* :meth:`StatsRuns.frames`: the model again, each run's rows as a DataFrame with the
  whole table's dtypes, yielded in tcptrace's order: a run's connections are in order,
  and a connection that a pair opened again later than the next run's first pair is
  held back until its turn.

The frames joined are :func:`~pcapkit.tcpflow.tcptrace.tcptrace_stats`'s DataFrame. One
run (a capture with few pairs) is surveyed and written from one model run; for a capture
file of at most ``run_pairs`` pairs that run is fed the file's batches as they are read
(:func:`~pcapkit.tcpflow.tcptrace.table.streamed_connection_table`: no segment table).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from pcapkit.columnar.column_table import ColumnTable
from pcapkit.tcpflow.segments import SegmentTable, Source, segment_table
from pcapkit.tcpflow.tcptrace.stats import joined_state, nullable_states, stats_frame
from pcapkit.tcpflow.tcptrace.table import (
    ConnectionTable,
    connection_table,
    regular_file,
    streamed_connection_table,
)

if TYPE_CHECKING:
    import pandas as pd

RUN_PAIRS = 20_000  # (the model's records of a run: about 45 MB; its statistics: 30 MB)
RUN_SEGMENTS = 2_000_000  # (a run's model input rows: 200 B each)


def run_bounds(pair_segments: np.ndarray, run_pairs: int = RUN_PAIRS,
               run_segments: int = RUN_SEGMENTS) -> list[tuple[int, int]]:
    """Consecutive ranges [first, end) of pairs with at most ``run_pairs`` pairs and
    ``run_segments`` segments (``pair_segments``: the segments of each pair); a pair with
    more segments is a run alone."""
    ends = np.cumsum(pair_segments)
    bounds: list[tuple[int, int]] = []
    first, npairs = 0, pair_segments.shape[0]
    while first < npairs:
        before = int(ends[first - 1]) if first else 0
        end = min(first + run_pairs, int(np.searchsorted(ends, before + run_segments, side="right")))
        end = max(end, first + 1)
        bounds.append((first, end))
        first = end
    return bounds


def _streamed(source: Source | SegmentTable, filter: str | None, max_pairs: int,
              compiled: bool | None) -> ConnectionTable | None:
    """The model fed a capture file's batches as they are read, when ``source`` is a
    regular file of at most ``max_pairs`` pairs (else None)."""
    path = regular_file(source)
    return None if path is None else streamed_connection_table(path, filter=filter, max_pairs=max_pairs,
                                                               compiled=compiled)


class StatsRuns:
    """The rows of :func:`~pcapkit.tcpflow.tcptrace.tcptrace_stats` of a capture (a file,
    frames or a segment table), computed a run of pairs at a time (see the module doc)."""

    def __init__(self, source: Source | SegmentTable, *, run_pairs: int = RUN_PAIRS,
                 run_segments: int = RUN_SEGMENTS, compiled: bool | None = None, filter: str | None = None) -> None:
        self._compiled = compiled
        self.states: dict[str, str] | None = None  # (known after the survey)
        self._numbers: list[np.ndarray] = []
        self._kept: ConnectionTable | None = None  # the one run's model, when there is one
        self._kept_frame: ColumnTable | None = None
        self.held_back = 0  # rows that :meth:`frames` held back for rows of later runs
        # a capture file of at most run_pairs pairs is one run: the model is fed its batches
        # as they are read, and no segment table is built
        self._streamed = _streamed(source, filter, run_pairs, compiled)
        if self._streamed is not None:
            self.error = self._streamed.error
            self._texts = np.asarray(self._streamed.addresses, dtype=object)
            self._runs: list[np.ndarray | None] = [None]
            return
        table = source if isinstance(source, SegmentTable) else segment_table(source, filter=filter)
        self.error = table.error
        self._view = view = table.tcptrace_view()
        self._texts = np.asarray(view.addresses, dtype=object)
        key = view.conversation_keys()[0]
        counts = np.bincount(key) if len(view) else np.zeros(0, np.int64)
        bounds = run_bounds(counts, run_pairs, run_segments)
        if len(bounds) <= 1:
            self._runs = [None] * len(bounds)  # (None: every row)
        else:
            order = np.argsort(key, kind="stable")  # by pair, each pair's segments in file order
            starts = np.concatenate(([0], np.cumsum(counts)))
            self._runs = [np.sort(order[starts[first]:starts[end]]) for first, end in bounds]
            del order

    def __len__(self) -> int:
        """The number of runs."""
        return len(self._runs)

    def _model(self, rows: np.ndarray | None) -> ConnectionTable:
        if self._streamed is not None:
            return self._streamed
        return connection_table(self._view if rows is None else self._view.select(rows), compiled=self._compiled)

    def _frame(self, tt: ConnectionTable, numbers: np.ndarray | None, states: dict[str, str] | None,
               first_number: int = 1) -> ColumnTable:
        cols = stats_frame(tt, states=states, first_number=first_number, texts=self._texts)
        if numbers is not None:
            cols["conn"] = np.repeat(numbers + 1, 2)
        attrs = {"pcapkit.error": str(self.error)} if self.error is not None else {}
        return ColumnTable.from_arrays(cols, attrs)

    def survey(self, each: Callable[[ColumnTable], object] | None = None) -> None:
        """Run the model over every run: number the connections, find how each NA-able
        column is held; give each run's rows to ``each`` (their connections numbered
        provisionally: the numbers of all runs together are the final ones)."""
        states: dict[str, str] | None = None
        opened: list[np.ndarray] = []
        total = 0
        for rows in self._runs:
            tt = self._model(rows)
            part = nullable_states(tt)
            states = part if states is None else {name: joined_state(states[name], s) for name, s in part.items()}
            if rows is not None:  # the row that opened each connection (they open in row order)
                opened.append(rows[np.unique(tt.row_conn, return_index=True)[1]])
            if each is not None:
                frame = self._frame(tt, None, part if len(self._runs) == 1 else None, total + 1)
                each(frame)
                if len(self._runs) == 1:
                    self._kept_frame = frame
            if len(self._runs) == 1:
                self._kept = tt
            total += len(tt)
            del tt
        self.states = states or {}
        if opened:  # tcptrace's number of each connection: its rank by the row that opened it
            joined = np.concatenate(opened)
            number = np.empty(joined.shape[0], np.int64)
            number[np.argsort(joined)] = np.arange(joined.shape[0])
            self._numbers = np.split(number, np.cumsum([o.shape[0] for o in opened])[:-1])

    def frames(self) -> Iterator[pd.DataFrame]:
        """Every run's rows in tcptrace's order (see the module doc); at least one frame
        (an empty one when the capture has no connection)."""
        for part in self.tables():
            yield part if not isinstance(part, ColumnTable) else part.to_pandas()

    def tables(self) -> Iterator[ColumnTable | pd.DataFrame]:
        """:meth:`frames`, a capture of one run as a
        :class:`~pcapkit.columnar.column_table.ColumnTable` (formatted without pandas)."""
        if self.states is None:
            self.survey()
        if not self._runs or (self._kept is not None and not len(self._kept)):
            yield ColumnTable({}, {"pcapkit.error": str(self.error)} if self.error is not None else {})
            return
        if len(self._runs) == 1:
            if self._kept_frame is not None:
                yield self._kept_frame
            else:
                assert self._kept is not None
                yield self._frame(self._kept, None, self.states)
            return
        yield from self._joined_frames()

    def _joined_frames(self) -> Iterator[pd.DataFrame]:
        """The runs' rows as DataFrames (see :meth:`frames`)."""
        import pandas as pd

        # a connection may go out once every later run's connections come after it
        later = [int(n.min()) for n in self._numbers[1:]] + [1 << 62]
        bound = np.minimum.accumulate(np.array(later[::-1]))[::-1]
        pending: pd.DataFrame | None = None
        for rows, numbers, limit in zip(self._runs, self._numbers, bound.tolist(), strict=True):
            frame = self._frame(self._model(rows), numbers, self.states).to_pandas()
            if pending is not None:
                frame = pd.concat([pending, frame], ignore_index=True)
                frame = frame.iloc[np.argsort(frame["conn"].to_numpy(), kind="stable")].reset_index(drop=True)
                if self.error is not None:
                    frame.attrs["pcapkit.error"] = str(self.error)
            ready = int(np.searchsorted(frame["conn"].to_numpy(), limit + 1, side="left"))
            if ready == len(frame):
                pending = None
                yield frame
                continue
            pending = frame.iloc[ready:].reset_index(drop=True)
            self.held_back += len(pending)
            if ready:
                yield frame.iloc[:ready].reset_index(drop=True)
        assert pending is None

