"""``pcapkit read FILE [FILTER]``: one line per packet, like ``tcpdump -r``; or JSON/CSV rows."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from importlib import import_module
from typing import TYPE_CHECKING, Any

import click

from pcapkit.cli.common import PcapkitCommand

if TYPE_CHECKING:
    from pcapkit.capture.reader import CaptureReader
    from pcapkit.frame import Frame

COLUMNS = ("frame.number", "frame.time_epoch", "frame.len", "frame.cap_len", "frame.interface_id",
           "frame.encap_type", "frame.protocols", "frame.comment")


def _optional(module: str, attr: str) -> Any | None:
    try:
        return getattr(import_module(module), attr)
    except (ImportError, AttributeError):
        return None


def fallback_summary(frame: Frame) -> str:
    """The line printed when the dissectors are not available."""
    from pcapkit.capture.linktypes import linktype_name
    from pcapkit.frame import format_epoch_ns

    if frame.linktype < 0:
        return f"{format_epoch_ns(frame.ts_ns, 6)} pcapng custom block, length {frame.wirelen}"
    return f"{format_epoch_ns(frame.ts_ns, 6)} linktype {linktype_name(frame.linktype)}, length {frame.wirelen}"


def frame_row(reader: CaptureReader, frame: Frame, protocols: str | None) -> dict[str, Any]:
    """The frame.* columns tshark prints for ``frame`` (absent ones left out, as tshark does)."""
    from pcapkit.capture.linktypes import wtap_encap
    from pcapkit.frame import format_epoch_ns

    row: dict[str, Any] = {"frame.number": frame.number}
    if frame.number not in getattr(reader, "untimed_frames", ()):
        row["frame.time_epoch"] = format_epoch_ns(frame.ts_ns)
    row["frame.len"] = frame.wirelen
    row["frame.cap_len"] = frame.caplen
    if frame.linktype >= 0:
        if reader.format == "pcapng":
            row["frame.interface_id"] = frame.interface_id
        row["frame.encap_type"] = wtap_encap(frame.linktype)
    if protocols is not None:
        row["frame.protocols"] = protocols
    if frame.comment is not None:
        row["frame.comment"] = frame.comment
    return row


@click.command(cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("filter_words", nargs=-1, metavar="[FILTER]...")
@click.option("-c", "count", type=click.IntRange(min=0), default=None,
              help="Stop after N packets (after filtering).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text",
              show_default=True, help="text: tcpdump-like lines; json: JSON Lines; csv.")
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Write to FILE instead of standard output.")
@click.option("--strict", is_flag=True, help="Treat damage after the file header as an error.")
def read(file: str, filter_words: tuple[str, ...], count: int | None, fmt: str, output: str | None,
         strict: bool) -> None:
    """Read a capture FILE (pcap, pcapng, snoop, gzipped or not; - for standard input) and print one line
    per packet, optionally only those matching a tcpdump FILTER.

    Damage after the file header (a record cut short) ends the listing with one
    error line and exit status 1, after every good packet before it.

    \b
    Examples:
      pcapkit read capture.pcapng -c 10
      pcapkit read capture.pcap tcp port 80
      pcapkit read capture.pcap --format json -o frames.jsonl
    """
    from pcapkit.capture.files import open_capture

    expr = " ".join(filter_words).strip()
    filter_frames: Callable[..., Iterator[Frame]] | None = None
    if expr:
        filter_frames = _optional("pcapkit.capture.bpf", "filter_frames")
        if filter_frames is None:
            raise click.ClickException("filtering is not available (pcapkit.capture.bpf missing)")
    summary_line = _optional("pcapkit.dissect.driver", "summary_line") if fmt == "text" else None
    dissect = _optional("pcapkit.dissect.driver", "dissect")
    session_cls = _optional("pcapkit.dissect.driver", "DissectSession")
    session = session_cls() if session_cls is not None else None

    from pcapkit.cli.output import open_output

    with open_output(output) as out, open_capture(file, strict=strict) as reader:
        frames: Iterator[Frame] = iter(reader)
        if filter_frames is not None:
            frames = filter_frames((f for f in frames if f.linktype >= 0), expr)
        writer: Any = None
        if fmt == "csv":
            writer = csv.DictWriter(out, fieldnames=list(COLUMNS), extrasaction="ignore",
                                    lineterminator="\n")
            writer.writeheader()
        shown = 0
        for frame in frames if count != 0 else ():
            shown += 1
            packet = None
            if dissect is not None and frame.linktype >= 0 and (fmt != "text" or summary_line):
                packet = dissect(frame, session)
            if fmt == "text":
                if summary_line is not None and packet is not None:
                    line = summary_line(frame, packet)
                else:
                    line = fallback_summary(frame)
                out.write(line + "\n")
                if count is not None and shown >= count:
                    break
                continue
            row = frame_row(reader, frame, packet.protocols if packet is not None else None)
            if fmt == "json":
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            else:
                writer.writerow(row)
            if count is not None and shown >= count:
                break
        warnings = list(reader.warnings)
    if warnings and (count is None or shown < count):
        click.echo(f"pcapkit: error: {warnings[0]}", err=True)
        raise SystemExit(1)
