"""Expert information: the anomalies of a capture by severity, as ``tshark -q -z expert``.

:func:`expert_items` gives one row per item (frame, severity, group, protocol, summary)
and :func:`expert` the table tshark prints: one row per (severity, group, protocol,
summary) with its count and, beyond tshark, the first frame it occurs in. Severities are
Wireshark's, most severe first: Error, Warn, Note, Chat.

Where the items come from:

- TCP: the one TCP analysis (:func:`pcapkit.reports.tcp.tcp_frames`): every
  ``tcp.analysis.*`` flag with Wireshark 4.0's message and severity (``packet-tcp.c``'s
  ``ei_tcp_analysis_*``), and the connection items Wireshark adds from the flags: SYN,
  SYN+ACK, FIN (the first FIN of a stream's side that closes first "initiates the
  connection closing", a FIN after the other side's "undergoes" it), RST, and an ACK
  number without the ACK flag.
- IPv4: "Time To Live" below 5 to a unicast address (``packet-ip.c``'s
  ``ei_ip_ttl_too_small``; PIM and OSPF are exempt); TCP's "D-SACK Sequence" from the
  first SACK block of the packets table; a SYN with options but no MSS option, a window
  scale shift above 14; TCP Fast Open: a SYN with a TFO cookie, a SYN-ACK accepting (or
  ignoring) the data of its SYN.
- Every finding of pcapkit's dissectors (:class:`pcapkit.dissect.base.Finding`):
  malformed -> Error/Malformed, bad checksum -> Error/Checksum, truncated (cut short by
  the capture) -> Warn/Malformed, unsupported -> Note/Undecoded, note -> Note/Protocol,
  with the reason as summary; the findings tshark reports with its own text are given
  that text (IPv4 total length beyond the frame, a TCP option longer than the options).

Items of protocols pcapkit does not dissect (HTTP request lines, SSDP, SSH, TLS,
reassembly of application PDUs, Ethernet trailer padding) are not produced, nor the
other protocols' own checks (DNS retransmissions, UDP traceroute chats, DHCP/LLMNR
notes); tshark reports truncation as "[Packet size limited during capture]" without an
expert item, so the truncated findings are pcapkit's alone.
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.columnar.column_table import Column, ColumnTable, as_table, factorize
from pcapkit.reports.expert_findings import (
    FINDING_KINDS,
    PACKET_COLUMNS,
    PROTOCOL_NAMES,
    TCP_OPTION_NAMES,
    TIME_INVALID,
    finding_items,
    flag_values,
    int_values,
    matched_frames,
    packet_tables,
    table_items,
)

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.dissect.hierarchy import StackCounts

# (the dissector items' tables, named here too: this module's doc describes them)
__all__ = ["COLUMNS", "FINDING_KINDS", "ITEM_COLUMNS", "PACKET_COLUMNS", "PROTOCOL_NAMES", "SEVERITIES",
           "TCP_ANALYSIS", "TCP_COLUMNS", "TCP_OPTION_NAMES", "TIME_INVALID", "expert", "expert_frame",
           "expert_item_table", "expert_items", "expert_text", "summarize", "summary_table"]

SEVERITIES = ("Error", "Warn", "Note", "Chat")
ITEM_COLUMNS = ("frame.number", "severity", "group", "protocol", "summary")
COLUMNS = ("severity", "group", "protocol", "summary", "count", "first_frame")

# tcp.analysis flag -> (severity, Wireshark's message); Duplicate ACK gets its number
TCP_ANALYSIS: dict[str, tuple[str, str]] = {
    "tcp.analysis.retransmission": ("Note", "This frame is a (suspected) retransmission"),
    "tcp.analysis.fast_retransmission": ("Note", "This frame is a (suspected) fast retransmission"),
    "tcp.analysis.spurious_retransmission": ("Note", "This frame is a (suspected) spurious retransmission"),
    "tcp.analysis.out_of_order": ("Warn", "This frame is a (suspected) out-of-order segment"),
    "tcp.analysis.lost_segment": ("Warn", "Previous segment(s) not captured (common at capture start)"),
    "tcp.analysis.ack_lost_segment": ("Warn", "ACKed segment that wasn't captured (common at capture start)"),
    "tcp.analysis.duplicate_ack": ("Note", "Duplicate ACK"),
    "tcp.analysis.zero_window": ("Warn", "TCP Zero Window segment"),
    "tcp.analysis.zero_window_probe": ("Note", "TCP Zero Window Probe"),
    "tcp.analysis.zero_window_probe_ack": ("Note", "ACK to a TCP Zero Window Probe"),
    "tcp.analysis.keep_alive": ("Note", "TCP keep-alive segment"),
    "tcp.analysis.keep_alive_ack": ("Note", "ACK to a TCP keep-alive segment"),
    "tcp.analysis.window_full": ("Warn", "TCP window specified by the receiver is now completely full"),
    "tcp.analysis.window_update": ("Chat", "TCP window update"),
    "tcp.analysis.reused_ports": ("Note", "A new tcp session is started with the same ports as an earlier "
                                          "session in this trace"),
}

def _tcp_items(tcp: ColumnTable) -> dict[str, np.ndarray]:
    """Items of the TCP analysis table (one row per TCP frame), as columns (frame.number,
    severity: an index into :data:`SEVERITIES`, group, summary): one pass per kind of item
    over whole columns, the texts shared (one object per distinct text), so a million SYNs
    cost arrays, not a million tuples."""
    number = np.asarray(tcp["frame.number"].values, dtype=np.int64)
    flags = int_values(tcp["tcp.flags"])
    rows: list[np.ndarray] = []
    texts: list[np.ndarray] = []
    kinds: list[tuple[str, str]] = []  # (severity, group) of each add, in the order Wireshark adds them

    def add(mask: Any, severity: str, group: str, summary: str | tuple[str, np.ndarray]) -> None:
        """Items on the rows of ``mask``: one text, or (a format with {}, per-row values)."""
        idx = np.flatnonzero(np.asarray(mask, dtype=bool))
        if isinstance(summary, str):
            text = np.full(idx.size, summary, dtype=object)
        else:
            values, inverse = np.unique(summary[1][idx], return_inverse=True)
            text = np.array([summary[0].format(v) for v in values.tolist()], dtype=object)[inverse]
        rows.append(idx)
        texts.append(text)
        kinds.append((severity, group))

    syn, fin, rst, ack = (flags & 0x002) != 0, (flags & 0x001) != 0, (flags & 0x004) != 0, (flags & 0x010) != 0
    ack_raw = int_values(tcp["tcp.ack_raw"])
    add(~ack & (ack_raw != 0), "Note", "Protocol",
        "The acknowledgment number field is nonzero while the ACK flag is not set")
    sport = int_values(tcp["tcp.srcport"])
    dport = int_values(tcp["tcp.dstport"])
    add(syn & ~ack, "Chat", "Sequence", ("Connection establish request (SYN): server port {}", dport))
    add(syn & ack, "Chat", "Sequence", ("Connection establish acknowledge (SYN+ACK): server port {}", sport))
    add(fin, "Chat", "Sequence", "Connection finish (FIN)")
    active = _fin_active(tcp, fin)
    add(fin & active, "Note", "Sequence", "This frame initiates the connection closing")
    add(fin & ~active, "Note", "Sequence", "This frame undergoes the connection closing")
    add(rst, "Warn", "Sequence", "Connection reset (RST)")
    accepted, ignored = _tfo_answers(tcp, syn & ~ack, syn & ack)
    add(accepted, "Note", "Sequence", "TCP SYN-ACK accepting TFO data")
    add(ignored, "Note", "Sequence", "TCP SYN-ACK ignoring TFO data")
    for field, (severity, text) in TCP_ANALYSIS.items():
        mask = flag_values(tcp[field])
        if field == "tcp.analysis.duplicate_ack":
            num = int_values(tcp["tcp.analysis.duplicate_ack_num"])
            add(mask, severity, "Sequence", (f"{text} (#{{}})", num))
        else:
            add(mask, severity, "Sequence", text)
    # every item of a frame in the order Wireshark adds them: by row, then by kind
    row = np.concatenate(rows)
    kind = np.concatenate([np.full(r.size, k, dtype=np.int64) for k, r in enumerate(rows)])
    order = np.lexsort((kind, row))
    kind = kind[order]
    severities = np.array([SEVERITIES.index(s) for s, _ in kinds], dtype=np.int8)
    groups = np.array([g for _, g in kinds], dtype=object)
    return {"frame.number": number[row[order]], "severity": severities[kind], "group": groups[kind],
            "summary": np.concatenate(texts)[order]}


def _tfo_answers(tcp: ColumnTable, syn: Any, synack: Any) -> tuple[Any, Any]:
    """Per row: a SYN-ACK that acknowledges the data of its stream's SYN (accepting TFO
    data), or only the SYN itself while the SYN carried data (ignoring it)."""
    stream = int_values(tcp["tcp.stream"], -1)
    seq = int_values(tcp["tcp.seq_raw"])
    ack = int_values(tcp["tcp.ack_raw"])
    length = int_values(tcp["tcp.len"])
    data_syn: dict[int, tuple[int, int]] = {}
    accepted = np.zeros(len(tcp), dtype=bool)
    ignored = np.zeros(len(tcp), dtype=bool)
    syn = np.asarray(syn)
    with_data = syn & (length > 0)
    if not with_data.any():
        return accepted, ignored
    # only the streams whose SYN carried data can have an answer (a million plain SYNs: no loop)
    rows = np.flatnonzero((syn | np.asarray(synack)) & np.isin(stream, stream[with_data]))
    for i in rows.tolist():
        st = int(stream[i])
        if syn[i]:
            if length[i] > 0:
                data_syn.setdefault(st, (int(seq[i]), int(length[i])))
        elif st in data_syn:
            first, n = data_syn[st]
            accepted[i] = int(ack[i]) == (first + 1 + n) % (1 << 32)
            ignored[i] = int(ack[i]) == (first + 1) % (1 << 32)
    return accepted, ignored


def _fin_active(tcp: ColumnTable, fin: Any) -> Any:
    """Per row: whether its sender is the side of its stream that sent the first FIN."""
    active = np.zeros(len(tcp), dtype=bool)
    rows = np.flatnonzero(fin)
    if rows.size == 0:
        return active
    fins = tcp.select(["ip.src", "ipv6.src", "tcp.srcport", "tcp.stream"]).take(rows)  # (the FIN rows only)
    v4, v6 = fins["ip.src"].texts_at(), fins["ipv6.src"].texts_at()
    src = np.where(fins["ip.src"].missing(), v6, v4).tolist()
    port = int_values(fins["tcp.srcport"]).tolist()
    stream = int_values(fins["tcp.stream"], -1).tolist()
    first: dict[int, tuple[Any, int]] = {}
    for k, i in enumerate(rows.tolist()):
        side = (src[k], port[k])
        first.setdefault(stream[k], side)
        active[i] = first[stream[k]] == side
    return active


# the columns of the tcp table the expert items read (a caller holding the whole table can
# pass just these: on a million frames the others are hundreds of MB)
TCP_COLUMNS = ("frame.number", "ip.src", "ipv6.src", "tcp.stream", "tcp.srcport", "tcp.dstport", "tcp.flags",
               "tcp.seq_raw", "tcp.ack_raw", "tcp.len", "tcp.analysis.duplicate_ack_num", *TCP_ANALYSIS)


def _syn_frames(tcp: ColumnTable) -> Any:
    """The frame numbers (sorted) of the SYNs without ACK of the TCP analysis table (an
    array: a million SYNs as a set of Python ints would be ~100 MB)."""
    flags = int_values(tcp["tcp.flags"])
    return np.sort(np.asarray(tcp["frame.number"].values, dtype=np.int64)[(flags & 0x012) == 0x002])


def expert_items(path: str | PathLike[str], filter: str | None = None, *,
                 tcp: pd.DataFrame | ColumnTable | None = None,
                 protocols: list[tuple[str, int]] | StackCounts | None = None) -> pd.DataFrame:
    """One row per expert item of ``path``: frame.number, severity, group, protocol,
    summary (in frame order). ``filter`` (a tcpdump expression) keeps the items of the
    frames it matches; the TCP analysis still runs over every frame, as tshark's.
    ``tcp``: the file's TCP analysis table when the caller has it already (without a
    filter; :func:`pcapkit.reports.tcp.analysis_table`). ``protocols`` (a list, or a :class:`~pcapkit.dissect.hierarchy.StackCounts`) receives
    every frame's (frame.protocols, wire length) from the same dissection, for
    :func:`pcapkit.dissect.hierarchy.hierarchy_from_protocols`."""
    return expert_frame(expert_item_table(path, filter, tcp=tcp, protocols=protocols))


def expert_item_table(path: str | PathLike[str], filter: str | None = None, *,
                      tcp: pd.DataFrame | ColumnTable | None = None,
                      protocols: list[tuple[str, int]] | StackCounts | None = None) -> ColumnTable:
    """:func:`expert_items` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what
    the CLI formats, without pandas); ``severity`` holds codes into :data:`SEVERITIES`."""
    from pcapkit.reports.memory import release_memory
    from pcapkit.reports.tcp import tcp_table

    if tcp is None or filter:
        tcp = tcp_table(path, bpf=filter or None).select(list(TCP_COLUMNS))  # (a million SYNs: ~100 MB less)
        release_memory()
    elif not isinstance(tcp, ColumnTable):
        attrs = {str(k): v for k, v in tcp.attrs.items()}
        tcp = as_table(tcp[list(TCP_COLUMNS)])
        tcp.attrs = attrs
    syns = _syn_frames(tcp)
    if filter:
        matched = matched_frames(path, filter)
        packets, packets_error = packet_tables(path, matched)
        findings = finding_items(path, set(matched.tolist()), syns, protocols)
    else:
        # one pass gives the packets table and the findings (the frames it dissects fill
        # the table's marked rows, as read_packets does)
        packets = []
        findings = finding_items(path, None, syns, protocols, packets)
        packets_error = None
        if not packets:
            packets, packets_error = packet_tables(path)
    others = [item for batch in packets for item in table_items(batch)] + findings
    del packets, findings, syns  # (before the TCP items: on a million SYNs, hundreds of MB)
    release_memory()
    items = _tcp_items(tcp)
    # (pandas would give the texts its "str" dtype when the TCP analysis has items; object when only others)
    text_dtype = "str" if items["frame.number"].size else "object"
    if others:
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        items = {"frame.number": np.concatenate([items["frame.number"],
                                                 np.array([o[0] for o in others], dtype=np.int64)]),
                 "severity": np.concatenate([items["severity"], np.array([rank[o[1]] for o in others], dtype=np.int8)]),
                 "group": np.concatenate([items["group"], np.array([o[2] for o in others], dtype=object)]),
                 "protocol": np.concatenate([np.full(items["frame.number"].size, "TCP", dtype=object),
                                             np.array([o[3] for o in others], dtype=object)]),
                 "summary": np.concatenate([items["summary"], np.array([o[4] for o in others], dtype=object)])}
    else:
        items["protocol"] = np.full(items["frame.number"].size, "TCP", dtype=object)
    number = items["frame.number"]
    if number.size > 1 and not bool((number[1:] >= number[:-1]).all()):  # (in order already: no copy)
        order = np.argsort(number, kind="stable")
        items = {name: values[order] for name, values in items.items()}
    columns = {"frame.number": Column(items["frame.number"].astype(np.uint32), None, "uint32"),
               "severity": Column(items["severity"].astype(np.int64), None, "category", texts=_SEVERITY_TEXTS),
               **{name: Column(items[name], None, text_dtype) for name in ("group", "protocol", "summary")}}
    # a damaged file: the items of every frame before the damage, and the error
    error = tcp.attrs.get("pcapkit.error") or packets_error
    return ColumnTable(columns, {"pcapkit.error": error} if error else {}, number.size)


_SEVERITY_TEXTS = np.array(SEVERITIES, dtype=object)


def _severity_ranks(col: Column) -> np.ndarray:
    """Each row's severity as its index in :data:`SEVERITIES` (the order of the categorical)."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    if col.texts is not None:
        lut = np.array([rank[t] for t in col.texts.tolist()], dtype=np.int64)
        return lut[np.asarray(col.values, dtype=np.int64)]
    return np.array([rank[t] for t in col.texts_at().tolist()], dtype=np.int64)


def summarize(items: pd.DataFrame) -> pd.DataFrame:
    """The ``-z expert`` table of :func:`expert_items`: one row per (severity, group,
    protocol, summary), most severe first and, within a severity, in order of first
    occurrence, with the count and the first frame."""
    return expert_frame(summary_table(as_table(items)))


def summary_table(items: ColumnTable) -> ColumnTable:
    """:func:`summarize` of :func:`expert_item_table` (a
    :class:`~pcapkit.columnar.column_table.ColumnTable`, without pandas)."""
    if not len(items):
        return ColumnTable({c: Column(np.zeros(0, dtype=np.int64 if c in ("count", "first_frame") else object), None,
                                      "int64" if c in ("count", "first_frame") else "object") for c in COLUMNS},
                           items.attrs)  # (no item, but the input's error all the same)
    severity = _severity_ranks(items["severity"])
    texts = {name: items[name].texts_at() for name in ("group", "protocol", "summary")}
    # one key per (severity, group, protocol, summary): the codes of each, combined
    key = severity
    for name in ("group", "protocol", "summary"):
        codes, uniques = factorize(texts[name])
        key = key * max(len(uniques), 1) + codes
    group, keys = factorize(key)  # (groups in order of first occurrence, as groupby(sort=False))
    k = len(keys)
    n = len(items)
    first_row = np.full(k, n, dtype=np.int64)
    np.minimum.at(first_row, group, np.arange(n, dtype=np.int64))
    first_frame = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_frame, group, np.asarray(items["frame.number"].values, dtype=np.int64))
    count = np.bincount(group, minlength=k).astype(np.int64)
    # most severe first, then by first frame (stable: ties keep the order of first occurrence)
    order = np.argsort(first_frame, kind="stable")
    order = order[np.argsort(severity[first_row][order], kind="stable")]
    rows = first_row[order]
    columns = {"severity": Column(severity[rows], None, "category", texts=_SEVERITY_TEXTS),
               **{name: Column(texts[name][rows], None, "str") for name in ("group", "protocol", "summary")},
               "count": Column(count[order], None, "int64"), "first_frame": Column(first_frame[order], None, "int64")}
    return ColumnTable(columns, items.attrs, k)


def expert_frame(table: ColumnTable) -> pd.DataFrame:
    """The DataFrame of an items or summary table (:func:`expert_item_table`,
    :func:`summary_table`): ``severity`` an ordered categorical of :data:`SEVERITIES`."""
    import pandas as pd

    data: dict[str, Any] = {}
    for name, col in table.items():
        if name == "severity" and col.kind == "category":
            data[name] = pd.Categorical.from_codes(np.asarray(col.values, dtype=np.int64),
                                                   categories=pd.Index(list(SEVERITIES)), ordered=True)
        elif col.dtype == "object":
            data[name] = pd.Series(col.texts_at(), dtype=object)
        else:
            data[name] = col.to_pandas()
    df = pd.DataFrame(data)
    df.attrs.update(table.attrs)
    return df


def expert(path: str | PathLike[str], filter: str | None = None) -> pd.DataFrame:
    """The expert table of ``path`` (see the module doc): severity, group, protocol,
    summary, count, first_frame."""
    return summarize(expert_items(path, filter))


def expert_text(table: ColumnTable | pd.DataFrame) -> str:
    """The table as ``tshark -q -z expert`` prints it (a section per severity, plural
    names, the count of items in the heading), with each row's first frame after the
    frequency."""
    table = as_table(table)
    plural = {"Error": "Errors", "Warn": "Warns", "Note": "Notes", "Chat": "Chats"}
    lines: list[str] = []
    severity = table["severity"].texts_at()
    count = table["count"].values.tolist()
    first = table["first_frame"].values.tolist()
    group, protocol, summary = (table[c].texts_at().tolist() for c in ("group", "protocol", "summary"))
    for name in SEVERITIES:
        rows = np.flatnonzero(severity == name).tolist()
        if not rows:
            continue
        lines += ["", f"{plural[name]} ({sum(count[i] for i in rows)})", "=============",
                  "   Frequency  First frame      Group           Protocol  Summary"]
        for i in rows:
            lines.append(f"{count[i]:>12} {first[i]:>12} {group[i]:>10} {protocol[i]:>18}  {summary[i]}")
    return "\n".join(lines) + "\n"
