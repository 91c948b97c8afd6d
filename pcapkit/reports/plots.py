"""Plots of one TCP direction: time-sequence (Stevens), RTT, throughput, window, cwnd.

Every function returns a :class:`matplotlib.figure.Figure` (Agg backend; matplotlib is
imported inside the functions so ``import pcapkit`` stays light). The x axis is seconds
since the connection's first packet; sequence numbers are relative to the sender's ISN.
Artists carry labels ("data", "retransmission", "ack", "receive window", "rtt",
"throughput", "bytes in flight", "advertised window") so callers and tests can find them.

``connection(path, stream)`` picks the data: ``stream`` is tshark's ``tcp.stream``; the
plotted direction is the one that carried more payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from typing import TYPE_CHECKING

from pcapkit.errors import PcapkitError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from pcapkit.tcpflow.congestion import CongestionReport

KINDS = ("tseq", "rtt", "throughput", "window", "cwnd")
PHASE_COLORS = {
    "slow-start": "#fde0b6", "congestion-avoidance": "#cfe8cf", "recovery": "#f6c1c1",
    "receiver-limited": "#cfd8f0", "zero-window": "#b7b7e6", "idle-restart": "#e6e6e6",
    "application-limited": "#eeeeee",
}


class PlotError(PcapkitError):
    """Nothing to plot (no such stream, or no data in it)."""


@dataclass(slots=True)
class PlotData:
    stream: int
    report: CongestionReport
    t0_ns: int
    error: str | None = None  # what stopped reading a damaged file (the plot shows what came before)


def connection(path: str | PathLike[str], stream: int = 0) -> PlotData:
    from pcapkit.tcpflow.analysed import analyse
    from pcapkit.tcpflow.congestion import analyse_direction

    an = analyse(path)
    count = int(an.stream.max()) + 1 if len(an) else 0
    if not 0 <= stream < count:
        raise PlotError(f"{path}: no TCP stream {stream} ({count} streams)")
    csegs = an.stream_segments(stream)
    totals: dict[tuple[str, int], int] = {}
    for s in csegs:
        totals[(s.src, s.sport)] = totals.get((s.src, s.sport), 0) + max(s.seglen, 0)
    sender = max(totals, key=lambda k: totals[k])
    first = csegs[0]
    a, b = (first.src, first.sport), (first.dst, first.dport)
    receiver = b if sender == a else a
    rep = analyse_direction(csegs, sender, receiver)
    if not rep.sent:
        raise PlotError(f"{path}: TCP stream {stream} carries no data")
    error = an.segments.error
    return PlotData(stream, rep, csegs[0].ts_ns, None if error is None else str(error))


def _figure(title: str, ylabel: str) -> tuple[Figure, object]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 6), dpi=100)
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
    return f"stream {d.stream}: {r.sender[0]}:{r.sender[1]} -> {r.receiver[0]}:{r.receiver[1]}"


def tseq(d: PlotData) -> Figure:
    """Stevens time-sequence graph: each data segment as a vertical bar from its first
    to its last sequence number, retransmissions in red, the ACK line and the receive
    window's right edge (ACK + window) as steps."""
    fig, ax = _figure(f"Time-sequence graph, {_name(d)}", "relative sequence number")
    r = d.report
    xs, lo, hi = [], [], []
    for s in r.sent:
        if not s.retransmission:
            xs.append(_t(d, s.ts_ns))
            lo.append(s.seq)
            hi.append(s.seq + s.length)
    ax.vlines(xs, lo, hi, colors="black", linewidth=1.2, label="data")  # type: ignore[attr-defined]
    ax.plot(xs, hi, linestyle="none", marker="_", color="black", markersize=5)  # type: ignore[attr-defined]
    rx = [(_t(d, s.ts_ns), s.seq, s.seq + s.length) for s in r.sent if s.retransmission]
    if rx:
        ax.vlines([x for x, _, _ in rx], [a for _, a, _ in rx], [b for _, _, b in rx],  # type: ignore[attr-defined]
                  colors="red", linewidth=2, label="retransmission")
        ax.plot([x for x, _, _ in rx], [b for _, _, b in rx], "rx", markersize=7)  # type: ignore[attr-defined]
    if r.acks:
        at = [_t(d, a.ts_ns) for a in r.acks]
        ax.step(at, [a.ack for a in r.acks], where="post", color="tab:green", linewidth=1, label="ack")  # type: ignore[attr-defined]
        ax.step(at, [a.ack + a.window for a in r.acks], where="post", color="tab:orange",  # type: ignore[attr-defined]
                linewidth=1, label="receive window")
    _focus(d, ax)
    ax.legend(loc="upper left")  # type: ignore[attr-defined]
    return fig


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
    """RTT samples (Karn's rule) against the time of the ACK, in milliseconds."""
    fig, ax = _figure(f"Round-trip time, {_name(d)}", "RTT (ms)")
    r = d.report
    ax.plot([_t(d, ts) for _, ts, _ in r.rtt_samples], [v / 1e6 for _, _, v in r.rtt_samples],  # type: ignore[attr-defined]
            marker="o", markersize=3, linewidth=0.8, color="tab:blue", label="rtt")
    if r.min_rtt_ns is not None:
        ax.axhline(r.min_rtt_ns / 1e6, color="grey", linestyle="--", linewidth=0.8, label="min rtt")  # type: ignore[attr-defined]
    ax.legend(loc="upper left")  # type: ignore[attr-defined]
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


def throughput(d: PlotData, window_s: float | None = None) -> Figure:
    """Throughput as a moving window over the data segments sent (bytes per second)."""
    xs, ys, w = throughput_series(d, window_s)
    fig, ax = _figure(f"Throughput ({w * 1000:.1f} ms moving window), {_name(d)}", "bytes per second")
    ax.plot(xs, ys, color="tab:purple", linewidth=1, label="throughput")  # type: ignore[attr-defined]
    ax.legend(loc="upper left")  # type: ignore[attr-defined]
    return fig


def window(d: PlotData) -> Figure:
    """The receiver's advertised window (scaled) and the sender's bytes in flight."""
    fig, ax = _figure(f"Window and bytes in flight, {_name(d)}", "bytes")
    r = d.report
    if r.acks:
        ax.step([_t(d, a.ts_ns) for a in r.acks], [a.window for a in r.acks], where="post",  # type: ignore[attr-defined]
                color="tab:orange", linewidth=1.2, label="advertised window")
    xs, ys = inflight_series(d)
    ax.step(xs, ys, where="post", color="tab:blue", linewidth=1, label="bytes in flight")  # type: ignore[attr-defined]
    _focus(d, ax)
    ax.legend(loc="upper left")  # type: ignore[attr-defined]
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
    """Bytes in flight (the cwnd estimate) with the phases shaded and losses marked."""
    fig, ax = _figure(f"Congestion window estimate, {_name(d)}", "bytes in flight")
    r = d.report
    seen: set[str] = set()
    for iv in r.intervals:
        start, end = _t(d, iv.start_ns), _t(d, iv.end_ns)
        if end <= start:
            end = start + 0.002
        ax.axvspan(start, end, color=PHASE_COLORS.get(iv.label, "#eeeeee"), alpha=0.8,  # type: ignore[attr-defined]
                   label=None if iv.label in seen else iv.label, zorder=0)
        seen.add(iv.label)
    xs, ys = inflight_series(d)
    ax.step(xs, ys, where="post", color="tab:blue", linewidth=1, label="bytes in flight", zorder=2)  # type: ignore[attr-defined]
    ax.plot([_t(d, s.ts_ns) for s in r.sent], [s.bytes_in_flight for s in r.sent], ".",  # type: ignore[attr-defined]
            color="tab:blue", markersize=3, zorder=3)
    for lo in r.losses:
        ax.axvline(_t(d, lo.ts_ns), color="red" if lo.kind == "timeout" else "darkorange",  # type: ignore[attr-defined]
                   linestyle=":", linewidth=1, zorder=1)
    _focus(d, ax)
    ax.legend(loc="upper left", fontsize="small")  # type: ignore[attr-defined]
    return fig


def plot(path: str | PathLike[str], kind: str, stream: int = 0) -> Figure:
    """The ``kind`` plot (one of :data:`KINDS`) of TCP stream ``stream`` of a capture."""
    if kind not in KINDS:
        raise PlotError(f"unknown plot kind {kind!r} (one of {', '.join(KINDS)})")
    return draw(connection(path, stream), kind)


def draw(d: PlotData, kind: str) -> Figure:
    """The ``kind`` plot of a connection's data."""
    return {"tseq": tseq, "rtt": rtt, "throughput": throughput, "window": window, "cwnd": cwnd}[kind](d)
