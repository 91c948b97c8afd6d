"""``pcapkit plot``: time-sequence, RTT, throughput, window and cwnd plots to PNG/SVG."""

from __future__ import annotations

import click

from pcapkit.cli.common import PcapkitCommand


@click.command(cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--stream", type=int, default=0, show_default=True,
              help="tcp.stream (as tshark numbers it).")
@click.option("--kind", type=click.Choice(["tseq", "rtt", "throughput", "window", "cwnd"]),
              default="tseq", show_default=True, help="What to plot.")
@click.option("--direction", type=click.Choice(["auto", "client", "server"]), default="auto",
              show_default=True,
              help="Data direction: auto = the one that carried more payload; client = from the side "
                   "that sent the SYN (else the first packet); server = towards it.")
@click.option("--from", "start_s", type=float, default=None,
              help="Zoom: start of the x axis, seconds since the connection's first packet.")
@click.option("--to", "end_s", type=float, default=None,
              help="Zoom: end of the x axis, seconds since the connection's first packet.")
@click.option("--seq-from", type=int, default=None,
              help="tseq zoom: lowest relative sequence number shown (the time axis follows).")
@click.option("--seq-to", type=int, default=None,
              help="tseq zoom: highest relative sequence number shown.")
@click.option("--truth", type=click.Path(dir_okay=False, exists=True), default=None,
              help="cwnd: also draw the sender kernel's cwnd from this truth file (CSV with time_ns and "
                   "snd_cwnd, as benchmarks/congestion writes it).")
@click.option("-o", "--output", type=click.Path(), required=True,
              help="Image file to write; its extension chooses the format (.png, .svg; .pdf also works).")
def plot(file: str, stream: int, kind: str, direction: str, start_s: float | None, end_s: float | None,
         seq_from: int | None, seq_to: int | None, truth: str | None, output: str) -> None:
    """Plot one TCP stream of FILE in one direction:
    tseq = Stevens time-sequence graph with ACK and receive-window lines and
    retransmissions in red; rtt = RTT samples with the EstimatedRTT line;
    throughput = moving-window throughput with its moving average and the mean;
    window = advertised window and bytes in flight; cwnd = the congestion model's
    window estimate (pcapkit congestion) and bytes in flight, its phases shaded.

    \b
    Examples:
      pcapkit plot trace.pcap --stream 0 --kind tseq -o tseq.png
      pcapkit plot trace.pcap --kind tseq --from 0 --to 0.5 -o start.svg
      pcapkit plot trace.pcap --kind tseq --seq-from 50000 --seq-to 70000 -o mid.png
      pcapkit plot trace.pcap --kind rtt --direction server -o rtt.svg
    """
    import os

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from pcapkit.cli.output import atomic_path, check_target
    from pcapkit.errors import OutputError, PcapkitError
    from pcapkit.reports.plots import connection, draw

    image = os.path.splitext(output)[1].lower().lstrip(".")
    supported = FigureCanvasAgg.get_supported_filetypes()
    if image not in supported:
        raise OutputError(f"{output}: not an image type matplotlib writes (use .png, .svg or .pdf; "
                          f"one of {', '.join(sorted(supported))})")
    if start_s is not None and end_s is not None and end_s <= start_s:
        raise click.BadParameter(f"--to {end_s} is not after --from {start_s}", param_hint="--to")
    if seq_from is not None and seq_to is not None and seq_to <= seq_from:
        raise click.BadParameter(f"--seq-to {seq_to} is not above --seq-from {seq_from}", param_hint="--seq-to")
    check_target(output)
    data = connection(file, stream, direction)
    data.start_s, data.end_s, data.seq_from, data.seq_to, data.truth = start_s, end_s, seq_from, seq_to, truth
    fig = draw(data, kind)
    try:
        with atomic_path(output) as tmp:
            fig.savefig(tmp, format=image)
    except OSError as exc:
        raise OutputError(f"{output}: cannot write: {exc.strerror or exc}") from None
    click.echo(output)
    if data.error:
        raise PcapkitError(data.error)
