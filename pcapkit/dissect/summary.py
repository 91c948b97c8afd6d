"""tcpdump's one-line summary of a dissected frame (``tcpdump -n -tt``), for
``pcapkit read`` and ``pcapkit.summary_line``."""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer
from pcapkit.dissect.driver import Packet, _lookup, dissect
from pcapkit.frame import Frame, frame_epoch_text
from pcapkit.proto.consts import tcpdump_flags


def summary_line(frame: Frame, packet: Packet | None = None) -> str:
    """A tcpdump ``-n -tt`` style one-line summary of the frame.

    Link layers contribute nothing (as tcpdump without ``-e``); a network layer gives
    "IP a > b: " (or "IP6", "ARP, ..."); a transport layer with ports turns the
    addresses into "a.port > b.port" and appends its own summary. IPv6 extension
    headers print as tcpdump does ("HBH", "DSTOPT", "RT6 (...)", "frag (off|len)"; an
    authentication header in IPv4 or IPv6 as "AH(spi=..,seq=..,icv=..):"), the ports then
    follow without addresses, a tunnelled IP packet with its own line. Like tcpdump, fragments are shown as they are
    on the wire (never reassembled): the first one with its transport header, the
    others as "ip-proto-N".
    """
    if packet is None:
        packet = dissect(frame)
    ts = frame_epoch_text(frame, 6)
    layers = packet.layers
    idx = next((i for i, layer in enumerate(layers) if layer.protocol in ("ip", "ipv6", "arp")), None)
    # an MPLS label stack before the network layer: tcpdump prints it first
    mpls = " ".join(layer.summary for layer in layers[:idx] if layer.protocol == "mpls")
    if mpls:
        ts = f"{ts} {mpls}"
    if idx is None:
        if mpls:
            return ts
        return f"{ts} [|linktype {frame.linktype}] length {frame.wirelen}"
    net = layers[idx]
    if net.protocol == "arp":
        return f"{ts} {net.summary}"
    v4 = net.protocol == "ip"
    version = net.get("ip.version")
    if v4 and version != 4 and version is not None:
        # a bogus version under the IPv4 EtherType (tshark goes on as IPv6 for 6; tcpdump does not)
        return f"{ts} IP6, wrong link-layer encapsulation (invalid)" if version == 6 else f"{ts} IP{version} (invalid)"
    if not v4 and version != 6 and version is not None:
        return f"{ts} IP6 version error: {version} != 6"
    src = net.fields.get("ip.src" if v4 else "ipv6.src", "?")
    dst = net.fields.get("ip.dst" if v4 else "ipv6.dst", "?")
    head = f"{'IP' if v4 else 'IP6'} {src} > {dst}: "
    rest = layers[idx + 1:]
    ext: list[str] = []
    while rest and (rest[0].protocol.startswith("ipv6.") or rest[0].protocol == "ah"):
        ext.append(_ext_text(rest[0], net))
        rest = rest[1:]
    if ext and ext[-1].endswith("[|ah]"):  # tcpdump stops at a cut authentication header
        return f"{ts} {head}{' '.join(ext)}"
    frag = _fragment_info(net, layers[idx + 1:idx + 1 + len(ext)])
    transport: Layer | None = rest[0] if rest else None
    fragment_end: int | None = None  # (a first fragment's: where its IP payload ends)
    if frag is not None:
        offset, payload_at, proto = frag
        if offset > 0:
            tail = f"ip-proto-{proto}" if v4 else ""
            return f"{ts} {head}{' '.join([*ext, tail]).strip()}".rstrip()
        fragment_end = _ip_end(net)
        transport = _first_fragment_transport(frame, payload_at, proto, fragment_end)
    if transport is None:
        tail = net.summary if v4 else f"ip-proto-{net.fields.get('ipv6.nxt', '?')}"
        if ext and layers[idx + len(ext)].protocol == "ah":
            tail = _after_ah(layers[idx + len(ext)], net)
        return f"{ts} {head}{' '.join([*ext, tail]).strip()}".rstrip()
    ports = _ports(transport)
    if ports is None and ext and transport.protocol in ("ip", "ipv6"):
        # a tunnel after extension headers / AH: tcpdump prints the inner line after them
        inner = summary_line(frame, Packet(frame, rest)).split(" ", 1)[1]
        return f"{ts} {head}{' '.join([*ext, inner])}"
    if ports is None:
        return f"{ts} {head}{' '.join([*ext, transport.summary]).strip()}".rstrip()
    sport, dport = ports
    text = _transport_text(transport, fragment_end)
    if ext:
        return f"{ts} {head}{' '.join(ext)} {sport} > {dport}: {text}".rstrip()
    return f"{ts} {'IP' if v4 else 'IP6'} {src}.{sport} > {dst}.{dport}: {text}".rstrip()


def _transport_text(layer: Layer, first_fragment_end: int | None) -> str:
    """The transport's part of the line after the ports, where tcpdump's differs from the
    layer's summary. TCP (tcp_print): a header length under 20 prints the segment's length
    less the header's (`` tcp 24 [bad hdr length 0 - too short, < 20]``, after two
    spaces); over the segment's, the flags first (``Flags [.] [bad hdr length 60 - too
    long, > 28]``); a header cut short after the ports, `` [|tcp]``. UDP in a first
    fragment (``first_fragment_end``: where the fragment's IP payload ends; udp_print's
    ``fragmented``): the length field is the datagram's, so it is printed as it is, never
    as a bad length; a fragment shorter than the UDP header gives ``truncated-udp N``.
    """
    summary = layer.summary
    if layer.protocol == "tcp":
        if summary == "[|tcp]":
            return " [|tcp]"
        if summary.startswith("[bad hdr length"):
            if summary.endswith("< 20]"):
                return f" tcp {layer.fields.get('tcp.len', 0)} {summary}"
            flags = layer.fields.get("tcp.flags")
            if isinstance(flags, int):
                return f"Flags [{tcpdump_flags(flags)}] {summary}"
        return summary
    if layer.protocol == "udp" and first_fragment_end is not None:
        length = first_fragment_end - layer.offset
        if length < 8:
            return f"truncated-udp {length}"
        ulen = layer.fields.get("udp.length")
        if isinstance(ulen, int):
            return f"truncated-udplength {ulen}" if ulen < 8 else f"UDP, length {ulen - 8}"
    return summary


def _ports(layer: Layer) -> tuple[int, int] | None:
    for proto in ("tcp", "udp"):
        sport = layer.fields.get(f"{proto}.srcport")
        dport = layer.fields.get(f"{proto}.dstport")
        if isinstance(sport, int) and isinstance(dport, int):
            return sport, dport
    return None


def _ext_text(layer: Layer, net: Layer) -> str:
    if layer.protocol == "ah":
        return layer.summary  # "AH(spi=0x..,seq=0x..,icv=0x..):"
    f = layer.fields
    if layer.protocol == "ipv6.hopopts":
        return "HBH"
    if layer.protocol == "ipv6.dstopts":
        return "DSTOPT"
    if layer.protocol == "ipv6.routing":
        rtype = f.get("ipv6.routing.type", "?")
        text = (f"RT6 (len={f.get('ipv6.routing.len', '?')}, type={rtype}"
                f"{' [Deprecated]' if rtype == 0 else ''}, segleft={f.get('ipv6.routing.segleft', '?')}")
        addrs = f.get("ipv6.routing.src.addr")
        if addrs is not None:
            for i, addr in enumerate(addrs if isinstance(addrs, list) else [addrs]):
                text += f", [{i}]{addr}"
        return text + ")"
    if layer.protocol == "ipv6.fraghdr":
        offset = f.get("ipv6.fraghdr.offset", 0) * 8
        end = net.offset + 40 + int(net.fields.get("ipv6.plen", 0))
        return f"frag ({offset}|{max(end - (layer.offset + 8), 0)})"
    return layer.protocol


def _after_ah(ah: Layer, net: Layer) -> str:
    """tcpdump's text for what follows an AH header it does not decode further."""
    nxt = ah.fields.get("ah.next_header", "?")
    if nxt == 59:
        return "no next header"
    f = net.fields
    end = net.offset + (int(f.get("ip.len", 0)) if net.protocol == "ip" else 40 + int(f.get("ipv6.plen", 0)))
    return f" ip-proto-{nxt} {max(end - ah.offset - ah.length, 0)}"


def _ip_end(net: Layer) -> int:
    """Where the IP packet of ``net`` ends in the frame (by its length field)."""
    f = net.fields
    if net.protocol == "ip":
        return net.offset + int(f.get("ip.len", 0))
    return net.offset + 40 + int(f.get("ipv6.plen", 0))


def _fragment_info(net: Layer, ext: list[Layer]) -> tuple[int, int, int] | None:
    """(byte offset, where the fragment's payload starts in the frame, protocol) of a fragment."""
    f = net.fields
    if net.protocol == "ip":
        mf, off = f.get("ip.flags.mf"), f.get("ip.frag_offset", 0)
        if mf or off:
            return off * 8, net.offset + int(f.get("ip.hdr_len", 20)), int(f.get("ip.proto", 0))
        return None
    for layer in ext:
        if layer.protocol == "ipv6.fraghdr":
            lf = layer.fields
            if lf.get("ipv6.fraghdr.more") or lf.get("ipv6.fraghdr.offset"):
                return lf.get("ipv6.fraghdr.offset", 0) * 8, layer.offset + 8, int(lf.get("ipv6.fraghdr.nxt", 0))
    return None


def _first_fragment_transport(frame: Frame, offset: int, proto: int, ip_end: int) -> Layer | None:
    """The transport header at the start of a first fragment, decoded within the
    fragment's IP length (not the frame's: Ethernet padding is no payload)."""
    fn = _lookup("ip.proto", proto)
    end = min(frame.caplen, ip_end)
    if fn is None or offset >= end:
        return None
    ctx = Context(frame_number=frame.number, ts_ns=frame.ts_ns, caplen=frame.caplen, wirelen=frame.wirelen,
                  linktype=frame.linktype, reported_end=ip_end)
    layer, _ = fn(frame.data, offset, end, ctx)
    return layer
