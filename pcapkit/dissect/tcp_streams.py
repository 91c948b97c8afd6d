"""Stream-level dissection over TCP: reassemble each direction, cut it into PDUs.

:class:`TcpStreamDispatcher` keeps one :class:`~pcapkit.dissect.stream_reassembly.StreamReassembler`
per (conversation, direction) and cuts the byte stream into messages: BGP (TCP port 179:
16-byte marker + 2-byte length) and DNS (TCP port 53: a 2-byte length before each
message, RFC 1035 4.2.2). A message is decoded in the frame that
delivers its last byte, and every message completed by a frame is returned for that
frame -- as Wireshark attributes PDUs that span segments to the frame with the last
segment. Retransmitted bytes are delivered once, so a retransmission decodes nothing
(as tshark, whose TCP layer does not hand retransmitted data to BGP again).

Per BGP session the dispatcher remembers which side's OPEN advertised the 4-octet AS
capability and passes ``ctx.extra["bgp.asn_len"]`` (2 or 4) to the BGP dissector once
both OPENs were seen; without them the dissector falls back to Wireshark's heuristic.

HTTP runs on tshark's HTTP ports and, as tshark's ``http_tcp`` heuristic, on a connection
whose segment on no stream port starts with a request or status line (from that frame on).
For HTTP and TLS, a segment wholly below the highest sequence number seen in its direction
is tshark's out-of-order or retransmitted segment and is not handed to them; after a hole,
the rest of an HTTP message whose length its header gave is skipped (tshark's reassembly
keeps that message's sequence range), and the next message starts where it ends.

The driver calls :meth:`TcpStreamDispatcher.feed` for TCP payloads;
:func:`dissect_bgp_file` gives the BGP layers of a whole capture file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pcapkit.dissect.base import Context, Finding, FindingKind, Layer
from pcapkit.dissect.http import (
    HTTP_PORTS,
    HttpConversation,
    cut_messages,
    dissect_message,
    heuristic_start,
    pending_length,
)
from pcapkit.dissect.http_links import second_pass_frame
from pcapkit.dissect.stream_reassembly import Data, Fin, Gap, LimitReached, StreamReassembler
from pcapkit.proto.seq import seq_add, seq_lt, seq_max

BGP_PORT = 179
DNS_PORT = 53
# the stream-level protocols by port, the lower port first (as the tcp.port table is tried);
# HTTP and TLS on tshark 4.0's default ports for them (see pcapkit.dissect.http / tls)
STREAM_PROTOCOLS = {BGP_PORT: "bgp", DNS_PORT: "dns", 443: "tls", 993: "tls",
                    **dict.fromkeys(HTTP_PORTS, "http")}
MARKER = b"\xff" * 16
HEADER_LEN = 19

DirKey = tuple[str, int, str, int]          # (src, sport, dst, dport)


@dataclass(slots=True)
class _Direction:
    reassembler: StreamReassembler
    protocol: str = "bgp"
    buf: bytearray = field(default_factory=bytearray)
    at_fin: bool = False                 # every byte before the FIN delivered
    end_offset: int = 0                  # stream offset just after the last byte put in ``buf``
    skip_to: int | None = None           # HTTP: the stream offset where a message lost in a gap ends


def stream_protocol(sport: int, dport: int) -> str | None:
    """The stream-level protocol of a TCP segment's ports (the lower port first), or None."""
    low, high = (sport, dport) if sport <= dport else (dport, sport)
    return STREAM_PROTOCOLS.get(low) or STREAM_PROTOCOLS.get(high)


@dataclass(slots=True)
class _Session:
    four_octet: dict[DirKey, bool] = field(default_factory=dict)   # OPEN seen per direction

    def asn_len(self) -> int | None:
        if len(self.four_octet) < 2:
            return None
        return 4 if all(self.four_octet.values()) else 2


@dataclass(slots=True)
class TcpStreamDispatcher:
    """Reassembles TCP directions and yields the BGP and DNS message layers of each frame.

    max_buffered: out-of-order bytes kept per direction (see StreamReassembler).
    reorder:      wait for holes to be filled (False, the default, is tshark's default:
                  a segment after a hole starts afresh, resynchronising on the marker).
    max_streams:  directions tracked at once; beyond it new directions are ignored
                  and a NOTE finding is returned once.
    """

    max_buffered: int = 4 * 1024 * 1024
    reorder: bool = False
    max_streams: int = 100_000
    _dirs: dict[DirKey, _Direction] = field(default_factory=dict)
    _sessions: dict[tuple[DirKey, DirKey], _Session] = field(default_factory=dict)
    _conversations: dict[tuple[DirKey, DirKey], Any] = field(default_factory=dict)  # HTTP/TLS per connection
    _next_seq: dict[DirKey, int] = field(default_factory=dict)  # HTTP/TLS, per direction: the highest next sequence
    _heuristic: dict[tuple[DirKey, DirKey], str] = field(default_factory=dict)  # HTTP found by heuristic
    _limit_noted: bool = False

    @property
    def heuristic_active(self) -> bool:
        """Whether a heuristic claimed a connection (its segments then come to :meth:`feed`)."""
        return bool(self._heuristic)

    def wants(self, data: bytes, offset: int, end: int) -> bool:
        """Whether a segment on no stream port may be HTTP (for the driver): once tshark's
        heuristic found HTTP in a connection, its later segments are; else the heuristic."""
        return bool(self._heuristic) or heuristic_start(data, offset, end)

    def feed(self, packet_layers: list[Layer], tcp_layer: Layer, data: bytes, offset: int, end: int,
             ctx: Context) -> list[Layer]:
        """One TCP segment, its payload at ``data[offset:end]``, with the layers decoded so far;
        returns the BGP or DNS layers of the messages this frame completes.

        Segments of other ports are refused before anything is decoded or copied (the
        layers may decode lazily, see :class:`~pcapkit.dissect.base.LazyLayer`)."""
        sport, dport = tcp_layer.get("tcp.srcport"), tcp_layer.get("tcp.dstport")
        heuristic = sport not in STREAM_PROTOCOLS and dport not in STREAM_PROTOCOLS
        if heuristic and not self.wants(data, offset, end):
            return []
        seq, flags = tcp_layer.get("tcp.seq_raw"), tcp_layer.get("tcp.flags", 0)
        if not isinstance(sport, int) or not isinstance(dport, int) or not isinstance(seq, int):
            return []
        src = dst = None
        for lay in packet_layers:
            if lay.protocol == "ip":
                src, dst = lay.get("ip.src"), lay.get("ip.dst")
            elif lay.protocol == "ipv6":
                src, dst = lay.get("ipv6.src"), lay.get("ipv6.dst")
        if src is None or dst is None:
            return []
        protocol = None
        if heuristic:
            pair = _pair((str(src), sport, str(dst), dport))
            protocol = self._heuristic.get(pair)
            if protocol is None:
                if len(self._heuristic) >= self.max_streams or not heuristic_start(data, offset, end):
                    return []
                protocol = self._heuristic[pair] = "http"
        return self.feed_segment(str(src), sport, str(dst), dport, seq, int(flags), data[offset:end], ctx,
                                 tcp_layer, protocol)

    def feed_segment(self, src: str, sport: int, dst: str, dport: int, seq: int, flags: int,
                     payload: bytes, ctx: Context, tcp_layer: Layer | None = None,
                     protocol: str | None = None) -> list[Layer]:
        """One segment's payload; a note about missing bytes goes on ``tcp_layer`` (when given,
        naming HTTP/TLS) if the HTTP/TLS stream yields no message in this frame, as tshark names
        no HTTP or TLS for such a frame. protocol: the stream's protocol when no port names it (a heuristic's)."""
        protocol = protocol or stream_protocol(sport, dport)
        if protocol is None:
            return []
        key: DirKey = (src, sport, dst, dport)
        stale = False
        if protocol in ("http", "tls"):
            cut = ctx.wirelen > ctx.caplen and bool(payload)
            end = seq_add(seq, len(payload) + (ctx.wirelen - ctx.caplen if cut else 0) + bool(flags & 0x003))
            seen = self._next_seq.get(key)
            if seen is None or len(self._next_seq) < self.max_streams:
                self._next_seq[key] = end if seen is None else seq_max(seen, end)
            # wholly below the highest sequence seen (a FIN or a later segment came first):
            # tshark's out-of-order or retransmitted segment, which its TCP layer does not
            # hand to HTTP/TLS (reassemble_out_of_order is off by default)
            stale = bool(payload) and seen is not None and seq_lt(seq, seen) and not seq_lt(seen, end)
        if protocol == "http" and cut:
            if seen is not None and seq_lt(seq, seen):
                return []  # tshark's retransmission (below the highest sequence seen): no HTTP layer
            return self._http_cut_segment(key, payload, ctx)
        d = self._dirs.get(key)
        if d is None:
            if len(self._dirs) >= self.max_streams:
                if not self._limit_noted:
                    self._limit_noted = True
                    lay = Layer(protocol, 0)
                    lay.finding(FindingKind.NOTE, 0, f"stream limit {self.max_streams} reached; new TCP directions ignored")
                    return [lay]
                return []
            d = _Direction(StreamReassembler(max_buffered=self.max_buffered, reorder=self.reorder,
                                             conflict_window=0), protocol)
            self._dirs[key] = d
        r = d.reassembler
        if flags & 0x002 and r.base is not None and (seq + 1) & 0xFFFFFFFF != r.base:
            # a SYN with a new initial sequence number: a new connection on the same ports
            d = _Direction(StreamReassembler(max_buffered=self.max_buffered, reorder=self.reorder,
                                             conflict_window=0), protocol)
            self._dirs[key] = d
            self._session(key).four_octet.clear()
            self._conversations.pop(_pair(key), None)
        out: list[Layer] = []
        notes: list[str] = []
        for ev in d.reassembler.feed(seq, payload, flags, ctx.frame_number, ctx.ts_ns):
            if isinstance(ev, Data) and stale:
                notes.append(f"{len(ev.data)} bytes arrived after later ones (out of order); "
                             f"the {protocol.upper()} messages after them start afresh")
                d.buf.clear()
                d.end_offset = ev.offset + len(ev.data)
            elif isinstance(ev, Data):
                _append(d, ev)
            elif isinstance(ev, Gap):
                notes.append(f"{ev.length} bytes missing from the TCP stream; " + (
                    "BGP resynchronised on the next marker" if protocol == "bgp" else
                    f"the {protocol.upper()} messages after them start afresh"))
                if protocol == "http":
                    self._http_gap(key, d)
                d.buf.clear()
            elif isinstance(ev, LimitReached):
                notes.append(f"out-of-order buffer limit {ev.limit} reached")
            elif isinstance(ev, Fin):
                d.at_fin = True
        if protocol == "bgp":
            out += self._messages(key, d, ctx)
        elif protocol == "dns":
            out += _dns_messages(d.buf, ctx)
        elif protocol == "http":
            out += self._http_messages(key, d, bool(flags & 0x001), ctx)
        else:
            out += self._tls_records(key, d, ctx)
        if notes and not out and tcp_layer is not None and protocol in ("http", "tls"):
            # no HTTP/TLS layer in this frame (as in tshark): the note rides on the TCP layer
            # but names the protocol whose messages it is about
            tcp_layer.findings.extend(Finding(FindingKind.NOTE, protocol, 0, n) for n in notes)
        elif notes:
            target = out[0] if out else Layer(protocol, 0)
            for n in notes:
                target.finding(FindingKind.NOTE, 0, n)
            if not out:
                out.append(target)
        return out

    def _http_messages(self, key: DirKey, d: _Direction, fin_segment: bool, ctx: Context) -> list[Layer]:
        conv = self._conversations.get(_pair(key))
        if conv is None:
            conv = self._conversations[_pair(key)] = _new_http_conversation(HttpConversation(), ctx)
        layers = (dissect_message(m, ctx, conv) for m in cut_messages(d.buf, conv, fin_segment, d.at_fin))
        out = [layer for layer in layers if layer is not None]
        second_pass_frame(out, ctx)
        return out

    def _http_gap(self, key: DirKey, d: _Direction) -> None:
        """Bytes are missing: a message whose length its header gave, cut by the gap, is lost,
        but where it ends is known. tshark's TCP reassembly keeps that PDU's sequence range,
        so the bytes after the gap up to its end are no new message; the next starts there."""
        conv = self._conversations.get(_pair(key))
        length = pending_length(d.buf, conv if conv is not None else HttpConversation())
        if length is not None and length > len(d.buf):
            d.skip_to = d.end_offset - len(d.buf) + length

    def _tls_records(self, key: DirKey, d: _Direction, ctx: Context) -> list[Layer]:
        from pcapkit.dissect.tls import TlsSession, cut_records

        session = self._conversations.get(_pair(key))
        if session is None:
            session = self._conversations[_pair(key)] = TlsSession()
        return cut_records(d.buf, session, key, ctx, d.at_fin)

    def _http_cut_segment(self, key: DirKey, payload: bytes, ctx: Context) -> list[Layer]:
        """A segment cut by the snaplen: tshark does not reassemble it but dissects what is
        there; the stream's later bytes start afresh (the reassembler sees a gap)."""
        conv = self._conversations.get(_pair(key))
        if conv is None:
            conv = self._conversations[_pair(key)] = _new_http_conversation(HttpConversation(), ctx)
        out = []
        for m in cut_messages(bytearray(payload), conv, True, True, partial=True):
            layer = dissect_message(m, ctx, conv)
            if layer is None:
                continue
            layer.finding(FindingKind.TRUNCATED, 0, "the segment was cut by the capture's snapshot length")
            out.append(layer)
        return out

    def _session(self, key: DirKey) -> _Session:
        skey = _pair(key)
        s = self._sessions.get(skey)
        if s is None:
            s = self._sessions[skey] = _Session()
        return s

    def _messages(self, key: DirKey, d: _Direction, ctx: Context) -> list[Layer]:
        from pcapkit.dissect.bgp import dissect_bgp

        out: list[Layer] = []
        buf = d.buf
        pos = 0                              # consumed bytes; the buffer is compacted once
        while True:
            avail = len(buf) - pos
            if avail <= 0:
                break
            head = bytes(buf[pos:pos + 16])
            if head != MARKER:
                if avail < 16 and MARKER.startswith(head):
                    break                    # the start of a marker: wait for more
                i = buf.find(MARKER, pos)
                if i >= 0:
                    skipped = i - pos
                else:   # keep trailing 0xff bytes: they may begin the next marker
                    tail = bytes(buf[max(pos, len(buf) - 15):])
                    skipped = avail - (len(tail) - len(tail.rstrip(b"\xff")))
                if skipped <= 0:
                    break
                lay = Layer("bgp", 0, skipped)
                lay.finding(FindingKind.MALFORMED, 0, f"{skipped} bytes without a BGP marker (continuation)")
                lay.summary = f"BGP, continuation, length: {skipped}"
                out.append(lay)
                pos += skipped
                continue
            if avail < HEADER_LEN:
                break
            length = int.from_bytes(buf[pos + 16:pos + 18], "big")
            if length < HEADER_LEN:
                # a length that cannot be: decode the header alone, then resynchronise
                length = HEADER_LEN
            if avail < length:
                break
            msg = bytes(buf[pos:pos + length])
            pos += length
            out.append(self._decode(key, msg, ctx, dissect_bgp))
        if pos:
            del buf[:pos]
        return out

    def _decode(self, key: DirKey, msg: bytes, ctx: Context, dissect: Any) -> Layer:
        session = self._session(key)
        sub = Context(frame_number=ctx.frame_number, ts_ns=ctx.ts_ns, caplen=ctx.caplen,
                      wirelen=ctx.wirelen, linktype=ctx.linktype, layers=ctx.layers,
                      extra=dict(ctx.extra))
        asn_len = session.asn_len()
        if asn_len is not None:
            sub.extra["bgp.asn_len"] = asn_len
        layer: Layer = dissect(msg, 0, len(msg), sub)[0]
        if msg[18] == 1:
            caps = layer.fields.get("bgp.cap.type")
            types = caps if isinstance(caps, list) else ([caps] if caps is not None else [])
            session.four_octet[key] = 65 in types
        return layer


def _new_http_conversation(conv: Any, ctx: Context) -> Any:
    """A new HTTP conversation, also kept for the second pass when the session records them
    (see :func:`pcapkit.dissect.http_links.link_table`)."""
    session = ctx.extra.get("session")
    record = getattr(session, "protocol_state", {}).get("http.record")
    if record is not None:
        record.append(conv)
    return conv


def _append(d: _Direction, ev: Data) -> None:
    """In-order bytes into the direction's buffer, less those of a message lost in a gap."""
    data = ev.data
    if d.skip_to is not None:
        drop = d.skip_to - ev.offset
        if drop >= len(data):
            d.end_offset = ev.offset + len(data)
            return
        d.skip_to = None
        data = data[max(0, drop):]
    d.buf += data
    d.end_offset = ev.offset + len(ev.data)


def _pair(key: DirKey) -> tuple[DirKey, DirKey]:
    """Both directions of a connection, in a fixed order."""
    rev: DirKey = (key[2], key[3], key[0], key[1])
    return (key, rev) if key <= rev else (rev, key)


def _dns_messages(buf: bytearray, ctx: Context) -> list[Layer]:
    """The DNS messages complete in ``buf`` (each after its 2-byte length), removed from it."""
    from pcapkit.dissect.dns import dissect_dns_tcp_message

    out: list[Layer] = []
    pos = 0
    while len(buf) - pos >= 2:
        length = int.from_bytes(buf[pos:pos + 2], "big")
        if len(buf) - pos < 2 + length:
            break                            # wait for the rest of the message
        msg = bytes(buf[pos:pos + 2 + length])
        pos += 2 + length
        sub = Context(frame_number=ctx.frame_number, ts_ns=ctx.ts_ns, caplen=ctx.caplen, wirelen=ctx.wirelen,
                      linktype=ctx.linktype, reported_end=len(msg), layers=ctx.layers, extra=dict(ctx.extra))
        out.append(dissect_dns_tcp_message(msg, sub))
    if pos:
        del buf[:pos]
    return out


# -- a whole file ---------------------------------------------------------------------------


def dissect_bgp_file(path: str | Path) -> list[tuple[int, list[Layer]]]:
    """Every frame of a capture that completes BGP messages: (frame_number, [Layer, ...]),
    from the per-packet dissection of the file (one session: IP reassembly, then TCP
    stream reassembly and BGP framing through :class:`TcpStreamDispatcher`)."""
    from pcapkit.dissect.driver import dissect_file

    result: list[tuple[int, list[Layer]]] = []
    for packet in dissect_file(path):
        layers = [layer for layer in packet.layers if layer.protocol == "bgp"]
        if layers:
            result.append((packet.frame.number, layers))
    return result
