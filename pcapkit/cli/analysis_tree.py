"""The TCP analysis of a frame in ``pcapkit show``'s tree, as ``tshark -V`` prints it
under the TCP header: the stream index, relative sequence numbers, the calculated window,
then ``[Timestamps]`` and ``[SEQ/ACK analysis]`` with its ``[TCP Analysis Flags]`` (each
flag as its expert item), in Wireshark's labels and order.

The values are the text ``tshark -T fields`` prints (:class:`pcapkit.cli.fields_view.
AnalysisValues`); with field names instead of labels (``show --names``), one
``name: value`` line per field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SECONDS = frozenset({"tcp.analysis.ack_rtt", "tcp.analysis.initial_rtt", "tcp.analysis.rto", "tcp.time_relative",
                     "tcp.time_delta"})
RELATIVE = {"tcp.seq": "relative sequence number", "tcp.nxtseq": "relative sequence number",
            "tcp.ack": "relative ack number"}
SCALE_MEANINGS = {"-1": "unknown", "-2": "no window scaling used"}
ACK_FLAG = 0x010
# the analysis values under [SEQ/ACK analysis], before its flags, in tshark's order
SEQ_ACK = ("tcp.analysis.acks_frame", "tcp.analysis.ack_rtt", "tcp.analysis.initial_rtt",
           "tcp.analysis.bytes_in_flight", "tcp.analysis.push_bytes_sent")
RTO = ("tcp.analysis.rto", "tcp.analysis.rto_frame")
DUPLICATE_ACK = "tcp.analysis.duplicate_ack"


def analysis_lines(values: Mapping[str, Any], tcp_flags: int | None, labels: Mapping[str, str] | None) -> list[str]:
    """The lines of one frame's analysis ``values`` (field name -> text, or a list of
    texts), indented as the fields of its TCP layer; ``tcp_flags``: the header's flags
    (tshark gives the acknowledgment number as relative only when ACK is set);
    ``labels``: Wireshark's label of each field, or None for field names."""
    if not values:
        return []
    if labels is None:
        return [f"    {name}: {_text(value)}" for name, value in values.items()]
    from pcapkit.reports.expert import TCP_ANALYSIS

    def line(name: str, indent: int = 4) -> str:
        text = _text(values[name])
        if name in SECONDS:
            text += " seconds"
        elif name == "tcp.window_size_scalefactor" and text in SCALE_MEANINGS:
            text += f" ({SCALE_MEANINGS[text]})"
        return f"{' ' * indent}[{labels.get(name, name)}: {text}]"

    out = []
    if "tcp.stream" in values:
        out.append(line("tcp.stream"))
    for name in ("tcp.seq", "tcp.nxtseq", "tcp.ack"):
        if name not in values:
            continue
        relative = name != "tcp.ack" or (tcp_flags is not None and tcp_flags & ACK_FLAG)
        text = f"{labels.get(name, name)}: {_text(values[name])}" + (f"    ({RELATIVE[name]})" if relative else "")
        out.append(f"    [{text}]" if name == "tcp.nxtseq" else f"    {text}")
    out += [line(name) for name in ("tcp.window_size", "tcp.window_size_scalefactor") if name in values]
    if "tcp.time_relative" in values:
        out.append("    [Timestamps]")
        out += [line(name, 8) for name in ("tcp.time_relative", "tcp.time_delta") if name in values]
    flags = [name for name in TCP_ANALYSIS if name in values]
    analysed = [name for name in SEQ_ACK if name in values]
    rto = [name for name in RTO if name in values]
    duplicate = "tcp.analysis.duplicate_ack_num" in values
    if not (flags or analysed or rto or duplicate):
        return out
    out.append("    [SEQ/ACK analysis]")
    out += [line(name, 8) for name in analysed]
    if flags or rto:
        out.append("        [TCP Analysis Flags]")
        for name in flags:
            if name == DUPLICATE_ACK:
                out.append("            [This is a TCP duplicate ack]")
                continue
            severity, message = TCP_ANALYSIS[name]
            out.append(f"            [Expert Info ({_severity(severity)}/Sequence): {message}]")
        out += [line(name, 12) for name in rto]
    if duplicate:
        number = _text(values["tcp.analysis.duplicate_ack_num"])
        out.append(line("tcp.analysis.duplicate_ack_num", 8))
        if "tcp.analysis.duplicate_ack_frame" in values:
            out.append(line("tcp.analysis.duplicate_ack_frame", 8))
        out.append(f"            [Expert Info (Note/Sequence): Duplicate ACK (#{number})]")
    return out


def _text(value: Any) -> str:
    return ",".join(value) if isinstance(value, list) else str(value)


def _severity(word: str) -> str:
    """tshark -V's word for an expert severity (the expert table says "Warn")."""
    return "Warning" if word == "Warn" else word
