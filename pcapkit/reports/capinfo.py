"""What ``capinfos`` reports about a capture file, computed in one streaming pass.

Definitions follow capinfos (Wireshark 4.0):

- *packets* counts packet records; pcapng custom-block records are not packets.
- *bytes* ("Data size") is the sum of the wire lengths (``frame.len``);
  ``captured_bytes`` the sum of captured lengths.
- *first_time*/*last_time* are the earliest and the latest packet time stamps (capinfos
  calls them first/last packet time but takes the minimum and maximum); they are
  unknown (None) when some packet has no time stamp (pcapng Simple Packet Blocks).
- *duration* = last_time - first_time; rates are bytes (bits, packets) per second of
  duration, average packet size = bytes / packets.
- *snaplen* is the file header's snapshot length (pcap; None when 0 or pcapng);
  *snaplen_inferred_min/max* the smallest/largest captured length of the packets cut
  short (captured length < wire length).
- *strict_time_order*: every time stamp >= the one before (False sticks); None
  ("Unknown") once a record without a time stamp was seen and the order was not broken.

Times are integer ns; text output turns them into exact decimal seconds.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pcapkit.frame import format_epoch_ns
from pcapkit.reports.record_counts import pcap_counts, pcap_counts_by_runs, pcapng_counts

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.capture.reader import CaptureLayout, CaptureReader
    from pcapkit.columnar.column_table import ColumnTable
    from pcapkit.frame import Frame


@dataclass(slots=True)
class InterfaceInfo:
    index: int
    section: int
    linktype: int
    linktype_name: str
    encap: int
    snaplen: int
    name: str | None
    description: str | None
    tsresol: int
    tsoffset: int
    packets: int = 0
    stat_entries: int = 0


@dataclass(slots=True)
class CaptureInfo:
    """capinfos' facts about one file (see the module docstring for each definition)."""

    file: str
    format: str
    gzip: bool
    file_type: str
    linktypes: list[int]
    encapsulations: dict[int, int]
    packets: int = 0
    records: int = 0
    bytes: int = 0
    captured_bytes: int = 0
    file_size: int | None = None
    first_time: int | None = None
    last_time: int | None = None
    snaplen: int | None = None
    snaplen_inferred_min: int | None = None
    snaplen_inferred_max: int | None = None
    strict_time_order: bool | None = True
    time_precision: int | None = None
    interfaces: list[InterfaceInfo] = field(default_factory=list)
    sections: int = 1
    hardware: list[str] = field(default_factory=list)
    os: list[str] = field(default_factory=list)
    application: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    sha256: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def duration(self) -> int | None:
        if self.first_time is None or self.last_time is None:
            return None
        return self.last_time - self.first_time

    def _per_second(self, amount: int) -> float | None:
        d = self.duration
        if d is None:
            return None
        if d <= 0:
            return 0.0
        return amount * 1_000_000_000 / d

    @property
    def data_byte_rate(self) -> float | None:
        return self._per_second(self.bytes)

    @property
    def data_bit_rate(self) -> float | None:
        return self._per_second(self.bytes * 8)

    @property
    def avg_packet_rate(self) -> float | None:
        return self._per_second(self.packets)

    @property
    def avg_packet_size(self) -> float:
        return self.bytes / self.packets if self.packets else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain values (times as exact decimal strings) for JSON."""
        return {
            "file": self.file,
            "format": self.format,
            "gzip": self.gzip,
            "file_type": self.file_type,
            "linktypes": self.linktypes,
            "encapsulation": [self._lt_name(lt) for lt in self.encapsulations] or
            [self._lt_name(lt) for lt in self.linktypes],
            "packets": self.packets,
            "bytes": self.bytes,
            "captured_bytes": self.captured_bytes,
            "file_size": self.file_size,
            "first_time": None if self.first_time is None else format_epoch_ns(self.first_time),
            "last_time": None if self.last_time is None else format_epoch_ns(self.last_time),
            "duration": None if self.duration is None else format_epoch_ns(self.duration),
            "data_byte_rate": _r2(self.data_byte_rate),
            "data_bit_rate": _r2(self.data_bit_rate),
            "avg_packet_size": _r2(self.avg_packet_size),
            "avg_packet_rate": _r2(self.avg_packet_rate),
            "snaplen": self.snaplen,
            "snaplens": [i.snaplen for i in self.interfaces],
            "snaplen_inferred_min": self.snaplen_inferred_min,
            "snaplen_inferred_max": self.snaplen_inferred_max,
            "strict_time_order": self.strict_time_order,
            "time_precision": self.time_precision,
            "interfaces": len(self.interfaces),
            "sections": self.sections,
            "comments": self.comments,
            "sha256": self.sha256,
            "warnings": self.warnings,
        }

    @staticmethod
    def _lt_name(linktype: int) -> str:
        from pcapkit.capture.linktypes import linktype_name

        return linktype_name(linktype)


def _r2(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _precision(units: int) -> int:
    """Digits after the point of a resolution (Wireshark's tsprecision)."""
    for digits, limit in ((9, 10**9), (6, 10**6), (3, 10**3), (2, 100), (1, 10)):
        if units >= limit:
            return digits
    return 0


def _file_type(reader: CaptureReader) -> str:
    if reader.format in ("pcapng", "snoop", "erf"):
        return reader.format
    if getattr(reader, "modified", False):
        return "modpcap"
    return "nsecpcap" if reader.format == "pcap-ns" else "pcap"


def _sha256(path: str) -> str | None:
    if not os.path.isfile(path):
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def capture_info(path: str | os.PathLike[str], *, hashes: bool = True,
                 on_frame: Callable[[Frame], object] | None = None) -> CaptureInfo:
    """Read a capture once and return what capinfos reports about it; ``on_frame`` sees
    every frame on the way (so another report needs no second read: a pipe is read once).

    Raises :class:`pcapkit.errors.CaptureFileError` when the file cannot be opened;
    damage later in the file ends the count there and is listed in ``warnings``.
    """
    from pcapkit.capture.files import open_capture
    from pcapkit.capture.linktypes import linktype_name, wtap_encap
    from pcapkit.capture.pcap import PcapReader
    from pcapkit.capture.pcapng import PcapngReader

    name = os.fspath(path)
    with open_capture(name) as reader:
        untimed: set[int] = getattr(reader, "untimed_frames", set())
        encaps: dict[int, int] = {}
        per_iface: dict[tuple[int, int], int] = {}
        packets = records = wire = cap = 0
        tmin: int | None = None
        tmax: int | None = None
        prev: int | None = None
        order: bool | None = True
        all_timed = True
        smin: int | None = None
        smax: int | None = None
        counted = None
        by_batches = False  # (counted from record batches: the per-frame loop below then reads nothing)
        meta: CaptureLayout = reader  # (what holds the sections, interfaces and statistics)
        if on_frame is None and isinstance(reader, PcapReader) and os.path.isfile(name):
            counted = pcap_counts_by_runs(name) if not reader.gzip else None
            counted = counted or pcap_counts(name)
            if counted is not None:
                by_batches = True
                packets, wire, cap, tmin, tmax, order, smin, smax = counted
                records = packets
                if packets:
                    linktype = reader.interfaces[0].linktype
                    encaps[linktype], per_iface[(0, 0)] = packets, packets
        elif on_frame is None and isinstance(reader, PcapngReader) and os.path.isfile(name):
            ng_counted = pcapng_counts(name)
            if ng_counted is not None:
                by_batches = True
                packets, wire, cap, tmin, tmax, order, smin, smax = ng_counted.counts
                records, all_timed, meta = ng_counted.records, ng_counted.all_timed, ng_counted.layout
                encaps, per_iface = ng_counted.encapsulations, ng_counted.per_interface
        for f in reader if not by_batches else ():
            records += 1
            if on_frame is not None:
                on_frame(f)
            if f.number in untimed:
                # no time stamp: times unknown; order unknown unless already known to be broken
                all_timed = False
                if order is not False:
                    order = None
            else:
                ts = f.ts_ns
                if prev is not None and ts < prev:
                    order = False
                prev = ts
                tmin = ts if tmin is None or ts < tmin else tmin
                tmax = ts if tmax is None or ts > tmax else tmax
            if f.linktype < 0:  # a pcapng custom block: a record, not a packet
                continue
            packets += 1
            wire += f.wirelen
            cap += f.caplen
            encaps[f.linktype] = encaps.get(f.linktype, 0) + 1
            key = (f.section, f.interface_id)
            per_iface[key] = per_iface.get(key, 0) + 1
            if f.caplen < f.wirelen:
                smin = f.caplen if smin is None else min(smin, f.caplen)
                smax = f.caplen if smax is None else max(smax, f.caplen)
        precisions = {_precision(i.tsresol) for i in meta.interfaces}
        info = CaptureInfo(
            file=name, format=reader.format, gzip=reader.gzip, file_type=_file_type(reader),
            linktypes=meta.linktypes, encapsulations=encaps, packets=packets, records=records,
            bytes=wire, captured_bytes=cap,
            file_size=os.path.getsize(name) if os.path.isfile(name) else None,
            first_time=tmin if all_timed else None, last_time=tmax if all_timed else None,
            snaplen=(reader.snaplen or None) if reader.format != "pcapng" else None,
            snaplen_inferred_min=smin, snaplen_inferred_max=smax, strict_time_order=order,
            time_precision=precisions.pop() if len(precisions) == 1 else None,
            sections=len(meta.sections),
            hardware=[s.hardware for s in meta.sections if s.hardware],
            os=[s.os for s in meta.sections if s.os],
            application=[s.user_appl for s in meta.sections if s.user_appl],
            comments=meta.comments, warnings=list(reader.warnings),
        )
        stats_count: dict[int, int] = {}
        for st in meta.interface_stats:
            stats_count[st.interface_id] = stats_count.get(st.interface_id, 0) + 1
        section_first: dict[int, int] = {}
        for gi, iface in enumerate(meta.interfaces):
            section_first.setdefault(iface.section, gi)
            local = gi - section_first[iface.section]
            info.interfaces.append(InterfaceInfo(
                index=gi, section=iface.section, linktype=iface.linktype,
                linktype_name=linktype_name(iface.linktype), encap=wtap_encap(iface.linktype),
                snaplen=iface.snaplen, name=iface.name, description=iface.description,
                tsresol=iface.tsresol, tsoffset=iface.tsoffset,
                packets=per_iface.get((iface.section, local), 0),
                stat_entries=stats_count.get(gi, 0)))
    if hashes:
        info.sha256 = _sha256(name)
    return info


# the dtype of each column of info_frame (the others: text)
_INFO_DTYPES: dict[str, str] = {
    **dict.fromkeys(("packets", "bytes", "captured_bytes", "interfaces", "sections"), "int64"),
    **dict.fromkeys(("data_byte_rate", "data_bit_rate", "avg_packet_size", "avg_packet_rate"), "float64"),
    "gzip": "bool",
    **dict.fromkeys(("file", "format", "file_type", "sha256"), "string"),
    "first_time": "datetime64[ns]", "last_time": "datetime64[ns]", "duration": "timedelta64[ns]",
    **dict.fromkeys(("snaplen", "snaplen_inferred_min", "snaplen_inferred_max", "time_precision", "file_size"),
                    "Int64"),
    "strict_time_order": "boolean",
}
_JOINED = {"linktypes": ",", "snaplens": ",", "encapsulation": "; ", "comments": "; ", "warnings": "; "}


def info_frame(infos: list[CaptureInfo]) -> pd.DataFrame:
    """One row per file; times as datetime64[ns], duration as timedelta64[ns]."""
    return info_table(infos).to_pandas()


def info_table(infos: list[CaptureInfo]) -> ColumnTable:
    """:func:`info_frame` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what
    the CLI formats, without pandas); lists are joined into text."""
    from pcapkit.columnar.column_table import ColumnTable, column_from_list

    rows = []
    for info in infos:
        d = info.as_dict()
        d["first_time"] = info.first_time
        d["last_time"] = info.last_time
        d["duration"] = info.duration
        rows.append(d)
    if not rows:
        return ColumnTable({})
    columns = {}
    for name in rows[0]:
        values = [r[name] for r in rows]
        if name in _JOINED:
            values = [_JOINED[name].join(str(x) for x in v) for v in values]
        elif _INFO_DTYPES.get(name) in ("float64", "datetime64[ns]", "timedelta64[ns]"):
            values = [None if v is None or v != v else v for v in values]  # (NaN: missing, as pandas reads it)
        columns[name] = column_from_list(values, _INFO_DTYPES.get(name, "str"))
    return ColumnTable(columns)


def _rate(value: float | None, unit: str) -> str:
    return "n/a" if value is None else f"{value:.2f} {unit}"


def info_lines(info: CaptureInfo) -> list[tuple[str, str]]:
    """A capinfos-like long listing: (label, value) pairs."""
    from pcapkit.capture.linktypes import linktype_name, wtap_encap

    enc_list = sorted(info.encapsulations.items(), key=lambda kv: -kv[1])
    if len(set(info.linktypes)) == 1:
        encap = f"{linktype_name(info.linktypes[0])} (LINKTYPE {info.linktypes[0]}, encap {wtap_encap(info.linktypes[0])})"
    elif info.linktypes:
        encap = "per packet: " + ", ".join(f"{linktype_name(lt)} ({n})" for lt, n in enc_list)
    else:
        encap = "none"
    prec = {9: "nanoseconds (9)", 6: "microseconds (6)", 3: "milliseconds (3)", 2: "centiseconds (2)",
            1: "deciseconds (1)", 0: "seconds (0)"}
    lines: list[tuple[str, str]] = [
        ("File name", info.file),
        ("File type", info.file_type + (" (gzip compressed)" if info.gzip else "")),
        ("File encapsulation", encap),
        ("File timestamp precision",
         "per-packet" if info.time_precision is None else prec.get(info.time_precision, "?")),
        ("Packet size limit", "file hdr: " + ("(not set)" if info.snaplen is None else f"{info.snaplen} bytes")),
    ]
    if info.snaplen_inferred_min is not None:
        if info.snaplen_inferred_min == info.snaplen_inferred_max:
            lines.append(("Packet size limit", f"inferred: {info.snaplen_inferred_min} bytes"))
        else:
            lines.append(("Packet size limit", f"inferred: {info.snaplen_inferred_min} bytes - "
                                               f"{info.snaplen_inferred_max} bytes (range)"))
    dur = info.duration
    lines += [
        ("Number of packets", str(info.packets)),
        ("File size", "n/a" if info.file_size is None else f"{info.file_size} bytes"),
        ("Data size", f"{info.bytes} bytes"),
        ("Capture duration", "n/a" if dur is None else f"{format_epoch_ns(dur)} seconds"),
        ("First packet time", "n/a" if info.first_time is None else format_epoch_ns(info.first_time)),
        ("Last packet time", "n/a" if info.last_time is None else format_epoch_ns(info.last_time)),
        ("Data byte rate", _rate(info.data_byte_rate, "bytes/s")),
        ("Data bit rate", _rate(info.data_bit_rate, "bits/s")),
        ("Average packet size", f"{info.avg_packet_size:.2f} bytes"),
        ("Average packet rate", _rate(info.avg_packet_rate, "packets/s")),
    ]
    if info.sha256:
        lines.append(("SHA256", info.sha256))
    lines.append(("Strict time order", "Unknown" if info.strict_time_order is None else str(info.strict_time_order)))
    for label, values in (("Capture hardware", info.hardware), ("Capture oper-sys", info.os),
                          ("Capture application", info.application), ("Capture comment", info.comments)):
        for v in values:
            lines.append((label, v))
    lines.append(("Number of interfaces in file", str(len(info.interfaces))))
    for i in info.interfaces:
        desc = f"#{i.index}"
        if info.sections > 1:
            desc += f" (section {i.section})"
        parts = []
        if i.name:
            parts.append(f"name={i.name}")
        parts += [f"encapsulation={i.linktype_name} (LINKTYPE {i.linktype}, encap {i.encap})",
                  f"snaplen={i.snaplen}", f"ticks/s={i.tsresol}"]
        if i.tsoffset:
            parts.append(f"tsoffset={i.tsoffset}s")
        parts += [f"packets={i.packets}", f"stat entries={i.stat_entries}"]
        lines.append((f"Interface {desc}", ", ".join(parts)))
    for w in info.warnings:
        lines.append(("Warning", w))
    return lines


def _utc(ns: int) -> str:
    """A UTC date with microseconds (2004-08-21 01:44:20.570381 UTC)."""
    import datetime as dt

    seconds, nanos = divmod(ns, 1_000_000_000)
    when = dt.datetime.fromtimestamp(seconds, tz=dt.UTC) + dt.timedelta(microseconds=nanos // 1000)
    return when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def info_lines_with_dates(info: CaptureInfo) -> list[tuple[str, str]]:
    """:func:`info_lines` with the first/last packet times followed by their UTC dates."""
    import contextlib

    from pcapkit.frame import time_invalid

    times = {"First packet time": info.first_time, "Last packet time": info.last_time}
    lines = []
    for label, value in info_lines(info):
        ns = times.get(label)
        if ns is not None and not time_invalid(ns):
            with contextlib.suppress(OverflowError, OSError, ValueError):  # beyond datetime's years
                value = f"{value} ({_utc(ns)})"
        lines.append((label, value))
    return lines
