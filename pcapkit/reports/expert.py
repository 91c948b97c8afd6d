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

from pcapkit.reports.expert_findings import (
    FINDING_KINDS,
    PACKET_COLUMNS,
    PROTOCOL_NAMES,
    TCP_OPTION_NAMES,
    TIME_INVALID,
    finding_items,
)

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.dissect.hierarchy import StackCounts

# (the dissector items' tables, named here too: this module's doc describes them)
__all__ = ["COLUMNS", "FINDING_KINDS", "ITEM_COLUMNS", "PACKET_COLUMNS", "PROTOCOL_NAMES", "SEVERITIES",
           "TCP_ANALYSIS", "TCP_COLUMNS", "TCP_OPTION_NAMES", "TIME_INVALID", "expert", "expert_items",
           "expert_text", "summarize"]

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

def _tcp_items(tcp: pd.DataFrame) -> pd.DataFrame:
    """Items of the TCP analysis table (one row per TCP frame), as columns: one pass per
    kind of item over whole columns, the texts shared (one object per distinct text), so a
    million SYNs cost arrays, not a million tuples."""
    import numpy as np
    import pandas as pd

    number = tcp["frame.number"].to_numpy()
    flags = tcp["tcp.flags"].to_numpy(dtype=np.int64, na_value=0)
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
    ack_raw = tcp["tcp.ack_raw"].to_numpy(dtype=np.int64, na_value=0)
    add(~ack & (ack_raw != 0), "Note", "Protocol",
        "The acknowledgment number field is nonzero while the ACK flag is not set")
    sport = tcp["tcp.srcport"].to_numpy(dtype=np.int64, na_value=0)
    dport = tcp["tcp.dstport"].to_numpy(dtype=np.int64, na_value=0)
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
        mask = tcp[field].to_numpy(dtype=bool, na_value=False)
        if field == "tcp.analysis.duplicate_ack":
            num = tcp["tcp.analysis.duplicate_ack_num"].to_numpy(dtype=np.int64, na_value=0)
            add(mask, severity, "Sequence", (f"{text} (#{{}})", num))
        else:
            add(mask, severity, "Sequence", text)
    # every item of a frame in the order Wireshark adds them: by row, then by kind
    row = np.concatenate(rows)
    kind = np.concatenate([np.full(r.size, k, dtype=np.int64) for k, r in enumerate(rows)])
    order = np.lexsort((kind, row))
    kind = kind[order]
    severities = np.array([s for s, _ in kinds], dtype=object)
    groups = np.array([g for _, g in kinds], dtype=object)
    return pd.DataFrame({"frame.number": number[row[order]].astype(np.int64), "severity": severities[kind],
                         "group": groups[kind], "protocol": np.full(row.size, "TCP", dtype=object),
                         "summary": np.concatenate(texts)[order]}, columns=list(ITEM_COLUMNS))


def _tfo_answers(tcp: pd.DataFrame, syn: Any, synack: Any) -> tuple[Any, Any]:
    """Per row: a SYN-ACK that acknowledges the data of its stream's SYN (accepting TFO
    data), or only the SYN itself while the SYN carried data (ignoring it)."""
    import numpy as np

    stream = tcp["tcp.stream"].to_numpy(dtype=np.int64, na_value=-1)
    seq = tcp["tcp.seq_raw"].to_numpy(dtype=np.int64, na_value=0)
    ack = tcp["tcp.ack_raw"].to_numpy(dtype=np.int64, na_value=0)
    length = tcp["tcp.len"].to_numpy(dtype=np.int64, na_value=0)
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


def _fin_active(tcp: pd.DataFrame, fin: Any) -> Any:
    """Per row: whether its sender is the side of its stream that sent the first FIN."""
    import numpy as np

    active = np.zeros(len(tcp), dtype=bool)
    rows = np.flatnonzero(fin)
    if rows.size == 0:
        return active
    fins = tcp.iloc[rows]  # (the sides of the FIN rows only: a text per row is ~100 B)
    src = fins["ip.src"].astype(object).where(fins["ip.src"].notna(), fins["ipv6.src"].astype(object))
    sides = (src.astype(str) + ":" + fins["tcp.srcport"].astype(str)).tolist()
    stream = fins["tcp.stream"].to_numpy(dtype=np.int64, na_value=-1).tolist()
    first: dict[int, str] = {}
    for k, i in enumerate(rows.tolist()):
        first.setdefault(stream[k], sides[k])
        active[i] = first[stream[k]] == sides[k]
    return active


# Local Network Control Block (224.0.0.0/24) addresses whose TTL is not 1 (packet-ip.c)
_LNCB_TTL = {0xE0000012: 255, 0xE0000066: 255}  # VRRP, GLBP
_LNCB_ANY_TTL = 0xE00000FB  # mDNS: any TTL


def _ipv4_items(packets: pd.DataFrame) -> list[tuple[int, str, str, str, str]]:
    """IPv4 TTL checks of packet-ip.c: to the Local Network Control Block a TTL other
    than the block's (1, or 255 for VRRP/GLBP, any for mDNS); elsewhere, below 5 to a
    unicast address except PIM and OSPF."""
    import numpy as np

    present = packets["ip.ttl"].notna().to_numpy()
    ttl = packets["ip.ttl"].to_numpy(dtype=np.int64, na_value=255)
    proto = packets["ip.proto"].to_numpy(dtype=np.int64, na_value=0)
    dst = _ipv4_ints(packets["ip.dst"])
    numbers = packets["frame.number"].to_numpy()
    # (whole columns at once: a million IPv4 rows cost arrays, not a Python loop)
    lncb = present & (dst >> 8 == 0xE00000)
    expected = np.ones(dst.size, dtype=np.int64)
    for address, value in _LNCB_TTL.items():
        expected[dst == address] = value
    lncb_note = lncb & (dst != _LNCB_ANY_TTL) & (ttl != expected)
    multicast = (dst >= 0xE0000000) & (dst <= 0xEFFFFFFF)
    low = present & ~lncb & ~multicast & (ttl < 5) & ~np.isin(proto, (103, 89))
    out: list[tuple[int, str, str, str, str]] = []
    for i in np.flatnonzero(lncb_note | low).tolist():
        if lncb_note[i]:
            out.append((int(numbers[i]), "Note", "Sequence", "IPv4",
                        f'"Time To Live" != {int(expected[i])} for a packet sent to the Local Network Control '
                        "Block (see RFC 3171)"))
        else:
            out.append((int(numbers[i]), "Note", "Sequence", "IPv4", f'"Time To Live" only {int(ttl[i])}'))
    return out


def _ipv4_ints(column: pd.Series) -> Any:
    """IPv4 addresses (text, categorical or not) as int64, 0 where missing: each distinct
    text converted once."""
    import numpy as np
    import pandas as pd

    if isinstance(column.dtype, pd.CategoricalDtype):
        ints = np.array([_ipv4_int(c) for c in column.cat.categories.tolist()] + [0], dtype=np.int64)
        return ints[column.cat.codes.to_numpy()]  # (code -1, a missing value: the 0 at the end)
    return np.array([_ipv4_int(d) for d in column.astype(object).tolist()], dtype=np.int64)


def _ipv4_int(text: object) -> int:
    if not isinstance(text, str):
        return 0
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def _dsack_items(packets: pd.DataFrame) -> list[tuple[int, str, str, str, str]]:
    """D-SACK Sequence (RFC 2883): a first SACK block that starts below the ACK number
    (sequence numbers compared modulo 2^32). The other D-SACK form, a first block inside
    the second, is not detected (pcapkit's table keeps the first block only)."""
    import numpy as np

    count = packets["tcp.options.sack.count"].to_numpy(dtype=np.int64, na_value=0)
    left = packets["tcp.options.sack_le"].to_numpy(dtype=np.int64, na_value=0)
    ack = packets["tcp.ack_raw"].to_numpy(dtype=np.int64, na_value=0)
    below = ((ack - left) % (1 << 32) > 0) & ((ack - left) % (1 << 32) < (1 << 31))
    numbers = packets["frame.number"].to_numpy()
    return [(int(numbers[i]), "Warn", "Sequence", "TCP", "D-SACK Sequence")
            for i in np.nonzero((count > 0) & below)[0].tolist()]


def _tcp_option_items(packets: pd.DataFrame) -> list[tuple[int, str, str, str, str]]:
    """packet-tcp.c's option notes: a SYN with options but no MSS option, a window scale
    shift above 14."""
    import numpy as np

    flags = packets["tcp.flags"].to_numpy(dtype=np.int64, na_value=0)
    hdr_len = packets["tcp.hdr_len"].to_numpy(dtype=np.int64, na_value=0)
    no_mss = packets["tcp.options.mss_val"].isna().to_numpy()
    shift = packets["tcp.options.wscale.shift"].to_numpy(dtype=np.int64, na_value=0)
    numbers = packets["frame.number"].to_numpy()
    out = [(int(numbers[i]), "Note", "Protocol", "TCP", "The SYN packet does not contain a MSS option")
           for i in np.nonzero(((flags & 0x002) != 0) & (hdr_len > 20) & no_mss)[0].tolist()]
    out += [(int(numbers[i]), "Warn", "Protocol", "TCP", "Window scale shift exceeds 14")
            for i in np.nonzero(shift > 14)[0].tolist()]
    return out


# the columns of the tcp table the expert items read (a caller holding the whole table can
# pass just these: on a million frames the others are hundreds of MB)
TCP_COLUMNS = ("frame.number", "ip.src", "ipv6.src", "tcp.stream", "tcp.srcport", "tcp.dstport", "tcp.flags",
               "tcp.seq_raw", "tcp.ack_raw", "tcp.len", "tcp.analysis.duplicate_ack_num", *TCP_ANALYSIS)


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    from pcapkit.columnar.api import concat_frames

    return parts[0] if len(parts) == 1 else concat_frames(parts)


def _syn_frames(tcp: pd.DataFrame) -> Any:
    """The frame numbers (sorted) of the SYNs without ACK of the TCP analysis table (an
    array: a million SYNs as a set of Python ints would be ~100 MB)."""
    import numpy as np

    flags = tcp["tcp.flags"].to_numpy(dtype=np.int64, na_value=0)
    return np.sort(tcp["frame.number"].to_numpy(dtype=np.int64)[(flags & 0x012) == 0x002])


def expert_items(path: str | PathLike[str], filter: str | None = None, *, tcp: pd.DataFrame | None = None,
                 protocols: list[tuple[str, int]] | StackCounts | None = None) -> pd.DataFrame:
    """One row per expert item of ``path``: frame.number, severity, group, protocol,
    summary (in frame order). ``filter`` (a tcpdump expression) keeps the items of the
    frames it matches; the TCP analysis still runs over every frame, as tshark's.
    ``tcp``: the file's TCP analysis table when the caller has it already (without a
    filter; :func:`pcapkit.reports.tcp.analysis_table`). ``protocols`` (a list, or a :class:`~pcapkit.dissect.hierarchy.StackCounts`) receives
    every frame's (frame.protocols, wire length) from the same dissection, for
    :func:`pcapkit.dissect.hierarchy.hierarchy_from_protocols`."""
    import pandas as pd

    from pcapkit.columnar.api import read_packets
    from pcapkit.reports.memory import release_memory
    from pcapkit.reports.tcp import tcp_frames

    frames: set[int] | None = None
    if tcp is None or filter:
        whole = tcp_frames(path, bpf=filter or None)
        tcp = whole[list(TCP_COLUMNS)]  # the columns the items read (a million SYNs: ~100 MB less)
        tcp.attrs.update(whole.attrs)
        del whole
        release_memory()
    syns = _syn_frames(tcp)
    if filter:
        packets = read_packets(str(path), columns=PACKET_COLUMNS, strict=False)
        matched = read_packets(str(path), filter=filter, columns=["frame.number"], strict=False)
        frames = set(matched["frame.number"].tolist())
        packets = packets[packets["frame.number"].isin(frames)]
        findings = finding_items(path, frames, syns, protocols)
    else:
        # one pass gives the packets table and the findings (the frames it dissects fill
        # the table's marked rows, as read_packets does)
        table: list[pd.DataFrame] = []
        findings = finding_items(path, None, syns, protocols, table)
        packets = _concat(table) if table else read_packets(str(path), columns=PACKET_COLUMNS, strict=False)
    others = _dsack_items(packets) + _tcp_option_items(packets) + _ipv4_items(packets) + findings
    packets_error = packets.attrs.get("pcapkit.error")
    del packets, findings, syns  # (before the TCP items: on a million SYNs, hundreds of MB)
    release_memory()
    df = _tcp_items(tcp)
    if others:
        df = pd.concat([df, pd.DataFrame(others, columns=list(ITEM_COLUMNS))], ignore_index=True)
    df["severity"] = pd.Categorical(df["severity"], categories=list(SEVERITIES), ordered=True)
    if not df["frame.number"].is_monotonic_increasing:  # (in order already: no copy of a million rows)
        df = df.sort_values("frame.number", kind="stable").reset_index(drop=True)
    df["frame.number"] = df["frame.number"].astype("uint32")
    # a damaged file: the items of every frame before the damage, and the error
    error = tcp.attrs.get("pcapkit.error") or packets_error
    if error:
        df.attrs["pcapkit.error"] = error
    return df


def summarize(items: pd.DataFrame) -> pd.DataFrame:
    """The ``-z expert`` table of :func:`expert_items`: one row per (severity, group,
    protocol, summary), most severe first and, within a severity, in order of first
    occurrence, with the count and the first frame."""
    import pandas as pd

    keys = ["severity", "group", "protocol", "summary"]
    if items.empty:
        return pd.DataFrame({c: pd.Series([], dtype="int64" if c in ("count", "first_frame") else object)
                             for c in COLUMNS})
    grouped = (items.groupby(keys, observed=True, sort=False)["frame.number"]
               .agg(count="size", first_frame="min").reset_index())
    grouped = grouped.sort_values(["severity", "first_frame"], kind="stable").reset_index(drop=True)
    grouped["count"] = grouped["count"].astype("int64")
    grouped["first_frame"] = grouped["first_frame"].astype("int64")
    grouped.attrs.update(items.attrs)
    return grouped[list(COLUMNS)]


def expert(path: str | PathLike[str], filter: str | None = None) -> pd.DataFrame:
    """The expert table of ``path`` (see the module doc): severity, group, protocol,
    summary, count, first_frame."""
    return summarize(expert_items(path, filter))


def expert_text(table: pd.DataFrame) -> str:
    """The table as ``tshark -q -z expert`` prints it (a section per severity, plural
    names, the count of items in the heading), with each row's first frame after the
    frequency."""
    plural = {"Error": "Errors", "Warn": "Warns", "Note": "Notes", "Chat": "Chats"}
    lines: list[str] = []
    for severity in SEVERITIES:
        rows = table[table["severity"] == severity]
        if rows.empty:
            continue
        lines += ["", f"{plural[severity]} ({int(rows['count'].sum())})", "=============",
                  "   Frequency  First frame      Group           Protocol  Summary"]
        for r in rows.itertuples(index=False):
            lines.append(f"{r.count:>12} {r.first_frame:>12} {r.group:>10} {r.protocol:>18}  {r.summary}")
    return "\n".join(lines) + "\n"
