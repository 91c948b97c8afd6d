"""TLS (SSL 3.0, TLS 1.0-1.3) records and handshake messages over a reassembled TCP stream,
plus the SSLv2 ClientHello, with tshark 4.0's ``tls.`` field names. No decryption.

The TCP stream dispatcher keeps one buffer per direction of a connection on port 443 and
calls :func:`cut_records` after every segment. A record is decoded in the frame that
delivers its last byte (tshark's reassembly of records over segments); handshake messages
that span records are put together the same way (their fields go on the frame completing
the message). What is shown:

* every record: ``tls.record.content_type`` (``tls.record.opaque_type`` for TLS 1.3's
  encrypted records), ``tls.record.version``, ``tls.record.length``;
* handshake messages in the clear: ``tls.handshake.type``/``length``; ClientHello and
  ServerHello (version, random, session ID, cipher suites, compression methods, extensions:
  type and length of each, server name (SNI), ALPN, supported_versions); Certificate (the
  lengths of the list and of each certificate, its DER, and each certificate's subject and issuer names
  and DNS alternative names, :mod:`pcapkit.dissect.x509`); CertificateStatus (the names of the
  certificates a stapled OCSP response carries);
* after a ChangeCipherSpec in a direction (or the ServerHello of TLS 1.3) the handshake
  records are encrypted: only the record header is shown, as tshark's "Encrypted Handshake
  Message"; Alert level and description in the clear; application data as ``tls.app_data``.

Bad input gives findings, never an exception: a truncated ClientHello (its lengths run past
the message), a record announcing more than 2^14 + 2048 bytes, a record the stream ends
inside (at the FIN), bytes that are not a record (the rest of the buffer is skipped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pcapkit.dissect.base import Context, FindingKind, Layer
from pcapkit.dissect.x509 import FIELDS as X509_FIELDS
from pcapkit.dissect.x509 import certificate_fields, ocsp_response_fields
from pcapkit.fields import FieldSpec

TLS_PORTS = (443, 993)
MAX_RECORD = 2 ** 14 + 2048           # RFC 5246 6.2.3: the most a (compressed, encrypted) record holds
CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA, HEARTBEAT = 20, 21, 22, 23, 24
CLIENT_HELLO, SERVER_HELLO, CERTIFICATE, CERTIFICATE_STATUS = 1, 2, 11, 22
OCSP = 1                               # CertificateStatus's status_type for one OCSP response
TLS13 = 0x0304


def _u(name: str, bits: int, doc: str, base: Any = "dec") -> FieldSpec:
    return FieldSpec(name, "uint", bits, base, doc)


def _s(name: str, doc: str) -> FieldSpec:
    return FieldSpec(name, "string", doc=doc)


def _b(name: str, doc: str) -> FieldSpec:
    return FieldSpec(name, "bytes", doc=doc)


FIELDS: tuple[FieldSpec, ...] = (
    _u("tls.record.content_type", 8, "Record content type"),
    _u("tls.record.opaque_type", 8, "Outer content type of a TLS 1.3 encrypted record"),
    _u("tls.record.version", 16, "Record version", "hex"),
    _u("tls.record.length", 16, "Record length"),
    _u("tls.alert_message.level", 8, "Alert level"),
    _u("tls.alert_message.desc", 8, "Alert description"),
    _u("tls.handshake.type", 8, "Handshake message type"),
    _u("tls.handshake.length", 24, "Handshake message length"),
    _u("tls.handshake.version", 16, "Hello version", "hex"),
    _u("tls.handshake.cipher_spec_len", 16, "SSLv2 cipher spec length"),
    _u("tls.handshake.challenge_length", 16, "SSLv2 challenge length"),
    _u("tls.handshake.cipherspec", 24, "SSLv2 cipher spec", "hex"),
    FieldSpec("tls.handshake.challenge", "none", doc="SSLv2 challenge (tshark prints 1)"),
    _b("tls.handshake.random", "Hello random"),
    _u("tls.handshake.session_id_length", 8, "Session ID length"),
    _b("tls.handshake.session_id", "Session ID"),
    _u("tls.handshake.cipher_suites_length", 16, "Cipher suites length"),
    _u("tls.handshake.ciphersuite", 16, "Cipher suite", "hex"),
    _u("tls.handshake.comp_methods_length", 8, "Compression methods length"),
    _u("tls.handshake.comp_method", 8, "Compression method"),
    _u("tls.handshake.extensions_length", 16, "Extensions length"),
    _u("tls.handshake.extension.type", 16, "Extension type"),
    _u("tls.handshake.extension.len", 16, "Extension length"),
    _u("tls.handshake.extensions_server_name_list_len", 16, "Server name list length"),
    _u("tls.handshake.extensions_server_name_type", 8, "Server name type"),
    _u("tls.handshake.extensions_server_name_len", 16, "Server name length"),
    _s("tls.handshake.extensions_server_name", "Server name (SNI)"),
    _u("tls.handshake.extensions_alpn_len", 16, "ALPN extension length"),
    _u("tls.handshake.extensions_alpn_str_len", 8, "ALPN string length"),
    _s("tls.handshake.extensions_alpn_str", "ALPN protocol"),
    _u("tls.handshake.extensions.supported_versions_len", 8, "Supported versions length"),
    _u("tls.handshake.extensions.supported_version", 16, "Supported version", "hex"),
    _u("tls.handshake.certificates_length", 24, "Certificates length"),
    _u("tls.handshake.certificate_length", 24, "Certificate length"),
    _b("tls.handshake.certificate", "Certificate (DER)"),
    _b("tls.app_data", "Encrypted application data"),
    *X509_FIELDS,                      # the certificates' names (tshark's x509 fields, on the tls layer)
)


@dataclass(slots=True)
class TlsSession:
    """What one connection's two directions share: the negotiated version."""

    version: int = 0                       # ServerHello's (supported_versions' for TLS 1.3)
    encrypted: dict[object, bool] = field(default_factory=dict)     # per direction: after CCS
    handshake: dict[object, bytearray] = field(default_factory=dict)  # per direction: a message in pieces


class _Cut(Exception):
    """A handshake message runs off its bytes: the fields read stay, with a finding."""


class _Reader:
    """Reads one handshake message's body, adding fields; running off the end raises _Cut."""

    def __init__(self, data: bytes, layer: Layer) -> None:
        self.data, self.pos, self.layer = data, 0, layer

    def uint(self, n: int, name: str | None = None) -> int:
        if self.pos + n > len(self.data):
            raise _Cut
        value = int.from_bytes(self.data[self.pos:self.pos + n], "big")
        self.pos += n
        if name:
            self.layer.add(name, value)
        return value

    def raw(self, n: int, name: str | None = None) -> bytes:
        if self.pos + n > len(self.data):
            raise _Cut
        value = self.data[self.pos:self.pos + n]
        self.pos += n
        if name:
            self.layer.add(name, value)
        return value


def _hello(r: _Reader, msg_type: int, session: TlsSession) -> None:
    r.uint(2, "tls.handshake.version")
    r.raw(32, "tls.handshake.random")
    sid_len = r.uint(1, "tls.handshake.session_id_length")
    if sid_len:
        r.raw(sid_len, "tls.handshake.session_id")
    if msg_type == CLIENT_HELLO:
        n = r.uint(2, "tls.handshake.cipher_suites_length")
        for _ in range(n // 2):
            r.uint(2, "tls.handshake.ciphersuite")
        if n % 2:
            r.raw(1)
        n = r.uint(1, "tls.handshake.comp_methods_length")
        for _ in range(n):
            r.uint(1, "tls.handshake.comp_method")
    else:
        r.uint(2, "tls.handshake.ciphersuite")
        r.uint(1, "tls.handshake.comp_method")
    if r.pos >= len(r.data):
        return
    ext_len = r.uint(2, "tls.handshake.extensions_length")
    end = min(len(r.data), r.pos + ext_len)
    while r.pos + 4 <= end:
        etype = r.uint(2, "tls.handshake.extension.type")
        elen = r.uint(2, "tls.handshake.extension.len")
        if r.pos + elen > end:
            r.layer.finding(FindingKind.MALFORMED, 0, f"extension {etype} of {elen} bytes runs past the "
                            "extensions' length")
            return
        body = _Reader(r.raw(elen), r.layer)
        try:
            _extension(body, etype, msg_type, session)
        except _Cut:
            r.layer.finding(FindingKind.MALFORMED, 0, f"extension {etype} runs past its length {elen}")


def _extension(r: _Reader, etype: int, msg_type: int, session: TlsSession) -> None:
    if etype == 0 and r.data:                        # server_name
        list_len = r.uint(2, "tls.handshake.extensions_server_name_list_len")
        end = min(len(r.data), r.pos + list_len)
        while r.pos + 3 <= end:
            r.uint(1, "tls.handshake.extensions_server_name_type")
            n = r.uint(2, "tls.handshake.extensions_server_name_len")
            r.layer.add("tls.handshake.extensions_server_name", r.raw(n).decode("utf-8", "replace"))
    elif etype == 16:                                # application_layer_protocol_negotiation
        n = r.uint(2, "tls.handshake.extensions_alpn_len")
        end = min(len(r.data), r.pos + n)
        while r.pos < end:
            k = r.uint(1, "tls.handshake.extensions_alpn_str_len")
            r.layer.add("tls.handshake.extensions_alpn_str", r.raw(k).decode("utf-8", "replace"))
    elif etype == 43:                                # supported_versions
        if msg_type == CLIENT_HELLO:
            n = r.uint(1, "tls.handshake.extensions.supported_versions_len")
            for _ in range(n // 2):
                r.uint(2, "tls.handshake.extensions.supported_version")
        else:
            session.version = r.uint(2, "tls.handshake.extensions.supported_version")


def _x509(layer: Layer, fields: list[tuple[str, Any]], error: str | None) -> None:
    for name, value in fields:
        layer.add(name, value)
    if error:
        layer.finding(FindingKind.MALFORMED, 0, f"certificate: {error}")


def _handshake_message(layer: Layer, msg: bytes, session: TlsSession) -> None:
    msg_type = msg[0]
    length = int.from_bytes(msg[1:4], "big")
    layer.add("tls.handshake.type", msg_type)
    layer.add("tls.handshake.length", length)
    r = _Reader(msg[4:4 + length], layer)
    try:
        if msg_type in (CLIENT_HELLO, SERVER_HELLO):
            if msg_type == SERVER_HELLO:
                session.version = int.from_bytes(msg[4:6], "big") if len(msg) >= 6 else 0
            _hello(r, msg_type, session)
        elif msg_type == CERTIFICATE and session.version != TLS13:
            total = r.uint(3, "tls.handshake.certificates_length")
            end = min(len(r.data), r.pos + total)
            while r.pos < end:
                der = r.raw(r.uint(3, "tls.handshake.certificate_length"), "tls.handshake.certificate")
                _x509(layer, *certificate_fields(der))
        elif msg_type == CERTIFICATE_STATUS and session.version != TLS13 and r.uint(1) == OCSP:
            _x509(layer, *ocsp_response_fields(r.raw(r.uint(3))))
    except _Cut:
        layer.finding(FindingKind.MALFORMED, 0, f"handshake message type {msg_type} of {length} bytes ends "
                      f"before its fields do (a truncated message)")


def _record(layer: Layer, ctype: int, version: int, body: bytes, session: TlsSession, direction: object) -> None:
    tls13 = session.version == TLS13
    if ctype == APPLICATION_DATA and tls13:
        layer.add("tls.record.opaque_type", ctype)
    else:
        layer.add("tls.record.content_type", ctype)
    layer.add("tls.record.version", version)
    layer.add("tls.record.length", len(body))
    encrypted = session.encrypted.get(direction, False)
    if ctype == CHANGE_CIPHER_SPEC:
        # TLS 1.3's CCS is for middleboxes only: its handshake is encrypted in type-23 records
        session.encrypted[direction] = not tls13
    elif ctype == ALERT and len(body) == 2:   # an encrypted alert is longer (tshark's test)
        layer.add("tls.alert_message.level", body[0])
        layer.add("tls.alert_message.desc", body[1])
    elif ctype == APPLICATION_DATA:
        layer.add("tls.app_data", body)
    elif ctype == HANDSHAKE and not encrypted:
        pending = session.handshake.setdefault(direction, bytearray())
        pending += body
        while len(pending) >= 4:
            need = 4 + int.from_bytes(pending[1:4], "big")
            if len(pending) < need:
                break
            msg = bytes(pending[:need])
            del pending[:need]
            _handshake_message(layer, msg, session)


def _sslv2(layer: Layer, msg: bytes) -> None:
    """An SSLv2 ClientHello (2-byte header; tshark shows it under tls.)."""
    length = ((msg[0] & 0x7F) << 8) | msg[1]
    layer.add("tls.record.version", 0x0002)
    layer.add("tls.record.length", length)
    layer.add("tls.handshake.type", msg[2])
    r = _Reader(msg[3:2 + length], layer)
    try:
        r.uint(2, "tls.handshake.version")
        spec_len = r.uint(2, "tls.handshake.cipher_spec_len")
        sid_len = r.uint(2, "tls.handshake.session_id_length")
        chal_len = r.uint(2, "tls.handshake.challenge_length")
        for _ in range(spec_len // 3):
            r.uint(3, "tls.handshake.cipherspec")
        if sid_len:
            r.raw(sid_len, "tls.handshake.session_id")
        r.raw(chal_len)
        layer.add("tls.handshake.challenge", 1)
    except _Cut:
        layer.finding(FindingKind.MALFORMED, 0, "SSLv2 ClientHello ends before its fields do")


def _is_sslv2_hello(buf: bytes | bytearray, pos: int) -> bool:
    return len(buf) - pos >= 3 and buf[pos] & 0x80 != 0 and buf[pos + 2] == CLIENT_HELLO


def cut_records(buf: bytearray, session: TlsSession, direction: object, ctx: Context,
                at_fin: bool = False) -> list[Layer]:
    """The ``tls`` layers of the records complete in ``buf`` (removed from it)."""
    out: list[Layer] = []
    pos = 0
    while len(buf) - pos >= 2:
        if _is_sslv2_hello(buf, pos):
            total = 2 + (((buf[pos] & 0x7F) << 8) | buf[pos + 1])
            if len(buf) - pos < total:
                break
            layer = Layer("tls", 0, total)
            _sslv2(layer, bytes(buf[pos:pos + total]))
            layer.summary = "SSLv2 Client Hello"
            out.append(layer)
            pos += total
            continue
        if len(buf) - pos < 5:
            break
        ctype, version = buf[pos], int.from_bytes(buf[pos + 1:pos + 3], "big")
        if not (CHANGE_CIPHER_SPEC <= ctype <= HEARTBEAT and version >> 8 == 3):
            # not a record (the middle of one after a hole, or another protocol): skipped
            # without a layer, as tshark's TCP layer keeps such bytes to itself
            pos = len(buf)
            break
        length = int.from_bytes(buf[pos + 3:pos + 5], "big")
        if len(buf) - pos < 5 + length:
            if at_fin:
                layer = Layer("tls", 0, len(buf) - pos)
                layer.finding(FindingKind.MALFORMED, 0, f"record of {length} bytes, but the stream ends after "
                              f"{len(buf) - pos - 5}")
                out.append(layer)
                pos = len(buf)
            break
        layer = Layer("tls", 0, 5 + length)
        _record(layer, ctype, version, bytes(buf[pos + 5:pos + 5 + length]), session, direction)
        if length > MAX_RECORD:
            layer.finding(FindingKind.MALFORMED, 0, f"record length {length} > {MAX_RECORD}")
        layer.summary = f"TLS record type {ctype}, {length} bytes"
        out.append(layer)
        pos += 5 + length
    if pos:
        del buf[:pos]
    return out


def dissect_tls(data: bytes, offset: int, end: int, ctx: Context) -> tuple[Layer, None]:
    """The first record of one TCP payload alone (no reassembly: for a caller holding a single
    segment; the driver goes through the stream dispatcher instead)."""
    layers = cut_records(bytearray(data[offset:end]), TlsSession(), 0, ctx, at_fin=True)
    layer = layers[0] if layers else Layer("tls", offset, end - offset)
    layer.offset = offset
    return layer, None
