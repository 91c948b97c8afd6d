"""``pcapkit read FILE [FILTER]``: one numbered line per packet (tshark's frame number, then
a ``tcpdump -n -tt`` line), the layer tree of each (``-V``), the fields of each
(``-T fields -e NAME``, as tshark), or JSON/CSV rows."""

from __future__ import annotations

import csv
import itertools
import json
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from importlib import import_module
from typing import TYPE_CHECKING, Any

import click

from pcapkit.capture.files import GZIP_MAGIC
from pcapkit.capture.pcap import MAGICS
from pcapkit.capture.pcapng_blocks import SHB_TYPE_BYTES
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
    from pcapkit.frame import frame_epoch_text

    if frame.linktype < 0:
        return f"{frame_epoch_text(frame, 6)} pcapng custom block, length {frame.wirelen}"
    return f"{frame_epoch_text(frame, 6)} linktype {linktype_name(frame.linktype)}, length {frame.wirelen}"


def frame_row(reader: CaptureReader, frame: Frame, protocols: str | None) -> dict[str, Any]:
    """The frame.* columns tshark prints for ``frame`` (absent ones left out, as tshark does)."""
    from pcapkit.capture.linktypes import wtap_encap
    from pcapkit.frame import frame_epoch_text

    row: dict[str, Any] = {"frame.number": frame.number}
    if frame.number not in getattr(reader, "untimed_frames", ()):
        row["frame.time_epoch"] = frame_epoch_text(frame)
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


class _Clock:
    """frame.time_relative and frame.time_delta of the frames read (before any filter,
    as tshark's: since the first captured frame and the previous captured one)."""

    def __init__(self) -> None:
        self.first: int | None = None
        self._previous: int | None = None
        self._pending: deque[tuple[int, int]] = deque()  # (frame number, previous time)

    def tap(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        for frame in frames:
            if self.first is None:
                self.first = frame.ts_ns
            self._pending.append((frame.number, frame.ts_ns if self._previous is None else self._previous))
            self._previous = frame.ts_ns
            yield frame

    def times(self, frame: Frame) -> dict[str, int]:
        while self._pending and self._pending[0][0] < frame.number:
            self._pending.popleft()
        previous = self._pending[0][1] if self._pending and self._pending[0][0] == frame.number else frame.ts_ns
        return {"frame.time_relative": frame.ts_ns - (self.first if self.first is not None else frame.ts_ns),
                "frame.time_delta": frame.ts_ns - previous}


FIRST_LINES = 1000  # lines printed one packet at a time before the batched path starts


def is_plain_capture(path: str) -> bool:
    """Whether ``path`` is a regular file holding pcap or pcapng, gzip-compressed or not (by
    its magic number; a FIFO or standard input is never peeked at: it is read once, by the
    reader)."""
    if not os.path.isfile(path):
        return False
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
            if magic[:2] == GZIP_MAGIC:
                import gzip
                import zlib

                f.seek(0)
                try:
                    with gzip.GzipFile(fileobj=f, mode="rb") as inner:
                        magic = inner.read(4)
                except zlib.error:  # (a damaged stream: the reader reports it)
                    return False
    except (OSError, EOFError):
        return False
    return magic in MAGICS or magic == SHB_TYPE_BYTES


def batched(path: str) -> bool:
    """Whether ``pcapkit read`` formats ``path``'s lines a batch at a time (pcapkit.cli.read_lines):
    a plain pcap or pcapng file when numba's compiled kernels run (numba installed, an input not
    small: pcapkit.capture.compiled); otherwise the batch machinery costs more than it
    saves (a 213-frame trace: 0.3 CPU s one packet at a time, about 2 s through it)."""
    from pcapkit.capture.compiled import compiled_kernels

    return compiled_kernels() and is_plain_capture(path)


class ReadCommand(PcapkitCommand):
    # numba runs only in the batched path, after the first lines (which must not wait for
    # its import): the compile notice is set up there
    announce_compiles_first = False


@click.command(cls=ReadCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("filter_words", nargs=-1, metavar="[FILTER]...")
@click.option("-c", "count", type=click.IntRange(min=0), default=None,
              help="Stop after N packets (after filtering).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text",
              show_default=True, help="text: tcpdump-like lines; json: JSON Lines; csv.")
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Write to FILE instead of standard output.")
@click.option("--strict", is_flag=True, help="Treat damage after the file header as an error.")
@click.option("--number/--no-number", default=True, show_default=True,
              help="Start each text line with the frame number (as tshark).")
@click.option("-V", "verbose", is_flag=True, help="The layer tree of each packet (as tshark -V; see show).")
@click.option("-2", "two_pass", is_flag=True,
              help="Read the file twice, as tshark -2: fields naming a later frame (http.response_in, "
                   "http.next_request_in, http.next_response_in) are filled; implied by -e of one of them.")
@click.option("-T", "mode", type=click.Choice(["text", "fields"]), default="text", show_default=True,
              help="fields: the -e fields of each packet, as tshark -T fields.")
@click.option("-e", "fields", multiple=True, metavar="NAME",
              help="A Wireshark field to print (repeatable; with -T fields, or as csv/json columns).")
@click.option("-E", "field_options", multiple=True, metavar="KEY=VALUE",
              help="As tshark: separator=/t|/s|C, occurrence=f|l|a, aggregator=,|/s|C, header=y|n, "
                   "quote=d|s|n.")
def read(file: str, filter_words: tuple[str, ...], count: int | None, fmt: str, output: str | None,
         strict: bool, number: bool, verbose: bool, two_pass: bool, mode: str, fields: tuple[str, ...],
         field_options: tuple[str, ...]) -> None:
    """Read a capture FILE (pcap, pcapng, snoop, gzipped or not; - for standard input) and print one line
    per packet, optionally only those matching a tcpdump FILTER.

    Damage after the file header (a record cut short) ends the listing with one
    error line and exit status 1, after every good packet before it.

    \b
    Examples:
      pcapkit read capture.pcapng -c 10
      pcapkit read capture.pcap tcp port 80
      pcapkit read capture.pcap --format json -o frames.jsonl
      pcapkit read capture.pcap -V -c 1
      pcapkit read capture.pcap -T fields -e frame.number -e ip.src -e tcp.srcport -E separator=,
      pcapkit read capture.pcap -T fields -e tcp.stream -e tcp.seq -e tcp.analysis.ack_rtt
    """
    from pcapkit.capture.files import open_capture
    from pcapkit.cli import fields_view

    specs: dict[str, Any] = {}
    analysis_names: list[str] = []  # (the TCP analysis fields to fill: -e names, or all under -V's tree)
    analysed: fields_view.AnalysisValues | None = None
    local_time = "frame.time" in fields
    fields_format = fields_view.parse_options(field_options)
    if mode == "fields" and not fields:
        raise click.UsageError("-T fields needs at least one -e NAME")
    if fields:
        from pcapkit.cli.show_cmd import field_specs

        specs = field_specs()
        fields_view.check_names(fields, specs)
        analysis_names = fields_view.analysis_names(fields, specs)
        specs.update(fields_view.loop_specs())
    if mode == "fields":
        fmt = "fields"
    elif verbose and fmt == "text":
        fmt = "verbose"
        from pcapkit.proto.tcp_analysis import FIELDS as TCP_ANALYSIS

        analysis_names = [spec.name for spec in TCP_ANALYSIS]  # (under each TCP header, as show's)

    expr = " ".join(filter_words).strip()
    filter_frames: Callable[..., Iterator[Frame]] | None = None
    if expr:
        filter_frames = _optional("pcapkit.capture.bpf", "filter_frames")
        if filter_frames is None:
            raise click.ClickException("filtering is not available (pcapkit.capture.bpf missing)")
    summary_line = _optional("pcapkit.dissect.summary", "summary_line") if fmt == "text" else None
    clock = _Clock()
    dissect = _optional("pcapkit.dissect.driver", "dissect")
    session_cls = _optional("pcapkit.dissect.driver", "DissectSession")
    session = session_cls() if session_cls is not None else None
    if session is not None and (two_pass or set(fields) & SECOND_PASS_FIELDS):
        if file == "-":
            raise click.UsageError("-2 (or a field naming a later frame) needs a capture file, not standard input")
        from pcapkit.dissect.driver import prepare_second_pass

        prepare_second_pass(file, session)

    from pcapkit.cli.output import open_output

    with open_output(output) as out, open_capture(file, strict=strict) as reader:
        frames: Iterator[Frame] = clock.tap(reader)
        if analysis_names:  # (the analysis reads the frames the listing reads, a batch ahead: a pipe is read once)
            once = fields_view.FramesOnce(frames)
            analysed = fields_view.AnalysisValues(once.for_analysis(), analysis_names)
            frames = once.for_listing(analysed)
        if filter_frames is not None:
            frames = filter_frames(frames, expr)
        writer: Any = None
        if fmt == "csv":
            writer = csv.DictWriter(out, fieldnames=list(fields or COLUMNS), extrasaction="ignore",
                                    lineterminator="\n")
            writer.writeheader()
        elif fmt == "fields" and fields_format.header:
            out.write(fields_format.line(fields, header=True))
        tree = _optional("pcapkit.cli.show_cmd", "packet_tree") if fmt == "verbose" else None
        tree_specs = _specs_for_tree(specs) if tree is not None else {}
        tree_lines: dict[str, Any] = {}  # (each field's line head and renderer, made once)
        shown = 0
        complete = False
        if (fmt == "text" and filter_frames is None and summary_line is not None and dissect is not None
                and count != 0 and batched(file)):
            # the first lines one packet at a time, at once (the batch machinery takes a
            # second to start), then the rest formatted from columns (see read_lines)
            head = FIRST_LINES if count is None else min(FIRST_LINES, count)

            def text_line(frame: Frame) -> str:
                # (records that are no packet, e.g. pcapng custom blocks, as the loop below)
                return summary_line(frame, dissect(frame, session)) if frame.linktype >= 0 else fallback_summary(frame)

            for frame in itertools.islice(frames, head):
                shown += 1
                line = text_line(frame)
                out.write(f"{frame.number:5d}  {line}\n" if number else line + "\n")
            if count is not None and shown >= count:
                complete = True  # -c N: all shown
            elif shown == head:
                from pcapkit.cli import read_lines
                from pcapkit.cli.progress import announce_compiles

                announce_compiles()

                written, complete = read_lines.write_lines(
                    file, out, number, None if count is None else count - shown,
                    text_line, skip=shown, start_up=True)
                shown += written
                if not complete:  # damage: the record reader takes over after the last line written
                    after = shown
                    frames = (f for f in frames if f.number > after)
        for frame in frames if count != 0 and not complete else ():
            shown += 1
            packet = None
            if dissect is not None and frame.linktype >= 0 and (fmt != "text" or summary_line):
                packet = dissect(frame, session)
            if fmt == "text":
                if summary_line is not None and packet is not None:
                    line = summary_line(frame, packet)
                else:
                    line = fallback_summary(frame)
                out.write(f"{frame.number:5d}  {line}\n" if number else line + "\n")
                if count is not None and shown >= count:
                    break
                continue
            if fmt == "verbose":
                if shown > 1:
                    out.write("\n")
                if tree is not None and packet is not None:
                    analysis = analysed.of(frame.number) if analysed is not None else None
                    out.write("\n".join(tree(packet, tree_specs, field_lines=tree_lines, analysis=analysis)) + "\n")
                else:
                    out.write(fallback_summary(frame) + "\n")
                if count is not None and shown >= count:
                    break
                continue
            if fields:
                values = _field_values(packet, frame, clock)
                if local_time:
                    values["frame.time"] = fields_view.local_time(frame.ts_ns)
                if analysed is not None:
                    values.update(analysed.of(frame.number))
                if fmt == "fields":
                    out.write(fields_format.line([fields_view.cell(values.get(n), specs.get(n), fields_format)
                                                  for n in fields]))
                else:
                    row = {n: fields_view.cell(values.get(n), specs.get(n), fields_view.FieldsFormat())
                           for n in fields if values.get(n) is not None}
                    if fmt == "json":
                        out.write(json.dumps(row, ensure_ascii=False) + "\n")
                    else:
                        writer.writerow(row)
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


# fields only a second pass over the file fills (tshark -2)
SECOND_PASS_FIELDS = frozenset({"http.response_in", "http.next_request_in", "http.next_response_in"})


def _field_values(packet: Any, frame: Frame, clock: _Clock) -> dict[str, Any]:
    """Every field of the packet by name, with the reader loop's frame times."""
    values: dict[str, Any] = packet.fields() if packet is not None else {}
    values.update(clock.times(frame))
    return values


def _specs_for_tree(specs: dict[str, Any]) -> dict[str, Any]:
    if specs:
        return specs
    from pcapkit.cli.show_cmd import field_specs

    return field_specs()
