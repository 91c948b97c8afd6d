"""The HTTP dissector's fields (:mod:`pcapkit.dissect.http`), declared once with tshark
4.0's names: the header fields by header name, and every field the dissector sets."""

from __future__ import annotations

from pcapkit.fields import FieldSpec

__all__ = ["FIELDS", "HEADER_FIELDS"]


def _s(name: str, doc: str) -> FieldSpec:
    return FieldSpec(name, "string", doc=doc)


# header name (lower case) -> field, in the order tshark lists them
HEADER_FIELDS: dict[str, str] = {
    "authorization": "http.authorization",
    "proxy-authenticate": "http.proxy_authenticate",
    "proxy-authorization": "http.proxy_authorization",
    "www-authenticate": "http.www_authenticate",
    "content-type": "http.content_type",
    "content-length": "http.content_length_header",
    "content-encoding": "http.content_encoding",
    "transfer-encoding": "http.transfer_encoding",
    "upgrade": "http.upgrade",
    "user-agent": "http.user_agent",
    "host": "http.host",
    "connection": "http.connection",
    "cookie": "http.cookie",
    "accept": "http.accept",
    "referer": "http.referer",
    "accept-language": "http.accept_language",
    "accept-encoding": "http.accept_encoding",
    "date": "http.date",
    "cache-control": "http.cache_control",
    "server": "http.server",
    "location": "http.location",
    "set-cookie": "http.set_cookie",
    "last-modified": "http.last_modified",
    "x-forwarded-for": "http.x_forwarded_for",
}

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("http.response", "bool", doc="The message is a response"),
    FieldSpec("http.request", "bool", doc="The message is a request"),
    FieldSpec("http.response_number", "uint", 32, doc="Response number in the conversation (1, 2, ...)"),
    FieldSpec("http.request_number", "uint", 32, doc="Request number in the conversation (1, 2, ...)"),
    _s("http.authbasic", "Decoded Basic credentials (user:password)"),
    _s("http.request.method", "Request method"),
    _s("http.request.uri", "Request URI"),
    _s("http.request.uri.path", "Request URI path (before '?')"),
    _s("http.request.uri.query", "Request URI query (after '?')"),
    _s("http.request.uri.query.parameter", "One '&'-separated query parameter"),
    _s("http.request.version", "Request version"),
    _s("http.response.version", "Response version"),
    _s("http.request.full_uri", "http:// + Host + URI"),
    FieldSpec("http.response.code", "uint", 16, doc="Status code"),
    _s("http.response_for.uri", "Full URI of the request this response answers"),
    _s("http.response.phrase", "Reason phrase"),
    *(_s(name, f"{name.split('.', 1)[1].replace('_', '-')} header") for name in HEADER_FIELDS.values()),
    FieldSpec("http.content_length", "uint", 64, doc="Content-Length as a number"),
    _s("http.cookie_pair", "One ';'-separated cookie"),
    _s("http.request.line", "A request header line (with its CRLF)"),
    _s("http.response.line", "A response header line (with its CRLF)"),
    FieldSpec("http.request_in", "framenum", doc="The request this response answers"),
    FieldSpec("http.prev_request_in", "framenum", doc="The previous request in the conversation"),
    FieldSpec("http.prev_response_in", "framenum", doc="The previous response in the conversation"),
    FieldSpec("http.response_in", "framenum", doc="The response to this request (second pass)"),
    FieldSpec("http.next_request_in", "framenum", doc="The next request in the conversation (second pass)"),
    FieldSpec("http.next_response_in", "framenum", doc="The next response in the conversation (second pass)"),
    FieldSpec("http.time", "reltime_ns", doc="Time since the request"),
    FieldSpec("http.chunk_size", "uint", 32, doc="Size of one chunk (chunked body)"),
)
