"""HTTP/1.x messages over a reassembled TCP stream, tshark 4.0's fields.

The TCP stream dispatcher (:mod:`pcapkit.dissect.tcp_streams`) keeps one byte buffer per
direction of a connection on an HTTP port and calls :func:`cut_messages` after every
segment. Like tshark's HTTP dissector (``req_resp_hdrs_do_reassembly``), a message is
complete when

* its first line and headers (up to the empty line) are in the buffer, and
* its body is: ``Content-Length`` bytes; chunked: up to the last chunk and its trailer;
  a response with neither header: everything up to the FIN ("until the connection
  closes"); a request with neither, a response to ``HEAD``, a 1xx, 204 or 304 response,
  or a response in a segment that carries the FIN: no more than is already there.

The fields go on the frame that completes the message. Bytes that do not start with a
request or status line are a *continuation* (an ``http`` layer without fields), as tshark
shows them. A first line or header block that never ends is waited for only up to
``max_header`` bytes (a *malformed* finding, the bytes dropped): bounded memory and time.

Per conversation, :class:`HttpConversation` numbers requests and responses and matches the
n-th response to the n-th request (``http.request_in``, ``http.time``,
``http.response_for.uri``), as tshark does in one pass. ``http.response_in`` and
``http.next_*`` name later frames: tshark gives them on its second pass (``-2``), pcapkit
when the file is dissected twice (``dissect_file(path, two_pass=True)``, see
:mod:`pcapkit.dissect.http_links`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from pcapkit.dissect.base import Context, FindingKind, Layer
from pcapkit.dissect.dns_names import format_text
from pcapkit.dissect.http_fields import FIELDS as FIELDS  # the registry reads the fields here
from pcapkit.dissect.http_fields import HEADER_FIELDS

# tshark 4.0's tcp.port table for HTTP (``tshark -G decodes``: the ports it registers itself and
# those of the protocols it carries: IPP 631, DAAP 3689, SSDP 1900, UPnP 2869, proxies 3128 and
# 3132, WinRM 5985, BitTorrent trackers 2710, HKP 11371, 8080, 8088)
HTTP_PORTS = (80, 631, 1900, 2710, 2869, 3128, 3132, 3689, 5985, 8080, 8088, 11371)
SSDP_PORT = 1900                # UDP: SSDP, HTTP messages in datagrams (tshark's "ssdp")
MAX_HEADER = 256 * 1024      # a header block longer than this is given up (a finding)


# tshark's is_http_request_or_reply: these methods, followed by a space, start a request
METHODS = frozenset((
    "GET", "PUT", "POST", "HEAD", "COPY", "LOCK", "MOVE", "POLL", "MKCOL", "TRACE", "PATCH", "MERGE",
    "LABEL", "DELETE", "SEARCH", "UNLOCK", "REPORT", "UPDATE", "NOTIFY", "BCOPY", "BMOVE", "BDELETE",
    "CONNECT", "OPTIONS", "CHECKIN", "PROPFIND", "CHECKOUT", "CCM_POST", "SUBSCRIBE", "PROPPATCH",
    "BPROPFIND", "BPROPPATCH", "UNCHECKOUT", "MKACTIVITY", "MKWORKSPACE", "UNSUBSCRIBE",
    "RPC_CONNECT", "VERSION-CONTROL", "BASELINE-CONTROL", "M-SEARCH", "RPC_IN_DATA", "RPC_OUT_DATA",
    "ICY", "MKCALENDAR", "ORDERPATCH", "BIND", "REBIND", "UNBIND", "ACL",
))


@dataclass(slots=True)
class _Request:
    """One request/response pair of a conversation (tshark's req_res)."""

    number: int
    frame: int                     # the request's frame (0: a response without a request)
    ts_ns: int
    full_uri: str | None
    response_frame: int = 0


@dataclass(slots=True)
class HttpConversation:
    """Request/response numbering and matching of one TCP conversation (both directions)."""

    requests: list[_Request] = field(default_factory=list)
    last_uri: str | None = None
    request_method: str = ""      # the latest request's method (tshark's conv_data->request_method)
    seen_request: bool = False    # tshark's have_seen_http: non-HTTP bytes are then a continuation
    # the directions' framing state: pending "until FIN" bodies
    until_fin: dict[object, bool] = field(default_factory=dict)


def _line_end(buf: bytes | bytearray, pos: int) -> tuple[int, int]:
    """(end of the line at ``pos``, start of the next) as tvb_find_line_end with
    desegmentation: CR, LF or CRLF ends a line; a CR at the end of the buffer may be
    the first half of a CRLF, so it does not count yet. (-1, -1): no line end yet."""
    n = len(buf)
    cr = buf.find(b"\r", pos)
    lf = buf.find(b"\n", pos)
    if lf >= 0 and (cr < 0 or lf < cr):
        return lf, lf + 1
    if cr < 0:
        return -1, -1
    if cr + 1 >= n:
        return -1, -1
    return cr, cr + 2 if buf[cr + 1] == 0x0A else cr + 1


# in every first line :func:`heuristic_start` accepts ("HTTP/1." in any case): a segment without
# it is refused at C speed (the driver's test, and the fast paths' that skip what it refuses)
HEURISTIC_MARK = b"/1."


def heuristic_start(data: bytes, offset: int, end: int) -> bool:
    """tshark's HTTP heuristic for TCP (``http_tcp``, on by default), tried on a segment no
    port claims: its first line (ended by CR or LF within the segment) starts with
    ``HTTP/1.`` or ends with ``HTTP/1.x``, any case; a line of exactly 8 bytes does not
    count. tshark then dissects the connection as HTTP from that frame on."""
    cr = data.find(b"\r", offset, end)
    lf = data.find(b"\n", offset, end)
    if lf >= 0 and (cr < 0 or lf < cr):
        stop = lf
    elif cr >= 0 and cr + 1 < end:
        stop = cr
    else:
        return False             # no line end (or a CR that may begin a CRLF): not yet
    length = stop - offset
    if length == 8:
        return False
    return (data[offset:offset + 7].upper() == b"HTTP/1."
            or (length > 8 and data[stop - 8:stop - 1].upper() == b"HTTP/1."))


def classify(line: bytes) -> str | None:
    """'response', 'request' or None for a message's first line (tshark's test)."""
    if line.startswith(b"HTTP/"):
        return "response"
    sp = line.find(b" ")
    if sp > 0 and line[:sp].decode("latin-1") in METHODS:
        return "request"
    return None


@dataclass(slots=True)
class _Head:
    kind: str                      # request / response
    first: bytes
    lines: list[bytes]             # header lines with their line ends
    end: int                       # offset after the empty line
    content_length: int | None
    chunked: bool
    code: int


def _read_head(buf: bytes | bytearray, pos: int, partial: bool = False) -> _Head | str | None:
    """The first line and headers at ``pos``; None: not complete yet; 'other': no HTTP start.
    partial: the bytes will not grow (a segment cut by the snaplen): the complete header lines
    there are make the head."""
    end, nxt = _line_end(buf, pos)
    if end < 0:
        if not partial:
            return None
        end = nxt = len(buf)
    first = bytes(buf[pos:end])
    kind = classify(first)
    if kind is None:
        return "other"
    lines: list[bytes] = []
    content_length: int | None = None
    chunked = False
    at = nxt
    while True:
        end, nxt = _line_end(buf, at)
        if end < 0:
            if not partial:
                return None
            end = nxt = len(buf)      # tshark shows the cut line as it is
            if end == at:
                break
        if end == at:
            break
        line = bytes(buf[at:nxt])
        lines.append(line)
        name, _, value = bytes(buf[at:end]).partition(b":")
        lname = name.strip().lower()
        if lname == b"content-length":
            try:
                content_length = int(value.strip())
            except ValueError:
                content_length = None
        elif lname == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        at = nxt
    code = 0
    if kind == "response":
        parts = first.split(b" ", 2)
        if len(parts) > 1 and parts[1][:3].isdigit():
            code = int(parts[1][:3])
    return _Head(kind, first, lines, nxt, content_length, chunked, code)


def _chunked_end(buf: bytes | bytearray, pos: int) -> int | None:
    """The offset after a chunked body starting at ``pos`` (last chunk and trailer), or None."""
    while True:
        end, nxt = _line_end(buf, pos)
        if end < 0:
            return None
        size_text = bytes(buf[pos:end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return nxt            # not a chunk size: tshark stops dechunking here
        if size == 0:
            at = nxt
            while True:           # the trailer: header lines up to an empty one
                end, nxt = _line_end(buf, at)
                if end < 0:
                    return None
                if end == at:
                    return nxt
                at = nxt
        pos = nxt + size
        if pos > len(buf):
            return None
        end, nxt = _line_end(buf, pos)
        if end < 0:
            return None if len(buf) - pos < 2 else pos
        pos = nxt


@dataclass(slots=True)
class Message:
    head: _Head | None             # None: a continuation
    data: bytes
    body_at: int = 0               # where the body starts in ``data``
    finding: str = ""


def cut_messages(buf: bytearray, conv: HttpConversation, fin_segment: bool, at_fin: bool,
                 max_header: int = MAX_HEADER, partial: bool = False) -> list[Message]:
    """The messages complete in ``buf`` (removed from it).

    fin_segment: this segment carries a FIN (tshark's end of stream: no body waited for);
    at_fin:      every byte before the FIN has been delivered (the "until close" bodies end);
    partial:     ``buf`` is one segment cut by the snaplen, not reassembled (tshark does not
                 reassemble those): what is there is dissected, nothing is waited for."""
    out: list[Message] = []
    pos = 0
    if partial:
        fin_segment = at_fin = True
    while pos < len(buf):
        if len(buf) - pos > 3 and buf[pos:pos + 2] == b"\r\n":
            pos += 2                  # an empty line before a message is ignored (RFC 2616 4.1)
        if not 0x20 <= buf[pos] < 0x7F:
            # binary: tshark does not look for lines in it; a continuation once HTTP was seen
            if conv.seen_request:
                out.append(Message(None, bytes(buf[pos:])))
            pos = len(buf)
            break
        head = _read_head(buf, pos, partial)
        if head is None:
            if len(buf) - pos > max_header:
                out.append(Message(None, bytes(buf[pos:]), 0, f"no end of the HTTP header within {max_header} bytes; "
                                   "the bytes are dropped"))
                pos = len(buf)
            elif at_fin:
                out.append(Message(None, bytes(buf[pos:])))
                pos = len(buf)
            break
        if isinstance(head, str):
            # not a request or status line: tshark shows the rest as a continuation once a
            # request was seen in the conversation, or when the line looks like a header
            first = bytes(buf[pos:_line_end(buf, pos)[0]])
            if conv.seen_request or b":" in first:
                out.append(Message(None, bytes(buf[pos:])))
            pos = len(buf)
            break
        response = head.kind == "response"
        no_body = response and (conv.request_method == "HEAD" or 100 <= head.code < 200
                                or head.code in (204, 304))
        if head.kind == "request":
            conv.request_method = head.first.split(b" ", 1)[0].decode("latin-1")
            conv.seen_request = True
        if head.content_length is not None:
            end = head.end + max(0, head.content_length)
            if no_body or fin_segment:
                end = min(end, len(buf))
            elif end > len(buf):
                break
        elif head.chunked and not no_body and not fin_segment:
            chunk_end = _chunked_end(buf, head.end)
            if chunk_end is None:
                break
            end = chunk_end
        elif response and not no_body and not fin_segment:
            if not at_fin:
                break                 # the body runs until the connection closes
            end = len(buf)
        elif response and not no_body:
            end = len(buf)            # the FIN is in this segment: the body is what is there
        else:
            end = head.end
        out.append(Message(head, bytes(buf[pos:end]), head.end - pos))
        pos = end
    if pos:
        del buf[:pos]
    return out


def pending_length(buf: bytes | bytearray, conv: HttpConversation) -> int | None:
    """The whole length of the message at the start of ``buf`` when its header is complete
    and gives its length (Content-Length, no body by rule), else None (chunked, until the
    FIN, header not complete, not HTTP)."""
    pos = 2 if len(buf) > 3 and buf[:2] == b"\r\n" else 0
    head = _read_head(buf, pos)
    if head is None or isinstance(head, str):
        return None
    response = head.kind == "response"
    if response and (conv.request_method == "HEAD" or 100 <= head.code < 200 or head.code in (204, 304)):
        return head.end
    if head.content_length is not None:
        return head.end + max(0, head.content_length)
    if head.chunked or response:
        return None
    return head.end


# -- one message -> a layer ----------------------------------------------------------------


def _text(raw: bytes) -> str:
    return format_text(raw)


def dissect_message(msg: Message, ctx: Context, conv: HttpConversation) -> Layer | None:
    """The ``http`` layer of one cut message (fields, findings, summary). A continuation
    (bytes that start no message) gives no layer unless it carries a finding: tshark
    shows some as an empty ``http`` layer and others not at all (by rules of its TCP
    reassembly that pcapkit does not follow), and no HTTP field is lost either way."""
    head = msg.head
    if head is None and not msg.finding:
        return None
    layer = Layer("http", 0, len(msg.data))
    if msg.finding:
        layer.finding(FindingKind.MALFORMED, 0, msg.finding)
    if head is None:
        layer.summary = "Continuation"
        return layer
    f = layer.fields
    first = head.first
    parts = first.split(b" ", 2)
    if head.kind == "request":
        f["http.request"] = True
        method = parts[0].decode("latin-1")
        uri = _text(parts[1]) if len(parts) > 1 else ""
        f["http.request.method"] = method
        f["http.request.uri"] = uri
        path, q, query = uri.partition("?")
        if q:
            f["http.request.uri.path"] = path
            f["http.request.uri.query"] = query
            f["http.request.uri.query.parameter"] = query.split("&")
        if len(parts) > 2:
            f["http.request.version"] = _text(parts[2])
        layer.summary = _text(first)
    else:
        f["http.response"] = True
        f["http.response.version"] = _text(parts[0])
        if len(parts) > 1 and parts[1].isdigit():
            f["http.response.code"] = int(parts[1])
        if len(parts) > 2:
            f["http.response.phrase"] = _text(parts[2])
        layer.summary = _text(first)
    host = _headers(layer, head)
    ts = ctx.ts_ns
    if head.kind == "request":
        if f.get("http.request.uri") is not None:
            uri = f["http.request.uri"]
            full = uri if "://" in uri or host is None else f"http://{host}{uri}"
            if host is not None or "://" in uri:
                f["http.request.full_uri"] = full
        else:
            full = None
        entry = _Request(len(conv.requests) + 1, ctx.frame_number, ts,
                         f.get("http.request.full_uri", f["http.request.uri"]))
        conv.requests.append(entry)
        conv.last_uri = entry.full_uri
        f["http.request_number"] = entry.number
    else:
        # tshark 4.0 matches a response with the latest request if that one is unanswered
        # (so pipelined requests leave the earlier ones unmatched); else it is numbered alone
        tail = conv.requests[-1] if conv.requests else None
        if tail is not None and tail.frame and not tail.response_frame:
            entry = tail
            f["http.time"] = ts - entry.ts_ns
            f["http.request_in"] = entry.frame
            if entry.full_uri is not None:
                f["http.response_for.uri"] = entry.full_uri
        else:
            entry = _Request(len(conv.requests) + 1, 0, 0, None)
            conv.requests.append(entry)
            if conv.last_uri is not None:       # tshark: the conversation's latest URI
                f["http.response_for.uri"] = conv.last_uri
        entry.response_frame = ctx.frame_number
        f["http.response_number"] = entry.number
    if entry.number > 1:
        prev = conv.requests[entry.number - 2]
        if prev.frame:
            f["http.prev_request_in"] = prev.frame
        if prev.response_frame and head.kind == "response":
            f["http.prev_response_in"] = prev.response_frame
    links = second_pass_links(ctx)
    if links:
        later = links.get((ctx.frame_number, head.kind == "response", entry.number))
        if later:
            f.update(later)
    if head.chunked:
        sizes = _chunk_sizes(msg.data, msg.body_at)
        if sizes:
            f["http.chunk_size"] = sizes
    return layer


def second_pass_links(ctx: Context) -> dict[tuple[int, bool, int], dict[str, int]] | None:
    """The session's table of links to later frames (see pcapkit.dissect.http_links), if any."""
    session = ctx.extra.get("session")
    state = getattr(session, "protocol_state", None)
    return state.get("http.links") if state else None


def _headers(layer: Layer, head: _Head) -> str | None:
    """Add the header lines and the known headers' fields; returns the Host value."""
    host: str | None = None
    line_field = "http.request.line" if head.kind == "request" else "http.response.line"
    for raw in head.lines:
        layer.add(line_field, _text(raw))
        name, colon, value = raw.partition(b":")
        if not colon:
            continue
        lname = name.decode("latin-1").lower()
        fname = HEADER_FIELDS.get(lname)
        if fname is None:
            continue
        text = _text(value.lstrip(b" \t").rstrip(b"\r\n"))
        layer.add(fname, text)
        if lname == "host":
            host = text
        elif lname == "content-length":
            try:
                layer.add("http.content_length", int(text.strip()))
            except ValueError:
                layer.finding(FindingKind.MALFORMED, 0, f"Content-Length {text!r} is not a number")
        elif lname == "cookie":
            for pair in text.split(";"):
                layer.add("http.cookie_pair", pair.strip())
        elif lname == "authorization" and text[:6].lower() == "basic ":
            try:
                layer.add("http.authbasic", base64.b64decode(text[6:].strip(), validate=False).decode("latin-1"))
            except (binascii.Error, ValueError):
                layer.finding(FindingKind.MALFORMED, 0, "Basic credentials are not base64")
    return host


def _chunk_sizes(data: bytes, pos: int) -> list[int]:
    sizes: list[int] = []
    while pos < len(data):
        end, nxt = _line_end(data, pos)
        if end < 0:
            break
        try:
            size = int(data[pos:end].split(b";", 1)[0].strip(), 16)
        except ValueError:
            break
        sizes.append(size)
        if size == 0:
            break
        pos = nxt + size
        end, nxt = _line_end(data, pos)
        if end < 0:
            break
        pos = nxt
    return sizes


def dissect_http(data: bytes, offset: int, end: int, ctx: Context) -> tuple[Layer, None]:
    """The HTTP messages of one TCP payload alone (no reassembly, no matching: for a caller
    holding a single segment; the driver goes through the stream dispatcher instead).
    Returns the first message's layer."""
    buf = bytearray(data[offset:end])
    messages = cut_messages(buf, HttpConversation(), fin_segment=True, at_fin=True)
    if not messages:
        layer = Layer("http", offset, end - offset)
        layer.summary = "Continuation"
        return layer, None
    layer = dissect_message(messages[0], ctx, HttpConversation()) or Layer("http", offset, end - offset)
    layer.offset = offset
    return layer, None
