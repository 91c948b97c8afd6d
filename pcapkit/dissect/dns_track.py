"""DNS request/response matching, as tshark 4.0 does it in one pass.

Per conversation (transport, the two address/port ends in either order) and transaction
ID, the latest transaction is kept:

* a request starts a new transaction unless the latest one with its ID is unanswered and
  began less than 5 s ago (tshark's ``dns.retransmission_timer``): then it is a
  retransmission (``dns.retransmission``, ``dns.retransmit_request_in``);
* a response answers the latest transaction with its ID: the first one gives
  ``dns.response_to`` and ``dns.time``; later ones are retransmissions
  (``dns.retransmit_response_in``), except for zone transfers (AXFR/IXFR), which may
  take several responses; a response with no transaction is ``dns.unsolicited``.

The state is updated when the header has been read and shown only when the whole message
was (as tshark, whose exception on a cut message skips the lines). ``dns.response_in``
needs a second pass and is not given. Messages quoted in ICMP errors are matched too
(their own addresses and ports), as tshark does.
Memory: one small record per transaction; a session holds at most ``max_transactions``
(the oldest conversations are forgotten first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pcapkit.dissect.base import Context, Layer

RETRANSMISSION_TIMER_NS = 5_000_000_000


@dataclass(slots=True)
class _Transaction:
    req_frame: int
    req_ns: int
    rep_frame: int = 0
    multiple_responses: bool = False


@dataclass(slots=True)
class Track:
    """What :meth:`DnsTransactions.begin` found for one message, for :meth:`~DnsTransactions.finish`."""

    transaction: _Transaction | None
    response: bool
    retransmission: bool
    ts_ns: int


Key = tuple[Any, ...]


class DnsTransactions:
    """The matching state of one dissection session (see the module docstring)."""

    def __init__(self, max_transactions: int = 1_000_000) -> None:
        self.max_transactions = max_transactions
        self._latest: dict[Key, _Transaction] = {}

    def begin(self, ctx: Context, layer: Layer, ident: int, response: bool) -> Track | None:
        conv = _conversation(ctx)
        if conv is None:
            return None
        key = (*conv, ident)
        latest = self._latest.get(key)
        if response:
            retrans = False
            if latest is not None:
                if latest.rep_frame == 0:
                    latest.rep_frame = ctx.frame_number
                elif not latest.multiple_responses:
                    retrans = True
            return Track(latest, True, retrans, ctx.ts_ns)
        if latest is not None and latest.rep_frame == 0 and ctx.ts_ns - latest.req_ns < RETRANSMISSION_TIMER_NS:
            return Track(latest, False, True, ctx.ts_ns)
        transaction = _Transaction(ctx.frame_number, ctx.ts_ns)
        self._latest.pop(key, None)  # re-inserted last: the dict's order is the age order
        self._latest[key] = transaction
        if len(self._latest) > self.max_transactions:
            del self._latest[next(iter(self._latest))]
        return Track(transaction, False, False, ctx.ts_ns)

    def finish(self, track: Track, layer: Layer, zone_transfer: bool) -> None:
        """Add the matching fields to a message decoded to its end."""
        t = track.transaction
        if not track.response:
            if t is None:
                return
            if zone_transfer and not track.retransmission:
                t.multiple_responses = True
            if track.retransmission:
                layer.add("dns.retransmit_request_in", t.req_frame)
                layer.add("dns.retransmission", True)
            return
        if t is None:
            layer.add("dns.unsolicited", True)
        elif track.retransmission:
            layer.add("dns.retransmit_response_in", t.rep_frame)
            layer.add("dns.retransmission", True)
        else:
            layer.add("dns.response_to", t.req_frame)
            layer.add("dns.time", track.ts_ns - t.req_ns)


def _conversation(ctx: Context) -> tuple[Any, ...] | None:
    """(transport, one end, the other end) of the message's datagram or segment, the ends
    in a fixed order so both directions meet."""
    src = dst = transport = sport = dport = None
    for layer in ctx.layers:
        proto = layer.protocol
        if proto == "ip":
            src, dst = layer.get("ip.src"), layer.get("ip.dst")
        elif proto == "ipv6":
            src, dst = layer.get("ipv6.src"), layer.get("ipv6.dst")
        elif proto in ("udp", "tcp"):
            transport, sport, dport = proto, layer.get(f"{proto}.srcport"), layer.get(f"{proto}.dstport")
    if src is None or transport is None:
        return None
    a, b = (str(src), sport), (str(dst), dport)
    return (transport, a, b) if (a[0], a[1] or 0) <= (b[0], b[1] or 0) else (transport, b, a)


def session_tracker(session: Any) -> DnsTransactions | None:
    """The session's DNS matching state (made on first use)."""
    state = getattr(session, "protocol_state", None)
    if state is None:
        return None
    tracker = state.get("dns")
    if tracker is None:
        tracker = state["dns"] = DnsTransactions()
    return tracker if isinstance(tracker, DnsTransactions) else None
