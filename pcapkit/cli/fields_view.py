"""``read -T fields -e NAME ... -E KEY=VALUE``: the lines ``tshark -T fields`` prints.

A field is any Wireshark field a pcapkit dissector declares (its
:class:`~pcapkit.fields.FieldSpec` renders the value as tshark prints it), plus
``frame.time_relative`` and ``frame.time_delta``, which only the reading loop knows, and
the fields of TCP conversation analysis (``tcp.stream``, ``tcp.seq``, ``tcp.analysis.*``:
:mod:`pcapkit.proto.tcp_analysis`), which the analysis of the file's TCP segments fills,
a batch ahead of the listing (:class:`AnalysisValues`).
``-E`` takes tshark's keys: ``separator=/t|/s|C``, ``occurrence=f|l|a``,
``aggregator=,|/s|C``, ``header=y|n``, ``quote=d|s|n``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from pcapkit.fields import FieldSpec
    from pcapkit.frame import Frame
    from pcapkit.tcpflow.segments import SegmentTable

# frame.* values the reader loop computes (not a dissector's): seconds since the first
# frame and since the previous one, printed as tshark prints relative times; and the
# arrival time in local time, as tshark prints it (:func:`local_time`)
RELATIVE_FIELDS = ("frame.time_relative", "frame.time_delta")
LOOP_FIELDS = (*RELATIVE_FIELDS, "frame.time")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def local_time(ts_ns: int) -> str:
    """``frame.time`` as tshark prints it: local time, whole nanoseconds and the zone
    ("Sep  6, 2017 13:56:28.053206000 UTC"; the day padded with a space, in English
    whatever the locale)."""
    import time

    seconds, nanos = divmod(ts_ns, 1_000_000_000)
    t = time.localtime(seconds)
    return (f"{MONTHS[t.tm_mon - 1]} {t.tm_mday:2d}, {t.tm_year} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
            f".{nanos:09d} {t.tm_zone}")


@dataclass(frozen=True, slots=True)
class FieldsFormat:
    separator: str = "\t"
    occurrence: str = "a"  # f, l or a
    aggregator: str = ","
    header: bool = False
    quote: str = ""

    def line(self, cells: Sequence[str], *, header: bool = False) -> str:
        """One line of cells; values are quoted when asked (an empty one is not, nor the
        header's names, as tshark)."""
        if self.quote and not header:
            cells = [f"{self.quote}{c}{self.quote}" if c else c for c in cells]
        return self.separator.join(cells) + "\n"


def _char(value: str) -> str:
    return {"/t": "\t", "/s": " "}.get(value, value)


def parse_options(options: Sequence[str]) -> FieldsFormat:
    """``-E`` options (``separator=,``) into a :class:`FieldsFormat`, as tshark reads them."""
    values: dict[str, Any] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep:
            raise click.BadParameter(f"{option}: expected KEY=VALUE", param_hint="-E")
        if key == "separator":
            values["separator"] = _char(value)
        elif key == "aggregator":
            values["aggregator"] = _char(value)
        elif key == "occurrence":
            if value not in ("f", "l", "a"):
                raise click.BadParameter(f"occurrence={value}: use f, l or a", param_hint="-E")
            values["occurrence"] = value
        elif key == "header":
            values["header"] = value == "y"
        elif key == "quote":
            values["quote"] = {"d": '"', "s": "'", "n": ""}.get(value, "")
        else:
            raise click.BadParameter(f"{key}: not one of separator, occurrence, aggregator, header, quote",
                                     param_hint="-E")
    return FieldsFormat(**values)


def loop_specs() -> dict[str, FieldSpec]:
    from pcapkit.fields import FieldSpec

    return {name: FieldSpec(name, "reltime_ns") for name in RELATIVE_FIELDS}


def analysis_names(names: Sequence[str], specs: Mapping[str, FieldSpec]) -> list[str]:
    """The fields among ``names`` that only the TCP analysis knows (no dissector's)."""
    from pcapkit.proto.tcp_analysis import FIELDS

    known = {spec.name for spec in FIELDS}
    return [n for n in dict.fromkeys(names) if n in known and n not in specs]


ANALYSIS_BATCH = 1 << 12  # packets read and analysed at a time, ahead of the listing


class FramesOnce:
    """A reader's frames, read once for two consumers (standard input and a pipe can be
    read only once): the TCP analysis pulls them a batch ahead, keeping each one, and the
    listing takes the kept ones in order (:meth:`for_listing`)."""

    def __init__(self, frames: Iterable[Frame]) -> None:
        self._frames = iter(frames)
        self._kept: deque[Frame] = deque()
        self._error: Exception | None = None  # (what the reader raised, for the listing to raise)

    def for_analysis(self) -> Iterator[Frame]:
        try:
            for frame in self._frames:
                self._kept.append(frame)
                yield frame
        except Exception as exc:
            self._error = exc
            raise

    def for_listing(self, analysis: AnalysisValues) -> Iterator[Frame]:
        """The frames in order, each once ``analysis`` has analysed it."""
        kept = self._kept
        while True:
            if kept:
                yield kept.popleft()
            elif not analysis.advance():
                if self._error is not None:
                    raise self._error
                yield from self._frames  # (the analysis stopped on an error of its own: the rest unanalysed)
                return


class AnalysisValues:
    """The TCP analysis fields ``names`` of each frame, as the text tshark prints them
    (absent ones left out; the duplicate-ACK flag, which tshark prints twice, as two
    occurrences): the same per-frame analysis as the ``tcp`` command's, run over the
    segments of ``source`` (a capture file, or frames: :class:`FramesOnce`) one batch at
    a time, only as far as the listing has read (a frame's analysis depends on the frames
    before it alone): ``read -c 10`` of a big capture analyses its first batch, not the
    file."""

    def __init__(self, source: str | Iterable[Frame], names: Sequence[str],
                 batch_packets: int = ANALYSIS_BATCH) -> None:
        from pcapkit.tcpflow.engine import TcpEngine
        from pcapkit.tcpflow.segments import SegmentBatches

        self._wanted = set(names)
        # (no read-ahead thread: the listing, which dissects frame by frame, is the slower
        # reader, and the thread would take the interpreter from it)
        self._batches: Iterator[SegmentTable] | None = iter(SegmentBatches(source, chunk_packets=batch_packets,
                                                                           read_ahead=False))
        self._feed = TcpEngine().feed
        self._values: dict[int, dict[str, Any]] = {}
        self._read = 0  # frames of the file the analysed batches covered
        # (a batch's addresses are ids: their text stands in for the addresses, which the
        # engine only compares and these fields never print)
        self._ids: list[str] = []

    def of(self, number: int) -> dict[str, Any]:
        """The values of frame ``number`` (frames are asked for in increasing order; the
        values of frames passed over, which a filter left out, are let go)."""
        while self._batches is not None and self._read < number:
            self._analyse_next()
        values = self._values
        while values and next(iter(values)) < number:
            del values[next(iter(values))]
        return values.pop(number, {})

    def advance(self) -> bool:
        """Analyse the next batch; False when there is none left."""
        if self._batches is not None:
            self._analyse_next()
        return self._batches is not None

    def _analyse_next(self) -> None:
        from pcapkit.errors import PcapkitError
        from pcapkit.tcpflow.engine import tshark_text

        assert self._batches is not None
        try:
            table = next(self._batches)
        except (StopIteration, PcapkitError, OSError):  # (the end, or what the listing's reader reports)
            self._batches = None
            return
        view = table.tshark_view()
        top = int(max(view.src.max(initial=-1), view.dst.max(initial=-1))) + 1
        self._ids.extend(str(i) for i in range(len(self._ids), top))
        view.addresses = self._ids
        wanted, feed = self._wanted, self._feed
        for segment in view.segments():
            rec = feed(segment)
            if rec is None:
                continue
            values = {n: v.split(",") if "," in v else v for n, v in tshark_text(rec).items() if n in wanted}
            if values:
                self._values[segment.frame_number] = values
        self._read = table.frames


def check_names(names: Sequence[str], specs: Mapping[str, FieldSpec]) -> None:
    analysed = set(analysis_names(names, specs))
    unknown = [n for n in names if n not in specs and n not in LOOP_FIELDS and n not in analysed]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}: not a field pcapkit's dissectors know "
                                 f"(pcapkit show -V FILE lists a frame's fields)", param_hint="-e")


def occurrences(values: Any, spec: FieldSpec | None) -> list[str]:
    """Each occurrence of a field's value as tshark prints it."""
    from pcapkit.fields import render_value

    items = values if isinstance(values, list) else [values]
    if spec is None:
        return [str(v) for v in items]
    return [render_value(spec, v) for v in items]


def cell(values: Any, spec: FieldSpec | None, fmt: FieldsFormat) -> str:
    """One field's text in a line: the chosen occurrence(s), joined by the aggregator."""
    if values is None:
        return ""
    texts = occurrences(values, spec)
    if fmt.occurrence == "f":
        texts = texts[:1]
    elif fmt.occurrence == "l":
        texts = texts[-1:]
    return fmt.aggregator.join(texts)
