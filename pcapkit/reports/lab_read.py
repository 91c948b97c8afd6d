"""A lab's trace with only the frames its questions look at dissected.

Most labs ask about a few kinds of frames (the UDP lab: UDP; the DNS lab: DNS ports and
TCP SYNs; the IP lab: a traceroute's ICMP and UDP). :func:`read_selected` reads the file
once in record batches, decodes their header columns with the columnar fast path
(:func:`pcapkit.columnar.decode.decode_batch`), and dissects, through one
:class:`~pcapkit.dissect.driver.DissectSession` in file order, only

* the rows the lab's ``keep`` mask selects from those columns,
* every row the fast path could not decode completely (tunnels, options, other link
  types: the columns cannot rule them out), and
* every IPv4 fragment, so that IP reassembly sees what it would see on the whole file:
  a fragment that leaves its datagram pending goes to the reassembler only (in bulk, as
  the columnar readers do: :mod:`pcapkit.columnar.fragments`); the one that may complete
  it is dissected in full and kept.

The frames it skips would have given the lab nothing: the answers are those of the full
reading (``benchmarks/compare_labs.py`` checks it on every corpus capture). What the lab
counts over every frame comes with the trace: the protocols the pending fragments would
have shown (:attr:`Selected.skipped_protocols`) and the IPv4 (source, destination) pairs
of the skipped frames (:attr:`Selected.skipped_ipv4`), which the IP lab uses to tell
whether a skipped frame belonged to its traceroute.

A file that is not a regular file (standard input, a FIFO) or that the batch reader
refuses (cut, damaged) is read the whole way instead (:func:`~pcapkit.reports.lab_common.read_trace`):
its warnings are then the reader's own, and the input is opened once.

:func:`iter_selected` is the same reading for a capture of any size (``pcapkit dns``,
``pcapkit http``): no packet limit, each kept packet handed on as it is dissected (a batch
with fragments to add in bulk: once the batch is walked), nothing noted about the skipped
frames; its mask sees the batch's bytes as well as its columns (a payload search), and the
caller handles what the batch reader refuses.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING

import numpy as np

from pcapkit.errors import PcapkitError
from pcapkit.reports.lab_common import LAB_MAX_PACKETS, LabError, Trace, read_trace

if TYPE_CHECKING:

    from pcapkit.capture.batch import BatchFrames, RecordBatch
    from pcapkit.columnar.columns import Columns
    from pcapkit.dissect.driver import DissectSession, Packet

# which rows of a batch a lab dissects (besides the undecoded rows and the fragments)
Keep = Callable[["Columns"], np.ndarray]
# the same from the batch's records and columns (a mask that looks into the payloads)
BatchKeep = Callable[["RecordBatch", "Columns"], np.ndarray]

LINKTYPE_ETHERNET = 1
# records per batch: the decoded columns of a batch are ~0.4 KB a row, and a lab that stops
# at its packet limit should not have decoded a million rows past it
BATCH_PACKETS = 1 << 16
BATCH_BYTES = 8 << 20
_ETH_ADDRESSES = 12  # the two MAC addresses: they never change which protocols a frame shows


@dataclass(slots=True)
class Selected(Trace):
    """A :class:`Trace` of the kept frames, with what the lab may need of the others."""

    skipped_protocols: set[str] = field(default_factory=set)
    skipped_ipv4: set[int] = field(default_factory=set)   # (source << 32) | destination
    selective: bool = True  # False: every frame was dissected (read the whole way)

    def skipped_pair(self, src: str, dst: str) -> bool:
        """Whether a skipped frame went from IPv4 address ``src`` to ``dst``."""
        try:
            key = (int.from_bytes(socket.inet_aton(src), "big") << 32) | int.from_bytes(socket.inet_aton(dst), "big")
        except (OSError, TypeError):
            return True  # not an address the columns hold: assume the worst
        return key in self.skipped_ipv4


def column(cols: Columns, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, valid) of a decoded column (all invalid when the batch has none)."""
    values = cols.values.get(name)
    if values is None:
        return np.zeros(cols.n, dtype=np.int64), np.zeros(cols.n, dtype=bool)
    return values, cols.valid[name]


def port_in(cols: Columns, transport: str, ports: tuple[int, ...]) -> np.ndarray:
    """Rows whose ``transport`` (tcp, udp) source or destination port is one of ``ports``."""
    out = np.zeros(cols.n, dtype=bool)
    for side in ("srcport", "dstport"):
        values, valid = column(cols, f"{transport}.{side}")
        out |= valid & np.isin(values, ports)
    return out


def has(cols: Columns, name: str) -> np.ndarray:
    return column(cols, name)[1].copy()


def read_selected(path: str | PathLike[str], keep: Keep | None,
                  max_packets: int = LAB_MAX_PACKETS) -> Selected:
    """The lab's trace of ``path`` with the rows ``keep`` selects (None: every row but the
    fragments that stay pending) dissected; see the module docstring."""
    name = str(path)
    if not os.path.isfile(name):
        return read_whole(name, max_packets)
    try:
        return _selected(name, keep, max_packets)
    except PcapkitError as exc:
        if isinstance(exc, LabError):
            raise
        return read_whole(name, max_packets)  # damaged: the per-packet reader says where and why


def iter_selected(path: str, keep: BatchKeep, session: DissectSession | None = None) -> Generator[Packet, None, None]:
    """The rows ``keep`` selects of the regular file ``path`` (with the undecoded rows and
    the fragments that may complete a datagram) dissected through ``session`` (a new one if
    None) in file order, one batch at a time; see the module docstring. The batch reader's
    :class:`~pcapkit.errors.PcapkitError` (a cut or damaged file) goes to the caller, which
    may have seen the packets before it."""
    from pcapkit.capture.batch import iter_records
    from pcapkit.capture.compiled import compiled_kernels

    compiled = compiled_kernels()   # (a big input: the compiled record walk and decoder)
    decoder = None
    if compiled:
        from pcapkit.columnar.fastpath import RecordDecoder

        decoder = RecordDecoder()
    batches = iter_records(path, chunk_bytes=BATCH_BYTES, max_packets=BATCH_PACKETS, use_numba=compiled,
                           decoder=decoder)
    reader = _Reader(keep, None, session, note_skipped=False, compiled=compiled)
    for rb in batches:
        yield from reader.walk(rb)


def read_whole(path: str | PathLike[str], max_packets: int = LAB_MAX_PACKETS) -> Selected:
    """Every frame of ``path`` dissected and kept (:func:`~pcapkit.reports.lab_common.read_trace`)."""
    trace = read_trace(path, max_packets)
    return Selected(trace.path, trace.packets, trace.t0, trace.error, trace.warnings, selective=False)


class _Reader:
    """The per-batch work of :func:`read_selected` and :func:`iter_selected` (``max_packets``
    None: no limit; ``note_skipped``: gather what the lab may need of the skipped frames;
    ``compiled``: decode with numba's kernels)."""

    def __init__(self, keep: BatchKeep | None, max_packets: int | None, session: DissectSession | None = None, *,
                 note_skipped: bool = True, compiled: bool = False) -> None:
        self.keep = keep
        self.compiled = compiled
        self.max_packets = max_packets
        self.note_skipped = note_skipped
        from pcapkit.dissect.driver import dissect

        self.session: DissectSession = _new_session() if session is None else session
        self._dissect_frame = dissect
        self.packets: list[Packet] = []
        self.skipped_protocols: set[str] = set()
        self.skipped_ipv4: set[int] = set()
        self._signatures: set[tuple[int, int, bytes]] = set()
        self._records: BatchFrames  # (the batch being read)

    def batch(self, rb: RecordBatch) -> bool:
        """Read one batch into ``packets``; False when they went past the limit (stop there)."""
        from pcapkit.columnar.perpacket import gc_paused

        packets, limit = self.packets, self.max_packets
        with gc_paused():
            for packet in self.walk(rb, None if limit is None else limit - len(packets)):
                packets.append(packet)
                if limit is not None and len(packets) > limit:
                    return False
        return True

    def walk(self, rb: RecordBatch, room: int | None = None) -> Generator[Packet, None, None]:
        """The kept packets of one batch, in file order; once they are all out, what the lab
        may need of the others is noted (``note_skipped``). ``room``: the packets wanted at
        most (one more comes out, and the walk stops there)."""
        from pcapkit.capture.batch import BatchFrames
        from pcapkit.columnar import fragments
        from pcapkit.columnar.decode import FRAGMENT_IP_OFFSET, decode_batch
        from pcapkit.columnar.perpacket import gc_paused
        from pcapkit.dissect.ipreassembly import ipv4_fragment

        n = len(rb)
        cols = decode_batch(rb, use_kernel=self.compiled)
        frag_off, frag = column(cols, FRAGMENT_IP_OFFSET)
        wanted = ~frag if self.keep is None else self.keep(rb, cols)
        # the rows to dissect in full; the other fragments go to the reassembler first
        full = wanted | (cols.fallback & ~frag)
        quiet = frag & ~full
        rows = np.flatnonzero(full | quiet)
        pending: list[int] = []
        reassembler = self.session.reassembler
        numbers = np.arange(rb.first_number, rb.first_number + n, dtype=np.int64)
        positions, frag_rows = fragments.candidates(rb, numbers, rows, quiet, frag_off)
        row_list = rows.tolist()
        quiet_list = quiet.tolist()
        off_list = frag_off.tolist()
        self._records = records = BatchFrames(rb)
        buf, data_off, ts_ns = rb.buf, records.data_off, records.ts_ns
        kept_rows: list[int] = []
        dissect_row = self._dissect

        def kept(i: int) -> Packet | None:
            """Row ``i`` dissected, unless it is a fragment that leaves its datagram pending."""
            if quiet_list[i]:
                info, payload = ipv4_fragment(buf, data_off[i] + off_list[i])
                if reassembler.add_if_incomplete(info, payload, rb.first_number + i, ts_ns[i]):
                    pending.append(i)
                    return None
            kept_rows.append(i)
            return dissect_row(i)

        if positions.size == 0:
            # no fragments to add in bulk: each packet goes out as it is dissected (a streaming
            # caller then holds one at a time, as the per-packet reader does)
            for i in row_list:
                packet = kept(i)
                if packet is not None:
                    yield packet
        else:
            out: list[Packet] = []

            def per_row(p: int) -> None:
                packet = kept(row_list[p])
                if packet is not None:
                    out.append(packet)
                    if room is not None and len(out) > room:
                        raise _Full

            def on_bulk(lo: int, hi: int) -> None:
                pending.extend(rows[positions[lo:hi]].tolist())

            # (a batch's packets stay live until the caller has them all: no cyclic
            # collection scans them meanwhile; the loop makes no reference cycles)
            with gc_paused():
                try:
                    fragments.walk_rows(len(row_list), positions,
                                        lambda lo, hi: reassembler.add_pending_batch(frag_rows, lo, hi), per_row,
                                        on_bulk)
                except _Full:
                    yield from out
                    return
                yield from out
        if self.note_skipped:
            kept_mask = np.zeros(n, dtype=bool)
            kept_mask[kept_rows] = True
            self._skipped(rb, cols, kept_mask, np.array(pending, dtype=np.int64), frag_off)

    def _dissect(self, i: int) -> Packet:
        frame = self._records.frame(i)
        packet = self._dissect_frame(frame, self.session)
        if self._records.pcapng and frame.linktype >= 0:
            packet.frame_info = {"frame.interface_id": frame.interface_id}
        return packet

    def _skipped(self, rb: RecordBatch, cols: Columns, kept: np.ndarray, pending: np.ndarray,
                 frag_off: np.ndarray) -> None:
        src, src_ok = column(cols, "ip.src")
        dst, dst_ok = column(cols, "ip.dst")
        rows = np.flatnonzero(~kept & src_ok & dst_ok)
        if rows.size:
            pairs = (src[rows].astype(np.uint64) << np.uint64(32)) | dst[rows].astype(np.uint64)
            self.skipped_ipv4.update(np.unique(pairs).tolist())
        if not pending.size:
            return
        # the protocols a pending fragment shows depend on its link header only (the MAC
        # addresses aside): one dissection per kind, with a session of its own
        lt, at = rb.linktype[pending], frag_off[pending]
        plain = (lt == LINKTYPE_ETHERNET) & (at == _ETH_ADDRESSES + 2)
        others = pending[~plain].tolist()
        kinds: dict[tuple[int, int, bytes], int] = {}
        if plain.any():
            kinds.setdefault((LINKTYPE_ETHERNET, _ETH_ADDRESSES + 2, b""), int(pending[plain][0]))
        buf, data_off, linktype = rb.buf, rb.data_off, rb.linktype
        for i in others:
            start = int(data_off[i])
            t = int(linktype[i])
            head = buf[start + (_ETH_ADDRESSES if t == LINKTYPE_ETHERNET else 0):start + int(frag_off[i])]
            kinds.setdefault((t, int(frag_off[i]), head.tobytes()), i)
        for kind, i in kinds.items():
            if kind not in self._signatures:
                self._signatures.add(kind)
                self.skipped_protocols.update(x.protocol for x in self._alone(rb, i).layers)

    def _alone(self, rb: RecordBatch, i: int) -> Packet:
        """Row ``i`` dissected with a session of its own (a lone fragment stays pending)."""
        session, self.session = self.session, _new_session()
        try:
            return self._dissect(i)
        finally:
            self.session = session


class _Full(Exception):
    """The kept packets went past the limit: the reading stops."""


def _new_session() -> DissectSession:
    from pcapkit.dissect.driver import DissectSession

    return DissectSession()


def _selected(path: str, keep: Keep | None, max_packets: int) -> Selected:
    from pcapkit.capture.batch import iter_records

    reader = _Reader(None if keep is None else lambda _, cols: keep(cols), max_packets)
    t0: int | None = None
    limits: list[str] = []
    for rb in iter_records(path, chunk_bytes=BATCH_BYTES, max_packets=BATCH_PACKETS, use_numba=False):
        if t0 is None and len(rb):
            t0 = int(rb.ts_ns[0])
        if not reader.batch(rb):
            last = reader.packets[max_packets - 1].frame.number
            del reader.packets[max_packets:]
            limits.append(f"{path}: the labs read the first {max_packets:,} packets only (a lab trace is a few "
                          "thousand); the answers are about those" if last == max_packets else
                          f"{path}: the labs keep the first {max_packets:,} packets of those they look at "
                          f"(up to frame {last:,}; a lab trace is a few thousand); the answers are about those")
            break
    if t0 is None:
        raise LabError(f"{path}: no packets")
    return Selected(path, reader.packets, t0, None, limits, skipped_protocols=reader.skipped_protocols,
                    skipped_ipv4=reader.skipped_ipv4)


