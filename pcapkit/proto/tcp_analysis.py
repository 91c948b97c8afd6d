"""The Wireshark fields of TCP conversation analysis (``tcp.stream``, relative sequence
numbers, ``tcp.analysis.*``), declared once so that every table shows them with one dtype.

The values come from the flow engine (:mod:`pcapkit.tcpflow`); the analysis flag bits that
set the ``tcp.analysis.*`` flags live there. Times are float seconds, as tshark prints them.
"""

from __future__ import annotations

from pcapkit.fields import FieldSpec


def _flag(name: str, doc: str) -> FieldSpec:
    return FieldSpec(f"tcp.analysis.{name}", "bool", doc=doc)


FLAGS: tuple[FieldSpec, ...] = (
    _flag("retransmission", "This frame is a (suspected) retransmission"),
    _flag("fast_retransmission", "This frame is a (suspected) fast retransmission"),
    _flag("spurious_retransmission", "This frame is a (suspected) spurious retransmission"),
    _flag("out_of_order", "This frame is a (suspected) out-of-order segment"),
    _flag("lost_segment", "Previous segment(s) not captured (common at capture start)"),
    _flag("ack_lost_segment", "ACKed segment that wasn't captured (common at capture start)"),
    _flag("duplicate_ack", "Duplicate ACK"),
    _flag("zero_window", "TCP Zero Window segment"),
    _flag("zero_window_probe", "TCP Zero Window Probe"),
    _flag("zero_window_probe_ack", "ACK to a TCP Zero Window Probe"),
    _flag("keep_alive", "TCP Keep-Alive segment"),
    _flag("keep_alive_ack", "ACK to a TCP Keep-Alive segment"),
    _flag("window_full", "TCP window specified by the receiver is now completely full"),
    _flag("window_update", "TCP window update"),
    _flag("reused_ports", "A new tcp session is started with the same ports as an earlier session"),
)

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("tcp.stream", "uint", 32, doc="Stream index"),
    FieldSpec("tcp.seq", "uint", 32, doc="Sequence Number (relative to the first of its direction)"),
    FieldSpec("tcp.ack", "uint", 32, doc="Acknowledgment Number (relative)"),
    FieldSpec("tcp.nxtseq", "uint", 32, doc="Next Sequence Number (relative)"),
    FieldSpec("tcp.window_size", "uint", 32, doc="Calculated window size (scaled)"),
    FieldSpec("tcp.window_size_scalefactor", "int", 32,
              doc="Window size scaling factor (-1 unknown, -2 no window scaling used)"),
    *FLAGS,
    FieldSpec("tcp.analysis.duplicate_ack_num", "uint", 32, doc="Duplicate ACK number"),
    FieldSpec("tcp.analysis.duplicate_ack_frame", "framenum", doc="Duplicate to the ACK in frame"),
    FieldSpec("tcp.analysis.acks_frame", "framenum", doc="This is an ACK to the segment in frame"),
    FieldSpec("tcp.analysis.ack_rtt", "float", doc="The RTT to ACK the segment was (seconds)"),
    FieldSpec("tcp.analysis.initial_rtt", "float", doc="iRTT: handshake round-trip time (seconds)"),
    FieldSpec("tcp.analysis.bytes_in_flight", "uint", 32, doc="Bytes in flight"),
    FieldSpec("tcp.analysis.push_bytes_sent", "uint", 32, doc="Bytes sent since last PSH flag"),
    FieldSpec("tcp.analysis.rto", "float", doc="Retransmission timeout (seconds)"),
    FieldSpec("tcp.analysis.rto_frame", "framenum", doc="RTO based on delta from frame"),
    FieldSpec("tcp.time_relative", "float", doc="Time since first frame in this TCP stream (seconds)"),
    FieldSpec("tcp.time_delta", "float", doc="Time since previous frame in this TCP stream (seconds)"),
)
