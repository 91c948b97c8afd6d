"""The records and arenas of the tcptrace model (their fields follow tcptrace's ``tcb``).

One :data:`DIRECTION` record per connection direction (records ``2c`` and ``2c + 1`` are
connection ``c``'s a2b and b2a), one :data:`CONN` record per connection, one :data:`ROW`
per segment in. The variable parts live in int64 arenas: the segment lists of each
direction's four sequence-space quadrants (``quads``: a linked list per quadrant in
``pool``), the last :data:`SEGS_TO_REMEMBER` (seq, IP id) pairs for hardware duplicates
(``hw``), and the RTT samples (``samples``, one log for all directions).
"""

from __future__ import annotations

import numpy as np

QUADSIZE = 1 << 30
MAX_32 = 1 << 32
MASK = MAX_32 - 1
SEGS_TO_REMEMBER = 8
NONREAL_LIVE_CONN_INTERVAL = 4 * 60  # seconds

_I = np.int64
_F = np.float64

ROW = np.dtype([(name, _I) for name in (
    "frame", "ts", "key", "src", "sport", "dst", "dport", "flags", "seq", "ack", "window", "dlen", "captured",
    "mss", "wscale", "tsval", "sack_perm", "sack_n", "sack0_l", "sack0_r", "sack1_l", "sack1_r", "ip_version",
    "ip_id", "urp")])

CONN = np.dtype([(name, _I) for name in ("first_time", "last_time", "packets", "inactive", "first_frame")])

# float fields; every other field of a direction is an int64
DIRECTION_FLOATS = ("idle_max", "rtt_last", "rtt_sum", "rtt_sum2", "rtt_sum_last", "rtt_sum2_last", "rtt_full_sum",
                    "rtt_full_sum2", "retr_tm_sum", "retr_tm_sum2")
# fields tcptrace keeps as flags (read back as bools)
DIRECTION_BOOLS = ("f1323_ws", "f1323_ts", "fsack_req", "window_stats_updated_for_scaling", "data_acked")
DIRECTION_FIELDS = (
    "host", "port", "packets", "ack_pkts", "pureack_pkts", "num_sacks", "num_dsacks", "max_sack_blocks",
    "unique_bytes", "data_pkts", "data_bytes", "rexmit_pkts", "rexmit_bytes", "num_zwnd_probes", "zwnd_probe_bytes",
    "out_order_pkts", "data_pkts_push", "syn_count", "fin_count", "reset_count", "f1323_ws", "f1323_ts",
    "window_scale", "fsack_req", "sacks_sent", "urg_data_pkts", "urg_data_bytes", "mss", "max_seg_size",
    "min_seg_size", "win_max", "win_min", "win_zero_ct", "win_tot", "win_last", "window_stats_updated_for_scaling",
    "win_scaled_pkts", "owin_max", "owin_min", "owin_tot", "owin_count", "owin_wavg", "prev_owin_time", "prev_owin",
    "initialwin_bytes", "initialwin_segs", "data_acked", "syn", "fin", "ack", "windowend", "seq", "min_seq",
    "max_seq", "latest_seq", "seq_wrap_count", "quads_seen", "trunc_bytes", "trunc_segs", "first_data_time",
    "last_data_time", "last_time", "time", "idle_max", "num_hardware_dups", "hw_dups_ix",
    "rtt_last", "rtt_min", "rtt_max", "rtt_sum", "rtt_sum2", "rtt_count", "rtt_min_last", "rtt_max_last",
    "rtt_sum_last", "rtt_sum2_last", "rtt_count_last", "rtt_full_size", "rtt_full_min", "rtt_full_max",
    "rtt_full_sum", "rtt_full_sum2", "rtt_full_count", "rtt_3WHS", "rtt_amback", "rtt_cumack", "rtt_nosample",
    "rtt_dupack", "rtt_triple_dupack", "retr_max", "retr_min_tm", "retr_max_tm", "retr_tm_sum", "retr_tm_sum2",
    "retr_tm_count")
DIRECTION = np.dtype([(name, _F if name in DIRECTION_FLOATS else _I) for name in DIRECTION_FIELDS])
NO_ACK_YET = -1  # a direction's ``time`` until it sends an ACK (written as its connection opens); quads_seen
# is a bit per quadrant

# a quadrant: (exists, prev, next: the neighbouring quadrant 0-3 or -1, head, tail: pool rows or -1)
Q_EXISTS, Q_PREV, Q_NEXT, Q_HEAD, Q_TAIL = range(5)
# a segment of a quadrant's list (tcptrace's ``segment``), linked by NEXT
P_FIRST, P_LAST, P_TIME, P_RETRANS, P_ACKED, P_DUPACKS, P_NEXT = range(7)
# the ``counts`` entries: pool rows used, free list head, live segments, RTT samples
C_USED, C_FREE, C_LIVE, C_SAMPLES = range(4)
# an RTT sample: (direction, frame of the ACK, its time, rtt) in microseconds
S_DIR, S_FRAME, S_TIME, S_RTT = range(4)
# per-segment marks
MARK_NONE, MARK_REXMIT, MARK_OUT_OF_ORDER, MARK_PROBE = 0, 1, 2, 3
MARK_LETTERS = ("", "R", "O", "P")
