"""Answers to the Kurose & Ross "Wireshark lab: DHCP" questions (v8.0 and v8.1).

:func:`lab_dhcp` gives one row per DHCP message (message type, transaction ID, addresses
and ports, client MAC, offered address, server identifier, lease time, router, subnet mask,
DNS servers, requested parameters, relay, the options present). :func:`lab_dhcp_answers`
turns them into the questions of both handouts, in the order of the exchange: transport,
the Discover / Offer / Request / ACK with their addresses and ports, the host's link-layer
address, transaction IDs, what the client asks for, what tells a Discover from a Request,
the server, the offered address, relay agent, router and subnet mask, whether the client
takes the offer, the lease time, the Release and the ARP traffic around the exchange.
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING, Any

from pcapkit.reports.lab_common import Answers, LabError, Trace, get, layer, read_trace
from pcapkit.reports.typed_rows import INFERRED, typed_table

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable

DHCP_TYPES = {1: "Discover", 2: "Offer", 3: "Request", 4: "Decline", 5: "ACK", 6: "NAK",
              7: "Release", 8: "Inform"}
_PAD_END = (0, 255)
_TEXT = "string"
# the columns of :func:`lab_dhcp` and their dtypes (``time``: since the first frame)
MESSAGE_COLUMNS: dict[str, str] = {
    "frame": "int64", "time": "timedelta64[ns]", "message": _TEXT, "transaction_id": _TEXT, "src": _TEXT,
    "sport": INFERRED, "dst": _TEXT, "dport": INFERRED, "eth_src": _TEXT, "client_mac": _TEXT, "ciaddr": _TEXT,
    "yiaddr": _TEXT, "relay_giaddr": _TEXT, "requested_ip": _TEXT, "server_id": _TEXT, "lease_time_s": "Int64",
    "router": _TEXT, "subnet_mask": _TEXT, "dns_servers": _TEXT, "param_request_list": _TEXT, "options": _TEXT,
}


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def _all(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


def _joined(value: Any) -> str | None:
    return ",".join(map(str, _all(value))) or None


def option_name(code: int) -> str:
    """A DHCP option's name from its Wireshark field name ("router" for option 3)."""
    from pcapkit.dissect.dhcp import SIMPLE_OPTIONS

    known = SIMPLE_OPTIONS.get(code)
    return known[0].removeprefix("dhcp.option.").replace("_", " ") if known else f"option {code}"


def lab_dhcp(path: str | PathLike[str], trace: Trace | None = None) -> pd.DataFrame:
    """One row per DHCP message of the capture at ``path`` (see the module docstring)."""
    return lab_dhcp_table(path, trace).to_pandas()


def lab_dhcp_table(path: str | PathLike[str], trace: Trace | None = None) -> ColumnTable:
    """:func:`lab_dhcp` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what the CLI
    writes, without pandas)."""
    trace = read_trace(path) if trace is None else trace
    return typed_table(_messages(path, trace), MESSAGE_COLUMNS,
                       {"pcapkit.error": trace.error} if trace.error else None)


def _messages(path: str | PathLike[str], trace: Trace) -> list[dict[str, Any]]:
    """The rows of :func:`lab_dhcp` as dicts: text columns as text (None: missing), ``time``
    in nanoseconds."""
    rows: list[dict[str, Any]] = []
    for packet in trace:
        fr = packet.frame
        layers = packet.layers
        at = next((i for i, x in enumerate(layers) if x.protocol == "dhcp"), None)
        if at is None or at < 2 or layers[at - 1].protocol != "udp" or layers[at - 2].protocol != "ip":
            continue
        d, udp, ip = layers[at].fields, layers[at - 1].fields, layers[at - 2].fields
        if "dhcp.cookie" not in d or "dhcp.id" not in d:
            continue  # BOOTP without the DHCP magic cookie
        mtype = _first(d.get("dhcp.option.dhcp"))
        mac = _first(d.get("dhcp.hw.mac_addr"))  # (option 61 may repeat it)
        if mac is None and d.get("dhcp.hw.addr") is not None:
            mac = bytes(d["dhcp.hw.addr"]).hex(":")
        rows.append({
            "frame": fr.number, "time": trace.rel(packet),
            "message": DHCP_TYPES.get(mtype, "BOOTP" if mtype is None else str(mtype)),
            "transaction_id": f"0x{d['dhcp.id']:08x}", "src": ip.get("ip.src"), "sport": udp.get("udp.srcport"),
            "dst": ip.get("ip.dst"), "dport": udp.get("udp.dstport"), "eth_src": get(packet, "eth", "eth.src"),
            "client_mac": mac, "ciaddr": d.get("dhcp.ip.client"), "yiaddr": d.get("dhcp.ip.your"),
            "relay_giaddr": d.get("dhcp.ip.relay"),
            "requested_ip": _first(d.get("dhcp.option.requested_ip_address")),
            "server_id": _first(d.get("dhcp.option.dhcp_server_id")),
            "lease_time_s": _first(d.get("dhcp.option.ip_address_lease_time")),
            "router": _joined(d.get("dhcp.option.router")),
            "subnet_mask": _first(d.get("dhcp.option.subnet_mask")),
            "dns_servers": _joined(d.get("dhcp.option.domain_name_server")),
            "param_request_list": _joined(d.get("dhcp.option.request_list_item")),
            "options": _joined([t for t in _all(d.get("dhcp.option.type")) if t not in _PAD_END]),
        })
    if not rows:
        raise LabError(trace.error or f"{path}: no DHCP messages")
    texts = [name for name, dtype in MESSAGE_COLUMNS.items() if dtype == _TEXT]
    for row in rows:
        for name in texts:
            if row[name] is not None:
                row[name] = str(row[name])
    return rows


def _names(codes: str | None) -> str:
    return ", ".join(f"{c} {option_name(int(c))}" for c in (codes or "").split(",") if c) or "none"


def _after(rows: list[dict[str, Any]], message: str, xid: str, frame: int) -> dict[str, Any] | None:
    return next((r for r in rows if r["message"] == message and r["transaction_id"] == xid and r["frame"] > frame),
                None)


def lab_dhcp_answers(path: str | PathLike[str]) -> pd.DataFrame:
    """The DHCP lab's questions and answers (question / answer / frames rows)."""
    return lab_dhcp_answers_table(path).to_pandas()


def lab_dhcp_answers_table(path: str | PathLike[str]) -> ColumnTable:
    """:func:`lab_dhcp_answers` as a :class:`~pcapkit.columnar.column_table.ColumnTable`
    (what the CLI writes, without pandas)."""
    trace = read_trace(path)
    rows = _messages(path, trace)
    out = Answers()
    out.add("are DHCP messages sent over UDP or TCP", "UDP", ", ".join(str(r["frame"]) for r in rows))
    discover = next((r for r in rows if r["message"] == "Discover"), None)
    if discover is None:
        out.missing("the Discover / Offer / Request / ACK exchange", "the trace holds no DHCP Discover")
        return out.table(trace.error, trace.warnings)
    xid = discover["transaction_id"]
    offer = _after(rows, "Offer", xid, discover["frame"])
    request = _after(rows, "Request", xid, offer["frame"] if offer else discover["frame"])
    ack = _after(rows, "ACK", xid, request["frame"]) if request else None
    dora = {"Discover": discover, "Offer": offer, "Request": request, "ACK": ack}
    for name, r in dora.items():
        if r is None:
            out.missing(f"{name}: source and destination IP address and UDP port",
                        f"no DHCP {name} with transaction ID {xid} follows the Discover")
            continue
        out.add(f"{name}: source and destination IP address and UDP port",
                f"{r['src']}:{r['sport']} -> {r['dst']}:{r['dport']}", str(r["frame"]))
    out.add("what is special about the Discover's source and destination IP addresses",
            f"source {discover['src']} (the host has no address yet), destination {discover['dst']} "
            f"({'limited broadcast' if discover['dst'] == '255.255.255.255' else 'not the broadcast address'})",
            str(discover["frame"]))
    out.add("link-layer (Ethernet) address of the host (client hardware address)", discover["client_mac"],
            str(discover["frame"]))
    for name, r in dora.items():
        if r is not None:
            out.add(f"transaction ID of the {name}", r["transaction_id"], str(r["frame"]))
    later = [r for r in rows if r["message"] in ("Request", "ACK") and ack is not None and r["frame"] > ack["frame"]]
    out.add("transaction IDs of the later Request / ACK messages",
            ", ".join(f"{r['message']} {r['transaction_id']}" for r in later) or "none: no later Request / ACK",
            ", ".join(str(r["frame"]) for r in later))
    out.add("what the client asks for in the Discover (parameter request list)",
            _names(discover["param_request_list"]), str(discover["frame"]))
    if offer is not None:
        same = offer["transaction_id"] == xid
        out.add("how is the Offer known to answer the Discover",
                f"same transaction ID {offer['transaction_id']}" if same else "it is not (different ID)",
                f"{discover['frame']}, {offer['frame']}")
        out.add("IP address of the DHCP server (server identifier; Offer's source address)",
                f"{offer['server_id']} (Offer sent from {offer['src']})", str(offer["frame"]))
        out.add("address offered to the host (Offer's 'your' address)", offer["yiaddr"], str(offer["frame"]))
        out.add("router (first-hop) and subnet mask in the Offer",
                f"router {offer['router'] or 'none'}, subnet mask {offer['subnet_mask'] or 'none'}",
                str(offer["frame"]))
        out.add("DNS servers in the Offer", offer["dns_servers"] or "none", str(offer["frame"]))
    else:
        out.missing("the Offer's server, offered address, router and mask", "no Offer answers the Discover")
    relays = sorted({str(r["relay_giaddr"]) for r in rows})
    out.add("is there a relay agent (relay agent IP address, giaddr)",
            "no: giaddr 0.0.0.0 in every message" if relays == ["0.0.0.0"] else f"yes: giaddr {', '.join(relays)}",
            ", ".join(str(r["frame"]) for r in rows))
    if request is not None:
        added = sorted(set((request["options"] or "").split(",")) - set((discover["options"] or "").split(",")),
                       key=int)
        out.add("options that tell the Request from the Discover",
                f"message type {request['message']} (option 53 = 3) instead of Discover (option 53 = 1); "
                f"options only in the Request: {_names(','.join(added))}",
                f"{discover['frame']}, {request['frame']}")
        same_list = request["param_request_list"] == discover["param_request_list"]
        out.add("does the Request ask for different parameters than the Discover",
                "no: the same parameter request list" if same_list
                else f"yes: {_names(request['param_request_list'])}", f"{discover['frame']}, {request['frame']}")
        if offer is not None:
            takes = request["requested_ip"] == offer["yiaddr"]
            out.add("does the client accept the offered address (requested IP address option in the Request)",
                    f"{'yes' if takes else 'no'}: requested {request['requested_ip']}, offered {offer['yiaddr']}",
                    f"{offer['frame']}, {request['frame']}")
    if ack is not None:
        out.add("address confirmed by the ACK", ack["yiaddr"], str(ack["frame"]))
        lease = ack["lease_time_s"]
        out.add("lease time (s)", "none" if lease is None else f"{lease} ({lease / 3600:g} h)", str(ack["frame"]))
    else:
        out.missing("lease time (s)", "no ACK completes the exchange")
    releases = [r for r in rows if r["message"] == "Release"]
    if releases:
        rel = releases[0]
        answered = [r for r in rows if r["frame"] > rel["frame"] and r["transaction_id"] == rel["transaction_id"]
                    and r["message"] in ("ACK", "NAK")]
        out.add("Release: sent to, and does the server acknowledge it",
                f"to {rel['dst']} (server {rel['server_id']}); "
                + ("acknowledged" if answered else "no DHCP message answers it (the server sends no ACK)"),
                str(rel["frame"]))
    else:
        out.missing("Release: sent to, and does the server acknowledge it", "the trace holds no DHCP Release")
    _arp_rows(out, trace, discover, ack, offer)
    return out.table(trace.error, trace.warnings)


def _arp_rows(out: Answers, trace: Trace, discover: dict[str, Any], ack: dict[str, Any] | None,
              offer: dict[str, Any] | None) -> None:
    """ARP frames from the Discover until one second after the ACK: who asks for what."""
    end = (ack["time"] if ack is not None else discover["time"]) + 1_000_000_000
    found = []
    for p in trace:
        arp = layer(p, "arp")
        if arp is None or not discover["time"] <= trace.rel(p) <= end:
            continue
        f = arp.fields
        sender, target = f.get("arp.src.proto_ipv4"), f.get("arp.dst.proto_ipv4")
        if f.get("arp.opcode") == 2:
            what = f"reply: {sender} is at {f.get('arp.src.hw_mac')}"
        elif sender == target:
            what = f"announcement of {sender}"
        elif sender == "0.0.0.0":
            what = f"probe: is {target} in use"
        else:
            what = f"who has {target}? tell {sender}"
        found.append((p, what))
    offered = offer["yiaddr"] if offer is not None else None
    out.add("ARP frames during the exchange (until 1 s after the ACK)",
            "; ".join(f"{p.frame.number}: {w}" for p, w in found) or "none",
            [p for p, _ in found])
    if found and offered:
        out.add("purpose of those ARP frames",
                f"checking that the offered address {offered} is not in use (a request for it before it is "
                f"handed out, probes or announcements after) and resolving neighbours", [p for p, _ in found])
