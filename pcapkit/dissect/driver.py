"""The dissection loop: link type -> ... -> transport, collecting layers and findings.

:func:`dissect` turns one :class:`~pcapkit.frame.Frame` into a :class:`Packet`. It
looks each next layer up in the dispatch tables of :mod:`pcapkit.dissect.registry`
(a missing module simply ends the chain, as tshark's "data"). A
:class:`DissectSession` carries state across frames in file order: IPv4/IPv6
fragment reassembly and the TCP stream hook used by stream-level dissectors.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

from pcapkit.dissect import registry
from pcapkit.dissect.base import Context, Dissector, Finding, FindingKind, Layer, Next, _Multi
from pcapkit.dissect.frame_fields import frame_fields
from pcapkit.dissect.http import HEURISTIC_MARK
from pcapkit.frame import Frame, frame_epoch_text, time_invalid

# tshark writes the pseudo-protocol "ethertype" between a link layer that dispatches on
# an EtherType (eth, vlan, sll) and the next one; LLC/SNAP, null and ICMP errors do not.
_ETHERTYPE_PSEUDO = frozenset({"eth", "vlan", "ieee8021ad", "sll"})
MAX_LAYERS = 4096  # bounds the work on hostile nesting (a 64 KiB frame holds at most 3,276 IPv4 headers)


class Packet:
    """One dissected frame: its layers (outer first) and all their findings.

    ``findings`` is gathered from the layers on first access (a layer may decode its
    fields and findings lazily, see :class:`~pcapkit.dissect.base.LazyLayer`).
    ``frame_info`` holds frame.* facts only the file reader knows: frame.interface_id
    (pcapng), and frame.time_epoch = None for records without a timestamp (pcapng
    simple packets).
    """

    __slots__ = ("_findings", "_protocols", "frame", "frame_info", "layers")

    def __init__(self, frame: Frame, layers: list[Layer], findings: list[Finding] | None = None,
                 protocols: str | list[str] = "", frame_info: dict[str, Any] | None = None) -> None:
        self.frame = frame
        self.layers = layers
        self._findings = findings
        self._protocols = protocols
        self.frame_info = frame_info

    @property
    def protocols(self) -> str:
        """``frame.protocols`` as tshark writes it ("eth:ethertype:ip:tcp"), joined on first access."""
        protocols = self._protocols
        if protocols.__class__ is str:
            return protocols
        joined = self._protocols = ":".join(protocols)
        return joined

    @protocols.setter
    def protocols(self, value: str) -> None:
        self._protocols = value

    def __repr__(self) -> str:
        return (f"Packet(frame={self.frame!r}, layers={self.layers!r}, findings={self.findings!r}, "
                f"protocols={self.protocols!r}, frame_info={self.frame_info!r})")

    @property
    def findings(self) -> list[Finding]:
        found = self._findings
        if found is None:
            found = self._findings = [f for layer in self.layers for f in layer.findings]
        return found

    @findings.setter
    def findings(self, value: list[Finding]) -> None:
        self._findings = value

    def fields(self) -> dict[str, Any]:
        """Every field of every layer by Wireshark name; a repeated field is a list in order."""
        out: dict[str, Any] = frame_fields(self.frame, self.protocols)
        if self.frame_info:
            for name, value in self.frame_info.items():
                if value is None:
                    out.pop(name, None)
                else:
                    out[name] = value
        multi: set[str] = set()
        for layer in self.layers:
            lf = layer.fields
            if out.keys().isdisjoint(lf):
                # the usual case: no name in common with the layers before
                out.update(lf)
                for name in [name for name, value in lf.items() if value.__class__ is _Multi]:
                    out[name] = list(lf[name])
                    multi.add(name)
                continue
            for name, value in lf.items():
                if name not in out:
                    if value.__class__ is _Multi:
                        out[name] = list(value)
                        multi.add(name)
                    else:
                        out[name] = value
                    continue
                if name not in multi:
                    out[name] = [out[name]]
                    multi.add(name)
                if value.__class__ is _Multi:
                    out[name].extend(value)
                else:
                    out[name].append(value)
        return out

    def layer(self, protocol: str) -> Layer | None:
        """The first layer of ``protocol``, if any."""
        for layer in self.layers:
            if layer.protocol == protocol:
                return layer
        return None


class DissectSession:
    """State carried across frames in file order.

    ``reassemble_ip``: reassemble IPv4/IPv6 fragments (tshark's default: on).
    ``check_checksums``: validate IP header checksums (tshark's default: off).
    """

    def __init__(self, *, reassemble_ip: bool = True, check_checksums: bool = False,
                 max_reassembly_bytes: int = 16 * 1024 * 1024, reassembly_timeout_ns: int = 60_000_000_000) -> None:
        self.reassemble_ip = reassemble_ip
        self.check_checksums = check_checksums
        self._max_reassembly_bytes = max_reassembly_bytes
        self._timeout_ns = reassembly_timeout_ns
        self._reassembler: Any = None
        self._tcp_dispatcher: Any = None
        self._tcp_dispatcher_tried = False
        # per-protocol state carried across frames (DNS request/response matching), by protocol
        self.protocol_state: dict[str, Any] = {}
        # a heuristic (tshark's HTTP one) claimed a TCP connection on no stream port
        self.stream_heuristic = False

    @property
    def reassembler(self) -> Any:
        if self._reassembler is None:
            from pcapkit.dissect.ipreassembly import IPReassembler

            self._reassembler = IPReassembler(max_bytes=self._max_reassembly_bytes,
                                              timeout_ns=self._timeout_ns)
        return self._reassembler

    @property
    def tcp_dispatcher(self) -> Any:
        if not self._tcp_dispatcher_tried:
            self._tcp_dispatcher_tried = True
            try:
                module = import_module("pcapkit.dissect.tcp_streams")
                self._tcp_dispatcher = module.TcpStreamDispatcher()
            except (ImportError, AttributeError):
                self._tcp_dispatcher = None
        return self._tcp_dispatcher


_LOOKUPS: dict[tuple[str, int | str], Dissector | None] = {}
_MISSING: Any = object()


def _lookup(table: str, key: int | str) -> Dissector | None:
    """registry.lookup, remembered; a module that cannot be imported ends the chain."""
    k = (table, key)
    try:
        return _LOOKUPS[k]
    except KeyError:
        pass
    try:
        fn = registry.lookup(table, key)
    except (ImportError, AttributeError):
        fn = None
    _LOOKUPS[k] = fn
    return fn


def dissect(frame: Frame, session: DissectSession | None = None) -> Packet:
    """Dissect one frame. Never raises for bad input; findings say what was wrong."""
    data = frame.data
    end = len(data)
    wirelen = frame.wirelen
    reported_end = wirelen if wirelen > end else end
    layers: list[Layer] = []
    ctx = Context(frame.number, frame.ts_ns, frame.caplen, wirelen, frame.linktype, reported_end,
                  session.check_checksums if session is not None else False, layers)
    if session is not None:
        ctx.extra["session"] = session
    protocols: list[str] = []
    lookups = _LOOKUPS
    fn = lookups.get(("link", frame.linktype), _MISSING)
    if fn is _MISSING:
        fn = _lookup("link", frame.linktype)
    offset = 0
    while fn is not None and len(layers) < MAX_LAYERS:
        ctx.reported_end = reported_end
        layer, nxt = fn(data, offset, end, ctx)
        proto = layer.protocol
        if proto:
            layers.append(layer)
            protocols.append(proto)
        if nxt is None:
            if proto == "tcp" and session is not None:
                _tcp_fin(layers, protocols, layer, data, ctx, session)
            break
        table, key, n_offset, n_end, n_reported = nxt
        if table == "ip.fragment":
            reassembled, data = _reassemble(layer, nxt, data, ctx, session)
            if reassembled is None:
                break
            table, key, n_offset, n_end, n_reported = reassembled
        if table == "tcp.payload":
            # the key is a port of the tcp.port table when either port is one (tcp.py)
            # other ports: tshark's HTTP heuristic needs "HTTP/1." in the first line, so a payload
            # without "/1." is refused here at C speed (until a connection was claimed)
            if session is not None and (key in _STREAM_PORTS or session.stream_heuristic
                                        or (data.find(HEURISTIC_MARK, n_offset, n_end) >= 0
                                            and _heuristic_wanted(session, data, n_offset, n_end))):
                _tcp_payload(layers, protocols, layer, data, n_offset, n_end, ctx, session)
            elif (n_end if n_end < len(data) else len(data)) > n_offset:
                protocols.append("data")  # undissected payload, as tshark's "data"
            break
        dlen = len(data)
        cap_end = n_end if n_end < dlen else dlen
        if n_offset >= cap_end and (n_reported or n_end) <= n_offset:
            break  # nothing after this layer: tshark calls no further dissector
        fn = lookups.get((table, key), _MISSING)
        if fn is _MISSING:
            fn = _lookup(table, key)
        if table == "ethertype" and proto in _ETHERTYPE_PSEUDO:
            protocols.append("ethertype")
        if n_reported is not None:
            reported_end = n_reported
        elif n_end < end:
            reported_end = n_end
        elif reported_end <= cap_end:
            reported_end = cap_end
        offset, end = n_offset, cap_end
        if fn is None:
            if end > offset or reported_end > offset:
                protocols.append("data")
            break
    if fn is not None and len(layers) >= MAX_LAYERS:
        # a hostile nesting (thousands of VLAN tags, IP in IP in IP ...): stop, and say so
        layers[-1].finding(FindingKind.NOTE, offset,
                           f"dissection stopped after {MAX_LAYERS} layers (the limit); the rest is not decoded")
    pdu_end = ctx.extra.get("pdu_end")
    if pdu_end is not None and pdu_end < frame.caplen:
        _trailer(layers, frame, pdu_end)
    if layers and frame.caplen > frame.wirelen:  # (a damaged record: tshark's frame dissector says so)
        layers[0].finding(FindingKind.MALFORMED, 0, f"{LENGTH_BELOW_CAPTURED}: frame length {frame.wirelen} is less "
                          f"than captured length {frame.caplen}")
    if layers and time_invalid(frame.ts_ns):
        layers[0].finding(FindingKind.NOTE, 0, f"frame.time_invalid: capture time {frame_epoch_text(frame)} s is "
                          "outside what int64 nanoseconds hold; tables carry it saturated "
                          f"({'max' if frame.ts_ns > 0 else 'min'}imum datetime64[ns])")
    return Packet(frame, layers, None, protocols)


LENGTH_BELOW_CAPTURED = "frame.len_lt_caplen"  # (the reason's prefix: the expert item is tshark's)

# TCP ports with a stream-level dissector: their segments go to the session's dispatcher
_STREAM_PORTS = registry.table("tcp.port")


def _tcp_payload(layers: list[Layer], protocols: list[str], tcp_layer: Layer, data: bytes, offset: int,
                 end: int, ctx: Context, session: DissectSession) -> None:
    """A TCP payload: stream-level dissectors (BGP) through the session, else tshark's "data"."""
    before = len(layers)
    dispatcher = session.tcp_dispatcher
    if dispatcher is not None:
        layers.extend(dispatcher.feed(layers, tcp_layer, data, offset, min(end, len(data)), ctx))
        if not session.stream_heuristic and dispatcher.heuristic_active:
            session.stream_heuristic = True     # from now on every TCP payload goes to the dispatcher
    for extra in layers[before:]:
        # several PDUs of one protocol in a segment: tshark names the protocol once
        if extra.protocol and (not protocols or protocols[-1] != extra.protocol):
            protocols.append(extra.protocol)
    if len(layers) == before and min(end, len(data)) > offset:
        protocols.append("data")  # undissected payload, as tshark's "data"


def _heuristic_wanted(session: DissectSession, data: bytes, offset: int, end: int) -> bool:
    """A TCP payload on no stream port that a heuristic may claim (HTTP, as tshark's)."""
    dispatcher = session.tcp_dispatcher
    return dispatcher is not None and bool(dispatcher.wants(data, offset, min(end, len(data))))


def _tcp_fin(layers: list[Layer], protocols: list[str], tcp_layer: Layer, data: bytes, ctx: Context,
             session: DissectSession) -> None:
    """A FIN without payload on a stream port still ends the stream: an HTTP body that runs
    until the connection closes is complete in this frame (as in tshark)."""
    if (not session.stream_heuristic and tcp_layer.get("tcp.srcport") not in _STREAM_PORTS
            and tcp_layer.get("tcp.dstport") not in _STREAM_PORTS):
        return
    if int(tcp_layer.get("tcp.flags", 0) or 0) & 0x001:
        _tcp_payload(layers, protocols, tcp_layer, data, len(data), len(data), ctx, session)


_L3 = frozenset({"ip", "ipv6", "arp", "llc"})
_TRAILER_OWNERS = {"eth": "eth.trailer", "vlan": "vlan.trailer", "sll": "sll.trailer",
                   "ieee8021ad": ""}


def _trailer(layers: list[Layer], frame: Frame, pdu_end: int) -> None:
    """Bytes after the network-layer datagram belong to the innermost link layer (tshark)."""
    owner: Layer | None = None
    for layer in layers:
        if layer.protocol in _L3:
            break
        if layer.protocol in _TRAILER_OWNERS:
            owner = layer
    if owner is None or not _TRAILER_OWNERS[owner.protocol]:
        return
    from pcapkit.dissect.ethernet import add_trailer

    add_trailer(owner, frame.data, pdu_end, frame.caplen, frame.wirelen, _TRAILER_OWNERS[owner.protocol])


def _reassemble(layer: Layer, nxt: Next, data: bytes, ctx: Context,
                session: DissectSession | None) -> tuple[Next | None, bytes]:
    """A fragment: feed the session's reassembler; on completion continue on the whole datagram."""
    payload = data[nxt.offset:min(nxt.end, len(data))]
    info = ctx.extra.pop("frag", None)
    if session is None or not session.reassemble_ip or info is None:
        # no reassembly (tshark with it off): a first fragment is dissected as it is
        first = info is not None and info[5] == 0
        if first:
            table = "ipv6.ext" if info[0] == 6 and nxt.key in (0, 43, 44, 60) else "ip.proto"
            return Next(table, nxt.key, nxt.offset, nxt.end, nxt.reported_end), data
        return Next("ip.data", nxt.key, nxt.offset, nxt.end, nxt.reported_end), data
    done = session.reassembler.add(info, payload, ctx.frame_number, ctx.ts_ns, layer)
    if done is None:
        return Next("ip.data", nxt.key, nxt.offset, nxt.end, nxt.reported_end), data
    whole: bytes = done
    table = "ipv6.ext" if info[0] == 6 and nxt.key in (0, 43, 44, 60) else "ip.proto"
    return Next(table, nxt.key, 0, len(whole), len(whole)), whole


def dissect_file(path: str | Path, session: bool | DissectSession = True,
                 warnings: list[str] | None = None, two_pass: bool = False) -> Iterator[Packet]:
    """Dissect every frame of a capture file in order (with a session unless session=False).

    A damaged or cut file yields every frame before the damage; ``warnings`` (a list)
    then receives what the reader reported (the file, the offset and the reason).
    two_pass: read the file twice, as ``tshark -2``: the fields that name a later frame
    (``http.response_in``, ``http.next_*``) are known on the second (needs a session)."""
    from pcapkit.capture.files import open_capture

    sess: DissectSession | None
    if isinstance(session, DissectSession):
        sess = session
    else:
        sess = DissectSession() if session else None
    if two_pass and sess is not None:
        prepare_second_pass(path, sess)
    with open_capture(path) as reader:
        pcapng = reader.format == "pcapng"
        untimed = getattr(reader, "untimed_frames", ())
        for frame in reader:
            packet = dissect(frame, sess)
            info: dict[str, Any] = {}
            if pcapng and frame.linktype >= 0:
                info["frame.interface_id"] = frame.interface_id
            if untimed and frame.number in untimed:
                info["frame.time_epoch"] = None
            if info:
                packet.frame_info = info
            yield packet
        if warnings is not None:
            warnings.extend(reader.warnings)


def prepare_second_pass(path: str | Path, session: DissectSession) -> None:
    """A first pass over ``path`` (its own session) whose HTTP conversations give ``session``
    the links to later frames (a few integers per HTTP message)."""
    from pcapkit.dissect.http_links import link_table

    first = DissectSession(reassemble_ip=session.reassemble_ip, check_checksums=session.check_checksums)
    record: list[Any] = []
    first.protocol_state["http.record"] = record
    for _ in dissect_file(path, first):
        pass
    session.protocol_state["http.links"] = link_table(record)


def read_frames(path: str | Path) -> Iterator[Frame]:
    """Frames of a capture file, through :func:`pcapkit.capture.files.read_frames`."""
    from pcapkit.capture.files import read_frames as _read

    yield from _read(path)
