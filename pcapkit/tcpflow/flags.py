"""The bits of tshark's TCP analysis, declared once.

- TCP header flags (re-exported from :mod:`pcapkit.tcpflow.segment`, where the segment
  type declares them);
- ``A_*``: the ``tcp.analysis.*`` flags of one frame (:attr:`FrameAnalysis.flags
  <pcapkit.tcpflow.engine.FrameAnalysis>`, the ``aflags`` column of
  :func:`pcapkit.tcpflow.analysis.run`) and their Wireshark field names;
- ``H_*``: which optional values a frame shows (the ``have`` column).

Module-level integers only: numba freezes them as constants in the compiled analysis.
"""

from __future__ import annotations

from pcapkit.tcpflow.segment import ACK, AE, CWR, ECE, FIN, PSH, RST, SYN, URG

__all__ = [
    "ACK",
    "AE",
    "A_ACK_LOST_SEGMENT",
    "A_DUPLICATE_ACK",
    "A_FAST_RETRANSMISSION",
    "A_KEEP_ALIVE",
    "A_KEEP_ALIVE_ACK",
    "A_LOST_SEGMENT",
    "A_OUT_OF_ORDER",
    "A_RETRANSMISSION",
    "A_REUSED_PORTS",
    "A_SPURIOUS_RETRANSMISSION",
    "A_WINDOW_FULL",
    "A_WINDOW_UPDATE",
    "A_ZERO_WINDOW",
    "A_ZERO_WINDOW_PROBE",
    "A_ZERO_WINDOW_PROBE_ACK",
    "CWR",
    "ECE",
    "FIN",
    "FLAG_FIELDS",
    "H_ACKS_FRAME",
    "H_ACK_RTT",
    "H_BIF",
    "H_DUPACK",
    "H_IRTT",
    "H_LIMITED",
    "H_PUSH",
    "H_RTO",
    "H_SHORT",
    "PSH",
    "RST",
    "SYN",
    "SYNFIN",
    "SYNFINRST",
    "URG",
]

SYNFIN = SYN | FIN
SYNFINRST = SYN | FIN | RST

# tcp.analysis.* flags of a frame
A_RETRANSMISSION = 0x0001
A_FAST_RETRANSMISSION = 0x0002
A_SPURIOUS_RETRANSMISSION = 0x0004
A_OUT_OF_ORDER = 0x0008
A_LOST_SEGMENT = 0x0010
A_ACK_LOST_SEGMENT = 0x0020
A_DUPLICATE_ACK = 0x0040
A_ZERO_WINDOW = 0x0080
A_ZERO_WINDOW_PROBE = 0x0100
A_ZERO_WINDOW_PROBE_ACK = 0x0200
A_KEEP_ALIVE = 0x0400
A_KEEP_ALIVE_ACK = 0x0800
A_WINDOW_FULL = 0x1000
A_WINDOW_UPDATE = 0x2000
A_REUSED_PORTS = 0x4000

#: Wireshark field name of each flag bit (tcp.analysis.<name>)
FLAG_FIELDS: tuple[tuple[int, str], ...] = (
    (A_RETRANSMISSION, "tcp.analysis.retransmission"),
    (A_FAST_RETRANSMISSION, "tcp.analysis.fast_retransmission"),
    (A_SPURIOUS_RETRANSMISSION, "tcp.analysis.spurious_retransmission"),
    (A_OUT_OF_ORDER, "tcp.analysis.out_of_order"),
    (A_LOST_SEGMENT, "tcp.analysis.lost_segment"),
    (A_ACK_LOST_SEGMENT, "tcp.analysis.ack_lost_segment"),
    (A_DUPLICATE_ACK, "tcp.analysis.duplicate_ack"),
    (A_ZERO_WINDOW, "tcp.analysis.zero_window"),
    (A_ZERO_WINDOW_PROBE, "tcp.analysis.zero_window_probe"),
    (A_ZERO_WINDOW_PROBE_ACK, "tcp.analysis.zero_window_probe_ack"),
    (A_KEEP_ALIVE, "tcp.analysis.keep_alive"),
    (A_KEEP_ALIVE_ACK, "tcp.analysis.keep_alive_ack"),
    (A_WINDOW_FULL, "tcp.analysis.window_full"),
    (A_WINDOW_UPDATE, "tcp.analysis.window_update"),
    (A_REUSED_PORTS, "tcp.analysis.reused_ports"),
)

# which optional values a frame shows (tshark prints the field only then)
H_ACKS_FRAME = 1      # tcp.analysis.acks_frame
H_ACK_RTT = 2         # tcp.analysis.ack_rtt
H_IRTT = 4            # tcp.analysis.initial_rtt
H_BIF = 8             # tcp.analysis.bytes_in_flight
H_PUSH = 16           # tcp.analysis.push_bytes_sent
H_DUPACK = 32         # tcp.analysis.duplicate_ack_num/_frame
H_RTO = 64            # tcp.analysis.rto/rto_frame
H_SHORT = 128         # a short segment: raw header fields only
H_LIMITED = 256       # max_unacked cut the analysis of this frame
