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
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pcapkit.capture.bpf import compile_filter
from pcapkit.capture.bpf_program import SKF_AD_OFF, BpfInsn, BpfProgram
from pcapkit.capture.interfaces import InterfaceInfo, interface_info, linktype_for
from pcapkit.errors import CapturePermissionError, FilterError, LiveCaptureError
from pcapkit.frame import Frame

SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_VERSION = 10
PACKET_MR_PROMISC = 1
TPACKET_V3 = 2
SO_ATTACH_FILTER = 26
SO_LOCK_FILTER = 44
ETH_P_ALL = 0x0003

TP_STATUS_KERNEL = 0
TP_STATUS_USER = 1
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40

PACKET_OUTGOING = 4

LINKTYPE_ETHERNET = 1
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276
SLL_HDR_LEN = 16
SLL2_HDR_LEN = 20

SKF_AD_PROTOCOL = 0
SKF_AD_PKTTYPE = 4
SKF_AD_IFINDEX = 8

_BLOCK_HDR = struct.Struct("=IIIIII")   # version, offset_to_priv, block_status, num_pkts, offset_to_first_pkt, blk_len
_PKT_HDR = struct.Struct("=IIIIIIHHIIH")  # next, sec, nsec, snaplen, len, status, mac, net, rxhash, vlan_tci, vlan_tpid
_PKT_FAST = struct.Struct("=IIIIIIH")     # the same, up to tp_mac
_SLL = struct.Struct("=HHiHBB8s")        # family, protocol(BE bytes as native u16), ifindex, hatype, pkttype, halen, addr
_SLL_OFFSET = 48                          # TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
_STATS_V3 = struct.Struct("=III")        # tp_packets, tp_drops, tp_freeze_q_cnt
_MEMBERSHIP = struct.Struct("=iHH8s")     # mr_ifindex, mr_type, mr_alen, mr_address


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


def fix_program_for_cooked(insns: tuple[BpfInsn, ...], linktype: int) -> tuple[BpfInsn, ...] | None:
    """The program for a SOCK_DGRAM socket, where the kernel's filter sees the packet
    from the network header on: offsets lose the cooked header length, loads inside the
    header become Linux ancillary loads (packet type, protocol, ifindex). None if a
    load cannot be translated (the filter must then run in user space), as libpcap's
    ``fix_program``/``fix_offset``."""
    out = []
    for ins in insns:
        cls = ins.code & 0x07
        mode = ins.code & 0xE0
        if cls in (0x00, 0x01) and mode in (0x20, 0x40, 0xA0):  # LD/LDX ABS/IND/MSH
            k = ins.k
            if linktype == LINKTYPE_LINUX_SLL2:
                if k >= SLL2_HDR_LEN:
                    k -= SLL2_HDR_LEN
                elif k == 0:
                    k = SKF_AD_OFF + SKF_AD_PROTOCOL
                elif k == 4:
                    k = SKF_AD_OFF + SKF_AD_IFINDEX
                elif k == 10:
                    k = SKF_AD_OFF + SKF_AD_PKTTYPE
                elif k < 0x80000000:
                    return None
            else:
                if k >= SLL_HDR_LEN:
                    k -= SLL_HDR_LEN
                elif k == 0:
                    k = SKF_AD_OFF + SKF_AD_PKTTYPE
                elif k == 14:
                    k = SKF_AD_OFF + SKF_AD_PROTOCOL
                elif k < 0x80000000:
                    return None
            ins = BpfInsn(ins.code, ins.jt, ins.jf, k & 0xFFFFFFFF)
        out.append(ins)
    return tuple(out)


def _sock_fprog(program: tuple[BpfInsn, ...]) -> tuple[bytes, object]:
    """struct sock_fprog {u16 len; struct sock_filter *filter;} pointing at a buffer that
    must stay alive while setsockopt runs."""
    import ctypes

    raw = BpfProgram(program).to_bytes()
    buf = ctypes.create_string_buffer(raw, len(raw))
    fprog = struct.pack("HL", len(program), ctypes.addressof(buf))
    return fprog, buf


def _bind(sock: socket.socket, ifindex: int, protocol: int) -> None:
    """bind() with a raw sockaddr_ll: ifindex 0 (all interfaces) cannot be said with
    Python's (name, proto) address tuple."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    addr = struct.pack("=H", socket.AF_PACKET) + struct.pack("!H", protocol) + \
        struct.pack("=iHBB8s", ifindex, 0, 0, 0, b"")
    buf = ctypes.create_string_buffer(addr, len(addr))
    if libc.bind(sock.fileno(), buf, len(addr)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _round_pow2(n: int) -> int:
    p = 1
    while p < n:
        p <<= 1
    return p


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
        self.block_size = max(_round_pow2(max(block_size, 4096)),
                              _round_pow2(self.snaplen + hdr_room))
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
                "(socket: Operation not permitted); run as root, or grant the capabilities: "
                "sudo setcap cap_net_raw,cap_net_admin=eip \"$(readlink -f $(which python3))\""
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
            frame_size = 2048
            req = struct.pack("=IIIIIII", self.block_size, self.block_count,
                              frame_size, self.block_size // frame_size * self.block_count,
                              self.block_timeout_ms, 0, 0)
            sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
        except OSError as exc:
            raise LiveCaptureError(f"{self.interface}: cannot set up the TPACKET_V3 ring "
                                   f"({self.block_count} x {self.block_size} bytes): {exc.strerror}") from None
        try:
            self._ring = mmap.mmap(sock.fileno(), self.block_size * self.block_count,
                                   mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError as exc:
            raise LiveCaptureError(f"{self.interface}: mmap of the ring failed: {exc.strerror}") from None
        fprog, keep = _sock_fprog(kernel)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise FilterError(f"the kernel refused the filter: {exc.strerror}") from None
            # the kernel refuses what it cannot check (e.g. protochain's backward jumps):
            # keep everything in the kernel and filter in user space, as libpcap does
            self.userland_filter = program.insns
            kernel = (BpfInsn(0x06, 0, 0, 0x40000),)
            fprog, keep = _sock_fprog(kernel)
            sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_LOCK_FILTER, 1)
        except OSError as exc:
            raise FilterError(f"cannot lock the filter: {exc.strerror}") from None
        del keep
        if self.promisc and ifindex:
            mreq = _MEMBERSHIP.pack(ifindex, PACKET_MR_PROMISC, 0, b"")
            try:
                sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
            except OSError as exc:
                raise LiveCaptureError(f"{self.interface}: cannot set promiscuous mode: {exc.strerror}") from None
        try:
            _bind(sock, ifindex, ETH_P_ALL)
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
            raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS_V3.size)
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

    def _frames(self) -> Iterator[Frame]:
        lt = self.linktype
        for batch in self.batches():
            n = self._captured - len(batch)
            for ts, caplen, wirelen, data in batch:
                n += 1
                yield Frame(n, ts, caplen, wirelen, lt, 0, data)

    def batches(self) -> Iterator[list[tuple[int, int, int, bytes]]]:
        """The packets block by block, as lists of ``(ts_ns, caplen, wirelen, data)``:
        the fast path (no Frame objects) that ``pcapkit capture -w`` uses."""
        from pcapkit.capture.bpf_vm import run_program

        if self._sock is None:
            self.open()
        assert self._sock is not None and self._ring is not None
        ring = self._ring
        poller = select.poll()
        poller.register(self._sock.fileno(), select.POLLIN | select.POLLERR)
        bsize = self.block_size
        cooked = self.cooked
        sll2 = self.linktype == LINKTYPE_LINUX_SLL2
        eth = self.linktype == LINKTYPE_ETHERNET
        snaplen = self.snaplen
        ufilter = self.userland_filter
        lo_ifindex = self._lo_ifindex
        simple = not cooked and ufilter is None and lo_ifindex < 0
        unpack_pkt = _PKT_HDR.unpack_from
        unpack_fast = _PKT_FAST.unpack_from
        unpack_sll = _SLL.unpack_from
        vlan_flag = TP_STATUS_VLAN_VALID
        while not self._done():
            base = self._block * bsize
            status = struct.unpack_from("=I", ring, base + 8)[0]
            if not status & TP_STATUS_USER:
                timeout = self.poll_interval
                limit = self._drain_until if self._drain_until is not None else self._deadline
                if limit is not None:
                    timeout = max(0.001, min(timeout, limit - time.monotonic()))
                try:
                    events = poller.poll(int(timeout * 1000))
                except InterruptedError:  # pragma: no cover - PEP 475 retries
                    continue
                for _, ev in events:
                    if ev & select.POLLERR:
                        err = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) if self._sock else 0
                        if err in (errno.ENETDOWN, errno.ENXIO):
                            raise LiveCaptureError(f"{self.interface}: The interface went down")
                continue
            _, _, _, num_pkts, first, _ = _BLOCK_HDR.unpack_from(ring, base)
            off = base + first
            batch: list[tuple[int, int, int, bytes]] = []
            append = batch.append
            room = num_pkts if self.count is None else min(num_pkts, self.count - self._captured)
            try:
                for _ in range(num_pkts):
                    if len(batch) >= room:
                        break
                    if simple:
                        nxt, sec, nsec, caplen, wirelen, pstatus, mac = unpack_fast(ring, off)
                        if not pstatus & vlan_flag:
                            if caplen > snaplen:
                                caplen = snaplen
                            append((sec * 1_000_000_000 + nsec, caplen, wirelen,
                                    ring[off + mac:off + mac + caplen]))
                            off += nxt
                            continue
                    (nxt, sec, nsec, caplen, wirelen, pstatus, mac, net, _rx, vlan_tci,
                     vlan_tpid) = unpack_pkt(ring, off)
                    _fam, proto, ifindex, hatype, pkttype, halen, addr = unpack_sll(ring, off + _SLL_OFFSET)
                    if lo_ifindex >= 0 and pkttype == PACKET_OUTGOING and ifindex == lo_ifindex:
                        off += nxt
                        continue
                    start = off + (net if cooked else mac)
                    data = ring[start:start + caplen]
                    if cooked:
                        if sll2:
                            head = struct.pack("!HHIHBB", socket.ntohs(proto), 0, ifindex, hatype,
                                               pkttype, halen) + addr[:halen].ljust(8, b"\0")
                            hl = SLL2_HDR_LEN
                        else:
                            head = (struct.pack("!HHH", pkttype, hatype, halen)
                                    + addr[:halen].ljust(8, b"\0") + struct.pack("=H", proto))
                            hl = SLL_HDR_LEN
                        data = head + data
                        caplen += hl
                        wirelen += hl
                    # as libpcap: a user-space filter sees the packet before the VLAN tag
                    # goes back in, with the tag as ancillary data
                    if ufilter is not None and not run_program(
                            ufilter, data, wirelen,
                            aux=(1 if pstatus & vlan_flag else 0, vlan_tci & 0x0FFF)):
                        off += nxt
                        continue
                    if pstatus & vlan_flag:
                        tpid = vlan_tpid if pstatus & TP_STATUS_VLAN_TPID_VALID else 0x8100
                        voff = 12 if eth else (14 if cooked and not sll2 else -1)
                        if voff >= 0 and caplen >= voff:
                            data = data[:voff] + struct.pack("!HH", tpid, vlan_tci & 0xFFFF) + data[voff:]
                            caplen += 4
                            wirelen += 4
                    if caplen > snaplen:
                        data = data[:snaplen]
                        caplen = snaplen
                    append((sec * 1_000_000_000 + nsec, caplen, wirelen, data))
                    off += nxt
            finally:
                struct.pack_into("=I", ring, base + 8, TP_STATUS_KERNEL)
                self._block = (self._block + 1) % self.block_count
            if batch:
                self._captured += len(batch)
                yield batch


class RecordSink:
    """A binary file that takes whole records (one ``write`` call each, as the pcap and
    pcapng writers make them) and, if writing fails (disk full), cuts the file back to
    its last complete record so that what was written stays readable."""

    def __init__(self, path: str, *, buffer_bytes: int = 1 << 20) -> None:
        self.path = path
        if path == "-":
            self.fd = os.dup(1)
        else:
            try:
                self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            except OSError as exc:
                from pcapkit.errors import CaptureWriteError

                raise CaptureWriteError(f"{path}: {exc.strerror}") from None
        self.seekable = path != "-" and os.path.isfile(path)
        self.committed = 0          # bytes on disk that end at a record boundary
        self._buf: list[bytes] = []
        self._ends: list[int] = []
        self._buffered = 0
        self._limit = buffer_bytes
        self.failed: OSError | None = None

    @property
    def size(self) -> int:
        """Bytes written so far, buffered ones included."""
        return self.committed + self._buffered

    def write(self, record: bytes) -> int:
        """Append one whole record."""
        return self.write_records(bytes(record), (len(record),))

    def write_records(self, blob: bytes, ends: tuple[int, ...] | list[int]) -> int:
        """Append several records at once; ``ends`` are the offsets in ``blob`` where each
        record ends (so a failed write can be cut back to a record boundary)."""
        if self.failed is not None:
            raise self.failed
        base = self._buffered
        self._buf.append(blob)
        self._ends.extend(base + e for e in ends)
        self._buffered += len(blob)
        if self._buffered >= self._limit:
            self.flush()
        return len(blob)

    def flush(self) -> None:
        if self.failed is not None:
            raise self.failed
        if not self._buf:
            return
        blob = memoryview(b"".join(self._buf))
        ends = self._ends
        self._buf = []
        self._ends = []
        self._buffered = 0
        done = 0
        try:
            while done < len(blob):
                done += os.write(self.fd, blob[done:])
        except OSError as exc:
            complete = max((e for e in ends if e <= done), default=0)
            if self.seekable:
                with contextlib.suppress(OSError):
                    os.ftruncate(self.fd, self.committed + complete)
            self.committed += complete
            self.failed = exc
            raise
        self.committed += done

    def close(self) -> None:
        try:
            if self.failed is None:
                self.flush()
        finally:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1


class CaptureOutput:
    """Write live frames to pcap or pcapng files (format by extension: ``.pcapng`` /
    ``.ntar`` give pcapng), with tcpdump's rotation: ``rotate_bytes`` (-C) starts
    FILE1, FILE2, ... when a file passes the size; ``rotate_seconds`` (-G) starts a new
    file every so many seconds, the name expanded with strftime like tcpdump.
    A pcapng file ends with an Interface Statistics Block (received, dropped)."""

    def __init__(self, path: str, *, linktype: int, snaplen: int, fmt: str | None = None,
                 rotate_bytes: int | None = None, rotate_seconds: float | None = None,
                 interface_name: str | None = None, nanosecond: bool = True) -> None:
        self.template = path
        self.linktype = linktype
        self.snaplen = snaplen
        if fmt is None:
            fmt = "pcapng" if path.endswith((".pcapng", ".ntar", ".pcapng.tmp")) else "pcap"
        self.fmt = fmt
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self.interface_name = interface_name
        self.nanosecond = nanosecond
        self.files: list[str] = []
        self.written = 0
        self._index = 0
        self._opened_at: float = 0.0
        self._sink: RecordSink | None = None
        self._writer: object = None
        self._name_base = ""

    def _name(self) -> str:
        if self.template == "-":
            return "-"
        base = time.strftime(self.template) if self.rotate_seconds else self.template
        if self.rotate_bytes and self._index:
            return f"{base}{self._index}"
        return base

    def _open(self) -> None:
        from pcapkit.capture.pcap import PcapWriter
        from pcapkit.capture.pcapng import PcapngWriter

        name = self._name()
        self._sink = RecordSink(name)
        self.files.append(name)
        self._opened_at = time.monotonic()
        target = self._sink
        if self.fmt == "pcapng":
            w = PcapngWriter(target, snaplen=self.snaplen)  # type: ignore[arg-type]
            w.add_interface(self.linktype, snaplen=self.snaplen, name=self.interface_name)
            self._writer = w
        else:
            self._writer = PcapWriter(target, linktype=self.linktype,  # type: ignore[arg-type]
                                      snaplen=self.snaplen, nanosecond=self.nanosecond)

    def _close_file(self, stats: CaptureStats | None) -> None:
        if self._sink is None:
            return
        from pcapkit.capture.pcapng import PcapngWriter

        try:
            if stats is not None and isinstance(self._writer, PcapngWriter) and self._sink.failed is None:
                self._writer.write_statistics(0, time.time_ns(), ifrecv=stats.received,
                                              ifdrop=stats.dropped)
        finally:
            sink = self._sink
            self._sink = None
            self._writer = None
            sink.close()

    def write(self, frame: Frame) -> None:
        if self._sink is None:
            self._open()
        elif self.rotate_seconds and time.monotonic() - self._opened_at >= self.rotate_seconds:
            self._close_file(None)
            self._index = 0 if not self.rotate_bytes else self._index
            self._open()
        elif self.rotate_bytes and self._sink.size >= self.rotate_bytes:
            self._close_file(None)
            self._index += 1
            self._open()
        assert self._writer is not None
        self._writer.write(frame)  # type: ignore[attr-defined]
        self.written += 1

    def write_batch(self, batch: list[tuple[int, int, int, bytes]]) -> None:
        """Write a block of ``(ts_ns, caplen, wirelen, data)`` records in one go (no
        Frame objects); with size rotation, record by record."""
        if self._sink is None:
            self._open()
        elif self.rotate_seconds and time.monotonic() - self._opened_at >= self.rotate_seconds:
            self._close_file(None)
            self._open()
        if self.rotate_bytes:
            for ts, caplen, wirelen, data in batch:
                self.write(Frame(self.written + 1, ts, caplen, wirelen, self.linktype, 0, data))
            return
        assert self._sink is not None
        if self.fmt == "pcapng":
            pack = struct.Struct("<IIIIIII").pack
            parts = []
            ends = []
            end = 0
            for ts, caplen, wirelen, data in batch:
                pad = -caplen % 4
                blen = 32 + caplen + pad
                parts.append(pack(6, blen, 0, ts >> 32, ts & 0xFFFFFFFF, caplen, wirelen))
                parts.append(data)
                parts.append(b"\0" * pad + blen.to_bytes(4, "little"))
                end += blen
                ends.append(end)
        else:
            pack = struct.Struct("<IIII").pack
            div = 1 if self.nanosecond else 1000
            parts = []
            ends = []
            end = 0
            for ts, caplen, wirelen, data in batch:
                sec, frac = divmod(ts, 1_000_000_000)
                parts.append(pack(sec, frac // div, caplen, wirelen))
                parts.append(data)
                end += 16 + caplen
                ends.append(end)
        try:
            self._sink.write_records(b"".join(parts), ends)
        except OSError as exc:
            from pcapkit.errors import CaptureWriteError

            raise CaptureWriteError(f"write failed: {exc.strerror or exc}") from None
        self.written += len(batch)

    @property
    def failed(self) -> OSError | None:
        return self._sink.failed if self._sink is not None else None

    def close(self, stats: CaptureStats | None = None) -> None:
        if self._sink is None and not self.files:
            self._open()  # an empty capture still gives a valid (empty) file
        self._close_file(stats)


def capture(interface: str = "any", bpf_filter: str = "", **options: object) -> LiveCapture:
    """``LiveCapture(interface, bpf_filter, **options)``, for ``with capture(...) as cap``."""
    return LiveCapture(interface, bpf_filter, **options)  # type: ignore[arg-type]


def ring_size_for(snaplen: int, buffer_bytes: int, block_size: int = 1 << 20) -> tuple[int, int]:
    """(block_size, block_count) for a total ring of about ``buffer_bytes``."""
    bs = max(_round_pow2(block_size), _round_pow2(snaplen + 128))
    return bs, max(1, buffer_bytes // bs)


def os_error_line(exc: OSError) -> str:
    return exc.strerror or os.strerror(exc.errno or 0)
