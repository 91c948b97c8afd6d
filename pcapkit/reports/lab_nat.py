"""Answers to the Kurose & Ross "Wireshark lab: NAT" questions (v8.0), from the pair of traces
taken on the home side (NAT_home_side) and the ISP side (NAT_ISP_side) of the NAT router.

A TCP connection is the same on both sides when its server address and port and its SYN's
initial sequence number match (NAT rewrites addresses and ports, never sequence numbers).
The lab follows the browser's page request: the first "GET / " (else the first GET). For it,
on each side: the GET's and the 200 OK's times, addresses and ports, the SYN and SYN-ACK;
then what NAT changed in the GET (payload, IP header fields), and the translation table of
every connection seen on both sides. The HTTP messages are the HTTP dissector's, each on
the frame that completes it, as Wireshark shows it; the response is the one the dissector
matched to the GET (``http.request_in``).
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING

from pcapkit.reports.lab_common import (
    Answers,
    LabError,
    Trace,
    endpoints,
    get,
    http_messages,
    layer,
    read_trace,
    response_to,
    secs,
    tcp_payload,
)
from pcapkit.reports.lab_ip import HEADER_FIELDS, header

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable
    from pcapkit.dissect.driver import Packet
    from pcapkit.reports.lab_common import HttpMessage

Key = tuple[str, int, int]  # server address, server port, client ISN


def _syns(trace: Trace) -> dict[Key, Packet]:
    """Each connection's first SYN by (server address, server port, client ISN)."""
    found: dict[Key, Packet] = {}
    for p in trace:
        if get(p, "tcp", "tcp.flags.syn") and not get(p, "tcp", "tcp.flags.ack") and layer(p, "ip") is not None:
            found.setdefault((get(p, "ip", "ip.dst"), get(p, "tcp", "tcp.dstport"), get(p, "tcp", "tcp.seq_raw")), p)
    return found


def _addr(p: Packet) -> str:
    (src, sport), (dst, dport) = endpoints(p)
    return f"{src}:{sport} -> {dst}:{dport}"


def _at(trace: Trace, p: Packet) -> str:
    return f"at {secs(trace.rel(p))}: {_addr(p)}"


def _side(out: Answers, side: str, trace: Trace, syn: Packet) -> Packet | None:
    """The connection's SYN, SYN-ACK, the page GET and its response on one side; returns the GET's frame."""
    client, server = endpoints(syn)
    packets = [p for p in trace if endpoints(p) in ((client, server), (server, client))]
    synack = next((p for p in packets if get(p, "tcp", "tcp.flags.syn") and get(p, "tcp", "tcp.flags.ack")), None)
    messages = http_messages(packets)
    page = _page(messages)
    out.add(f"{side}: the TCP SYN: time, addresses and ports", _at(trace, syn), [syn])
    if synack is None:
        out.missing(f"{side}: the SYN-ACK: time, addresses and ports", "the server's SYN-ACK is not in the trace")
    else:
        out.add(f"{side}: the SYN-ACK: time, addresses and ports", _at(trace, synack), [synack])
    if page is None:
        out.missing(f"{side}: the HTTP GET", "the connection carries no GET", [syn])
        return None
    out.add(f"{side}: the HTTP GET ({page.fields['http.request.uri']}): time, addresses and ports",
            _at(trace, page.packet), [page.packet])
    ok = response_to(messages, page)
    if ok is None:
        out.missing(f"{side}: the HTTP response", "the trace holds no response to the GET", [page.packet])
    else:
        out.add(f"{side}: the HTTP response ({ok.fields.get('http.response.code')}): time "
                "(its last segment), addresses and ports", _at(trace, ok.packet), [ok.packet])
    return page.packet


def _page(messages: list[HttpMessage]) -> HttpMessage | None:
    """The page request: the first GET of "/", else the first GET."""
    gets = [m for m in messages if m.fields.get("http.request.method") == "GET"]
    return next((m for m in gets if m.fields.get("http.request.uri") == "/"), gets[0] if gets else None)


def lab_nat(home: str | PathLike[str], isp: str | PathLike[str]) -> pd.DataFrame:
    """The NAT lab's questions and answers (question / answer / frames rows; the frames of the
    ISP-side answers are frame numbers of the ISP-side trace)."""
    return lab_nat_table(home, isp).to_pandas()


def lab_nat_table(home: str | PathLike[str], isp: str | PathLike[str]) -> ColumnTable:
    """:func:`lab_nat` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what the CLI writes,
    without pandas)."""
    inside, outside = read_trace(home), read_trace(isp)
    in_syns, out_syns = _syns(inside), _syns(outside)
    both = [k for k in in_syns if k in out_syns]
    if not both:
        raise LabError(f"{home} and {isp}: no TCP connection is seen on both sides")
    out = Answers()
    message = _page(http_messages(inside))
    if message is None:
        raise LabError(f"{home}: no HTTP GET")
    page = message.packet
    client, server = endpoints(page)
    key = next(k for k, syn in in_syns.items() if endpoints(syn) == (client, server))
    out.add("home side: IP address of the client", client[0], [page])
    out.add("home side: IP address of the web server the page comes from", server[0], [page])
    in_get = _side(out, "home side", inside, in_syns[key])
    if key not in out_syns:
        out.missing("ISP side: the same connection", "its SYN (same server and sequence number) is not in the "
                    "ISP-side trace")
        out_get = None
    else:
        out_get = _side(out, "ISP side", outside, out_syns[key])
    if in_get is not None and out_get is not None:
        same = tcp_payload(in_get) == tcp_payload(out_get)
        out.add("did NAT change the HTTP GET message itself",
                "no: the TCP payload is byte for byte the same" if same else "yes: the TCP payloads differ",
                f"{in_get.frame.number} / {out_get.frame.number}")
        a, b = header(in_get), header(out_get)
        changed = [(label, a[name], b[name]) for name, label in HEADER_FIELDS.items() if a[name] != b[name]]
        out.add("IP header fields of the GET that differ between the two sides",
                ", ".join(f"{label} ({x} -> {y})" if label != "Header Checksum" else label
                          for label, x, y in changed) or "none",
                f"{in_get.frame.number} / {out_get.frame.number}")
        names = {label for label, _, _ in changed}
        out.add("Version, Header Length, Flags, Header Checksum: which changed",
                ", ".join(f"{label}: {'changed' if label in names else 'same'}" for label in
                          ("Version", "Header Length", "Flags", "Header Checksum")),
                f"{in_get.frame.number} / {out_get.frame.number}")
    rows = []
    for k in both:
        (lan, lport), (remote, rport) = endpoints(in_syns[k])
        (wan, wport), _ = endpoints(out_syns[k])
        rows.append(f"{wan}:{wport} <-> {lan}:{lport} (to {remote}:{rport})")
    out.add("NAT translation table (WAN side address:port <-> LAN side address:port, per connection)",
            "; ".join(rows), "; ".join(f"{in_syns[k].frame.number} / {out_syns[k].frame.number}" for k in both))
    return out.table(inside.error or outside.error, inside.warnings + outside.warnings)
