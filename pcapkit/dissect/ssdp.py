"""SSDP: HTTP messages in UDP datagrams on port 1900, as tshark 4.0 shows them.

tshark dissects a datagram on UDP port 1900 with its HTTP dissector under the protocol
name ``ssdp`` (in ``frame.protocols``), with the ``http.*`` field names. One datagram is one
message: nothing is reassembled, a header block the datagram cuts short is shown as far as
it goes. Requests and responses are numbered and matched per UDP conversation (the two
addresses and ports), as for HTTP over TCP; a multicast M-SEARCH and its unicast answers
are different conversations, so the answers match no request (as in tshark).
"""

from __future__ import annotations

from typing import Any

from pcapkit.dissect.base import Context, Layer, Result
from pcapkit.dissect.http import HttpConversation, cut_messages, dissect_message

MAX_CONVERSATIONS = 100_000     # beyond it a datagram is numbered alone (bounded memory)


def _conversation(ctx: Context) -> HttpConversation:
    src = dst = sport = dport = None
    for layer in ctx.layers:
        if layer.protocol == "ip":
            src, dst = layer.get("ip.src"), layer.get("ip.dst")
        elif layer.protocol == "ipv6":
            src, dst = layer.get("ipv6.src"), layer.get("ipv6.dst")
        elif layer.protocol == "udp":
            sport, dport = layer.get("udp.srcport"), layer.get("udp.dstport")
    session = ctx.extra.get("session")
    state: dict[str, Any] | None = getattr(session, "protocol_state", None)
    if state is None or src is None:
        return HttpConversation()
    a, b = (str(src), sport or 0), (str(dst), dport or 0)
    key = (a, b) if a <= b else (b, a)
    table: dict[Any, HttpConversation] = state.setdefault("ssdp", {})
    conv = table.get(key)
    if conv is None:
        conv = HttpConversation()
        if len(table) < MAX_CONVERSATIONS:
            table[key] = conv
        record = state.get("http.record")
        if record is not None:
            record.append(conv)
    return conv


def dissect_ssdp(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    """The first HTTP message of one datagram, as an ``ssdp`` layer (bytes that start no
    message: an ``ssdp`` layer without fields, tshark's continuation)."""
    conv = _conversation(ctx)
    messages = cut_messages(bytearray(data[offset:end]), conv, True, True, partial=True)
    layer: Layer | None = None
    if messages:
        layer = dissect_message(messages[0], ctx, conv)
    if layer is None:
        layer = Layer("ssdp", offset, end - offset)
        layer.summary = "Continuation"
        return layer, None
    layer.protocol = "ssdp"
    layer.offset = offset
    return layer, None
