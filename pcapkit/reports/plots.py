"""Plots of one TCP direction: time-sequence (Stevens), RTT, throughput, window, cwnd.

Every function returns a :class:`matplotlib.figure.Figure` (Agg backend; matplotlib is
imported inside the functions so ``import pcapkit`` stays light). The x axis is seconds
since the connection's first packet; sequence numbers are relative to the sender's ISN.
Artists carry labels ("data", "retransmission", "ack", "receive window", "rtt",
"throughput", "bytes in flight", "advertised window") so callers and tests can find them.

``connection(path, stream, direction)`` picks the data: ``stream`` is tshark's
``tcp.stream``; ``direction`` is "auto" (the direction that carried more payload),
"client" (from the side that opened the connection: the SYN's sender, else the first
packet's) or "server". Titles name the file, the stream and the direction; ``start_s`` /
``end_s`` (seconds since the connection's first packet) zoom the x axis of any plot,
``seq_from`` / ``seq_to`` (relative sequence numbers) the y axis of the tseq plot.
Legends sit outside the axes, to the right, so they never hide data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any

from pcapkit.errors import PcapkitError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from pcapkit.tcpflow.analysed import AnalysedSegments
    from pcapkit.tcpflow.ccmodel import CongestionModel
    from pcapkit.tcpflow.congestion import CongestionReport

KINDS = ("tseq", "rtt", "throughput", "window", "cwnd")
PHASE_COLORS = {
    "slow-start": "#fde0b6", "congestion-avoidance": "#cfe8cf", "fast-recovery": "#f6c1c1",
    "rto-recovery": "#e89a9a", "cwr": "#e6d2f0", "startup": "#fde0b6", "drain": "#f0e6b0",
    "probe-bw": "#cfe8cf", "probe-rtt": "#cfd8f0",
}


class PlotError(PcapkitError):
    """Nothing to plot (no such stream, or no data in it)."""


DIRECTIONS = ("auto", "client", "server")


@dataclass(slots=True)
class PlotData:
    stream: int
    report: CongestionReport
    model: CongestionModel
    t0_ns: int
    error: str | None = None  # what stopped reading a damaged file (the plot shows what came before)
    file: str = ""
    # the sender's RTT samples (tshark's ack_rtt of data segments, the lab's SampleRTT):
    # (time of the ACK in ns, SampleRTT s, EstimatedRTT s), see pcapkit.reports.rtt
    samples: list[tuple[int, float, float]] = field(default_factory=list)
    start_s: float | None = None  # zoom: x axis from/to (seconds since t0)
    end_s: float | None = None
    seq_from: int | None = None  # tseq zoom: relative sequence numbers from/to
    seq_to: int | None = None
    truth: str | None = None  # a kernel truth file (time_ns, snd_cwnd per tcp_probe) for the cwnd plot


def connection(path: str | PathLike[str], stream: int = 0, direction: str = "auto") -> PlotData:
    """The data of TCP stream ``stream`` of a capture in ``direction`` (see the module doc)."""
    import os

    from pcapkit.tcpflow.analysed import analyse

    if direction not in DIRECTIONS:
        raise PlotError(f"unknown direction {direction!r} (one of {', '.join(DIRECTIONS)})")
    return analysed_connection(analyse(path), stream, direction, os.path.basename(os.fspath(path)), path)


def analysed_connection(an: AnalysedSegments, stream: int = 0, direction: str = "auto", file: str = "",
                        path: object = "") -> PlotData:
    """:func:`connection` of segments already analysed (``file`` names them in titles)."""
    from pcapkit.reports.rtt import analysed_samples
    from pcapkit.tcpflow.ccmodel import model_direction
    from pcapkit.tcpflow.congestion import analyse_direction

    if direction not in DIRECTIONS:
        raise PlotError(f"unknown direction {direction!r} (one of {', '.join(DIRECTIONS)})")
    path = path or file
    count = int(an.stream.max()) + 1 if len(an) else 0
    if not 0 <= stream < count:
        raise PlotError(f"{path}: no TCP stream {stream} ({count} streams)")
    picked = an.select(an.stream == stream)
    csegs = list(picked.segments.segments())
    first = next((s for s in csegs if s.flags & 0x012 == 0x002), csegs[0])
    client, server = (first.src, first.sport), (first.dst, first.dport)
    if direction == "auto":
        totals: dict[tuple[str, int], int] = {}
        for s in csegs:
            totals[(s.src, s.sport)] = totals.get((s.src, s.sport), 0) + max(s.seglen, 0)
        sender = max(totals, key=lambda k: totals[k])
    else:
        sender = client if direction == "client" else server
    receiver = server if sender == client else client
    rep = analyse_direction(csegs, sender, receiver)
    if not rep.sent:
        raise PlotError(f"{path}: TCP stream {stream} carries no data from {sender[0]}:{sender[1]}")
    table = analysed_samples(picked, stream)
    src = f"[{sender[0]}]:{sender[1]}" if ":" in sender[0] else f"{sender[0]}:{sender[1]}"
    mine = table[(table["data_src"] == src) & table["estimated_rtt"].notna()]
    samples = list(zip(mine["frame.time_epoch"].astype("int64").tolist(), mine["tcp.analysis.ack_rtt"].tolist(),
                       mine["estimated_rtt"].tolist(), strict=True))
    error = an.segments.error
    return PlotData(stream, rep, model_direction(rep), csegs[0].ts_ns, None if error is None else str(error), file, samples)


def _figure(title: str, ylabel: str) -> tuple[Figure, object]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 6), dpi=100, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title(title)
    ax.set_xlabel("time since the first packet (s)")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _t(d: PlotData, ns: int) -> float:
    return (ns - d.t0_ns) / 1e9


def _name(d: PlotData) -> str:
    r = d.report
    where = f"{d.file}, " if d.file else ""
    return f"{where}stream {d.stream}, {r.sender[0]}:{r.sender[1]} -> {r.receiver[0]}:{r.receiver[1]}"


def _legend(ax: object) -> None:
    """The legend outside the axes, on the right: it never hides data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize="small")  # type: ignore[attr-defined]


def _zoom(d: PlotData, ax: object) -> None:
    """Apply --from/--to (seconds since the first packet) to the x axis."""
    if d.start_s is None and d.end_s is None:
        return
    lo, hi = ax.get_xlim()  # type: ignore[attr-defined]
    ax.set_xlim(lo if d.start_s is None else d.start_s, hi if d.end_s is None else d.end_s)  # type: ignore[attr-defined]


def _in_zoom(d: PlotData, t: float) -> bool:
    return (d.start_s is None or t >= d.start_s) and (d.end_s is None or t <= d.end_s)


def _bars(ax: Any, xs: list[float], lo: list[int], hi: list[int], **style: Any) -> None:
    """Vertical bars from ``lo`` to ``hi`` at ``xs`` as one line broken by NaNs: what
    ``ax.vlines`` draws, without a LineCollection that builds a Python object per bar
    (a 100,000-segment stream: about a second)."""
    import numpy as np

    n = len(xs)
    x = np.full(3 * n, np.nan)
    y = np.full(3 * n, np.nan)
    x[0::3] = x[1::3] = xs
    y[0::3], y[1::3] = lo, hi
    ax.plot(x, y, linestyle="-", solid_capstyle="butt", **style)


def tseq(d: PlotData) -> Figure:
    """Stevens time-sequence graph: each data segment as a vertical bar from its first
    to its last sequence number with a tick at its end, retransmissions in red, the ACK
    line and the receive window's right edge (ACK + window) as steps. Marks are sized
    to the number of segments shown (few segments: big marks); with a zoom the y axis
    fits the data in it."""
    fig, ax = _figure(f"Time-sequence graph\n{_name(d)}", "relative sequence number")
    r = d.report
    shown = [s for s in r.sent if _in_zoom(d, _t(d, s.ts_ns)) and _in_seq(d, s.seq, s.seq + s.length)] or r.sent
    width, tick = segment_mark_sizes(len(shown))
    xs, lo, hi = [], [], []
    for s in r.sent:
        if not s.retransmission:
            xs.append(_t(d, s.ts_ns))
            lo.append(s.seq)
            hi.append(s.seq + s.length)
    _bars(ax, xs, lo, hi, color="black", linewidth=width, label="data")
    ax.plot(xs, hi, linestyle="none", marker="_", color="black", markersize=tick, label="segment end")  # type: ignore[attr-defined]
    rx = [(_t(d, s.ts_ns), s.seq, s.seq + s.length) for s in r.sent if s.retransmission]
    if rx:
        _bars(ax, [x for x, _, _ in rx], [a for _, a, _ in rx], [b for _, _, b in rx],
              color="red", linewidth=width * 1.5, label="retransmission")
        ax.plot([x for x, _, _ in rx], [b for _, _, b in rx], "rx", markersize=tick * 1.2)  # type: ignore[attr-defined]
    if r.acks:
        at = [_t(d, a.ts_ns) for a in r.acks]
        ax.step(at, [a.ack for a in r.acks], where="post", color="tab:green", linewidth=1.2, label="ack")  # type: ignore[attr-defined]
        ax.step(at, [a.ack + a.window for a in r.acks], where="post", color="tab:orange",  # type: ignore[attr-defined]
                linewidth=1.2, label="receive window")
    _focus(d, ax)
    _zoom(d, ax)
    by_seq = d.seq_from is not None or d.seq_to is not None
    if by_seq and d.start_s is None and d.end_s is None:
        # a sequence range alone: the x axis spans the segments in it
        first, last = _t(d, shown[0].ts_ns), _t(d, shown[-1].ts_ns)
        pad_t = max(last - first, 1e-3) * 0.05
        ax.set_xlim(first - pad_t, last + pad_t)  # type: ignore[attr-defined]
    if by_seq or d.start_s is not None or d.end_s is not None:
        low = min(s.seq for s in shown) if d.seq_from is None else d.seq_from
        high = max(s.seq + s.length for s in shown) if d.seq_to is None else d.seq_to
        pad = 0 if by_seq else max(high - low, 1) * 0.05
        ax.set_ylim(low - pad, high + pad)  # type: ignore[attr-defined]
    _legend(ax)
    return fig


def _in_seq(d: PlotData, lo: int, hi: int) -> bool:
    """Whether the sequence range [lo, hi] meets the --seq-from/--seq-to zoom."""
    return (d.seq_from is None or hi >= d.seq_from) and (d.seq_to is None or lo <= d.seq_to)


def segment_mark_sizes(count: int) -> tuple[float, float]:
    """(bar line width, end tick size) in points for ``count`` segments on the plot:
    about 60 / sqrt(count) points of tick, kept within [4, 18] (a 10-segment plot gets
    big marks, a 10,000-segment one small ones that do not merge)."""
    tick = min(18.0, max(4.0, 60.0 / max(count, 1) ** 0.5))
    return max(1.0, tick / 5.0), tick


def _focus(d: PlotData, ax: object) -> None:
    """Limit the x axis to the data transfer: first data segment to the ACK of the
    highest sequence number (late keep-alives or closing packets would squash it)."""
    r = d.report
    start = _t(d, r.sent[0].ts_ns)
    top = max(s.seq + s.length for s in r.sent)
    end_ns = next((a.ts_ns for a in r.acks if a.ack >= top), r.sent[-1].ts_ns)
    end = max(_t(d, end_ns), _t(d, r.sent[-1].ts_ns))
    span = max(end - start, 1e-3)
    ax.set_xlim(start - 0.03 * span, end + 0.05 * span)  # type: ignore[attr-defined]


def rtt(d: PlotData) -> Figure:
    """RTT samples (tshark's ack_rtt of the data segments, the lab's SampleRTT) as points
    at the time of their ACK, in milliseconds, with the EstimatedRTT line (RFC 6298's
    SRTT with alpha 1/8 started at the first data sample, the lab's definition, from
    :func:`pcapkit.reports.rtt.rtt_samples`) and the minimum RTT."""
    fig, ax = _figure(f"Round-trip time\n{_name(d)}", "RTT (ms)")
    xs = [_t(d, ts) for ts, _, _ in d.samples]
    ax.plot(xs, [v * 1000 for _, v, _ in d.samples], linestyle="none", marker="o", markersize=4,  # type: ignore[attr-defined]
            color="tab:blue", label="rtt")
    ax.plot(xs, [e * 1000 for _, _, e in d.samples], color="tab:red", linewidth=1.5,  # type: ignore[attr-defined]
            label="EstimatedRTT", gid="estimated-rtt")
    if d.samples:
        ax.axhline(min(v for _, v, _ in d.samples) * 1000, color="grey", linestyle="--", linewidth=0.8,  # type: ignore[attr-defined]
                   label="min rtt")
    _zoom(d, ax)
    _legend(ax)
    return fig


def throughput_series(d: PlotData, window_s: float | None = None) -> tuple[list[float], list[float], float]:
    """(times, bytes/s, window): payload bytes sent in the trailing window at each segment.
    The window defaults to max(min RTT, 1/50 of the transfer, 1 ms)."""
    r = d.report
    times = [s.ts_ns for s in r.sent]
    span = (times[-1] - times[0]) / 1e9 if times else 0.0
    if window_s is None:
        window_s = max((r.min_rtt_ns or 0) / 1e9, span / 50, 0.001)
    w = int(window_s * 1e9)
    xs: list[float] = []
    ys: list[float] = []
    total = 0
    j = 0
    for i, s in enumerate(r.sent):
        total += s.length
        while times[j] <= s.ts_ns - w:
            total -= r.sent[j].length
            j += 1
        xs.append(_t(d, s.ts_ns))
        ys.append(total / window_s)
        del i
    return xs, ys, window_s


def mean_throughput(d: PlotData) -> float | None:
    """Bytes acknowledged / (time of the highest ACK - time of the first data segment):
    the Kurose & Ross lab's average throughput (30,223 B/s on tcp-ethereal-trace-1);
    None when no ACK comes after the first data segment."""
    r = d.report
    if not r.acks or not r.sent:
        return None
    last = max(r.acks, key=lambda a: a.ack)
    if last.ts_ns <= r.sent[0].ts_ns:
        return None
    return (last.ack - 1) / ((last.ts_ns - r.sent[0].ts_ns) / 1e9)


def throughput(d: PlotData, window_s: float | None = None) -> Figure:
    """Throughput as a moving window over the data segments sent (bytes per second), the
    moving average (the same over a window :data:`AVERAGE_WINDOWS` times longer, which
    spans several flights) and the mean (:func:`mean_throughput`)."""
    xs, ys, w = throughput_series(d, window_s)
    axs, ays, aw = throughput_series(d, w * AVERAGE_WINDOWS)
    mean = mean_throughput(d)
    text = "" if mean is None else f", mean {mean:,.0f} B/s"
    fig, ax = _figure(f"Throughput ({w * 1000:.1f} ms window{text})\n{_name(d)}", "bytes per second")
    ax.plot(xs, ys, color="tab:purple", linewidth=0.8, alpha=0.5, label="throughput")  # type: ignore[attr-defined]
    ax.plot(axs, ays, color="tab:purple", linewidth=1.8,  # type: ignore[attr-defined]
            label=f"moving average ({aw * 1000:.0f} ms)")
    if mean is not None:
        ax.axhline(mean, color="black", linestyle="--", linewidth=1.2, label=f"mean {mean:,.0f} B/s",  # type: ignore[attr-defined]
                   gid="mean-throughput")
    _zoom(d, ax)
    _legend(ax)
    return fig


AVERAGE_WINDOWS = 5


def window(d: PlotData) -> Figure:
    """The receiver's advertised window (scaled) and the sender's bytes in flight."""
    fig, ax = _figure(f"Window and bytes in flight\n{_name(d)}", "bytes")
    r = d.report
    if r.acks:
        ax.step([_t(d, a.ts_ns) for a in r.acks], [a.window for a in r.acks], where="post",  # type: ignore[attr-defined]
                color="tab:orange", linewidth=1.2, label="advertised window")
    xs, ys = inflight_series(d)
    ax.step(xs, ys, where="post", color="tab:blue", linewidth=1, label="bytes in flight")  # type: ignore[attr-defined]
    _focus(d, ax)
    _zoom(d, ax)
    _legend(ax)
    return fig


def inflight_series(d: PlotData) -> tuple[list[float], list[int]]:
    """Bytes in flight over time: up at each data segment sent, down at each ACK."""
    r = d.report
    events = sorted([(s.ts_ns, 0, s.seq + s.length) for s in r.sent]
                    + [(a.ts_ns, 1, a.ack) for a in r.acks])
    snd_max = una = 0
    xs: list[float] = []
    ys: list[int] = []
    for ts, kind, value in events:
        if kind == 0:
            snd_max = max(snd_max, value)
        else:
            una = max(una, value)
        if snd_max:
            xs.append(_t(d, ts))
            ys.append(max(snd_max - una, 0))
    return xs, ys


def cwnd(d: PlotData) -> Figure:
    """The congestion model's window estimate (:mod:`pcapkit.tcpflow.ccmodel`) with its
    phases shaded, the bytes in flight, loss events marked (RTO red, fast retransmit
    orange) and, when ``d.truth`` names a kernel truth file, the kernel's cwnd."""
    from pcapkit.tcpflow.ccmodel import phase_intervals

    m = d.model
    algo = m.identification.algorithm
    fig, ax = _figure(f"Congestion window estimate ({algo})\n{_name(d)}", "bytes")
    seen: set[str] = set()
    for iv in phase_intervals(m):
        start, end = _t(d, iv.start_ns), _t(d, iv.end_ns)
        if end <= start:
            end = start + 0.002
        ax.axvspan(start, end, color=PHASE_COLORS.get(iv.phase, "#eeeeee"), alpha=0.8,  # type: ignore[attr-defined]
                   label=None if iv.phase in seen else iv.phase, zorder=0)
        seen.add(iv.phase)
    xs, ys = inflight_series(d)
    ax.step(xs, ys, where="post", color="tab:blue", linewidth=0.8, alpha=0.7, label="bytes in flight",  # type: ignore[attr-defined]
            zorder=2)
    ax.step([_t(d, e.ts_ns) for e in m.segments], [e.cwnd for e in m.segments], where="post",  # type: ignore[attr-defined]
            color="black", linewidth=1.2, label="cwnd estimate", zorder=3)
    if d.truth:
        tx, ty = kernel_cwnd(d.truth, m.mss)
        ax.step([_t(d, t) for t in tx], ty, where="post", color="tab:purple", linewidth=1,  # type: ignore[attr-defined]
                linestyle="--", label="kernel cwnd", zorder=4)
    for ev in m.events:
        ax.axvline(_t(d, ev.ts_ns), color="red" if ev.kind == "rto" else "darkorange",  # type: ignore[attr-defined]
                   linestyle=":", linewidth=1, zorder=1)
    _focus(d, ax)
    _zoom(d, ax)
    _legend(ax)
    return fig


def kernel_cwnd(path: str, mss: int) -> tuple[list[int], list[int]]:
    """(time ns, cwnd bytes) from a truth file: a CSV with ``time_ns`` and ``snd_cwnd``
    (segments, the kernel's tcp_probe), in bytes of the MSS in the sibling ``.json``'s
    ``mss`` when there is one, else ``mss``."""
    import csv
    import json
    from pathlib import Path

    meta = Path(path.removesuffix(".truth.csv") + ".json")
    if meta.exists():
        mss = int(json.loads(meta.read_text()).get("mss", mss))
    times: list[int] = []
    cwnds: list[int] = []
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                times.append(int(row["time_ns"]))
                cwnds.append(int(row["snd_cwnd"]) * mss)
    except (OSError, KeyError, ValueError) as e:
        raise PlotError(f"{path}: not a truth file (time_ns, snd_cwnd): {e}") from e
    return times, cwnds


def plot(path: str | PathLike[str], kind: str, stream: int = 0, direction: str = "auto",
         start_s: float | None = None, end_s: float | None = None,
         seq_from: int | None = None, seq_to: int | None = None, truth: str | None = None) -> Figure:
    """The ``kind`` plot (one of :data:`KINDS`) of TCP stream ``stream`` of a capture,
    for ``direction`` (see :func:`connection`), zoomed to ``start_s``..``end_s`` seconds
    and (tseq) to the relative sequence numbers ``seq_from``..``seq_to``."""
    if kind not in KINDS:
        raise PlotError(f"unknown plot kind {kind!r} (one of {', '.join(KINDS)})")
    d = connection(path, stream, direction)
    d.start_s, d.end_s, d.seq_from, d.seq_to, d.truth = start_s, end_s, seq_from, seq_to, truth
    return draw(d, kind)


def draw(d: PlotData, kind: str) -> Figure:
    """The ``kind`` plot of a connection's data."""
    return {"tseq": tseq, "rtt": rtt, "throughput": throughput, "window": window, "cwnd": cwnd}[kind](d)
