"""Frames and bytes per time interval, as ``tshark -q -z io,stat,INTERVAL[,FILTER...]``.

:func:`iostat` returns one row per interval and, per column filter, the frames it
accepts and the sum of their wire lengths (``frame.len``). The filters are tcpdump
expressions run by pcapkit's BPF (tshark's are display filters: ``tcp``, ``udp``,
``icmp``, ``arp`` mean the same in both); an empty filter counts every frame, and no
filter at all gives one such column.

The rules are tshark's (Wireshark 4.0, ``ui/cli/tap-iostat.c``):

- a frame's time is its ``frame.time_relative`` (to frame 1) rounded to whole
  microseconds; a negative one counts as the last non-negative time seen;
- the interval is given in seconds and kept in whole microseconds (rounded); 0 means
  one interval for the whole capture, and so does an interval longer than it;
- a column never goes back in time: a frame earlier than the latest interval in which
  that column already counted a frame is counted in that latest interval;
- the table has ceil(duration / interval) rows, the duration being the largest
  relative time (so no row at all when every frame has the time of frame 1); the last
  row ends at the duration and a frame beyond the last row is not shown.

A capture whose clock jumps (tcp/http.dmp.gz spans 129 million seconds) would need as
many rows at 1 s: more than ``max_rows`` raises :class:`LimitExceeded` (one line,
with the interval that would fit) before anything is allocated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from pcapkit.columnar.column_table import ColumnTable
from pcapkit.errors import FilterError, LimitExceeded, PcapkitError

if TYPE_CHECKING:
    import pandas as pd

WHOLE_CAPTURE = -1  # the interval (us) that stands for tshark's "0": the whole capture
MAX_ROWS = 1_000_000  # default limit on the number of intervals (rows) of one table


def interval_us(seconds: float | str) -> int:
    """tshark's interval in whole microseconds (rounded), or :data:`WHOLE_CAPTURE` for 0."""
    value = float(seconds)
    if value < 0 or value != value:
        raise ValueError(f"the interval must be >= 0 seconds, not {seconds!r}")
    if value == 0:
        return WHOLE_CAPTURE
    us = int(value * 1_000_000.0 + 0.5)
    if us < 1:
        raise ValueError("the interval must be >= 0.000001 seconds, or 0 for the whole capture")
    return us


def _seconds(us: int) -> str:
    """Whole microseconds as exact decimal seconds (no trailing zeros)."""
    return f"{us // 1_000_000}.{us % 1_000_000:06d}".rstrip("0").rstrip(".")


def column_names(filters: Sequence[str]) -> list[tuple[str, str]]:
    """The (frames, bytes) column names of each filter: ``frames``/``bytes`` for an
    empty filter, ``frames[FILTER]``/``bytes[FILTER]`` otherwise, `` (N)`` added to a
    repeated one (N: its column number from 1)."""
    names = [("frames", "bytes") if not f.strip() else (f"frames[{f}]", f"bytes[{f}]") for f in filters]
    # the same filter twice: its later columns carry their number, as tshark numbers them
    return [pair if pair not in names[:j] else (f"{pair[0]} ({j + 1})", f"{pair[1]} ({j + 1})")
            for j, pair in enumerate(names)]


def _read(path: str, filters: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, str | None]:
    """Each packet's time (ns), wire length and, per filter, whether it accepts it;
    and the error that cut the file short, if any."""
    from pcapkit.capture.batch import iter_records
    from pcapkit.capture.bpf import FilterPrograms, match_records

    programs = [FilterPrograms(f) if f.strip() else None for f in filters]
    times, lengths, accepted = [], [], []
    error = None
    try:
        for rb in iter_records(path):
            packet = rb.linktype >= 0  # pcapng records that are not packets are not frames
            matches = [np.ones(len(rb), dtype=bool) if p is None
                       else match_records(p, rb.buf, rb.data_off, rb.caplen, rb.wirelen, rb.linktype)
                       for p in programs]
            times.append(rb.ts_ns[packet])
            lengths.append(rb.wirelen[packet])
            accepted.append(np.stack(matches)[:, packet] if matches else np.zeros((0, int(packet.sum())), bool))
    except FilterError:
        raise
    except PcapkitError as exc:  # the file was cut short: the frames before count
        if not times:
            raise
        error = str(exc)
    if not times:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((len(filters), 0), bool), error
    return np.concatenate(times), np.concatenate(lengths), np.concatenate(accepted, axis=1), error


def iostat(path: str, interval: float | str = 0, filters: Sequence[str] = (), *,
           max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """Frames and bytes per ``interval`` seconds of the capture at ``path``, one pair of
    columns per tcpdump ``filters`` entry (see the module doc): ``start_s``/``end_s``
    (seconds from frame 1), then ``frames``/``bytes`` or ``frames[FILTER]``/``bytes[FILTER]``.
    Raises :class:`LimitExceeded` when the table would have more than ``max_rows`` rows."""
    return iostat_table(path, interval, filters, max_rows=max_rows).to_pandas()


def iostat_table(path: str, interval: float | str = 0, filters: Sequence[str] = (), *,
                 max_rows: int = MAX_ROWS) -> ColumnTable:
    """:func:`iostat` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what the
    CLI formats, without pandas)."""
    filters = list(filters) or [""]
    step = interval_us(interval)
    ts, wirelen, accepted, error = _read(path, filters)
    rel_ns = ts - ts[0] if ts.shape[0] else ts
    rel_us = np.where(rel_ns >= 0, (rel_ns + 500) // 1000, -1)
    duration = int(rel_us.max()) if rel_us.shape[0] else 0
    # tshark: an interval longer than the capture is the whole capture, one row
    whole = step == WHOLE_CAPTURE or step > duration
    if whole:
        step = max(duration, 1)
    rows = -(-duration // step)
    if rows > max_rows:
        raise LimitExceeded(f"{path}: {rows:,} intervals of {_seconds(step)} s over the capture's "
                            f"{_seconds(duration)} s exceed the limit of {max_rows:,} rows; use an interval of "
                            f"at least {_seconds(-(-duration // max_rows))} s")
    # a negative time is the last non-negative one of a frame that some column counted
    counted = accepted.any(axis=0)
    known = np.where(counted & (rel_us >= 0), np.arange(rel_us.shape[0]), -1)
    np.maximum.accumulate(known, out=known)
    effective = np.where(rel_us >= 0, rel_us, np.where(known >= 0, rel_us[np.maximum(known, 0)], 0))
    data: dict[str, np.ndarray] = {
        "start_s": np.arange(rows, dtype=np.int64) * step / 1e6,
        "end_s": np.minimum((np.arange(rows, dtype=np.int64) + 1) * step, duration) / 1e6,
    }
    for keep, (frames_name, bytes_name) in zip(accepted, column_names(filters), strict=True):
        index = np.zeros(int(keep.sum()), np.int64) if whole else effective[keep] // step
        np.maximum.accumulate(index, out=index)  # never back in time
        shown = index < rows
        data[frames_name] = np.bincount(index[shown], minlength=rows).astype(np.int64)
        data[bytes_name] = np.bincount(index[shown], weights=wirelen[keep][shown], minlength=rows).astype(np.int64)
    attrs: dict[str, object] = {"interval_us": step, "duration_us": duration, "filters": filters}
    if error is not None:
        attrs["pcapkit.error"] = error
    return ColumnTable.from_arrays(data, attrs)
