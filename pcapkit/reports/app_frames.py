"""The frames that can give ``pcapkit dns`` or ``pcapkit http`` a row, and reading only those.

Both reports used to dissect every frame of the capture. :func:`read_app` reads a regular
file with :func:`~pcapkit.reports.lab_read.iter_selected` instead: the header columns of
each batch say which frames can hold the protocol, and only those are dissected (with the
rows the fast path could not decode and the IPv4 fragments, as the labs read). Which frames
those are follows the dispatch of :mod:`pcapkit.dissect.registry` and the driver:

* DNS: UDP on a port of a DNS dissector (53, mDNS 5353, LLMNR 5355); TCP with port 53 on
  either side, with payload or FIN (every such segment of a connection has it: stream
  reassembly sees them all; the others never reach it);
* HTTP: TCP with a port of :data:`pcapkit.dissect.http.HTTP_PORTS` on either side, with
  payload or FIN, and every TCP segment on other ports whose payload holds b"/1." (tshark's ``http_tcp``
  heuristic, which the driver tries only on those). UDP 1900 is not needed: SSDP's layer is
  ``ssdp``, not ``http``;
* both: ICMP and ICMPv6 (an error quotes a datagram).

Two things make the selection inexact, and the report is then read the old way (every frame
dissected, :func:`~pcapkit.dissect.driver.dissect_file`; the rows are only collected, so
starting again is safe):

* the HTTP heuristic claimed a connection: from then on every TCP payload goes to the
  session's stream dispatcher (``DissectSession.stream_heuristic``), as it does not on the
  selected frames (the HTTP report only: the claimed connections give no DNS);
* the stream dispatcher may have reached its limit of TCP directions
  (``TcpStreamDispatcher.max_streams``, counted over every stream-level protocol): the
  count of the directions that can reach it (stream-port segments with payload or FIN,
  plus one per undecoded row, per last IPv4 fragment and two per b"/1." payload) got there.

A file that is not a regular file (standard input, a FIFO) is read the old way at once, and
so is a file the batch reader refuses (cut, damaged: it stops with an error wherever the
frame reader warns, pcapng included): its warning is then the frame reader's.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from functools import partial
from os import PathLike, fspath
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from pcapkit.columnar.payload_marks import heuristic_rows
from pcapkit.errors import PcapkitError
from pcapkit.reports.lab_read import column, has, iter_selected, port_in

if TYPE_CHECKING:
    from pcapkit.capture.batch import RecordBatch
    from pcapkit.columnar.column_table import ColumnTable
    from pcapkit.columnar.columns import Columns
    from pcapkit.dissect.driver import DissectSession, Packet

T = TypeVar("T")
# the report's table from its packets and the reader's warnings (filled once they are read)
Collect = Callable[[Iterable["Packet"], list[str]], T]

DNS_UDP_PORTS = (53, 5353, 5355)   # the registry's udp.port entries of the DNS dissectors
DNS_TCP_PORTS = (53,)
_FIN = 0x001


class NotExact(Exception):
    """The selected frames may not give the answer of the whole reading: read it all."""


def report_table(path: str | PathLike[str], filter: str | None, protocol: str,
                 build: Callable[..., ColumnTable], selective: bool = True) -> ColumnTable:
    """The table of the ``dns`` or ``http`` report: ``build(packets, warnings, keep=frames)``
    over the packets :func:`read_app` gives, ``frames`` those ``filter`` (a tcpdump
    expression) accepts, None without one; standard input and a FIFO are read once (the
    filter needs a second pass over a copy: :func:`~pcapkit.reports.app_labels.filtered_report`)."""
    from pcapkit.reports.app_labels import filtered_report

    def read(source: str | PathLike[str], expr: str | None) -> ColumnTable:
        return read_app(source, protocol, partial(build, keep=frames_passing(source, expr)), selective)

    table: ColumnTable = filtered_report(read, path, filter)
    return table


def frames_passing(path: str | PathLike[str], expr: str | None) -> set[int] | None:
    """The numbers of the frames the tcpdump expression ``expr`` accepts (None: no filter)."""
    if not expr or not expr.strip():
        return None
    from pcapkit.capture.bpf import filter_frames
    from pcapkit.dissect.driver import read_frames

    return {frame.number for frame in filter_frames(read_frames(str(path)), expr)}



def read_app(path: str | PathLike[str], protocol: str, collect: Collect[T], selective: bool = True) -> T:
    """``collect`` over the packets of ``path`` that can hold ``protocol`` ("dns" or
    "http"), or over every packet (``selective`` False, or when the selection is not exact;
    see the module docstring)."""
    from pcapkit.dissect.driver import DissectSession, dissect_file
    from pcapkit.reports.app_labels import is_file

    if selective and is_file(path):
        session = DissectSession()
        selection = Selection(protocol, session)
        warnings: list[str] = []
        packets: Generator[Packet, None, None] | None = None
        try:
            packets = iter_selected(fspath(path), selection, session)
            return collect(_watched(packets, session, restart_on_heuristic=protocol == "http"), warnings)
        except (NotExact, PcapkitError):
            pass
        finally:
            if packets is not None:
                packets.close()  # (it holds the cyclic garbage collector off while a batch is walked)
    warnings = []
    return collect(dissect_file(fspath(path), warnings=warnings), warnings)


def _watched(packets: Iterator[Packet], session: DissectSession, restart_on_heuristic: bool) -> Iterator[Packet]:
    for packet in packets:
        if restart_on_heuristic and session.stream_heuristic:
            raise NotExact("the HTTP heuristic claimed a TCP connection")
        yield packet


class Selection:
    """The mask of :func:`~pcapkit.reports.lab_read.iter_selected` for ``protocol``, which
    also counts the TCP directions that can reach the session's stream dispatcher (raises
    :class:`NotExact` when they may reach its limit)."""

    def __init__(self, protocol: str, session: DissectSession) -> None:
        from pcapkit.dissect.http import HTTP_PORTS
        from pcapkit.dissect.registry import table

        if protocol not in ("dns", "http"):
            raise ValueError(f"no frame selection for {protocol!r}")
        self.protocol = protocol
        self.http_ports = HTTP_PORTS
        self.stream_ports = tuple(sorted(int(k) for k in table("tcp.port")))
        dispatcher = session.tcp_dispatcher
        self.max_streams: int = dispatcher.max_streams if dispatcher is not None else 0
        self.directions: set[bytes] = set()
        self.unknown = 0    # directions the columns cannot name (an upper bound)

    def __call__(self, rb: RecordBatch, cols: Columns) -> np.ndarray:
        flags, tcp = column(cols, "tcp.flags")
        stream = port_in(cols, "tcp", self.stream_ports)
        marked = heuristic_rows(rb, cols, tcp & ~stream & ~cols.fallback)
        self._count(cols, tcp & stream, flags, marked)
        wanted = has(cols, "icmp.type") | has(cols, "icmpv6.type")
        # a segment with neither payload nor FIN never reaches the stream dispatcher (the
        # driver's _tcp_payload / _tcp_fin), so it cannot change a DNS or HTTP layer
        length, _ = column(cols, "tcp.len")
        reaches = (length > 0) | ((flags & _FIN) != 0)
        if self.protocol == "dns":
            return wanted | port_in(cols, "udp", DNS_UDP_PORTS) | (port_in(cols, "tcp", DNS_TCP_PORTS) & reaches)
        return wanted | (port_in(cols, "tcp", self.http_ports) & reaches) | marked

    def _count(self, cols: Columns, stream: np.ndarray, flags: np.ndarray, marked: np.ndarray) -> None:
        from pcapkit.columnar.decode import FRAGMENT_IP_OFFSET

        frag = has(cols, FRAGMENT_IP_OFFSET)
        more, _ = column(cols, "ip.flags.mf")
        # (an IPv4 fragment is a fallback row too: only one with the last part completes a datagram)
        self.unknown += (int(np.count_nonzero(cols.fallback & ~frag)) + int(np.count_nonzero(frag & (more == 0)))
                         + 2 * int(np.count_nonzero(marked)))
        length, _ = column(cols, "tcp.len")
        rows = np.flatnonzero(stream & ~cols.fallback & ~frag & ((length > 0) | ((flags & _FIN) != 0)))
        if rows.size:
            parts = [column(cols, name)[0][rows].astype(np.uint64)
                     for name in ("ip.src", "ip.dst", "ipv6.src.hi", "ipv6.src.lo", "ipv6.dst.hi", "ipv6.dst.lo")]
            ports = (column(cols, "tcp.srcport")[0][rows].astype(np.uint64) << np.uint64(16)
                     | column(cols, "tcp.dstport")[0][rows].astype(np.uint64))
            ipv6 = column(cols, "ipv6.src.hi")[1][rows].astype(np.uint64) << np.uint64(32)
            keys = np.ascontiguousarray(np.stack([*parts, ports | ipv6], axis=1))
            self.directions.update(np.unique(keys.view(np.dtype((np.void, keys.shape[1] * 8)))).tolist())
        if len(self.directions) + self.unknown >= self.max_streams:
            raise NotExact(f"up to {len(self.directions) + self.unknown:,} TCP directions may reach the stream "
                           f"dispatcher (its limit: {self.max_streams:,})")
