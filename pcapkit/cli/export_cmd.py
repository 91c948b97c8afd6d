"""``pcapkit export``: packets / tcp / flows / rtt tables to Parquet (local or Dask)."""

from __future__ import annotations

import os

import click

from pcapkit.cli.common import PcapkitCommand, fail


@click.command(cls=PcapkitCommand)
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Parquet file (one input) or directory of part files.")
@click.option("--table", type=click.Choice(["packets", "tcp", "flows", "rtt"]), default="packets",
              show_default=True, help="Which table to export.")
@click.option("--partition-rows", type=click.IntRange(min=1), default=None,
              help="Write a directory of part files of at most N rows each.")
@click.option("--chunk-packets", type=click.IntRange(min=1), default=1 << 18, show_default=True,
              help="Packets decoded per batch (bounds memory).")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local: this process; dask: a Dask cluster (default: 2 local worker processes); "
                   "the tcp table is decoded, analysed and, into a directory, written by the workers.")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Dask scheduler address (default: start a local cluster).")
def export(files: tuple[str, ...], output: str, table: str, partition_rows: int | None,
           chunk_packets: int, engine: str, scheduler: str | None) -> None:
    """Export the packets (header fields), tcp (per-frame TCP analysis), flows
    (conversations) or rtt (RTT samples) table of FILES to Parquet. FILES may
    include directories (their capture files are exported). The packets table of
    several inputs, --engine dask or --partition-rows go to a directory of part files
    (one dataset; the column pcapkit.file names the input). The tcp, flows and rtt
    tables of several inputs are one table, the inputs analysed as one capture (frames
    numbered on across the files, a conversation split between files analysed whole),
    with the column pcapkit.file naming each row's input; -o DIR/ (or an existing
    directory) writes it as part files. pcapkit.file is the input's file name, or its
    path from the inputs' common folder where two inputs share a name. An input of
    which nothing can be read (not a capture, empty) is said in one error line and the
    others are exported; the exit status is then 1.

    \b
    Examples:
      pcapkit export capture.pcap -o packets.parquet
      pcapkit export big.pcap -o packets/ --partition-rows 1000000
      pcapkit export traces/ -o tcp/ --table tcp --engine dask
      python -c "import pandas as pd; print(pd.read_parquet('packets/'))"
    """
    from pcapkit.reports.export import expand_inputs, export_local, is_directory

    inputs = expand_inputs(list(files))
    if not inputs:
        fail("no capture files found in the inputs")
    if partition_rows is None and not is_directory(output) and (table != "packets" or len(inputs) == 1):
        from pcapkit.cli.output import check_target

        check_target(output)  # (one Parquet file: its folder must exist, before anything is read)
    try:
        if engine == "dask":
            from pcapkit.reports.dask_engine import export_dask

            if table == "packets" and os.path.isfile(output):
                fail(f"{output}: --engine dask writes a directory of part files; give a directory")
            res = export_dask(inputs, output, table, partition_rows, chunk_packets, scheduler)
        else:
            from pcapkit.cli.progress import ProgressBar

            total = sum(os.path.getsize(f) for f in inputs)
            gz = any(f.endswith(".gz") for f in inputs)
            with ProgressBar(None if gz else total, label=f"export {table}") as bar:
                res = export_local(inputs, output, table, partition_rows, chunk_packets,
                                   progress=bar.update if table == "packets" else None)
    except OSError as exc:  # (the inputs' errors are PcapkitErrors: this is the output, e.g. a full disk)
        from pcapkit.errors import OutputError

        raise OutputError(f"{exc.filename or output}: cannot write: {exc.strerror or exc}") from exc
    for err in res.errors:
        click.echo(f"pcapkit: error: {err}", err=True)
    click.echo(f"{res.rows} rows -> {output} ({len(res.files)} file{'s' if len(res.files) != 1 else ''})",
               err=True)
    if res.errors:
        raise SystemExit(1)
