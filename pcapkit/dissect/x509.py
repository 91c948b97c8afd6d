"""X.509 certificates sent in the clear (TLS <= 1.2 Certificate and CertificateStatus messages):
the subject's and issuer's names, with tshark 4.0's field names.

A bounded walk over the DER of the certificate's ``tbsCertificate`` (RFC 5280 4.1), not a
general ASN.1 decoder: it follows only the path to the two names and to the extensions that
hold names (subjectAltName, issuerAltName, authorityKeyIdentifier's authorityCertIssuer), and
reads every element header against the bytes of the element around it, so a length running
past its parent is a *malformed* finding, never a read out of bounds. Each element is read
once and every loop advances, so the work is linear in the certificate's size.

What is shown, in tshark's tree order (a certificate's issuer, subject, then its extensions):

* each RDN: ``x509if.RDNSequence_item`` (its number of attributes); each attribute:
  ``x509if.oid`` (its type, 2.5.4.3 for commonName) and its value: ``x509sat.CountryName``
  for countryName; for the DirectoryString attributes (commonName, organizationName, ...),
  ``x509sat.DirectoryString`` (the CHOICE index, as tshark prints it) and the string under
  tshark's name of its ASN.1 type (``x509sat.printableString``, ``x509sat.uTF8String``, ...);
  an attribute of another type shows only its ``x509if.oid``;
* the DNS names of the alternative-name extensions: ``x509ce.dNSName``.

Not decoded: the validity, the key, the other extensions (CRL distribution points' names among
them), the signature.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pcapkit.fields import FieldSpec

SEQUENCE, SET, OID, OCTET_STRING, BOOLEAN, ENUMERATED = 0x30, 0x31, 0x06, 0x04, 0x01, 0x0A
UTF8, PRINTABLE, TELETEX, IA5, UNIVERSAL, BMP = 0x0C, 0x13, 0x14, 0x16, 0x1C, 0x1E
# Wireshark's DirectoryString CHOICE order (x509sat.asn): teletex, printable, universal, bmp, utf8
DIRECTORY_STRING = {TELETEX: (0, "x509sat.teletexString"), PRINTABLE: (1, "x509sat.printableString"),
                    UNIVERSAL: (2, "x509sat.universalString"), BMP: (3, "x509sat.bmpString"),
                    UTF8: (4, "x509sat.uTF8String")}
COUNTRY_NAME = "2.5.4.6"
# the X.520 attribute types Wireshark's x509sat decodes as a DirectoryString
DIRECTORY_STRING_TYPES = frozenset(f"2.5.4.{n}" for n in (3, 4, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 18, 41, 42,
                                                           43, 44, 65))
SUBJECT_ALT_NAME, ISSUER_ALT_NAME, AUTHORITY_KEY_ID = "2.5.29.17", "2.5.29.18", "2.5.29.35"
DNS_NAME, DIRECTORY_NAME, AUTHORITY_CERT_ISSUER = 0x82, 0xA4, 0xA1
MAX_OID_ARCS = 64                        # longer is nonsense (and would only cost time)

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("x509if.RDNSequence_item", "uint", 32, doc="Attributes in one relative distinguished name"),
    FieldSpec("x509if.oid", "string", doc="Attribute type (object identifier)"),
    FieldSpec("x509sat.CountryName", "string", doc="countryName"),
    FieldSpec("x509sat.DirectoryString", "uint", 32, doc="DirectoryString CHOICE index"),
    FieldSpec("x509sat.teletexString", "string", doc="DirectoryString: TeletexString"),
    FieldSpec("x509sat.printableString", "string", doc="DirectoryString: PrintableString"),
    FieldSpec("x509sat.universalString", "string", doc="DirectoryString: UniversalString"),
    FieldSpec("x509sat.uTF8String", "string", doc="DirectoryString: UTF8String"),
    FieldSpec("x509sat.bmpString", "string", doc="DirectoryString: BMPString"),
    FieldSpec("x509ce.dNSName", "string", doc="GeneralName: dNSName (subject/issuer alternative name)"),
)

Fields = list[tuple[str, Any]]


class DerError(Exception):
    """The DER contradicts itself (a length past its parent, a wrong tag): the reason."""


class _Der:
    """One DER element's contents: ``data[start:end]``, read element by element."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, start: int, end: int) -> None:
        self.data, self.pos, self.end = data, start, end

    def more(self) -> bool:
        return self.pos < self.end

    def peek(self) -> int:
        return self.data[self.pos] if self.pos < self.end else -1

    def next(self, expect: int | None = None, what: str = "element") -> tuple[int, _Der]:
        """The next element (tag, contents); ``expect``: the tag it must have."""
        data, pos, end = self.data, self.pos, self.end
        if pos + 2 > end:
            raise DerError(f"{what}: its header runs past the element around it")
        tag, n = data[pos], data[pos + 1]
        pos += 2
        if tag & 0x1F == 0x1F:
            raise DerError(f"{what}: a multi-byte tag (not in a certificate)")
        if n & 0x80:
            k = n & 0x7F
            if k == 0 or k > 4 or pos + k > end:
                raise DerError(f"{what}: a length of {k} bytes (indefinite, too long or cut)")
            n = int.from_bytes(data[pos:pos + k], "big")
            pos += k
        if n > end - pos:
            raise DerError(f"{what}: {n} bytes, {end - pos} left in the element around it")
        if expect is not None and tag != expect:
            raise DerError(f"{what}: tag 0x{tag:02x}, expected 0x{expect:02x}")
        self.pos = pos + n
        return tag, _Der(data, pos, pos + n)

    def bytes(self) -> bytes:
        return self.data[self.pos:self.end]


def oid_text(raw: bytes) -> str:
    """An OBJECT IDENTIFIER's contents as dotted text ("2.5.4.3")."""
    arcs: list[int] = []
    value = 0
    for b in raw:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(value)
            value = 0
            if len(arcs) > MAX_OID_ARCS:
                raise DerError("an object identifier of more than 64 arcs")
    if not arcs or raw[-1] & 0x80:
        raise DerError("an object identifier that ends inside an arc")
    first = arcs[0]
    head = [first // 40, first % 40] if first < 80 else [2, first - 80]
    return ".".join(map(str, head + arcs[1:]))


def _string(tag: int, raw: bytes) -> str:
    if tag == UNIVERSAL:
        return raw.decode("utf-32-be", "replace")
    if tag == BMP:
        return raw.decode("utf-16-be", "replace")
    return raw.decode("utf-8", "replace")


def _name(der: _Der, out: Fields, attributes: list[tuple[str, str]] | None = None) -> None:
    """Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue); the
    (type, text) of each attribute with a string value also go to ``attributes``."""
    while der.more():
        _, rdn = der.next(SET, "a relative distinguished name")
        avas: list[_Der] = []
        while rdn.more():
            avas.append(rdn.next(SEQUENCE, "an attribute")[1])
        out.append(("x509if.RDNSequence_item", len(avas)))
        for ava in avas:
            oid = oid_text(ava.next(OID, "an attribute's type")[1].bytes())
            out.append(("x509if.oid", oid))
            if not ava.more():
                raise DerError(f"attribute {oid} without a value")
            tag, value = ava.next(what=f"attribute {oid}'s value")
            text = _string(tag, value.bytes())
            if oid == COUNTRY_NAME and tag == PRINTABLE:
                out.append(("x509sat.CountryName", text))
            elif oid in DIRECTORY_STRING_TYPES and tag in DIRECTORY_STRING:
                index, field = DIRECTORY_STRING[tag]
                out.append(("x509sat.DirectoryString", index))
                out.append((field, text))
            else:
                continue
            if attributes is not None:
                attributes.append((oid, text))


def _general_names(der: _Der, out: Fields) -> None:
    while der.more():
        tag, value = der.next(what="a general name")
        if tag == DNS_NAME:
            out.append(("x509ce.dNSName", _string(IA5, value.bytes())))
        elif tag == DIRECTORY_NAME:
            _name(value.next(SEQUENCE, "a directory name")[1], out)


def _extensions(der: _Der, out: Fields) -> None:
    _, exts = der.next(SEQUENCE, "the extensions")
    while exts.more():
        _, ext = exts.next(SEQUENCE, "an extension")
        oid = oid_text(ext.next(OID, "an extension's id")[1].bytes())
        if ext.peek() == BOOLEAN:
            ext.next()
        _, value = ext.next(OCTET_STRING, f"extension {oid}'s value")
        if oid in (SUBJECT_ALT_NAME, ISSUER_ALT_NAME):
            _general_names(value.next(SEQUENCE, "the alternative names")[1], out)
        elif oid == AUTHORITY_KEY_ID:
            _, aki = value.next(SEQUENCE, "the authority key identifier")
            while aki.more():
                tag, part = aki.next(what="an authority key identifier part")
                if tag == AUTHORITY_CERT_ISSUER:
                    _general_names(part, out)


def _certificate(der: bytes, out: Fields, issuer: list[tuple[str, str]] | None = None,
                 subject: list[tuple[str, str]] | None = None) -> None:
    """Walk one certificate, adding its fields to ``out`` (raises DerError where it stops)."""
    _, cert = _Der(der, 0, len(der)).next(SEQUENCE, "the certificate")
    _, tbs = cert.next(SEQUENCE, "tbsCertificate")
    if tbs.peek() == 0xA0:                          # [0] EXPLICIT version
        tbs.next()
    tbs.next(what="the serial number")
    tbs.next(SEQUENCE, "the signature algorithm")
    _name(tbs.next(SEQUENCE, "the issuer")[1], out, issuer)
    tbs.next(SEQUENCE, "the validity")
    _name(tbs.next(SEQUENCE, "the subject")[1], out, subject)
    if subject is not None:
        subject.append(("", ""))                    # the subject read to its end
    tbs.next(SEQUENCE, "the subject's public key")
    while tbs.more():                               # [1], [2] unique IDs, [3] extensions
        tag, part = tbs.next(what="a tbsCertificate part")
        if tag == 0xA3:
            _extensions(part, out)


def certificate_fields(der: bytes) -> tuple[Fields, str | None]:
    """The name fields of one DER certificate, in tshark's order, and the reason the walk stopped
    early (None when the certificate reads to its end). The fields read before a stop are kept,
    as tshark keeps the items it added before an error."""
    out: Fields = []
    try:
        _certificate(der, out)
    except DerError as exc:
        return out, str(exc)
    return out, None


def subject_and_issuer(der: bytes) -> tuple[list[tuple[str, str]], list[tuple[str, str]]] | None:
    """The (attribute type, text) pairs of a certificate's subject and issuer, in the order of
    the DER (attributes without a string value left out); None when the walk stops before the
    end of the subject."""
    issuer: list[tuple[str, str]] = []
    subject: list[tuple[str, str]] = []
    with contextlib.suppress(DerError):           # the names read before a stop still count
        _certificate(der, [], issuer, subject)
    if not subject or subject[-1] != ("", ""):
        return None
    return subject[:-1], issuer


def ocsp_response_fields(der: bytes) -> tuple[Fields, str | None]:
    """The name fields of a stapled OCSP response (RFC 6960 4.2.1): the responder's name when
    given by name, then those of the certificates it carries."""
    out: Fields = []
    try:
        _, resp = _Der(der, 0, len(der)).next(SEQUENCE, "the OCSP response")
        resp.next(ENUMERATED, "the response status")
        if not resp.more():
            return out, None
        _, wrapped = resp.next(0xA0, "the response bytes")
        _, body = wrapped.next(SEQUENCE, "the response bytes")
        body.next(OID, "the response type")
        _, octets = body.next(OCTET_STRING, "the response")
        _, basic = octets.next(SEQUENCE, "the basic OCSP response")
        _, data = basic.next(SEQUENCE, "tbsResponseData")
        if data.peek() == 0xA0:                         # [0] EXPLICIT version
            data.next()
        tag, responder = data.next(what="the responder ID")
        if tag == 0xA1:                                 # byName
            _name(responder.next(SEQUENCE, "the responder's name")[1], out)
        basic.next(SEQUENCE, "the signature algorithm")
        basic.next(what="the signature")
        if basic.more():
            _, certs = basic.next(0xA0, "the certificates")
            _, seq = certs.next(SEQUENCE, "the certificates")
            while seq.more():
                start = seq.pos
                seq.next(SEQUENCE, "a certificate")
                fields, error = certificate_fields(der[start:seq.pos])
                out += fields
                if error:
                    return out, error
    except DerError as exc:
        return out, str(exc)
    return out, None
