"""The Kurose & Ross SSL lab on its trace: each answer derived from tshark's TLS fields in the test."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.lab_cmd import lab
from pcapkit.reports.lab_common import NO_ANSWER
from pcapkit.reports.lab_tls import lab_tls

TRACE = CORPUS / "labs" / "ssl-ethereal-trace-1"
FIELDS = ["frame.number", "tcp.stream", "ip.src", "tcp.len", "tcp.payload", "tcp.segment", "tls.record.content_type",
          "tls.record.version", "tls.record.length", "tls.handshake.type", "tls.handshake.length",
          "tls.handshake.version", "tls.handshake.random", "tls.handshake.session_id", "tls.handshake.ciphersuite",
          "tls.handshake.cipherspec", "tls.handshake.challenge_length"]


def _split(row: dict[str, str], field: str) -> list[str]:
    return row[field].split(",") if field in row else []


@requires_tshark
def test_answers_match_tshark(corpus: Path) -> None:
    df = lab_tls(TRACE)
    answers = {q: (a, f) for q, a, f in zip(df["question"], df["answer"], df["frames"], strict=True)}
    ws = tshark_fields(TRACE, FIELDS, display_filter="tls.record.length")
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
    assert "tls.record.content_type" not in hello and hello["tls.record.version"] == "0x0002"  # SSLv2 format
    assert answers["ClientHello: record content type"] == (
        f"none: an SSLv2-format record (version {hello['tls.record.version']}), handshake type 1 (Client Hello)", at)
    assert answers["ClientHello: version (record; handshake)"] == (
        f"{hello['tls.record.version']}; {hello['tls.handshake.version']}", at)
    assert answers["ClientHello: record length"] == (hello["tls.record.length"], at)
    size = int(hello["tls.handshake.challenge_length"])
    assert answers["ClientHello: nonce (SSLv2 challenge) length and value"] == (
        f"{size} bytes: {hello['tcp.payload'][-2 * size:]}", at)
    specs = _split(hello, "tls.handshake.cipherspec")
    assert answers["ClientHello: cipher suites offered (count, first)"] == (f"{len(specs)}, first {specs[0]}", at)

    server = next(r for r in exchange if "2" in _split(r, "tls.handshake.type"))
    at = server["frame.number"]
    assert answers["ServerHello: chosen cipher suite"] == (server["tls.handshake.ciphersuite"], at)
    random, session = server["tls.handshake.random"], server["tls.handshake.session_id"]
    assert answers["ServerHello: nonce (random) length and value"] == (f"{len(random) // 2} bytes: {random}", at)
    assert answers["ServerHello: session ID length and value"] == (f"{len(session) // 2} bytes: {session}", at)
    cert = next(r for r in exchange if "11" in _split(r, "tls.handshake.type"))
    segments = _split(cert, "tcp.segment") or [cert["frame.number"]]
    where = ("the ServerHello's record" if cert is server
             else f"its own record (length {_split(cert, 'tls.record.length')[_split(cert, 'tls.handshake.type').index('11')]})")
    assert answers["Certificate: in the ServerHello's record or its own; carried by how many TCP segments"] == (
        f"{where}, completed in frame {cert['frame.number']}; {len(segments)} TCP segments", ", ".join(segments))

    key = next(r for r in exchange if "16" in _split(r, "tls.handshake.type"))
    lengths = _split(key, "tls.record.length")
    assert answers["ClientKeyExchange: record and handshake length (the encrypted pre-master secret)"] == (
        f"{lengths[0]}; {key['tls.handshake.length']}", key["frame.number"])
    for side in ("client", "server"):
        r = next(r for r in exchange if (r["ip.src"] == client) == (side == "client")
                 and "20" in _split(r, "tls.record.content_type"))
        types, lengths = _split(r, "tls.record.content_type"), _split(r, "tls.record.length")
        i = types.index("20")
        assert answers[f"ChangeCipherSpec ({side}): content type and length"] == (f"20; {lengths[i]}", r["frame.number"])
        # the record after it: a handshake record whose type tshark cannot read (encrypted)
        assert types[i + 1] == "22" and len(_split(r, "tls.handshake.type")) < types.count("22")
        assert answers[f"encrypted handshake record (Finished, {side}): content type and length"] == (
            f"22; {lengths[i + 1]}", r["frame.number"])
    # an SSLv2-format record (the ClientHello) has no content type: its frame holds only it
    data = [(r, length) for r in exchange if "tls.record.content_type" in r
            for t, length in zip(_split(r, "tls.record.content_type"), _split(r, "tls.record.length"), strict=True)
            if t == "23"]
    assert answers["application data records: content type, count, first (frame, length)"] == (
        f"23; {len(data)}; frame {data[0][0]['frame.number']}, {data[0][1]}", data[0][0]["frame.number"])


def test_no_tls(corpus: Path) -> None:
    df = lab_tls(CORPUS / "labs" / "http-ethereal-trace-1")
    assert list(df["answer"]) == [NO_ANSWER + "no ClientHello in the trace"]


def test_cli(corpus: Path) -> None:
    res = CliRunner().invoke(lab, ["tls", str(TRACE), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "SSLv2" in res.output
