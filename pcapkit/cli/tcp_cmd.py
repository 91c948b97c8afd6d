"""``pcapkit tcp``, ``pcapkit handshakes``, ``pcapkit rtt``: the TCP flow engine's reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pcapkit.cli.common import PcapkitCommand, output_options
from pcapkit.cli.views import ColumnChoice, column_options

if TYPE_CHECKING:
    from pcapkit.columnar.column_table import ColumnTable


def _with_analysis_column(table: ColumnTable) -> ColumnTable:
    """Add ``analysis``: the names of the tcp.analysis flags set on each frame (each
    combination of flags named once)."""
    import numpy as np

    from pcapkit.columnar.column_table import Column
    from pcapkit.tcpflow.engine import FLAG_FIELDS

    names = [name for _, name in FLAG_FIELDS if name in table]
    short = [n.removeprefix("tcp.analysis.") for n in names]
    combo = np.zeros(len(table), dtype=np.int64)
    for bit, name in enumerate(names):
        col = table[name]
        combo |= (np.asarray(col.values, dtype=bool) & ~col.missing()).astype(np.int64) << bit
    distinct, codes = np.unique(combo, return_inverse=True)
    texts = np.array([",".join(s for i, s in enumerate(short) if (int(c) >> i) & 1) for c in distinct.tolist()],
                     dtype=object)
    return table.with_column("analysis", Column(codes.reshape(-1), None, "string", texts=texts))


@click.command(cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("filter_expr", metavar="[FILTER]", nargs=-1)
@click.option("--stream", type=int, default=None, help="Only this tcp.stream.")
@column_options
@click.option("--max-unacked", type=int, default=10_000, show_default=True,
              help="Unacknowledged segments tracked per direction (tshark: 10000).")
@click.option("--max-conversations", type=int, default=None, help="Stop tracking new conversations after N.")
@output_options()
def tcp(file: str, filter_expr: tuple[str, ...], stream: int | None, choice: ColumnChoice,
        max_unacked: int, max_conversations: int | None, fmt: str, output: str | None) -> None:
    """Per-frame TCP analysis of FILE, field for field as tshark's
    (-o tcp.analyze_sequence_numbers:TRUE): tcp.stream, relative/raw seq and ack,
    scaled window, retransmissions, dup-acks, zero windows, ack_rtt, bytes in flight...
    FILTER is a tcpdump expression choosing the frames shown (the analysis always
    covers every frame, as tshark -Y).

    \b
    Examples:
      pcapkit tcp capture.pcap
      pcapkit tcp capture.pcap 'port 80' --stream 0
      pcapkit tcp capture.pcap --format csv -o tcp.csv
    """
    from pcapkit.cli.output import write_report
    from pcapkit.cli.views import with_time_relative
    from pcapkit.reports.tcp import tcp_table

    expr = " ".join(filter_expr).strip() or None
    df = tcp_table(file, stream=stream, bpf=expr, max_unacked=max_unacked,
                    max_conversations=max_conversations)
    if fmt == "table":  # the table shows seconds since the first frame beside the epoch
        df = with_time_relative(df, file)
    if fmt == "table" or "analysis" in (choice.named() or ()):
        df = _with_analysis_column(df)
    write_report(df, fmt, output, choice=choice, view="tcp")


@click.command(cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@column_options
@output_options()
def handshakes(file: str, choice: ColumnChoice, fmt: str, output: str | None) -> None:
    """One row per TCP stream of FILE: client and server, SYN / SYN-ACK / ACK frames and
    times, SYN retransmissions, ISNs, MSS, window scale, SACK-permitted and timestamps
    of each side, the initial RTT and the outcome (established, incomplete, refused,
    unanswered, mid-stream).

    \b
    Examples:
      pcapkit handshakes capture.pcap
      pcapkit handshakes capture.pcap --format json
    """
    from pcapkit.cli.output import write_report
    from pcapkit.reports.handshakes import handshake_table

    df = handshake_table(file)
    write_report(df, fmt, output, choice=choice, view="handshakes")


@click.command(cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--stream", type=int, default=None, help="Only this tcp.stream.")
@click.option("--method", type=click.Choice(["wireshark", "karn"]), default="wireshark", show_default=True,
              help="wireshark: tcp.analysis.ack_rtt (timed from the first transmission); "
                   "karn: tcptrace's rule (no samples from retransmitted segments).")
@click.option("--summary", is_flag=True,
              help="Per stream and direction: count, min, mean, median, p95, max, stdev, the final "
                   "RFC 6298 SRTT and RTTVAR, and the final lab EstimatedRTT (estimated_rtt).")
@column_options
@output_options()
def rtt(file: str, stream: int | None, method: str, summary: bool, choice: ColumnChoice, fmt: str,
        output: str | None) -> None:
    """RTT samples of FILE (one row per ACK that gives a sample) with, after each
    sample, the RFC 6298 estimator over every sample, the SYN's included (srtt,
    rttvar), and the Kurose & Ross lab's EstimatedRTT over the samples of data
    segments only, starting at the first one (estimated_rtt; acked_len is the
    acknowledged segment's payload); or with --summary their statistics per stream
    and direction.

    \b
    Examples:
      pcapkit rtt capture.pcap --stream 0
      pcapkit rtt capture.pcap --method karn --summary
      pcapkit rtt capture.pcap --format csv -o rtt.csv
    """
    from pcapkit.cli.output import write_report
    from pcapkit.cli.views import with_time_relative
    from pcapkit.reports.rtt import rtt_table, summary_table

    df = rtt_table(file, stream=stream, method=method)
    if summary:
        df = summary_table(df)
    elif fmt == "table":
        df = with_time_relative(df, file)
    write_report(df, fmt, output, choice=choice, view="rtt --summary" if summary else "rtt")
