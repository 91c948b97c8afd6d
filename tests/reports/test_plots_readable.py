"""The plots answer the lab's questions: RTT points with the EstimatedRTT line,
throughput with its moving average and mean, zoomable time-sequence graphs with marks
sized to the data and the legend outside, either direction, PNG and SVG.

Expected values come from tshark's fields or from the lab report's own computation
(:mod:`pcapkit.reports.lab`), never typed in."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.plot_cmd import plot as plot_cmd
from pcapkit.reports.lab import lab_tcp
from pcapkit.reports.plots import (
    AVERAGE_WINDOWS,
    PlotError,
    connection,
    draw,
    plot,
    throughput_series,
)

TRACE = CORPUS / "labs" / "tcp-ethereal-trace-1"
CLIENT, SERVER = "192.168.1.102", "128.119.245.12"


def _artist(fig, label: str):  # type: ignore[no-untyped-def]
    ax = fig.axes[0]
    for artist in list(ax.lines) + list(ax.collections):
        if artist.get_label() == label or str(artist.get_label()).startswith(label):
            return artist
    raise AssertionError(f"no artist labelled {label!r}")


@pytest.fixture(scope="module")
def lab():  # type: ignore[no-untyped-def]
    if not TRACE.is_file():
        pytest.skip("corpus not found")
    return lab_tcp(TRACE)


def test_rtt_points_and_estimated_rtt_line_are_the_labs(lab) -> None:  # type: ignore[no-untyped-def]
    fig = plot(TRACE, "rtt", 0)
    points = _artist(fig, "rtt")
    assert points.get_linestyle() == "None" and points.get_marker() == "o"
    line = _artist(fig, "EstimatedRTT")
    # the lab's first six segments: SampleRTT and EstimatedRTT (0.02746, 0.028472, ...)
    want_samples = [r.sample_rtt_ns / 1e6 for r in lab.segments]
    want_estimates = [r.estimated_rtt * 1000 for r in lab.segments]
    assert list(points.get_ydata()[:6]) == pytest.approx(want_samples, abs=1e-9)
    assert list(line.get_ydata()[:6]) == pytest.approx(want_estimates, abs=1e-9)
    # the points sit at the time of the ACK (relative to the first packet)
    want_times = [r.ack_ns / 1e9 for r in lab.segments]
    assert list(points.get_xdata()[:6]) == pytest.approx(want_times, abs=1e-9)
    title = fig.axes[0].get_title()
    assert "tcp-ethereal-trace-1" in title and "stream 0" in title and f"{CLIENT}:1161 -> {SERVER}:80" in title


def test_throughput_mean_is_the_labs_and_readable(lab) -> None:  # type: ignore[no-untyped-def]
    fig = plot(TRACE, "throughput", 0)
    mean = _artist(fig, "mean")
    assert list(mean.get_ydata()) == pytest.approx([lab.throughput_Bps] * 2, rel=1e-12)
    assert f"{lab.throughput_Bps:,.0f}" == "30,223"
    assert "30,223 B/s" in mean.get_label() and "30,223 B/s" in fig.axes[0].get_title()


@requires_tshark
def test_throughput_moving_average_sums_tsharks_segments() -> None:
    ws = tshark_fields(TRACE, ["frame.time_relative", "ip.src", "tcp.len"], display_filter="tcp.stream == 0")
    d = connection(TRACE, 0)
    _xs, _ys, w = throughput_series(d)
    avg = _artist(draw(d, "throughput"), "moving average")
    span = w * AVERAGE_WINDOWS
    data = [(Decimal(r["frame.time_relative"]), int(r["tcp.len"])) for r in ws
            if r["ip.src"] == CLIENT and int(r["tcp.len"]) > 0]
    for k in (10, len(data) // 2, len(data) - 1):
        t_k = data[k][0]
        sent = sum(n for t, n in data[: k + 1] if float(t) > float(t_k) - span)
        assert avg.get_ydata()[k] * span == pytest.approx(sent, rel=1e-9)


def test_tseq_zoom_marks_and_legend_outside() -> None:
    whole = plot(TRACE, "tseq", 0)
    zoomed = plot(TRACE, "tseq", 0, start_s=0.0, end_s=0.35)
    ax = zoomed.axes[0]
    assert ax.get_xlim() == (0.0, 0.35)
    d = connection(TRACE, 0)
    inside = [s for s in d.report.sent if (s.ts_ns - d.t0_ns) / 1e9 <= 0.35]
    top = max(s.seq + s.length for s in inside)
    lo, hi = ax.get_ylim()
    assert lo <= min(s.seq for s in inside) and top <= hi < top * 1.2  # fits the data shown
    # fewer segments shown: thicker bars and bigger ticks
    assert _artist(zoomed, "data").get_linewidth() > _artist(whole, "data").get_linewidth()
    assert _artist(zoomed, "segment end").get_markersize() > _artist(whole, "segment end").get_markersize()
    # the legend is to the right of the axes, not on the data
    zoomed.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1


def test_direction_choice() -> None:
    server = connection(TRACE, 0, "server").report
    client = connection(TRACE, 0, "client").report
    assert server.sender == (SERVER, 80) and server.receiver == (CLIENT, 1161)
    assert client.sender == (CLIENT, 1161)
    assert connection(TRACE, 0).report.sender == client.sender  # auto: the one that sent more
    assert sum(s.length for s in server.sent) < sum(s.length for s in client.sent)
    fig = plot(TRACE, "rtt", 0, direction="server")
    assert f"{SERVER}:80 -> {CLIENT}:1161" in fig.axes[0].get_title()
    with pytest.raises(PlotError):
        connection(TRACE, 0, "sideways")


def test_cli_svg_and_png_from_the_extension(tmp_path: Path) -> None:
    if not TRACE.is_file():
        pytest.skip("corpus not found")
    svg = tmp_path / "tp.svg"
    res = CliRunner().invoke(plot_cmd, [str(TRACE), "--kind", "throughput", "-o", str(svg)])
    assert res.exit_code == 0, res.output
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and 'id="mean-throughput"' in text and "mean 30,223 B/s" in text
    png = tmp_path / "z.png"
    res = CliRunner().invoke(plot_cmd, [str(TRACE), "--kind", "tseq", "--from", "0.3", "--to", "0.32",
                                        "--direction", "client", "-o", str(png)])
    assert res.exit_code == 0, res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = CliRunner().invoke(plot_cmd, [str(TRACE), "--from", "2", "--to", "1", "-o", str(png)])
    assert res.exit_code == 2 and "is not after" in res.output


def test_tseq_sequence_range_zoom() -> None:
    fig = plot(TRACE, "tseq", 0, seq_from=50_000, seq_to=70_000)
    ax = fig.axes[0]
    assert ax.get_ylim() == (50_000, 70_000)
    d = connection(TRACE, 0)
    inside = [(s.ts_ns - d.t0_ns) / 1e9 for s in d.report.sent if s.seq + s.length >= 50_000 and s.seq <= 70_000]
    lo, hi = ax.get_xlim()
    assert lo <= min(inside) and max(inside) <= hi
    assert hi - lo < (max(inside) - min(inside)) * 1.2  # the time axis follows the range
