"""X.509 names in TLS Certificate and CertificateStatus messages: a certificate built in the test
(every DirectoryString type, a multi-valued RDN, attributes of other types, alternative names,
an authorityCertIssuer, a stapled OCSP response carrying the certificate) compared with tshark
on a capture written in the test; the same fields on every corpus capture with certificates in
the clear; every truncation and random bytes give a finding, never an exception, in bounded time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import CORPUS, corpus_id, requires_tshark
from fieldcompare import compare_file
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import tshark_fields
from test_http import ACK, FIN, PSH, SYN, tcp_pcap
from test_tls import CLIENT_HELLO, handshake, record

from pcapkit.dissect.base import Context, FindingKind
from pcapkit.dissect.tls import TlsSession, cut_records
from pcapkit.dissect.x509 import (
    FIELDS,
    certificate_fields,
    ocsp_response_fields,
    subject_and_issuer,
)

NAMES = tuple(s.name for s in FIELDS)


def tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    length = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes(
        (n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + body


def seq(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.append(0x80 | (arc & 0x7F))
        body += bytes(reversed(chunk))
    return tlv(0x06, bytes(body))


def name(*rdns: list[tuple[str, int, bytes]]) -> bytes:
    return seq(*(tlv(0x31, b"".join(seq(oid(t), tlv(tag, v)) for t, tag, v in rdn)) for rdn in rdns))


UTF8, PRINTABLE, TELETEX, IA5, UNIVERSAL, BMP = 0x0C, 0x13, 0x14, 0x16, 0x1C, 0x1E
ISSUER = name([("2.5.4.6", PRINTABLE, b"GB")], [("2.5.4.10", UTF8, "Ünïcode Ltd".encode())],
              [("2.5.4.11", TELETEX, b"tele"), ("2.5.4.7", UNIVERSAL, "Univ".encode("utf-32-be"))],
              [("2.5.4.3", BMP, "Issuing CA".encode("utf-16-be"))])
SUBJECT = name([("2.5.4.6", PRINTABLE, b"US")], [("2.5.4.5", PRINTABLE, b"12345")],
               [("1.2.840.113549.1.9.1", IA5, b"a@example.a")], [("2.5.4.3", PRINTABLE, b"www.example.a")])
ALT_NAMES = seq(tlv(0x82, b"a.example.a"), tlv(0x82, b"*.b.example.a"),
                tlv(0xA4, name([("2.5.4.3", UTF8, b"in the alt name")])))
AKI = seq(tlv(0x80, bytes(20)), tlv(0xA1, tlv(0xA4, name([("2.5.4.6", PRINTABLE, b"DE")]))), tlv(0x82, b"\x01"))
EXTENSIONS = seq(seq(oid("2.5.29.19"), tlv(0x01, b"\xff"), tlv(0x04, seq())),
                 seq(oid("2.5.29.17"), tlv(0x04, ALT_NAMES)),
                 seq(oid("2.5.29.35"), tlv(0x04, AKI)))
RSA = seq(oid("1.2.840.113549.1.1.1"), tlv(0x05, b""))
KEY = tlv(0x03, b"\x00" + seq(tlv(0x02, b"\x00" + bytes(range(1, 65))), tlv(0x02, b"\x01\x00\x01")))
SHA256_RSA = seq(oid("1.2.840.113549.1.1.11"), tlv(0x05, b""))
TBS = seq(tlv(0xA0, tlv(0x02, b"\x02")), tlv(0x02, b"\x01\x23"), SHA256_RSA, ISSUER,
          seq(tlv(0x17, b"200101000000Z"), tlv(0x17, b"300101000000Z")), SUBJECT, seq(RSA, KEY),
          tlv(0xA3, EXTENSIONS))
CERT = seq(TBS, SHA256_RSA, tlv(0x03, b"\x00" + bytes(64)))
OCSP = seq(tlv(0x0A, b"\x00"), tlv(0xA0, seq(oid("1.3.6.1.5.5.7.48.1.1"), tlv(0x04, seq(
    seq(tlv(0xA1, name([("2.5.4.3", PRINTABLE, b"OCSP responder")])), tlv(0x18, b"20200101000000Z"), seq()),
    SHA256_RSA, tlv(0x03, b"\x00" + bytes(64)), tlv(0xA0, seq(CERT)))))))
CERTS = len(CERT).to_bytes(3, "big") + CERT
SERVER_HELLO = handshake(2, b"\x03\x03" + bytes(range(32)) + b"\x00" + b"\x00\x2f\x00")
SERVER_FLIGHT = (record(22, SERVER_HELLO) + record(22, handshake(11, len(CERTS).to_bytes(3, "big") + CERTS))
                 + record(22, handshake(22, b"\x01" + len(OCSP).to_bytes(3, "big") + OCSP))
                 + record(22, handshake(14, b"")))
SESSION: list[tuple[bool, int, bytes]] = [
    (True, SYN, b""), (False, SYN | ACK, b""), (True, ACK, b""), (True, PSH, record(22, CLIENT_HELLO)),
    (False, PSH, SERVER_FLIGHT[:900]), (False, PSH, SERVER_FLIGHT[900:]),
    (True, FIN | ACK, b""), (False, FIN | ACK, b""),
]


@requires_tshark
@pytest.mark.tshark
def test_built_certificate_matches_tshark(tmp_path: Path) -> None:
    path = tmp_path / "x509.pcap"
    tcp_pcap(path, SESSION, 443)
    result = compare_file(path, fields=NAMES)
    assert not result.diffs, result.report()
    rows = tshark_fields(path, NAMES)
    # the Certificate completes in frame 5, the CertificateStatus in frame 6; every field of the walk
    # is in tshark's answer for both (so the comparison compared them)
    for theirs in rows[4:6]:
        assert set(NAMES) <= set(theirs), set(NAMES) - set(theirs)
        assert theirs["x509sat.uTF8String"].startswith("Ünïcode Ltd")
        assert theirs["x509ce.dNSName"] == "a.example.a,*.b.example.a"
    assert rows[5]["x509sat.printableString"].startswith("OCSP responder,")


def test_walk_reads_the_built_certificate() -> None:
    fields, error = certificate_fields(CERT)
    assert error is None
    values = [v for n, v in fields if n == "x509if.oid"]
    assert values == ["2.5.4.6", "2.5.4.10", "2.5.4.11", "2.5.4.7", "2.5.4.3", "2.5.4.6", "2.5.4.5",
                      "1.2.840.113549.1.9.1", "2.5.4.3", "2.5.4.3", "2.5.4.6"]
    assert ocsp_response_fields(OCSP) == ([("x509if.RDNSequence_item", 1), ("x509if.oid", "2.5.4.3"),
                                           ("x509sat.DirectoryString", 1),
                                           ("x509sat.printableString", "OCSP responder"), *fields], None)


def test_subject_and_issuer_pairs() -> None:
    """The (type, text) pairs the lab reads: the same values as the fields, attributes without a
    string value (serialNumber, emailAddress here) left out; a certificate cut inside its subject
    has none, one cut after it (in the extensions) keeps them."""
    subject, issuer = subject_and_issuer(CERT) or ([], [])
    assert subject == [("2.5.4.6", "US"), ("2.5.4.3", "www.example.a")]
    assert issuer == [("2.5.4.6", "GB"), ("2.5.4.10", "Ünïcode Ltd"), ("2.5.4.11", "tele"), ("2.5.4.7", "Univ"),
                      ("2.5.4.3", "Issuing CA")]
    at = CERT.index(b"www.example.a")
    assert subject_and_issuer(CERT[:at]) is None
    broken = bytearray(CERT)
    broken[CERT.index(ALT_NAMES) + 2] = 0x7F               # the first dNSName's length runs past its parent
    assert subject_and_issuer(bytes(broken)) == (subject, issuer)
    assert certificate_fields(bytes(broken))[1]


@pytest.mark.parametrize("der", [CERT, OCSP], ids=["certificate", "ocsp"])
def test_every_truncation_is_a_finding(der: bytes) -> None:
    walk = certificate_fields if der is CERT else ocsp_response_fields
    full = walk(der)[0]
    start = time.perf_counter()
    for cut in range(len(der)):
        fields, error = walk(der[:cut])
        assert error, cut
        assert fields == full[:len(fields)]            # the fields read before the cut are the same
    assert time.perf_counter() - start < 10


def test_truncated_certificate_in_a_tls_message_is_a_finding() -> None:
    cut = CERT[:len(CERT) // 2]
    certs = len(cut).to_bytes(3, "big") + cut
    msg = handshake(11, len(certs).to_bytes(3, "big") + certs)
    layers = cut_records(bytearray(record(22, msg)), TlsSession(), 0, Context())
    assert [f.kind for f in layers[0].findings] == [FindingKind.MALFORMED]
    assert "certificate:" in layers[0].findings[0].reason


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_raise(data: bytes) -> None:
    start = time.perf_counter()
    for walk in (certificate_fields, ocsp_response_fields):
        fields, _ = walk(data)
        assert {n for n, _ in fields} <= set(NAMES)
    assert time.perf_counter() - start < 2


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(OCSP) - 1), st.integers(0, 255)), min_size=1, max_size=4))
def test_mutated_der_never_raises(edits: list[tuple[int, int]]) -> None:
    data = bytearray(OCSP)
    for at, value in edits:
        data[at] = value
    for walk, der in ((ocsp_response_fields, bytes(data)), (certificate_fields, bytes(data[-len(CERT) - 2:]))):
        fields, _ = walk(der)
        assert {n for n, _ in fields} <= set(NAMES)


# -- the corpus: every capture with certificates in the clear ------------------------------------

FILES = [CORPUS / "labs" / name for name in ("ssl-ethereal-trace-1", "dhcp-wireshark-trace1-1.pcapng",
                                             "http-wireshark-trace1-1.pcapng", "ip-wireshark-trace1-1.pcapng")]


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_corpus_names_match_tshark(corpus: Path, path: Path) -> None:
    result = compare_file(path, fields=NAMES)
    assert not result.diffs, result.report()
    theirs = tshark_fields(path, ["x509if.oid"])
    oids = sum(len(r["x509if.oid"].split(",")) for r in theirs if "x509if.oid" in r)
    assert oids > 0, "no certificate in the clear: the file list is stale"


@requires_tshark
def test_corpus_list_is_every_capture_with_certificates() -> None:
    """Every capture INDEX.tsv lists with TLS that has a Certificate in the clear is in FILES."""
    index = CORPUS / "INDEX.tsv"
    if not index.is_file():
        pytest.skip("corpus not found")
    rows = [line.split("\t") for line in index.read_text().splitlines()[1:]]
    tls = [cols[0] for cols in rows if len(cols) > 4 and "tls" in cols[4].split(",")]
    with_certs = {rel for rel in tls if any("tls.handshake.certificate_length" in r for r in
                                             tshark_fields(CORPUS / rel, ["tls.handshake.certificate_length"]))}
    assert with_certs and with_certs <= {corpus_id(p) for p in FILES}
