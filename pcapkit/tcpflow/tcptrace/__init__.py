"""tcptrace-style per-connection statistics (``tcptrace -l -r -n``), computed the way
tcptrace 6.6.7 computes them.

This is a faithful model of tcptrace's ``dotrace()`` (trace.c) and its
retransmission/RTT bookkeeping (rexmit.c), so the numbers agree with the tool,
including its quirks:

* Time is in whole microseconds (libpcap hands tcptrace ``struct timeval``), so
  nanosecond timestamps are truncated to microseconds first.
* Connections are keyed by the address/port pair; a reused pair starts a new
  connection after 240 s idle, or on a SYN after FIN/RST whose sequence number lies
  outside the old window, or on a SYN whose ISN differs from an earlier SYN.
* A *retransmission* is any segment overlapping sequence space already seen in that
  direction (SYN and FIN count as one byte each); tcptrace keeps the seen ranges
  per 2^30 "quadrant" of sequence space. Data sent while the peer's last advertised
  window was zero is a *zero-window probe* instead, and is not checked.
* RTT samples follow Karn's rule: an ACK exactly one past a segment's last byte gives
  a sample only if the segment was sent once (else it is an "ambiguous ACK") and no
  earlier segment covered by the same ACK was sent after it (else a "post-loss ack").
* "RTT full_sz" keeps samples of the largest segment size seen; tcptrace's size of a
  one-byte segment (a SYN, a FIN) is computed as 2^32, so SYN/FIN samples win there,
  exactly as in tcptrace's output.
* Averages divide by ``count + 0.0001`` and standard deviations are 0 for n <= 2,
  as tcptrace prints them.
* Data lengths come from the IP length field; "truncated data" counts payload bytes
  beyond what libpcap delivers, which is cut to the pcap file's snapshot length.
* A window-scale option above 14 is ignored (the side then did not "request" scaling).

Behaviour of the installed 6.6.7 binary that differs from the published sources and
was established by comparing with its output on the corpus:

* a *duplicate ACK* needs no data, the same ACK number and the same window as the
  sender's previous ACK, and an acknowledged range longer than one sequence number
  (a repeated ACK of a lone SYN or FIN is not counted); a *triple dupack* is the 3rd
  duplicate of one ACK value. (Off by one in 7 of ~500 corpus directions.)
* "avg win adv" divides the windows summed since scaling took effect by the packets
  sent since then when both directions have sent a scaled window, else by all
  packets sent.

Use :func:`tcptrace_stats` for a DataFrame (one row per connection direction),
:func:`connection_table` for the results as arrays, or :func:`analyse` for one object per
connection. The model (:mod:`.model`: trace.c; :mod:`.rexmit`: rexmit.c; records in
:mod:`.layout`) runs compiled by numba or interpreted (:mod:`pcapkit.tcpflow.jit`);
:mod:`.stats` derives the printed values; :class:`StatsRuns` (:mod:`.chunks`) gives
:func:`tcptrace_stats`'s rows a run of address/port pairs at a time (bounded memory). A
capture file is not made a segment table first: the model is fed each record batch as it
is read (:func:`~pcapkit.tcpflow.tcptrace.table.streamed_connection_table`), unless it has
more pairs than one run takes.
"""

from __future__ import annotations

from pcapkit.tcpflow.segments import SegmentTable, Source
from pcapkit.tcpflow.tcptrace.chunks import StatsRuns
from pcapkit.tcpflow.tcptrace.stats import direction_stats, stat_columns, tcptrace_stats, throughput
from pcapkit.tcpflow.tcptrace.table import (
    Connection,
    ConnectionTable,
    Direction,
    connection_table,
    tcptrace_lengths,
)

__all__ = ["Connection", "ConnectionTable", "Direction", "StatsRuns", "analyse", "connection_table", "direction_stats",
           "stat_columns", "tcptrace_lengths", "tcptrace_stats", "throughput"]


def analyse(source: Source | SegmentTable | ConnectionTable, *, compiled: bool | None = None) -> list[Connection]:
    """tcptrace's connections of a capture (a file, frames, a segment table, or a
    connection table already computed), one object each, in tcptrace's order."""
    table = source if isinstance(source, ConnectionTable) else connection_table(source, compiled=compiled)
    return table.connections()
