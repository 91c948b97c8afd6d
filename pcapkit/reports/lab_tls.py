"""Answers to the Kurose & Ross "Wireshark Lab: SSL" questions (v8.0) for one TLS/SSL exchange:
the first ClientHello's TCP connection.

The records are the TLS dissector's (:mod:`pcapkit.dissect.tls`): one ``tls`` layer per
record, on the frame that completes it, as Wireshark shows it. The lab's "first 8 Ethernet
frames" are the first 8 frames holding a record, from the ClientHello on. A ClientHello in
SSLv2 format (the lab's trace has one) has no content type field: the answer says so. Cipher
suites (and SSLv2 cipher specs) are named as tshark -V names them (:mod:`pcapkit.reports.tls_names`).
Beyond the v8.0 questions, one row gives each certificate's subject and issuer (their commonName),
read from the Certificate message's DER (:mod:`pcapkit.dissect.x509`).
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING, Any

from pcapkit.dissect.x509 import subject_and_issuer
from pcapkit.reports.lab_common import Answers, Trace, endpoints, get, read_trace, tcp_payload
from pcapkit.reports.tls_names import CIPHER_SPEC, CIPHER_SUITE, cipher_text

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable
    from pcapkit.dissect.driver import Packet

FIRST_FRAMES = 8
CHANGE_CIPHER_SPEC, HANDSHAKE, APPLICATION_DATA = 20, 22, 23
CLIENT_HELLO, SERVER_HELLO, CERTIFICATE, CLIENT_KEY_EXCHANGE = 1, 2, 11, 16
COMMON_NAME = "2.5.4.3"


def records(packet: Packet) -> list[dict[str, Any]]:
    """The fields of every TLS record completed in ``packet``, in order."""
    return [x.fields for x in packet.layers if x.protocol == "tls" and "tls.record.length" in x.fields]


def _list(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


def _hex(value: Any, digits: int) -> str:
    return f"0x{value:0{digits}x}" if isinstance(value, int) else str(value)


def describe(packet: Packet) -> str:
    """The frame's records as tshark lists their fields: content types, versions, lengths and
    the handshake types readable in the clear."""
    recs = records(packet)
    types = [str(r["tls.record.content_type"]) for r in recs if "tls.record.content_type" in r]
    handshakes = [str(t) for r in recs for t in _list(r.get("tls.handshake.type"))]
    return (f"{len(recs)} record{'s' if len(recs) != 1 else ''}: content types "
            f"{', '.join(types) or 'none (SSLv2 header)'}; versions "
            f"{', '.join(_hex(r['tls.record.version'], 4) for r in recs)}; lengths "
            f"{', '.join(str(r['tls.record.length']) for r in recs)}"
            + (f"; handshake types {', '.join(handshakes)}" if handshakes else ""))


def _find(packets: list[Packet], test: Any) -> tuple[Packet, dict[str, Any]] | None:
    return next(((p, r) for p in packets for r in records(p) if test(r)), None)


def _is(handshake: int) -> Any:
    return lambda r: handshake in _list(r.get("tls.handshake.type"))


def record_segments(trace: Trace, packet: Packet) -> list[int]:
    """The frames carrying the last record completed in ``packet``: it starts in the previous
    frame of its direction that completed records if that frame's payload runs past them, else in
    the next frame of its direction with payload."""
    flow = endpoints(packet)
    same = [p for p in trace.packets if endpoints(p) == flow and get(p, "tcp", "tcp.len")
            and p.frame.number <= packet.frame.number]
    previous = [p for p in same[:-1] if records(p)]
    start = 0
    if previous:
        last = previous[-1]
        used = sum(5 + r["tls.record.length"] for r in records(last))  # 5: the record header
        start = same.index(last) + (0 if get(last, "tcp", "tcp.len") > used else 1)
    return [p.frame.number for p in same[start:]]


def _common_names(attributes: list[tuple[str, str]]) -> str:
    names = [text for oid, text in attributes if oid == COMMON_NAME]
    return " / ".join(names) if names else "(no commonName)"


def chain_names(certificates: list[bytes]) -> str:
    """"1. SUBJECT issued by ISSUER; 2. ..." (their commonName attributes) for the certificates of
    one Certificate message, in the order sent."""
    parts = []
    for n, der in enumerate(certificates, 1):
        names = subject_and_issuer(der)
        parts.append(f"{n}. unreadable (its DER is malformed)" if names is None
                     else f"{n}. {_common_names(names[0])} issued by {_common_names(names[1])}")
    return "; ".join(parts) if parts else "no certificate in the message"


def lab_tls(path: str | PathLike[str]) -> pd.DataFrame:
    """The SSL lab's questions and answers (question / answer / frames rows)."""
    return lab_tls_table(path).to_pandas()


def lab_tls_table(path: str | PathLike[str]) -> ColumnTable:
    """:func:`lab_tls` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what the CLI writes,
    without pandas)."""
    trace = read_trace(path)
    out = Answers()
    hello = _find(trace.packets, _is(CLIENT_HELLO))
    if hello is None:
        out.missing("the TLS exchange", "no ClientHello in the trace")
        return out.table(trace.error, trace.warnings)
    client = get(hello[0], "ip", "ip.src")
    # the exchange: the ClientHello's TCP connection, from the ClientHello on
    ends = set(endpoints(hello[0]))
    framed = [p for p in trace.packets if p.frame.number >= hello[0].frame.number and records(p)
              and set(endpoints(p)) == ends]
    for n, p in enumerate(framed[:FIRST_FRAMES], 1):
        side = "client" if get(p, "ip", "ip.src") == client else "server"
        out.add(f"frame {n} of the exchange ({side}): its records", describe(p), [p])
    exchange = framed

    packet, r = hello
    if "tls.record.content_type" in r:
        out.add("ClientHello: record content type", r["tls.record.content_type"], [packet])
    else:
        out.add("ClientHello: record content type", f"none: an SSLv2-format record (version "
                f"{_hex(r['tls.record.version'], 4)}), handshake type {CLIENT_HELLO} (Client Hello)", [packet])
    out.add("ClientHello: version (record; handshake)",
            f"{_hex(r['tls.record.version'], 4)}; {_hex(r.get('tls.handshake.version'), 4)}", [packet])
    out.add("ClientHello: record length", r["tls.record.length"], [packet])
    if "tls.handshake.random" in r:
        nonce = r["tls.handshake.random"]
        out.add("ClientHello: nonce (random) length and value", f"{len(nonce)} bytes: {nonce.hex()}", [packet])
    elif "tls.handshake.challenge_length" in r:
        size = r["tls.handshake.challenge_length"]
        # the challenge ends the record; the record ends the frame's payload when it is the frame's
        # last record (a layer's offset is into the reassembled stream, not the frame)
        payload = tcp_payload(packet)
        question = "ClientHello: nonce (SSLv2 challenge) length and value"
        if records(packet)[-1] is r and len(payload) >= size:
            out.add(question, f"{size} bytes: {payload[-size:].hex()}", [packet])
        else:
            out.missing(question, "the ClientHello does not end its frame's payload", [packet])
    kind = CIPHER_SUITE if "tls.handshake.ciphersuite" in r else CIPHER_SPEC   # SSLv2: cipher specs
    suites = _list(r.get(kind))
    out.add("ClientHello: cipher suites offered (count: names)",
            f"{len(suites)}: {', '.join(cipher_text(kind, s) for s in suites)}" if suites else "none", [packet])

    server = _find(exchange, _is(SERVER_HELLO))
    if server is None:
        out.missing("ServerHello: chosen cipher suite", "no ServerHello after the ClientHello")
        return out.table(trace.error, trace.warnings)
    packet, r = server
    chosen = r.get("tls.handshake.ciphersuite")
    if isinstance(chosen, int):
        out.add("ServerHello: chosen cipher suite", cipher_text(CIPHER_SUITE, chosen), [packet])
    else:
        out.missing("ServerHello: chosen cipher suite", "the ServerHello ends before its cipher suite", [packet])
    nonce = r.get("tls.handshake.random", b"")
    out.add("ServerHello: nonce (random) length and value", f"{len(nonce)} bytes: {nonce.hex()}", [packet])
    session = r.get("tls.handshake.session_id", b"")
    out.add("ServerHello: session ID length and value", f"{len(session)} bytes: {session.hex()}", [packet])
    certificate = _find(exchange, _is(CERTIFICATE))
    question = "Certificate: in the ServerHello's record or its own; carried by how many TCP segments"
    if certificate is None:
        out.missing(question, "no Certificate message in the clear")
    else:
        cpacket, cr = certificate
        where = "the ServerHello's record" if cr is r else f"its own record (length {cr['tls.record.length']})"
        segs = record_segments(trace, cpacket)
        out.add(question, f"{where}, completed in frame {cpacket.frame.number}; {len(segs)} TCP segment"
                f"{'s' if len(segs) != 1 else ''}", ", ".join(map(str, segs)))
        # not one of the v8.0 lab's questions, but what a student looks at next: whose certificates
        out.add("Certificate: each certificate's subject and issuer (common names)",
                chain_names(_list(cr.get("tls.handshake.certificate"))), [cpacket])

    key = _find(exchange, _is(CLIENT_KEY_EXCHANGE))
    if key is None:
        out.missing("ClientKeyExchange: record and handshake length", "no ClientKeyExchange")
    else:
        out.add("ClientKeyExchange: record and handshake length (the encrypted pre-master secret)",
                f"{key[1]['tls.record.length']}; {key[1].get('tls.handshake.length')}", [key[0]])
    for side in ("client", "server"):
        # this side's records in order: the encrypted Finished follows its ChangeCipherSpec, in the
        # same frame or a later one
        mine = [(p, x) for p in exchange if (get(p, "ip", "ip.src") == client) == (side == "client")
                for x in records(p)]
        at = next((i for i, (_, x) in enumerate(mine) if x.get("tls.record.content_type") == CHANGE_CIPHER_SPEC),
                  None)
        if at is None:
            out.missing(f"ChangeCipherSpec ({side}): content type and length", "none in the trace")
            continue
        ccs_packet, ccs = mine[at]
        out.add(f"ChangeCipherSpec ({side}): content type and length",
                f"{ccs['tls.record.content_type']}; {ccs['tls.record.length']}", [ccs_packet])
        question = f"encrypted handshake record (Finished, {side}): content type and length"
        following = mine[at + 1] if at + 1 < len(mine) else None
        if following is None or following[1].get("tls.record.content_type") != HANDSHAKE:
            out.missing(question, "no handshake record after the ChangeCipherSpec", [ccs_packet])
        else:
            out.add(question, f"{following[1]['tls.record.content_type']}; {following[1]['tls.record.length']}",
                    [following[0]])
    data = [(p, x) for p in exchange for x in records(p) if x.get("tls.record.content_type") == APPLICATION_DATA]
    if not data:
        out.missing("application data records", "none in the trace")
    else:
        out.add("application data records: content type, count, first (frame, length)",
                f"{APPLICATION_DATA}; {len(data)}; frame {data[0][0].frame.number}, {data[0][1]['tls.record.length']}",
                [data[0][0]])
    return out.table(trace.error, trace.warnings)
