"""Live capture on Linux: an AF_PACKET socket with a TPACKET_V3 memory-mapped ring.

What libpcap does, in Python:

* the socket is opened with protocol 0 (it receives nothing), the ring is set up, the
  filter is attached in the kernel (``SO_ATTACH_FILTER``) and locked
  (``SO_LOCK_FILTER``), and only then is the socket bound to the interface with
  ``ETH_P_ALL``: no packet can slip in before the filter;
* promiscuous mode through ``PACKET_ADD_MEMBERSHIP``/``PACKET_MR_PROMISC`` (dropped
  with the socket);
* the ring hands over whole blocks; each packet has a ``tpacket3_hdr`` with a
  nanosecond timestamp, the captured and wire lengths, and the VLAN tag the NIC or
  driver stripped (``tp_vlan_tci`` when ``TP_STATUS_VLAN_VALID``), which is put back
  into the packet after the MAC addresses, as libpcap does;
* ``any`` (and interfaces with no link header libpcap knows) capture in cooked mode
  (``SOCK_DGRAM``) and get a Linux cooked header (LINKTYPE_LINUX_SLL, or SLL2),
  built from the ``sockaddr_ll`` in the ring; the filter's offsets are then rewritten
  for the kernel as libpcap's ``fix_program`` does (loads in the cooked header become
  ancillary loads), or the filter runs in user space with pcapkit's interpreter;
* ``PACKET_STATISTICS`` (``tpacket_stats_v3``) gives "received by filter" and
  "dropped by kernel"; the kernel resets them at every read, so they are summed.

This module is the capture session; the socket options, the ring layout and the
decoding of a ring block are :mod:`pcapkit.capture.tpacket`, writing live packets to
rotating files is :mod:`pcapkit.capture.live_output`.

Usage::

    with LiveCapture("eth0", "tcp port 80", count=10) as cap:
        for frame in cap:
            ...
    print(cap.stats())
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import select
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pcapkit.capture.bpf import compile_filter
from pcapkit.capture.bpf_program import BpfInsn, BpfProgram
from pcapkit.capture.interfaces import InterfaceInfo, interface_info, linktype_for
from pcapkit.capture.tpacket import (
    ETH_P_ALL,
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    MEMBERSHIP,
    PACKET_ADD_MEMBERSHIP,
    PACKET_MR_PROMISC,
    PACKET_RX_RING,
    PACKET_STATISTICS,
    PACKET_VERSION,
    SLL2_HDR_LEN,
    SO_ATTACH_FILTER,
    SO_LOCK_FILTER,
    SOL_PACKET,
    STATS_V3,
    TPACKET_V3,
    BlockDecoder,
    Record,
    bind_ll,
    block_ready,
    fix_program_for_cooked,
    release_block,
    ring_request,
    round_pow2,
    sock_fprog,
)
from pcapkit.errors import CapturePermissionError, FilterError, LiveCaptureError
from pcapkit.frame import Frame


@dataclass(frozen=True, slots=True)
class CaptureStats:
    """What tcpdump prints at the end: captured (delivered to us), received by filter
    (the kernel's tp_packets, which includes drops), dropped by kernel (no ring room)."""

    captured: int
    received: int
    dropped: int

    def lines(self) -> list[str]:
        return [f"{self.captured} packet{'s' if self.captured != 1 else ''} captured",
                f"{self.received} packet{'s' if self.received != 1 else ''} received by filter",
                f"{self.dropped} packet{'s' if self.dropped != 1 else ''} dropped by kernel"]


class LiveCapture:
    """Capture packets from a live interface (Linux, needs CAP_NET_RAW).

    ``interface``: a name, or ``"any"`` (cooked, LINUX_SLL2 as tcpdump; ``linktype=113`` for SLL).
    ``bpf_filter``: a tcpdump expression, attached in the kernel. ``snaplen``: bytes
    kept per packet. ``promisc``: promiscuous mode (default on). ``count`` /
    ``duration``: stop after that many packets / seconds. ``block_size``,
    ``block_count``, ``block_timeout_ms``: the TPACKET_V3 ring (a block is handed over
    when full or after the timeout).

    Iterate for :class:`Frame` objects (numbered from 1, ``ts_ns`` from the kernel in
    nanoseconds), or call :meth:`run` with a callback. :meth:`stop` (from a signal
    handler, another thread or the callback) ends the capture at the next poll.
    """

    def __init__(self, interface: str = "any", bpf_filter: str = "", *, snaplen: int = 262144,
                 promisc: bool = True, count: int | None = None, duration: float | None = None,
                 block_size: int = 1 << 20, block_count: int = 4, block_timeout_ms: int = 100,
                 linktype: int | None = None, poll_interval: float = 0.1) -> None:
        self.interface = interface
        self.expr = bpf_filter
        self.snaplen = snaplen if snaplen > 0 else 262144
        self.promisc = promisc
        self.count = count
        self.duration = duration
        self.block_timeout_ms = block_timeout_ms
        self.poll_interval = poll_interval
        self._requested_linktype = linktype
        self.block_count = max(1, block_count)
        hdr_room = 48 + 32 + SLL2_HDR_LEN + 4 + 16
        self.block_size = max(round_pow2(max(block_size, 4096)),
                              round_pow2(self.snaplen + hdr_room))
        self.linktype = LINKTYPE_ETHERNET
        self.cooked = False
        self.info: InterfaceInfo | None = None
        self.program: BpfProgram | None = None
        self.userland_filter: tuple[BpfInsn, ...] | None = None
        self._sock: socket.socket | None = None
        self._ring: mmap.mmap | None = None
        self._block = 0
        self._stop = False
        self._captured = 0
        self._received = 0
        self._dropped = 0
        self._lo_ifindex = -1
        self._deadline: float | None = None
        self._drain_until: float | None = None
        self.started_ns = 0

    # -- set-up --------------------------------------------------------------------------

    def open(self) -> LiveCapture:
        """Open the socket, set up the ring and the kernel filter, bind."""
        if self._sock is not None:
            return self
        ifindex = 0
        if self.interface == "any":
            self.cooked = True
            self.linktype = self._requested_linktype or LINKTYPE_LINUX_SLL2  # as tcpdump 4.99
        else:
            info = interface_info(self.interface)
            if info is None:
                raise LiveCaptureError(f"{self.interface}: No such device exists "
                                       "(see `pcapkit capture -D` for the interfaces)")
            if not info.up:
                raise LiveCaptureError(f"{self.interface}: That device is not up "
                                       f"(bring it up: ip link set {self.interface} up)")
            self.info = info
            ifindex = info.index
            lt, cooked = linktype_for(info)
            if self._requested_linktype in (LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2):
                lt, cooked = self._requested_linktype, True
            self.linktype, self.cooked = lt, cooked
            if info.loopback:
                self._lo_ifindex = info.index
        lo = interface_info("lo")
        if lo is not None and self.interface == "any":
            self._lo_ifindex = lo.index
        if self.cooked and self.linktype not in (LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2):
            self.linktype = LINKTYPE_LINUX_SLL

        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM if self.cooked else socket.SOCK_RAW, 0)
        except PermissionError:
            raise CapturePermissionError(
                f"{self.interface}: You don't have permission to capture on that device "
                f"(socket: Operation not permitted); {_permission_hint()}"
            ) from None
        except OSError as exc:
            raise LiveCaptureError(f"{self.interface}: socket: {exc.strerror}") from None
        self._sock = sock
        try:
            self._setup(sock, ifindex)
        except BaseException:
            self.close()
            raise
        self.started_ns = time.time_ns()
        if self.duration is not None:
            self._deadline = time.monotonic() + self.duration
        return self

    def _setup(self, sock: socket.socket, ifindex: int) -> None:
        # the filter first (compiling may open the device in libpcap, as tcpdump would)
        device = None if self.interface == "any" else self.interface
        try:
            program = compile_filter(self.expr, self.linktype, self.snaplen, device=device)
        except LiveCaptureError:
            program = compile_filter(self.expr, self.linktype, self.snaplen)
        if device is not None and program.linktype != self.linktype:
            program = compile_filter(self.expr, self.linktype, self.snaplen)
        self.program = program
        kernel: tuple[BpfInsn, ...] = program.insns
        if self.cooked:
            fixed = fix_program_for_cooked(program.insns, self.linktype)
            if fixed is None:
                self.userland_filter = program.insns
                kernel = (BpfInsn(0x06, 0, 0, self.snaplen),)
            else:
                kernel = fixed
        try:
            sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
            sock.setsockopt(SOL_PACKET, PACKET_RX_RING,
                            ring_request(self.block_size, self.block_count, self.block_timeout_ms))
        except OSError as exc:
            raise LiveCaptureError(f"{self.interface}: cannot set up the TPACKET_V3 ring "
                                   f"({self.block_count} x {self.block_size} bytes): {exc.strerror}") from None
        try:
            self._ring = mmap.mmap(sock.fileno(), self.block_size * self.block_count,
                                   mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError as exc:
            raise LiveCaptureError(f"{self.interface}: mmap of the ring failed: {exc.strerror}") from None
        fprog, keep = sock_fprog(kernel)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise FilterError(f"the kernel refused the filter: {exc.strerror}") from None
            # the kernel refuses what it cannot check (e.g. protochain's backward jumps):
            # keep everything in the kernel and filter in user space, as libpcap does
            self.userland_filter = program.insns
            kernel = (BpfInsn(0x06, 0, 0, 0x40000),)
            fprog, keep = sock_fprog(kernel)
            sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_LOCK_FILTER, 1)
        except OSError as exc:
            raise FilterError(f"cannot lock the filter: {exc.strerror}") from None
        del keep
        if self.promisc and ifindex:
            mreq = MEMBERSHIP.pack(ifindex, PACKET_MR_PROMISC, 0, b"")
            try:
                sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
            except OSError as exc:
                raise LiveCaptureError(f"{self.interface}: cannot set promiscuous mode: {exc.strerror}") from None
        try:
            bind_ll(sock, ifindex, ETH_P_ALL)
        except OSError as exc:
            if exc.errno == errno.ENETDOWN:
                raise LiveCaptureError(f"{self.interface}: That device is not up") from None
            if exc.errno == errno.ENODEV:
                raise LiveCaptureError(f"{self.interface}: No such device exists") from None
            raise LiveCaptureError(f"{self.interface}: bind: {exc.strerror}") from None
        self.kernel_program = kernel

    def close(self) -> None:
        """Release the ring and the socket (promiscuous mode goes with it)."""
        if self._sock is not None:
            self._read_kernel_stats()
        if self._ring is not None:
            with contextlib.suppress(BufferError, ValueError):
                self._ring.close()
            self._ring = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> LiveCapture:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- statistics ----------------------------------------------------------------------

    def _read_kernel_stats(self) -> None:
        if self._sock is None:
            return
        try:
            raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, STATS_V3.size)
        except OSError:
            return
        if len(raw) < 8:
            return
        packets, drops = struct.unpack_from("=II", raw)  # tpacket_stats(_v3) start alike
        self._received += packets  # the kernel already adds drops into tp_packets
        self._dropped += drops

    def stats(self) -> CaptureStats:
        """Counts so far (reading them resets the kernel's counters; they are summed)."""
        self._read_kernel_stats()
        return CaptureStats(self._captured, self._received, self._dropped)

    def pending(self) -> bool:
        """Whether the kernel has already handed over the next ring block (a consumer
        that is behind can take several blocks before its next costly step)."""
        if self._ring is None:
            return False
        return bool(block_ready(self._ring, self._block * self.block_size))

    def stop(self) -> None:
        """Ask the capture loop to end (safe from a signal handler)."""
        self._stop = True

    @property
    def captured(self) -> int:
        return self._captured

    # -- the loop ------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Frame]:
        if self._sock is None:
            self.open()
        return self._frames()

    def run(self, callback: Callable[[Frame], object]) -> CaptureStats:
        """Call ``callback(frame)`` for every packet until count/duration/stop."""
        with self:
            for frame in self:
                callback(frame)
            return self.stats()

    def _done(self) -> bool:
        if self.count is not None and self._captured >= self.count:
            return True
        now = time.monotonic()
        if self._stop or (self._deadline is not None and now >= self._deadline):
            # drain: the kernel hands over a partly filled block only when its timeout
            # expires, so wait that long once more and deliver what was received
            if self._drain_until is None:
                self._drain_until = now + self.block_timeout_ms / 1000 + 0.05
            return now >= self._drain_until
        return False

    def _wait(self, poller: select.poll) -> None:
        """Wait for the kernel to hand over a block (at most the poll interval, less when
        the capture is about to end); a socket error from a vanished interface raises."""
        timeout = self.poll_interval
        limit = self._drain_until if self._drain_until is not None else self._deadline
        if limit is not None:
            timeout = max(0.001, min(timeout, limit - time.monotonic()))
        try:
            events = poller.poll(int(timeout * 1000))
        except InterruptedError:  # pragma: no cover - PEP 475 retries
            return
        for _, ev in events:
            if ev & select.POLLERR:
                err = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) if self._sock else 0
                if err in (errno.ENETDOWN, errno.ENXIO):
                    raise LiveCaptureError(f"{self.interface}: The interface went down")

    def _frames(self) -> Iterator[Frame]:
        lt = self.linktype
        for batch in self.batches():
            n = self._captured - len(batch)
            for ts, caplen, wirelen, data in batch:
                n += 1
                yield Frame(n, ts, caplen, wirelen, lt, 0, data)

    def batches(self) -> Iterator[list[Record]]:
        """The packets block by block, as lists of ``(ts_ns, caplen, wirelen, data)``:
        the fast path (no Frame objects) that ``pcapkit capture -w`` uses. An empty list
        comes after each wait that brought no block (at most every poll interval)."""
        if self._sock is None:
            self.open()
        assert self._sock is not None and self._ring is not None
        ring = self._ring
        poller = select.poll()
        poller.register(self._sock.fileno(), select.POLLIN | select.POLLERR)
        decoder = BlockDecoder(self.linktype, self.cooked, self.snaplen, self.userland_filter,
                               self._lo_ifindex)
        while not self._done():
            base = self._block * self.block_size
            if not block_ready(ring, base):
                self._wait(poller)
                yield []  # time passed without packets: a writer may flush what it buffers
                continue
            room = 1 << 62 if self.count is None else self.count - self._captured
            try:
                batch = decoder.records(ring, base, room)
            finally:
                release_block(ring, base)
                self._block = (self._block + 1) % self.block_count
            if batch:
                self._captured += len(batch)
                yield batch


def _permission_hint() -> str:
    """How to capture without root, naming this environment's own interpreter: a
    capability set on the system's python3 would let every Python script capture."""
    exe = sys.executable
    if sys.prefix != sys.base_prefix and not os.path.islink(exe):
        # a virtual environment with its own copy of the interpreter: the capability stays there
        return f"run as root, or grant the capabilities to this environment's interpreter: " \
               f"sudo setcap cap_net_raw,cap_net_admin=eip {exe}"
    return ("run as root, or grant the capabilities to an interpreter copy used only for capturing "
            "(not the shared python3 that every script runs): python3 -m venv --copies DIR, install "
            "pcapkit in DIR, then sudo setcap cap_net_raw,cap_net_admin=eip DIR/bin/python3")


def capture(interface: str = "any", bpf_filter: str = "", **options: object) -> LiveCapture:
    """``LiveCapture(interface, bpf_filter, **options)``, for ``with capture(...) as cap``."""
    return LiveCapture(interface, bpf_filter, **options)  # type: ignore[arg-type]
