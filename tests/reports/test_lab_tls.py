"""The Kurose & Ross SSL lab on its trace: each answer derived from tshark's TLS fields in the test;
the cipher suites' names from tshark -V's text."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.lab_cmd import lab
from pcapkit.reports.lab_common import NO_ANSWER
from pcapkit.reports.lab_tls import lab_tls
from pcapkit.reports.tls_names import CIPHER_SPEC, CIPHER_SUITE, cipher_text

TRACE = CORPUS / "labs" / "ssl-ethereal-trace-1"
# the lab's trace (an SSLv2-format ClientHello, SSLv3) and two v8.1 traces' TLS 1.2 background traffic
TRACES = [TRACE, CORPUS / "labs" / "dhcp-wireshark-trace1-1.pcapng", CORPUS / "labs" / "http-wireshark-trace1-1.pcapng"]
FIELDS = ["frame.number", "tcp.stream", "ip.src", "tcp.len", "tcp.payload", "tcp.segment", "tls.record.content_type",
          "tls.record.version", "tls.record.length", "tls.handshake.type", "tls.handshake.length",
          "tls.handshake.version", "tls.handshake.random", "tls.handshake.session_id", "tls.handshake.ciphersuite",
          "tls.handshake.cipherspec", "tls.handshake.challenge_length"]


def _split(row: dict[str, str], field: str) -> list[str]:
    return row[field].split(",") if field in row else []


CIPHER_LINE = re.compile(r"^\s+Cipher (?:Suite|Spec): (.+)$")


def _tshark_cipher_texts(path: Path, display_filter: str) -> list[str]:
    """What tshark -V writes after "Cipher Suite: " / "Cipher Spec: " in the frames the filter
    shows, in order ("TLS_RSA_WITH_RC4_128_MD5 (0x0004)")."""
    out = subprocess.run(["tshark", "-n", "-r", str(path), "-Y", display_filter, "-V"], capture_output=True,
                         text=True, errors="replace", check=True, timeout=300).stdout
    return [m.group(1) for m in map(CIPHER_LINE.match, out.splitlines()) if m]


@requires_tshark
@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_answers_match_tshark(corpus: Path, path: Path) -> None:
    df = lab_tls(path)
    answers = {q: (a, f) for q, a, f in zip(df["question"], df["answer"], df["frames"], strict=True)}
    ws = tshark_fields(path, FIELDS, display_filter="tls.record.length")
    hello = next(r for r in ws if "1" in _split(r, "tls.handshake.type"))
    client = hello["ip.src"]
    exchange = [r for r in ws if int(r["frame.number"]) >= int(hello["frame.number"])
                and r["tcp.stream"] == hello["tcp.stream"]]
    for n, r in enumerate(exchange[:8], 1):
        lengths = _split(r, "tls.record.length")
        handshakes = _split(r, "tls.handshake.type")
        expected = (f"{len(lengths)} record{'s' if len(lengths) != 1 else ''}: content types "
                    f"{', '.join(_split(r, 'tls.record.content_type')) or 'none (SSLv2 header)'}; versions "
                    f"{r['tls.record.version'].replace(',', ', ')}; lengths {', '.join(lengths)}"
                    + (f"; handshake types {', '.join(handshakes)}" if handshakes else ""))
        side = "client" if r["ip.src"] == client else "server"
        assert answers[f"frame {n} of the exchange ({side}): its records"] == (expected, r["frame.number"])
    at = hello["frame.number"]
    if "tls.record.content_type" in hello:
        assert answers["ClientHello: record content type"] == (hello["tls.record.content_type"], at)
        random = hello["tls.handshake.random"]
        assert answers["ClientHello: nonce (random) length and value"] == (f"{len(random) // 2} bytes: {random}", at)
        suites = _split(hello, "tls.handshake.ciphersuite")
    else:  # an SSLv2-format record: no content type; the nonce is the challenge that ends the record
        assert hello["tls.record.version"] == "0x0002"
        assert answers["ClientHello: record content type"] == (
            f"none: an SSLv2-format record (version {hello['tls.record.version']}), handshake type 1 (Client Hello)",
            at)
        size = int(hello["tls.handshake.challenge_length"])
        assert answers["ClientHello: nonce (SSLv2 challenge) length and value"] == (
            f"{size} bytes: {hello['tcp.payload'][-2 * size:]}", at)
        suites = _split(hello, "tls.handshake.cipherspec")
    assert answers["ClientHello: version (record; handshake)"] == (
        f"{hello['tls.record.version']}; {hello['tls.handshake.version']}", at)
    assert answers["ClientHello: record length"] == (hello["tls.record.length"], at)
    names = _tshark_cipher_texts(path, f"frame.number == {at}")
    assert len(names) == len(suites)
    assert answers["ClientHello: cipher suites offered (count: names)"] == (f"{len(suites)}: {', '.join(names)}", at)

    server = next(r for r in exchange if "2" in _split(r, "tls.handshake.type"))
    at = server["frame.number"]
    assert answers["ServerHello: chosen cipher suite"] == (
        *_tshark_cipher_texts(path, f"frame.number == {at} && tls.handshake.type == 2"), at)
    assert server["tls.handshake.ciphersuite"] in answers["ServerHello: chosen cipher suite"][0]
    random, session = server["tls.handshake.random"], server["tls.handshake.session_id"]
    assert answers["ServerHello: nonce (random) length and value"] == (f"{len(random) // 2} bytes: {random}", at)
    assert answers["ServerHello: session ID length and value"] == (f"{len(session) // 2} bytes: {session}", at)
    cert = next(r for r in exchange if "11" in _split(r, "tls.handshake.type"))
    segments = _split(cert, "tcp.segment") or [cert["frame.number"]]
    lengths, handshakes = _split(cert, "tls.record.length"), _split(cert, "tls.handshake.type")
    if cert is server and len(lengths) == 1:
        where = "the ServerHello's record"
    else:  # one handshake message per record here, so tshark's lists line up
        assert len(lengths) == len(handshakes)
        where = f"its own record (length {lengths[handshakes.index('11')]})"
    assert answers["Certificate: in the ServerHello's record or its own; carried by how many TCP segments"] == (
        f"{where}, completed in frame {cert['frame.number']}; {len(segments)} TCP segment"
        f"{'s' if len(segments) != 1 else ''}", ", ".join(segments))

    key = next(r for r in exchange if "16" in _split(r, "tls.handshake.type"))
    lengths = _split(key, "tls.record.length")
    assert _split(key, "tls.handshake.type")[0] == "16" and _split(key, "tls.record.content_type")[0] == "22"
    assert answers["ClientKeyExchange: record and handshake length (the encrypted pre-master secret)"] == (
        f"{lengths[0]}; {key['tls.handshake.length']}", key["frame.number"])
    for side in ("client", "server"):
        mine = [(r["frame.number"], t, length) for r in exchange if (r["ip.src"] == client) == (side == "client")
                and "tls.record.content_type" in r
                for t, length in zip(_split(r, "tls.record.content_type"), _split(r, "tls.record.length"),
                                     strict=True)]
        i = next(i for i, m in enumerate(mine) if m[1] == "20")
        assert answers[f"ChangeCipherSpec ({side}): content type and length"] == (f"20; {mine[i][2]}", mine[i][0])
        frame, kind, length = mine[i + 1]  # the encrypted Finished: the next record of that side
        assert answers[f"encrypted handshake record (Finished, {side}): content type and length"] == (
            f"{kind}; {length}", frame)
    # an SSLv2-format record (the ClientHello) has no content type: its frame holds only it
    data = [(r, length) for r in exchange if "tls.record.content_type" in r
            for t, length in zip(_split(r, "tls.record.content_type"), _split(r, "tls.record.length"), strict=True)
            if t == "23"]
    assert answers["application data records: content type, count, first (frame, length)"] == (
        f"23; {len(data)}; frame {data[0][0]['frame.number']}, {data[0][1]}", data[0][0]["frame.number"])


def _tls_corpus() -> list[Path]:
    """The lab traces and every capture INDEX.tsv lists with TLS."""
    index = CORPUS / "INDEX.tsv"
    rows = [line.split("\t") for line in index.read_text().splitlines()[1:]] if index.is_file() else []
    listed = [CORPUS / cols[0] for cols in rows if len(cols) > 4 and "tls" in cols[4].split(",")]
    return list(dict.fromkeys([*TRACES, *listed]))


@requires_tshark
@pytest.mark.parametrize("path", _tls_corpus(), ids=lambda p: p.name)
def test_every_cipher_name_matches_tshark(corpus: Path, path: Path) -> None:
    """Every cipher suite and SSLv2 cipher spec of every hello in the trace is named as tshark -V
    names it (the generated table checked on real traffic, GREASE values included)."""
    texts = _tshark_cipher_texts(path, "tls.handshake.type == 1 || tls.handshake.type == 2")
    rows = tshark_fields(path, ["tls.handshake.ciphersuite", "tls.handshake.cipherspec"],
                         display_filter="tls.handshake.type == 1 || tls.handshake.type == 2")
    # -V lists a frame's SSLv2 cipher specs and TLS cipher suites in record order: one kind per hello
    values = [(CIPHER_SPEC if "tls.handshake.cipherspec" in r else CIPHER_SUITE,
               int(v, 16)) for r in rows
              for v in _split(r, "tls.handshake.cipherspec") + _split(r, "tls.handshake.ciphersuite")]
    assert len(values) == len(texts)
    if path in TRACES:
        assert texts
    assert [cipher_text(kind, v) for kind, v in values] == texts


STRINGS = ("x509sat.CountryName", "x509sat.printableString", "x509sat.uTF8String", "x509sat.teletexString",
           "x509sat.universalString", "x509sat.bmpString")
Tree = list[tuple[str, object]]


def _find(tree: object, key: str) -> list[object]:
    """Every value under ``key`` in a tshark -T json tree (duplicate keys kept), in order."""
    found: list[object] = []
    if isinstance(tree, list):
        for item in tree:
            if isinstance(item, tuple):
                k, v = item
                found += [v] if k == key else _find(v, key)
            else:
                found += _find(item, key)
    return found


def _common_names(name_tree: object) -> str:
    names = []
    for attribute in _find(name_tree, "x509if.RelativeDistinguishedName_item_element"):
        oid = _find(attribute, "x509if.oid")
        text = [v for k in STRINGS for v in _find(attribute, k)]
        if oid == ["2.5.4.3"] and text:
            names.append(str(text[0]))
    return " / ".join(names) if names else "(no commonName)"


def _tshark_chain(path: Path, frame: str) -> str:
    """The lab's chain answer, built from tshark -T json's certificate trees of the frame."""
    out = subprocess.run(["tshark", "-n", "-r", str(path), "-Y", f"frame.number == {frame}", "-T", "json"],
                         capture_output=True, text=True, errors="replace", check=True, timeout=300).stdout
    tree = json.loads(out, object_pairs_hook=list)
    # the Certificate message's certificates (not those a stapled OCSP response in the frame carries)
    certs = [c for t in _find(tree, "tls.handshake.certificate_tree") for c in _find(t, "x509af.signedCertificate_element")]
    assert certs
    return "; ".join(f"{n}. {_common_names(_find(c, 'x509af.subject_tree'))} issued by "
                     f"{_common_names(_find(c, 'x509af.issuer_tree'))}" for n, c in enumerate(certs, 1))


@requires_tshark
@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_certificate_names_match_tshark(corpus: Path, path: Path) -> None:
    df = lab_tls(path)
    row = df[df["question"] == "Certificate: each certificate's subject and issuer (common names)"]
    assert len(row) == 1
    answer, frame = row["answer"].iloc[0], row["frames"].iloc[0]
    assert answer == _tshark_chain(path, frame)
    assert " issued by " in answer and "(no commonName)" not in answer


def test_no_tls(corpus: Path) -> None:
    df = lab_tls(CORPUS / "labs" / "http-ethereal-trace-1")
    assert list(df["answer"]) == [NO_ANSWER + "no ClientHello in the trace"]


def test_cli(corpus: Path) -> None:
    res = CliRunner().invoke(lab, ["tls", str(TRACE), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "SSLv2" in res.output
