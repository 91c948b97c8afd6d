"""The window pass of a loss-based sender (:func:`pcapkit.tcpflow.ccmodel._window_pass`),
in the subset of Python numba compiles; run compiled or interpreted by
:mod:`pcapkit.tcpflow.cckernel`. Per data segment it writes the window estimate, the
ssthresh (-1 until set), and the indexes of its phase (``LOSS_PHASES``), of what limits
it (``LIMITS``) and of the event that changed its phase (``EVENTS``; -1: none), the
names :mod:`pcapkit.tcpflow.ccmodel` gives them.
"""

from __future__ import annotations

from typing import Any

INITIAL_WINDOW = 10          # segments (RFC 6928, Linux's default)
# loss states of the flight pass (cckernel.STATE_NAMES' order)
S_OPEN, S_FAST_RECOVERY, S_RTO_RECOVERY, S_CWR = range(4)
# phases (ccmodel.LOSS_PHASES' order): a recovery state's phase is its state + 1
P_SLOW_START, P_AVOIDANCE = 0, 1
# what limits a sender (the names ccmodel gives, in this order)
LIMITS = ("cwnd", "rwnd", "application", "zero-window")
L_CWND, L_RWND, L_APPLICATION, L_ZERO_WINDOW = range(4)
# events (ccmodel.EVENTS' order)
E_NONE = -1
E_START, E_FAST_RETRANSMIT, E_RTO, E_ECN, E_RECOVERY_END, E_SSTHRESH_REACHED, E_SLOW_START_EXIT = range(7)
# the flight pass' event kinds (ccidentpasses: FAST_RETRANSMIT, RTO, ECN)
K_RTO, K_ECN = 1, 2


def limit_index(window: Any, wnd_edge: Any, nxt: Any, mss: int, i: int, last: int, recovering: bool, flight: int,
           est: int) -> int:
    """What limits the sends of the interval from segment ``i`` to segment ``last``, as its
    index in LIMITS (:func:`pcapkit.tcpflow.ccflight.limit_of` says why)."""
    if window[i] == 0:
        return L_ZERO_WINDOW
    if wnd_edge[last] >= 0 and nxt[last] >= wnd_edge[last] - mss:
        return L_RWND
    if recovering or flight >= est - mss:
        return L_CWND
    return L_APPLICATION


def window_rows(interval: Any, pipe: Any, window: Any, wnd_edge: Any, nxt: Any, state: Any, acked: Any,
                events: Any, n_events: int, mss: int, beta: float, delay_exit: bool, burst: Any, last_of: Any,
                start_of: Any, exit_of: Any, rows: Any) -> bool:
    """[cwnd, ssthresh, phase, limited_by, event] per data segment of a loss-based sender
    into ``rows`` (see :func:`pcapkit.tcpflow.ccmodel._window_pass`); True when slow start
    ended without a loss. ``burst``, ``last_of`` (per ACK interval + 1), ``start_of``,
    ``exit_of`` (per segment + 1) are scratch arrays of -1."""
    n = len(pipe)
    # the largest flight and the last segment of each ACK interval (interval -1: index 0)
    for i in range(n):
        iv = interval[i] + 1
        if pipe[i] > burst[iv]:
            burst[iv] = pipe[i]
        last_of[iv] = i
    # the event starting at each segment, and ending before it (the last one named wins)
    for e in range(n_events):
        start_of[events[e, 4]] = e
        if events[e, 5] >= 0:
            exit_of[events[e, 5]] = e
    est = INITIAL_WINDOW * mss
    ssthresh = -1
    hystart = False
    prev_iv = -2
    limited = L_CWND
    grown_at = 0              # segment index where slow start last grew the estimate
    acked_flat = 0            # bytes acked since, while window-limited
    ref_i, ref_est, acked_since = 0, est, 0   # where the last growth check began, the window then, bytes acked since
    prev_state = S_OPEN
    for i in range(n):
        st = state[i]
        event = E_NONE
        ev = start_of[i]
        if ev >= 0:
            kind = events[ev, 2]
            event = E_RTO if kind == K_RTO else (E_ECN if kind == K_ECN else E_FAST_RETRANSMIT)
            if prev_state == S_OPEN or kind != K_RTO:
                ssthresh = max(int(beta * est), 2 * mss)
            if kind == K_RTO:
                est = mss
        elif exit_of[i] >= 0:
            event = E_RECOVERY_END
            if events[exit_of[i], 2] != K_RTO and ssthresh >= 0:
                est = ssthresh
        iv = interval[i]
        if iv != prev_iv:
            flight = burst[iv + 1]
            recovering = st != S_OPEN
            limited = limit_index(window, wnd_edge, nxt, mss, i, last_of[iv + 1], recovering, flight, est)
            if recovering:
                est = max(flight, mss)
            elif limited == L_CWND:
                exit_at = -1
                if flight > est:
                    est, grown_at, acked_flat = flight, i, 0
                elif ssthresh < 0 and iv >= 0 and delay_exit:
                    acked_flat += acked[iv]
                    if acked_flat >= max(est // 4, 3 * mss):   # slow start stopped growing
                        exit_at, ssthresh = grown_at, est
                if ssthresh < 0 and iv >= 0 and delay_exit:
                    # slow start grows the window by what each ACK acknowledges; a window
                    # growing by less than a quarter of that over half a window's ACKs
                    # left it (HyStart) where the slow growth began
                    acked_since += acked[iv]
                    if acked_since >= max(ref_est // 2, 4 * mss):
                        if est - ref_est < acked_since // 4:
                            exit_at, ssthresh = ref_i, ref_est
                        ref_i, ref_est, acked_since = i, est, 0
                if exit_at >= 0:
                    hystart = True
                    for k in range(exit_at + 1, i):
                        if rows[k, 2] == P_SLOW_START:
                            rows[k, 2] = P_AVOIDANCE
                    if exit_at + 1 < i:
                        rows[exit_at + 1, 4] = E_SLOW_START_EXIT
                    else:
                        event = E_SLOW_START_EXIT
            prev_iv = iv
        if pipe[i] > est:
            est = pipe[i]
        if st == S_OPEN:
            phase = P_SLOW_START if ssthresh < 0 or est < ssthresh else P_AVOIDANCE
            if event == E_NONE and i > 0 and rows[i - 1, 2] != phase:
                event = E_SSTHRESH_REACHED
        else:
            phase = st + 1
        rows[i, 0] = est
        rows[i, 1] = ssthresh
        rows[i, 2] = phase
        rows[i, 3] = limited
        rows[i, 4] = E_START if event == E_NONE else event
        prev_state = st
    return hystart
