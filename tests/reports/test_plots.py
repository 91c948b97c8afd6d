"""Plots render from a real capture, and what they draw is the capture's data (per tshark)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.plot_cmd import plot as plot_cmd
from pcapkit.reports.plots import KINDS, PlotError, plot

TRACE = CORPUS / "labs" / "tcp-ethereal-trace-1"
CLIENT, SERVER = "192.168.1.102", "128.119.245.12"


@pytest.fixture(scope="module")
def ws() -> list[dict[str, str]]:
    return tshark_fields(TRACE, ["frame.time_relative", "ip.src", "tcp.seq", "tcp.len", "tcp.ack",
                                 "tcp.window_size", "tcp.analysis.ack_rtt", "tcp.analysis.bytes_in_flight"],
                         display_filter="tcp.stream == 0")


def _line(fig, label: str):  # type: ignore[no-untyped-def]
    ax = fig.axes[0]
    for artist in list(ax.lines) + list(ax.collections):
        if artist.get_label() == label:
            return artist
    raise AssertionError(f"no artist labelled {label!r}")


@requires_tshark
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_renders_png_and_svg(corpus: Path, tmp_path: Path, kind: str) -> None:
    png = tmp_path / f"{kind}.png"
    res = CliRunner().invoke(plot_cmd, [str(TRACE), "--stream", "0", "--kind", kind, "-o", str(png)])
    assert res.exit_code == 0, res.output
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    svg = tmp_path / f"{kind}.svg"
    plot(TRACE, kind, 0).savefig(svg)
    assert svg.read_text().lstrip().startswith("<?xml")


@requires_tshark
def test_tseq_draws_the_segments_and_acks(corpus: Path, ws: list[dict[str, str]]) -> None:
    fig = plot(TRACE, "tseq", 0)
    data = [r for r in ws if r["ip.src"] == CLIENT and int(r["tcp.len"]) > 0]
    top = max(int(r["tcp.seq"]) + int(r["tcp.len"]) for r in data)
    bars = _line(fig, "data")  # one line of (x, lo), (x, hi) pairs broken by NaNs
    xs, ys = bars.get_xdata(), bars.get_ydata()
    segs = [((xs[i], ys[i]), (xs[i + 1], ys[i + 1])) for i in range(0, len(xs), 3)]
    assert all(a[0] == b[0] for a, b in segs)
    assert len(segs) == len(data)
    assert max(s[1][1] for s in segs) == top
    times = sorted(float(s[0][0]) for s in segs)
    assert times[0] == pytest.approx(float(Decimal(data[0]["frame.time_relative"])), abs=1e-9)
    assert times[-1] == pytest.approx(float(Decimal(data[-1]["frame.time_relative"])), abs=1e-9)
    acks = [int(r["tcp.ack"]) for r in ws if r["ip.src"] == SERVER]
    assert max(_line(fig, "ack").get_ydata()) == max(acks)


@requires_tshark
def test_rtt_window_cwnd_values(corpus: Path, ws: list[dict[str, str]]) -> None:
    rtts = sorted(round(float(r["tcp.analysis.ack_rtt"]) * 1000, 6) for r in ws
                  if r["ip.src"] == SERVER and "tcp.analysis.ack_rtt" in r and r["tcp.len"] == "0"
                  and r["tcp.seq"] != "0")
    drawn = sorted(round(v, 6) for v in _line(plot(TRACE, "rtt", 0), "rtt").get_ydata())
    assert drawn == rtts
    windows = {int(r["tcp.window_size"]) for r in ws if r["ip.src"] == SERVER}
    assert set(_line(plot(TRACE, "window", 0), "advertised window").get_ydata()) == windows
    bif = max(int(r["tcp.analysis.bytes_in_flight"]) for r in ws if "tcp.analysis.bytes_in_flight" in r)
    assert max(_line(plot(TRACE, "cwnd", 0), "bytes in flight").get_ydata()) == bif


@requires_tshark
def test_throughput_window_sums(corpus: Path, ws: list[dict[str, str]]) -> None:
    from pcapkit.reports.plots import connection, throughput_series

    _xs, ys, w = throughput_series(connection(TRACE, 0), window_s=1.0)
    data = [(Decimal(r["frame.time_relative"]), int(r["tcp.len"])) for r in ws
            if r["ip.src"] == CLIENT and int(r["tcp.len"]) > 0]
    # at the last segment: bytes sent in the trailing second, by tshark's numbers
    t_last = data[-1][0]
    expect = sum(n for t, n in data if t > t_last - 1)
    assert ys[-1] * w == pytest.approx(expect)


def test_errors(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(PlotError):
        plot(TRACE, "tseq", 42)
    res = CliRunner().invoke(plot_cmd, [str(TRACE), "--stream", "42", "-o", str(tmp_path / "x.png")])
    assert res.exit_code == 1 and "no TCP stream 42" in res.output


def test_cwnd_plot_draws_the_congestion_model(corpus: Path, tmp_path: Path) -> None:
    """The cwnd plot is the congestion model's (pcapkit congestion): its estimate per data
    segment, its phases as bands, and the kernel's cwnd from a truth file."""
    from pcapkit.reports.congestion import PHASES, congestion_segments
    from pcapkit.reports.plots import connection, draw

    d = connection(TRACE, 0)
    ours = congestion_segments(TRACE, 0)
    ours = ours[ours["tcp.srcport"] == d.report.sender[1]]
    fig = draw(d, "cwnd")
    assert list(_line(fig, "cwnd estimate").get_ydata()) == ours["cwnd_bytes"].tolist()
    bands = {p.get_label() for p in fig.axes[0].patches if not p.get_label().startswith("_")}
    assert bands and bands <= set(PHASES) and bands == set(ours["phase"])
    t0 = d.t0_ns
    truth = tmp_path / "flow.truth.csv"
    truth.write_text("time_ns,snd_cwnd\n" + "".join(f"{t0 + k * 1_000_000},{10 + k}\n" for k in range(5)))
    d.truth = str(truth)
    kernel = _line(draw(d, "cwnd"), "kernel cwnd")
    assert list(kernel.get_ydata()) == [(10 + k) * d.model.mss for k in range(5)]
    d.truth = str(tmp_path / "missing.truth.csv")
    with pytest.raises(PlotError):
        draw(d, "cwnd")
