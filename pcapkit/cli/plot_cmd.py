"""``pcapkit plot``: time-sequence, RTT, throughput, window and cwnd plots to PNG/SVG."""

from __future__ import annotations

import click

from pcapkit.cli.common import PcapkitCommand


@click.command(cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--stream", type=int, default=0, show_default=True,
              help="tcp.stream (as tshark numbers it).")
@click.option("--kind", type=click.Choice(["tseq", "rtt", "throughput", "window", "cwnd"]),
              default="tseq", show_default=True, help="What to plot.")
@click.option("-o", "--output", type=click.Path(), required=True,
              help="Image file to write (.png or .svg; .pdf also works).")
def plot(file: str, stream: int, kind: str, output: str) -> None:
    """Plot one TCP stream of FILE (the direction that carried more data):
    tseq = Stevens time-sequence graph with ACK and receive-window lines and
    retransmissions in red; rtt = RTT samples; throughput = moving-window throughput;
    window = advertised window and bytes in flight; cwnd = bytes in flight with the
    slow-start / congestion-avoidance / recovery phases shaded.

    \b
    Examples:
      pcapkit plot trace.pcap --stream 0 --kind tseq -o tseq.png
      pcapkit plot trace.pcap --kind cwnd -o cwnd.svg
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
    check_target(output)
    data = connection(file, stream)
    fig = draw(data, kind)
    try:
        with atomic_path(output) as tmp:
            fig.savefig(tmp, format=image)
    except OSError as exc:
        raise OutputError(f"{output}: cannot write: {exc.strerror or exc}") from None
    click.echo(output)
    if data.error:
        raise PcapkitError(data.error)
