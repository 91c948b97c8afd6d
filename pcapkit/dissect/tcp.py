"""TCP header (RFC 9293) and its options, per segment and without state.

Emits raw sequence/ack numbers (``tcp.seq_raw``/``tcp.ack_raw``); relative numbers,
``tcp.stream`` and every ``tcp.analysis.*`` field belong to the flow engine
(:mod:`pcapkit.tcpflow`), which fills ``tcp.seq = (seq_raw - isn) mod 2^32`` per
direction. SACK edges are emitted raw for the same reason (tshark shows them relative
to the peer's ISN unless ``tcp.relative_sequence_numbers`` is off).

Options: EOL(0), NOP(1), MSS(2), window scale(3), SACK-permitted(4), SACK(5),
timestamps(8), MD5(19), MPTCP(30: every subtype named, MP_CAPABLE and DSS decoded),
TFO(34), AccECN (172/174), experimental (253/254 with the TFO and AccECN ExIDs); any other
kind is kept as its kind/length and raw bytes (``tcp.options``) with an UNSUPPORTED finding. The payload goes to the driver as ``Next("tcp.payload", port)``
(stream reassembly, then the ``tcp.port`` table).
"""

from __future__ import annotations

from typing import Any

from pcapkit.dissect import registry
from pcapkit.dissect.base import (
    Context,
    FindingKind,
    Layer,
    LazyLayer,
    Next,
    Result,
    _Multi,
    _next,
    quick_fields,
)
from pcapkit.dissect.registry import pick_port
from pcapkit.dissect.udp import (
    CHECKSUM_BAD,
    CHECKSUM_GOOD,
    CHECKSUM_UNVERIFIED,
    verify_checksum,
)
from pcapkit.fields import MISSING, FieldSpec
from pcapkit.proto.consts import TCP_ACK, TCP_RST, TCP_URG, flags_str, tcpdump_flags
from pcapkit.proto.tcp import DERIVED, FLAG_NAMES, HDR_LEN_AT, HDR_LEN_OF_BYTE, HEADER
from pcapkit.proto.tcp_options import (
    ACCECN0,
    ACCECN1,
    EOL,
    EXP1,
    EXP2,
    EXP_ACCECN,
    EXP_TFO,
    FIXED_LENGTH,
    MAX_WSCALE,
    MD5,
    MPTCP,
    MSS,
    NOP,
    OPT_BAD_LENGTH,
    OPT_CUT,
    OPT_CUT_BODY,
    OPT_EOL,
    OPT_NO_LENGTH,
    OPT_NOP,
    OPT_OK,
    SACK,
    SACK_BLOCK,
    SACK_PERM,
    TFO,
    TIMESTAMP,
    WSCALE,
    option_at,
)

__all__ = ["FIELDS", "dissect_tcp", "flags_str", "tcpdump_flags"]

FIELDS: tuple[FieldSpec, ...] = (
    *HEADER.specs,
    *DERIVED,
    FieldSpec("tcp.port", "uint", 16, doc="Source or Destination Port"),
    FieldSpec("tcp.flags.str", "string", doc="TCP Flags as letters"),
    FieldSpec("tcp.checksum.status", "uint", 8, doc="0 bad, 1 good, 2 unverified"),
    FieldSpec("tcp.options", "bytes", doc="TCP Options (all option bytes)"),
    FieldSpec("tcp.option_kind", "uint", 8, doc="Kind of each option"),
    FieldSpec("tcp.option_len", "uint", 8, doc="Length of each option with a length byte"),
    FieldSpec("tcp.options.tfo.cookie", "bytes", doc="TCP Fast Open cookie"),
    FieldSpec("tcp.options.md5.digest", "bytes", doc="MD5 digest (RFC 2385)"),
    FieldSpec("tcp.options.mptcp.subtype", "uint", 8, doc="Multipath TCP subtype"),
    FieldSpec("tcp.options.mptcp.version", "uint", 8, doc="MP_CAPABLE version"),
    FieldSpec("tcp.options.mptcp.flags", "uint", 8, "hex", doc="MPTCP option flags"),
    FieldSpec("tcp.options.mptcp.checksumreq.flags", "uint", 8, doc="MP_CAPABLE A: checksum required"),
    FieldSpec("tcp.options.mptcp.extensibility.flag", "uint", 8, doc="MP_CAPABLE B: extensibility"),
    FieldSpec("tcp.options.mptcp.nomoresubflows.flag", "uint", 8, doc="MP_CAPABLE C: no more subflows"),
    FieldSpec("tcp.options.mptcp.reserved.flag", "uint", 8, "hex", doc="MP_CAPABLE reserved flags"),
    FieldSpec("tcp.options.mptcp.sha256.flag", "uint", 8, doc="MP_CAPABLE H: HMAC-SHA256"),
    FieldSpec("tcp.options.mptcp.sendkey", "uint", 64, doc="Sender's key"),
    FieldSpec("tcp.options.mptcp.recvkey", "uint", 64, doc="Receiver's key"),
    FieldSpec("tcp.options.mptcp.datafin.flag", "uint", 8, doc="DSS F: DATA_FIN"),
    FieldSpec("tcp.options.mptcp.dseqn8.flag", "uint", 8, doc="DSS m: data sequence number is 8 bytes"),
    FieldSpec("tcp.options.mptcp.dseqnpresent.flag", "uint", 8, doc="DSS M: data sequence number present"),
    FieldSpec("tcp.options.mptcp.dataack8.flag", "uint", 8, doc="DSS a: data ACK is 8 bytes"),
    FieldSpec("tcp.options.mptcp.dataackpresent.flag", "uint", 8, doc="DSS A: data ACK present"),
    FieldSpec("tcp.options.mptcp.rawdataack", "uint", 64, doc="Data ACK (raw)"),
    FieldSpec("tcp.options.mptcp.rawdataseqno", "uint", 64, doc="Data sequence number (raw)"),
    FieldSpec("tcp.options.mptcp.subflowseqno", "uint", 32, doc="Subflow sequence number"),
    FieldSpec("tcp.options.mptcp.datalvllen", "uint", 16, doc="Data-level length"),
    FieldSpec("tcp.options.mptcp.checksum", "uint", 16, "hex", doc="DSS checksum"),
    FieldSpec("tcp.options.experimental.exid", "uint", 16, "hex", doc="Experiment Identifier"),
    FieldSpec("tcp.options.acc_ecn.ee0b", "uint", 24, doc="AccECN ECT(0) bytes counter"),
    FieldSpec("tcp.options.acc_ecn.eceb", "uint", 24, doc="AccECN CE bytes counter"),
    FieldSpec("tcp.options.acc_ecn.ee1b", "uint", 24, doc="AccECN ECT(1) bytes counter"),
    FieldSpec("tcp.payload", "bytes", doc="TCP payload (captured bytes)"),
    FieldSpec("tcp.reset_cause", "string", doc="Text carried by a RST segment (RFC 9293 3.5.3)"),
)


def _u16(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 2], "big")


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 4], "big")


def _options(data: bytes, start: int, end: int, cap_end: int, layer: Layer) -> list[str]:
    """Decode the option bytes [start, end) into ``layer``; return tcpdump's option words.

    ``end`` is where the header says the options end, ``cap_end`` where the captured
    bytes end (an option cut short by the snapshot length is shown, then truncated)."""
    words: list[str] = []
    pos = start
    stop = min(end, cap_end)
    while pos < stop:
        kind, olen, status = option_at(data, pos, end, cap_end)
        if status == OPT_OK:
            layer.add("tcp.option_kind", kind)
            layer.add("tcp.option_len", olen)
            words.append(_option(layer, data, pos, kind, olen))
            pos += olen
            continue
        if status == OPT_NOP:
            layer.add("tcp.option_kind", NOP)
            words.append("nop")
            pos += 1
            continue
        if status == OPT_EOL:  # tshark lists each zero byte after it as EOL too
            while pos < stop and data[pos] == EOL:
                layer.add("tcp.option_kind", EOL)
                pos += 1
            words.append("eol")
            break
        if status == OPT_CUT:
            layer.truncated(pos, f"option kind {kind} cut short")
            break
        if status == OPT_NO_LENGTH:
            layer.malformed(pos, f"option kind {kind} has no length byte")
            words.append(f"opt-{kind}")
            break
        if status == OPT_BAD_LENGTH:
            # tshark shows neither kind nor length of an option that does not fit
            layer.malformed(pos, f"option kind {kind} has bad length {olen}")
            words.append(f"opt-{kind} [bad length {olen}]")
            break
        assert status == OPT_CUT_BODY
        layer.add("tcp.option_kind", kind)
        layer.add("tcp.option_len", olen)
        layer.truncated(pos, f"option kind {kind} cut short by the capture")
        break
    return words


def _option(layer: Layer, data: bytes, pos: int, kind: int, olen: int) -> str:
    """Decode one whole option into ``layer``; return tcpdump's word for it."""
    body = pos + 2
    bl = olen - 2
    fixed = FIXED_LENGTH.get(kind)
    if fixed is not None and olen != fixed:
        layer.malformed(pos, f"option kind {kind} has wrong length {olen}")
        return f"opt-{kind} [bad length {olen}]"
    if kind == MSS:
        mss = _u16(data, body)
        layer.add("tcp.options.mss_val", mss)
        return f"mss {mss}"
    if kind == WSCALE:
        shift = data[body]
        layer.add("tcp.options.wscale.shift", shift)
        layer.add("tcp.options.wscale.multiplier", 1 << min(shift, MAX_WSCALE))
        return f"wscale {shift}"
    if kind == SACK_PERM:
        return "sackOK"
    if kind == SACK:
        if bl % SACK_BLOCK:
            layer.malformed(pos, f"option kind {kind} has wrong length {olen}")
            return f"opt-{kind} [bad length {olen}]"
        count = bl // SACK_BLOCK
        edges = []
        for i in range(count):
            le = _u32(data, body + SACK_BLOCK * i)
            re = _u32(data, body + SACK_BLOCK * i + 4)
            layer.add("tcp.options.sack_le", le)
            layer.add("tcp.options.sack_re", re)
            edges.append(f"{{{le}:{re}}}")
        layer.add("tcp.options.sack.count", count)
        return f"sack {count} " + "".join(edges)
    if kind == TIMESTAMP:
        tsval = _u32(data, body)
        tsecr = _u32(data, body + 4)
        layer.add("tcp.options.timestamp.tsval", tsval)
        layer.add("tcp.options.timestamp.tsecr", tsecr)
        return f"TS val {tsval} ecr {tsecr}"
    if kind == MD5:
        layer.add("tcp.options.md5.digest", data[body:body + 16])
        return "md5"
    if kind == MPTCP:
        if olen < 3:
            layer.malformed(pos, f"option kind {kind} has wrong length {olen}")
            return f"opt-{kind} [bad length {olen}]"
        _mptcp(layer, data, pos, pos + olen)
        return "mptcp"
    if kind == TFO:
        if bl > 0:
            layer.add("tcp.options.tfo.cookie", data[body:pos + olen])
            return f"tfo cookie {data[body:pos + olen].hex()}"
        return "tfo cookiereq"
    if kind in (EXP1, EXP2) and olen >= 4:
        exid = _u16(data, body)
        layer.add("tcp.options.experimental.exid", exid)
        if exid == EXP_TFO:
            if olen > 4:
                layer.add("tcp.options.tfo.cookie", data[body + 2:pos + olen])
                return f"exp-tfo cookie {data[body + 2:pos + olen].hex()}"
            return "exp-tfo cookiereq"
        if exid in EXP_ACCECN:
            _acc_ecn(layer, data, body + 2, pos + olen, exid == EXP_ACCECN[1])
        return f"exp-{exid:x}"
    if kind in (ACCECN0, ACCECN1):
        _acc_ecn(layer, data, body, pos + olen, kind == ACCECN1)
        return "accecn"
    layer.finding(FindingKind.UNSUPPORTED, pos, f"unknown option kind {kind}, length {olen} kept raw")
    return f"unknown-{kind} 0x{data[body:pos + olen].hex()}"


def _mptcp(layer: Layer, data: bytes, pos: int, end: int) -> None:
    """MPTCP (RFC 8684): the subtype always; MP_CAPABLE and DSS in detail."""
    subtype = data[pos + 2] >> 4
    layer.add("tcp.options.mptcp.subtype", subtype)
    olen = end - pos
    if olen < 4:
        return
    flags = data[pos + 3]
    if subtype == 0:
        layer.add("tcp.options.mptcp.version", data[pos + 2] & 0x0F)
        layer.add("tcp.options.mptcp.flags", flags)
        layer.add("tcp.options.mptcp.checksumreq.flags", flags >> 7)
        layer.add("tcp.options.mptcp.extensibility.flag", (flags >> 6) & 1)
        layer.add("tcp.options.mptcp.nomoresubflows.flag", (flags >> 5) & 1)
        layer.add("tcp.options.mptcp.reserved.flag", (flags & 0x3E) >> 1)
        layer.add("tcp.options.mptcp.sha256.flag", flags & 1)
        if olen >= 12:
            layer.add("tcp.options.mptcp.sendkey", int.from_bytes(data[pos + 4:pos + 12], "big"))
        if olen >= 20:
            layer.add("tcp.options.mptcp.recvkey", int.from_bytes(data[pos + 12:pos + 20], "big"))
        if olen >= 22:
            layer.add("tcp.options.mptcp.datalvllen", _u16(data, pos + 20))
        if olen >= 24:
            layer.add("tcp.options.mptcp.checksum", _u16(data, pos + 22))
    elif subtype == 2:
        layer.add("tcp.options.mptcp.flags", flags)
        layer.add("tcp.options.mptcp.datafin.flag", (flags >> 4) & 1)
        layer.add("tcp.options.mptcp.dseqn8.flag", (flags >> 3) & 1)
        layer.add("tcp.options.mptcp.dseqnpresent.flag", (flags >> 2) & 1)
        layer.add("tcp.options.mptcp.dataack8.flag", (flags >> 1) & 1)
        layer.add("tcp.options.mptcp.dataackpresent.flag", flags & 1)
        at = pos + 4
        if flags & 0x01:
            size = 8 if flags & 0x02 else 4
            if at + size > end:
                return
            layer.add("tcp.options.mptcp.rawdataack", int.from_bytes(data[at:at + size], "big"))
            at += size
        if flags & 0x04:
            size = 8 if flags & 0x08 else 4
            if at + size + 6 > end:
                return
            layer.add("tcp.options.mptcp.rawdataseqno", int.from_bytes(data[at:at + size], "big"))
            at += size
            layer.add("tcp.options.mptcp.subflowseqno", _u32(data, at))
            layer.add("tcp.options.mptcp.datalvllen", _u16(data, at + 4))
            at += 6
            if at + 2 <= end:
                layer.add("tcp.options.mptcp.checksum", _u16(data, at))


def _text(b: bytes) -> str:
    """Bytes as tshark shows an ASCII string field (up to a NUL, other bytes escaped)."""
    b = b.split(b"\0", 1)[0]
    return "".join(chr(c) if 0x20 <= c < 0x7F and c != 0x5C else f"\\x{c:02x}" for c in b)


def _acc_ecn(layer: Layer, data: bytes, start: int, end: int, order1: bool) -> None:
    """AccECN byte counters: order 0 is EE0B, ECEB, EE1B; order 1 is EE1B, ECEB, EE0B."""
    names = ("ee1b", "eceb", "ee0b") if order1 else ("ee0b", "eceb", "ee1b")
    for i, name in enumerate(names):
        at = start + 3 * i
        if at + 3 > end:
            break
        layer.add(f"tcp.options.acc_ecn.{name}", int.from_bytes(data[at:at + 3], "big"))


_TCP_PORTS = registry.table("tcp.port")  # ports of stream-level dissectors (BGP)
_HOT = HEADER.units("tcp.srcport", "tcp.dstport")  # the payload's dispatch key
_FIXED = HEADER.unpacker("tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.hdr_len")
_AFTER_FLAGS = HEADER.unpacker("tcp.seq_raw", "tcp.ack_raw", "tcp.hdr_len", "tcp.flags",
                               "tcp.window_size_value", "tcp.checksum", "tcp.urgent_pointer")
_FLAG_BITS = HEADER.unpacker("tcp.flags", *FLAG_NAMES)
_FLAG_FIELDS: dict[int, dict[str, Any]] = {}
_OPTIONS_AT = HEADER.min_len  # the options follow the fixed header


def _flag_fields(flags: int, data: bytes, offset: int) -> dict[str, Any]:
    """The 12 tcp.flags* fields of the header at ``offset``, whose flags are ``flags``
    (remembered by value: at most 4096 of them)."""
    out = _FLAG_FIELDS.get(flags)
    if out is None:
        out = _FLAG_FIELDS[flags] = dict(zip(("tcp.flags", *FLAG_NAMES), _FLAG_BITS(data, offset), strict=True))
        out["tcp.flags.str"] = flags_str(flags)
    return out


def dissect_tcp(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    reported_end = ctx.reported_end if ctx.reported_end > end else end
    if end - offset >= 20 and not ctx.check_checksums:
        hl = HDR_LEN_OF_BYTE[data[offset + HDR_LEN_AT]]
        if 20 <= hl <= reported_end - offset:
            # the common case: fields, options, findings and summary are decoded on first
            # access (LazyLayer); only what the payload's dispatch needs is read now
            layer = LazyLayer("tcp", offset, hl if hl < end - offset else end - offset, _deferred,
                              (data, end, reported_end), _summary)
            payload_start = offset + hl
            if reported_end <= payload_start or payload_start > end:
                return layer, None
            sport, dport = _HOT(data, offset)
            key = pick_port(_TCP_PORTS, sport, dport)
            return layer, _next(Next, ("tcp.payload", key, payload_start,
                                          end if end > payload_start else payload_start, reported_end))
    return _dissect_eager(data, offset, end, ctx, reported_end)


def _deferred(layer: Layer, data: bytes, end: int, reported_end: int) -> None:
    """Fields, findings and summary of a header :func:`dissect_tcp` accepted for deferral."""
    offset = layer.offset
    sport, dport, seq, ack, hl = _FIXED(data, offset)
    layer._fields.update({"tcp.srcport": sport, "tcp.dstport": dport, "tcp.port": _Multi([sport, dport]),
                          "tcp.len": reported_end - offset - hl, "tcp.seq_raw": seq, "tcp.ack_raw": ack,
                          "tcp.hdr_len": hl})
    _rest(layer, data, end, reported_end, CHECKSUM_UNVERIFIED, summary=False)


def _summary(layer: Layer, data: bytes, end: int, reported_end: int) -> str:
    """tcpdump's text for a header :func:`dissect_tcp` accepted for deferral."""
    offset = layer.offset
    seq, ack, hl, flags, win, _, urp = _AFTER_FLAGS(data, offset)
    words = _options(data, offset + _OPTIONS_AT, offset + hl, end, Layer("tcp", offset)) if hl > _OPTIONS_AT else []
    return _summary_text(flags, seq, ack, win, urp, reported_end - offset - hl, words)


def _summary_text(flags: int, seq: int, ack: int, win: int, urp: int, tcp_len: int, words: list[str]) -> str:
    parts = [f"Flags [{tcpdump_flags(flags)}]"]
    if tcp_len > 0 or flags & 0x07:
        parts.append(f"seq {seq}:{(seq + tcp_len) & 0xFFFFFFFF}" if tcp_len > 0 else f"seq {seq}")
    if flags & TCP_ACK:
        parts.append(f"ack {ack}")
    parts.append(f"win {win}")
    if flags & TCP_URG:
        parts.append(f"urg {urp}")
    if words:
        parts.append(f"options [{','.join(words)}]")
    parts.append(f"length {tcp_len}")
    return ", ".join(parts)


_PORTS_END = HEADER["tcp.dstport"].end  # both ports captured: tshark shows them


def _dissect_eager(data: bytes, offset: int, end: int, ctx: Context, reported_end: int) -> Result:
    """Every case: short or bogus headers, checksum validation."""
    layer = Layer("tcp", offset)
    avail = end - offset
    if avail >= _PORTS_END:
        sport, dport = _HOT(data, offset)
        layer.add("tcp.srcport", sport)
        layer.add("tcp.dstport", dport)
        layer.add("tcp.port", sport)
        layer.add("tcp.port", dport)
    if avail < HEADER.min_len:
        layer.length = max(0, avail)
        if reported_end - offset < HEADER.min_len:
            layer.malformed(offset, f"TCP header needs 20 bytes, {reported_end - offset} present")
        else:
            layer.truncated(offset, f"TCP header cut short at {avail} of 20 bytes")
        layer.summary = "[|tcp]"
        return layer, None
    sport, dport, seq, ack, hl = _FIXED(data, offset)
    tcp_len = reported_end - offset - hl
    if tcp_len >= 0:
        layer.add("tcp.len", tcp_len)
    layer.add("tcp.seq_raw", seq)
    if hl < 20:
        # tshark stops after the bogus header length (no ack, flags, ...)
        layer.add("tcp.hdr_len", hl)
        layer.length = 20
        layer.malformed(offset + HDR_LEN_AT, f"bogus TCP header length {hl} < 20")
        layer.summary = f"[bad hdr length {hl} - too short, < 20]"
        return layer, None
    layer.add("tcp.ack_raw", ack)
    layer.add("tcp.hdr_len", hl)
    if hl > reported_end - offset:
        if reported_end - offset >= HEADER.min_len:
            # a "short segment": tshark still shows the rest of the fixed header, and the
            # options, which lie past the segment's end, as <MISSING>
            _, _, _, flags, win, csum, urp = _AFTER_FLAGS(data, offset)
            layer._fields.update(_flag_fields(flags, data, offset))
            layer.add("tcp.window_size_value", win)
            layer.add("tcp.checksum", csum)
            layer.add("tcp.checksum.status", CHECKSUM_UNVERIFIED)
            layer.add("tcp.urgent_pointer", urp)
            layer.add("tcp.options", MISSING)
        layer.length = min(hl, avail)
        layer.malformed(offset + HDR_LEN_AT, f"TCP header length {hl} > segment length {reported_end - offset}")
        layer.summary = f"[bad hdr length {hl} - too long, > {reported_end - offset}]"
        return layer, None
    status = CHECKSUM_UNVERIFIED
    if ctx.check_checksums:
        ok = verify_checksum(data, offset, reported_end - offset, ctx, 6)
        if ok is True:
            status = CHECKSUM_GOOD
        elif ok is False:
            status = CHECKSUM_BAD
            csum_at = HEADER["tcp.checksum"].off
            layer.finding(FindingKind.CHECKSUM_BAD, offset + csum_at,
                          f"bad TCP checksum 0x{_CHECKSUM(data, offset):04x}")
    _rest(layer, data, end, reported_end, status)
    layer.length = min(hl, avail)
    payload_start = offset + hl
    if tcp_len <= 0 or payload_start > end:
        return layer, None
    # the driver hands "tcp.payload" to the stream-level dispatcher (reassembly, then
    # the "tcp.port" table); the key is the port to try first
    key = pick_port(_TCP_PORTS, sport, dport)
    return layer, Next("tcp.payload", key, payload_start, max(payload_start, end), reported_end)


def _rest(layer: Layer, data: bytes, end: int, reported_end: int, status: int, summary: bool = True) -> None:
    """From the flags on, for a header with a sane length: fields, option findings, summary."""
    offset = layer.offset
    seq, ack, hl, flags, win, csum, urp = _AFTER_FLAGS(data, offset)
    tcp_len = reported_end - offset - hl
    f = layer._fields
    f.update(_flag_fields(flags, data, offset))
    f["tcp.window_size_value"] = win
    f["tcp.checksum"] = csum
    f["tcp.checksum.status"] = status
    f["tcp.urgent_pointer"] = urp
    words: list[str] = []
    if hl > _OPTIONS_AT:
        opt_start, opt_end = offset + _OPTIONS_AT, min(offset + hl, end)
        f["tcp.options"] = data[opt_start:opt_end]
        words = _options(data, opt_start, offset + hl, end, layer)
        if opt_end < offset + hl:
            layer.truncated(opt_end, f"TCP options cut short at {opt_end - opt_start} of {hl - _OPTIONS_AT} bytes")
    payload_start = offset + hl
    payload_end = max(payload_start, end)
    if payload_end > payload_start:
        if flags & TCP_RST:
            # with RST, tshark shows the payload as text (tcp.reset_cause), not tcp.payload
            layer.add("tcp.reset_cause", _text(data[payload_start:payload_end]))
        else:
            layer.add("tcp.payload", data[payload_start:payload_end])
    if end < reported_end and tcp_len > 0:
        layer.truncated(end, f"TCP payload cut short: {max(0, end - payload_start)} of {tcp_len} bytes captured")
    if summary:
        layer._summary = _summary_text(flags, seq, ack, win, urp, tcp_len, words)


_CHECKSUM = HEADER.getter("tcp.checksum")

quick_fields(_deferred, HEADER.getters("tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.hdr_len",
                                       "tcp.flags", "tcp.window_size_value", "tcp.checksum", "tcp.urgent_pointer"))
