"""The TCP columns of the flows report: Zeek's view of each tcp.stream and tcptrace's of
each conversation, from models run over a bounded number of connections at a time.

Both models keep records per connection (tcptrace ~2 KB per address/port pair, Zeek
~0.5 KB per stream); a million one-SYN flows in one run held 2.2 GB of records. Their
connections never meet across address/port pairs (tcptrace) or streams (Zeek), so each
runs over groups of at most :data:`_MODEL_CONNECTIONS` of them, and each run is reduced
to the report's columns before the next: one run's answer, one group's memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pcapkit.tcpflow.segments import SegmentTable
    from pcapkit.tcpflow.tcptrace import ConnectionTable

# the connections a model holds at a time (tcptrace's address/port pairs, Zeek's streams)
_MODEL_CONNECTIONS = 20_000

RTT_COLUMNS = ["rtt_ab_min_ms", "rtt_ab_avg_ms", "rtt_ab_max_ms", "rtt_ba_min_ms", "rtt_ba_avg_ms", "rtt_ba_max_ms"]
FLOAT_COLUMNS = [*RTT_COLUMNS, "throughput_ab_Bps", "throughput_ba_Bps"]
RETRANS_COLUMNS = ["retrans_ab", "retrans_ba"]


@dataclass(eq=False)
class ZeekStreams:
    """Zeek's first connection of each tcp.stream (index: the stream): originator and
    responder (address code, port), conn_state, history (object arrays of texts) and
    missed bytes."""

    orig: np.ndarray       # (stream, 2): address code, port
    resp: np.ndarray
    conn_state: np.ndarray
    history: np.ndarray
    missed: np.ndarray


def _groups(count: int) -> int:
    return max(1, -(-count // _MODEL_CONNECTIONS))


def _partition(group_of: np.ndarray, groups: int) -> list[np.ndarray]:
    """The rows of each group 0 .. groups-1 (ascending; rows of a negative group in none),
    from one stable sort. Groups are runs of consecutive keys, numbered in order of first
    appearance, so a group's rows lie close together in the table."""
    if groups <= 1:
        return [np.nonzero(group_of >= 0)[0]]
    order = np.argsort(group_of, kind="stable")
    bounds = np.searchsorted(group_of[order], np.arange(groups + 1))
    return [order[bounds[g]:bounds[g + 1]] for g in range(groups)]


def zeek_streams(segs: SegmentTable, seg_stream: np.ndarray) -> ZeekStreams:
    """Zeek's view of every stream of the analysed segments ``segs`` (``seg_stream``: the
    tcp.stream of each), the model run over groups of consecutive streams."""
    from pcapkit.tcpflow.zeek import zeek_table

    nstreams = int(seg_stream.max()) + 1
    orig, resp = np.zeros((nstreams, 2), np.int64), np.zeros((nstreams, 2), np.int64)
    conn_state = np.full(nstreams, "", dtype=object)
    history = np.full(nstreams, "", dtype=object)
    missed = np.zeros(nstreams, np.int64)
    size = _MODEL_CONNECTIONS
    groups = _groups(nstreams)
    for group, rows in enumerate(_partition(seg_stream // size, groups)):
        if not rows.size:
            continue
        base = group * size if groups > 1 else 0
        local = seg_stream[rows] - base  # (keys of the group from 0: the model's arrays are per key)
        z = zeek_table(segs.select(rows), local)
        present = np.unique(local)
        first = z.first_of_key(int(present[-1]) + 1)[present]  # (each stream's first Zeek connection)
        streams = present + base
        eps = z.endpoints
        for out, ends in ((orig, z.orig_index()[first]), (resp, z.resp_index()[first])):
            out[streams, 0], out[streams, 1] = eps["host"][ends], eps["port"][ends]
        conn_state[streams] = z.conn_states(first)
        history[streams] = [z.history[i] for i in first.tolist()]
        missed[streams] = z.missed_bytes()[first]
        del z, eps
    return ZeekStreams(orig, resp, conn_state, history, missed)


def tcptrace_columns(table: SegmentTable, conv_frames: np.ndarray, src: np.ndarray, sport: np.ndarray,
                     rows: np.ndarray, cols: dict[str, np.ndarray], no_tt: np.ndarray) -> None:
    """tcptrace's retransmitted data packets, Karn RTT summary (ms) and throughput each way
    of the connection of the first frame (``conv_frames``) of each TCP conversation
    ``rows`` (whose originator is address code ``src``, port ``sport``), into the columns
    ``cols`` (:data:`RETRANS_COLUMNS`, :data:`FLOAT_COLUMNS`; left as they are where there
    is none) and False into ``no_tt`` where there is one, in place.

    The model runs over groups of consecutive address/port pairs; a frame's connection is
    the highest-numbered one with a segment in it, as one run numbers them (by the segment
    that opened them: here, the latest opening row)."""
    from pcapkit.tcpflow.tcptrace import connection_table

    view = table.tcptrace_view()
    if not len(view):
        return
    key = view.conversation_keys()[0]
    size = _MODEL_CONNECTIONS
    groups = _groups(int(key.max()) + 1)
    # the group of the segment in each conversation's first frame; a frame holding several
    # segments (rare) is looked up in every group
    frames = conv_frames[rows]
    at = np.minimum(np.searchsorted(view.frame, frames), len(view) - 1)
    present = view.frame[at] == frames
    after = np.minimum(at + 1, len(view) - 1)
    several = np.nonzero(present & (after != at) & (view.frame[after] == frames))[0]
    conv_parts = _partition(np.where(present, key[at] // size, -1), groups)
    del at, present, after
    opened_at = np.full(rows.shape[0], -1, np.int64)  # the row that opened each one's connection so far
    for group, segments in enumerate(_partition(key // size, groups)):
        if not segments.size:
            continue
        candidates = np.union1d(conv_parts[group], several) if several.size else conv_parts[group]
        if not candidates.size:
            continue
        tt = connection_table(view.select(segments))
        local = tt.conn_of_frames(frames[candidates])
        opening = segments[np.unique(tt.row_conn, return_index=True)[1]]  # the row opening each connection
        found = local >= 0
        hit, local = candidates[found], local[found]
        newer = opening[local] > opened_at[hit]
        hit, local = hit[newer], local[newer]
        opened_at[hit] = opening[local]
        conv = rows[hit]
        _reduce_into(cols, tt, conv, local, src[conv], sport[conv])
        no_tt[conv] = False
        del tt


def _reduce_into(cols: dict[str, np.ndarray], tt: ConnectionTable, rows: np.ndarray, conn: np.ndarray,
                 src: np.ndarray, sport: np.ndarray) -> None:
    """The columns of conversations ``rows`` from their connections ``conn`` of ``tt``
    (the direction from ``src``/``sport`` is a->b), in place."""
    from pcapkit.tcpflow.tcptrace import throughput as throughput_of
    from pcapkit.tcpflow.tcptrace.layout import S_DIR, S_RTT

    dirs = tt.dirs
    a2b = (dirs["host"][2 * conn] == src) & (dirs["port"][2 * conn] == sport)
    ab = np.where(a2b, 2 * conn, 2 * conn + 1)
    ba = np.where(a2b, 2 * conn + 1, 2 * conn)
    cols["retrans_ab"][rows] = dirs["rexmit_pkts"][ab]
    cols["retrans_ba"][rows] = dirs["rexmit_pkts"][ba]
    ndirs = 2 * len(tt)
    throughput, valid = throughput_of(tt, np.arange(ndirs))
    for name, d in (("throughput_ab_Bps", ab), ("throughput_ba_Bps", ba)):
        cols[name][rows] = np.where(valid[d], throughput[d], np.nan)
    direction = tt.samples[:, S_DIR]
    rtt = tt.samples[:, S_RTT].astype(np.float64)
    rtt_min = np.full(ndirs, np.inf)
    rtt_max = np.full(ndirs, -np.inf)
    np.minimum.at(rtt_min, direction, rtt)
    np.maximum.at(rtt_max, direction, rtt)
    rtt_n = np.bincount(direction, minlength=ndirs)
    rtt_sum = np.bincount(direction, rtt, minlength=ndirs)
    for way, d in (("ab", ab), ("ba", ba)):
        count = rtt_n[d]
        some = count > 0
        r, d = rows[some], d[some]
        cols[f"rtt_{way}_min_ms"][r] = rtt_min[d] / 1000.0
        cols[f"rtt_{way}_avg_ms"][r] = rtt_sum[d] / count[some] / 1000.0
        cols[f"rtt_{way}_max_ms"][r] = rtt_max[d] / 1000.0
