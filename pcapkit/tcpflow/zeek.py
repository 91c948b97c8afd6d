"""Zeek's ``conn.log`` view of TCP connections: ``conn_state``, ``history``, ``missed_bytes``.

A model of Zeek's TCP session adapter (``TCPSessionAdapter.cc``: ``update_history``,
``update_window``, ``update_last_seq`` and ``UpdateStateMachine``) and of the
``conn_state()`` function of ``base/protocols/conn/main.zeek``.

Endpoint states: INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET.

conn_state (from the two endpoint states):
  S0 attempt, no reply; S1 established, not terminated; SF normal establishment and
  termination; REJ attempt rejected; S2/S3 established, close seen from the
  originator/responder only; RSTO/RSTR established, originator/responder sent a RST;
  RSTOS0 originator sent SYN then RST, no SYN-ACK; RSTRH responder sent SYN-ACK then
  RST, no SYN seen; SH/SHR SYN (SYN-ACK) then FIN with no answer; OTH midstream.

history letters, upper case for the originator, lower case for the responder:
  S SYN without ACK, H SYN+ACK, A pure ACK, D payload, F FIN, R RST, T retransmitted
  payload, W zero window, G content gap, I FIN+RST, Q SYN with FIN or RST, ^ roles
  flipped. A, D, I and Q are recorded once per direction; S, H, F and R again when
  their sequence number differs from the previous one of that flag; T, W and G are
  recorded when their count reaches 1, 10, 100, 1000, ... (Zeek's scaled history).

Differences from Zeek, by design: no checksum verification ('C' is never recorded;
Zeek's btests run with ``-C`` too), "likely server ports" approximated as ports
below 1024 plus common alternates, and content gaps (G, missed_bytes) computed from
the data segments seen and the peer's ACKs rather than Zeek's full reassembler.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum

from pcapkit.tcpflow.segment import ACK, FIN, RST, SYN, Segment
from pcapkit.tcpflow.seq import seq_diff

TOO_LARGE_SEQ_DELTA = 1048576
LIKELY_SERVER_PORTS = frozenset(
    set(range(1, 1024)) | {1080, 1433, 1521, 2049, 3128, 3306, 3389, 5060, 5222, 5432, 5900,
                           6379, 6667, 8000, 8008, 8080, 8081, 8443, 8888, 9200, 11211, 27017})


class State(IntEnum):
    """Zeek's TCP endpoint states (``TCP_ENDPOINT_*``), with Zeek's numbers."""

    INACTIVE = 0
    SYN_SENT = 1
    SYN_ACK_SENT = 2
    PARTIAL = 3
    ESTABLISHED = 4
    CLOSED = 5
    RESET = 6


_ONCE = {"A": 1, "D": 2, "I": 4, "Q": 8, "S": 16, "H": 16, "F": 32, "R": 64}


@dataclass(slots=True)
class Endpoint:
    is_orig: bool
    host: str = ""
    port: int = 0
    state: State = State.INACTIVE
    prev_state: State = State.INACTIVE
    start_seq: int = 0
    last_seq: int = 0
    ack_seq: int = 0
    started: bool = False
    fin_cnt: int = 0
    fin_seq: int | None = None        # absolute sequence number of the FIN
    window_scale: int = 0
    hist_seen: int = 0
    hist_last: dict[str, int] = field(default_factory=dict)
    counters: dict[str, list[int]] = field(default_factory=dict)  # letter -> [count, threshold]
    pkts: int = 0
    ip_bytes: int = 0
    blocks: list[tuple[int, int]] = field(default_factory=list)  # data seen [start, end) relative
    missed: int = 0

    def set_state(self, s: State) -> None:
        self.prev_state = self.state
        self.state = s

    def rel(self, seq: int) -> int:
        return seq_diff(seq, self.start_seq)

    def size(self) -> int:
        top = max(seq_diff(self.last_seq, self.start_seq), seq_diff(self.ack_seq, self.start_seq), 0)
        if top > 0:
            top -= 1
        if self.fin_cnt > 0 and top > 0:
            top -= 1
        return top


@dataclass(slots=True)
class ZeekConn:
    """One Zeek connection with its two endpoints and the history string."""

    orig: Endpoint
    resp: Endpoint
    history: list[str] = field(default_factory=list)
    flipped: bool = False
    is_partial: bool = False
    first_ts_ns: int = 0
    last_ts_ns: int = 0
    frames: list[int] = field(default_factory=list)

    # -- history helpers -----------------------------------------------------
    def _add(self, ep: Endpoint, code: str) -> None:
        self.history.append(code if ep.is_orig else code.lower())

    def _check(self, ep: Endpoint, code: str) -> bool:
        """Zeek's CheckHistory: record the first one; True when seen before."""
        mask = _ONCE[code]
        if ep.hist_seen & mask:
            return True
        ep.hist_seen |= mask
        self._add(ep, code)
        return False

    def _scaled(self, ep: Endpoint, code: str) -> None:
        c = ep.counters.setdefault(code, [0, 1])
        c[0] += 1
        if c[0] == c[1]:
            self._add(ep, code)
            c[1] *= 10

    @property
    def history_str(self) -> str:
        return "".join(self.history)

    @property
    def conn_state(self) -> str:
        os, rs = self.orig.state, self.resp.state
        o_inactive = os in (State.INACTIVE, State.PARTIAL)
        r_inactive = rs in (State.INACTIVE, State.PARTIAL)
        if rs == State.RESET:
            if os in (State.SYN_SENT, State.SYN_ACK_SENT) or (
                    os == State.RESET and self.orig.size() == 0 and self.resp.size() == 0):
                return "REJ"
            return "RSTRH" if o_inactive else "RSTR"
        if os == State.RESET:
            if r_inactive:
                h = self.history_str.lstrip("^")
                if h.startswith("S") and "R" in h and not any(
                        ch in "HAFGIQ" for ch in h[1:h.index("R")]):
                    return "RSTOS0"
                return "OTH"
            return "RSTO"
        if rs == State.CLOSED and os == State.CLOSED:
            return "SF"
        if os == State.CLOSED:
            return "SH" if r_inactive else "S2"
        if rs == State.CLOSED:
            return "SHR" if o_inactive else "S3"
        if os == State.SYN_SENT and rs == State.INACTIVE:
            return "S0"
        if os == State.ESTABLISHED and rs == State.ESTABLISHED:
            return "S1"
        return "OTH"

    @property
    def missed_bytes(self) -> int:
        return self.orig.missed + self.resp.missed

    # -- per packet ----------------------------------------------------------
    def process(self, seg: Segment, is_orig: bool, ip_len: int = 0) -> None:
        ep, peer = (self.orig, self.resp) if is_orig else (self.resp, self.orig)
        flags = seg.flags
        syn, fin, rst, ackf = bool(flags & SYN), bool(flags & FIN), bool(flags & RST), bool(flags & ACK)
        length = max(seg.seglen, 0)
        base, ack = seg.seq, seg.ack
        self.frames.append(seg.frame_number)
        self.last_ts_ns = seg.ts_ns
        ep.pkts += 1
        ep.ip_bytes += ip_len

        # SetPartialStatus
        if is_orig and ep.pkts == 1:
            self.is_partial = (not syn) or ackf
        elif not is_orig and ep.pkts == 1 and not self.is_partial:
            self.is_partial = not syn

        seg_len = length + syn + fin - (length if rst else 0)
        one_past = (base + seg_len) & 0xFFFFFFFF
        self._init_endpoint(ep, syn, base, one_past)
        rel_seq = ep.rel(base)

        # update_history
        bits = syn + fin + rst
        if bits > 1:
            self._check(ep, "I" if fin and rst else "Q")
        elif bits == 1:
            if syn:
                code = "H" if ackf else "S"
                if self._check(ep, code) and rel_seq != ep.hist_last.get("S"):
                    self._add(ep, code)
                ep.hist_last["S"] = rel_seq
            if fin:
                if self._check(ep, "F") and rel_seq + length != ep.hist_last.get("F"):
                    self._add(ep, "F")
                ep.hist_last["F"] = rel_seq + length
            if rst:
                if self._check(ep, "R") and rel_seq != ep.hist_last.get("R"):
                    self._add(ep, "R")
                ep.hist_last["R"] = rel_seq
        elif length:
            self._check(ep, "D")
        elif ackf:
            self._check(ep, "A")

        # update_window: zero windows
        window = seg.window << ep.window_scale
        if window == 0 and not rst and peer.state != State.CLOSED and ep.state != State.RESET:
            self._scaled(ep, "W")

        if syn:
            scale = seg.wscale if seg.wscale is not None else -1
            if scale < 0:
                ep.window_scale = 0
                if ackf:
                    peer.window_scale = 0
            else:
                ep.window_scale = scale
        if fin:
            ep.fin_cnt += 1
            ep.fin_seq = (base + length) & 0xFFFFFFFF

        if ackf:
            if peer.state == State.INACTIVE:
                peer.started = True
                peer.start_seq = peer.ack_seq = peer.last_seq = (ack - 1) & 0xFFFFFFFF
            elif not rst and seq_diff(ack, peer.ack_seq) > 0 and not (
                    ack == 0 and seq_diff(ack, peer.ack_seq) > TOO_LARGE_SEQ_DELTA):
                peer.ack_seq = ack

        # update_last_seq
        delta_last = seq_diff(one_past, ep.last_seq)
        if (syn or rst) and abs(delta_last) > TOO_LARGE_SEQ_DELTA:
            pass
        elif fin and ep.last_seq == ((ep.start_seq + 1) & 0xFFFFFFFF):
            ep.last_seq = one_past
        elif ep.state == State.RESET:
            pass
        elif delta_last > 0:
            ep.last_seq = one_past
        elif length > 0:
            self._scaled(ep, "T")

        self._update_state(ep, peer, base, ack, length, is_orig, syn, fin, rst, ackf, delta_last)

        # data seen, and gaps revealed by this ACK (Zeek's reassembler AckReceived)
        if length > 0 and not rst:
            start = ep.rel(base) + (1 if syn else 0)
            self._add_block(ep, start, start + length)
        if ackf and not rst:
            self._ack_received(peer, ep, ack)

    def _init_endpoint(self, ep: Endpoint, syn: bool, first: int, last: int) -> None:
        if ep.state == State.INACTIVE:
            ep.started = True
            if syn:
                ep.start_seq = ep.ack_seq = first
                ep.last_seq = last
            else:
                ep.start_seq = ep.ack_seq = (first - 1) & 0xFFFFFFFF
                ep.last_seq = first
        elif ep.state in (State.SYN_SENT, State.SYN_ACK_SENT, State.ESTABLISHED, State.PARTIAL) \
                and syn and first != ep.start_seq:
            ep.start_seq = ep.ack_seq = first
            ep.last_seq = last

    @staticmethod
    def _add_block(ep: Endpoint, start: int, end: int) -> None:
        blocks = ep.blocks
        blocks.append((start, end))
        blocks.sort()
        merged: list[tuple[int, int]] = []
        for s, e in blocks:
            if merged and s <= merged[-1][1]:
                if e > merged[-1][1]:
                    merged[-1] = (merged[-1][0], e)
            else:
                merged.append((s, e))
        ep.blocks = merged

    def _ack_received(self, sender: Endpoint, acker: Endpoint, ack: int) -> None:
        if not sender.started or self.is_partial:
            return
        top = sender.rel(ack)
        if sender.fin_seq is not None and top > sender.rel(sender.fin_seq):
            top = sender.rel(sender.fin_seq)
        if top <= 1:
            return
        covered = 0
        upto = 1
        for s, e in sender.blocks:
            s2, e2 = max(s, 1), min(e, top)
            if e2 > s2:
                covered += e2 - s2
            upto = max(upto, e)
        missing = (top - 1) - covered
        if missing > 0:
            sender.missed += missing
            self._add_block(sender, 1, top)
            if acker.state not in (State.CLOSED, State.RESET):
                self._scaled(sender, "G")

    def _update_state(self, ep: Endpoint, peer: Endpoint, base: int, ack: int, length: int,
                      is_orig: bool, syn: bool, fin: bool, rst: bool, ackf: bool,
                      delta_last: int) -> None:
        s = ep.state
        if s == State.INACTIVE:
            if syn:
                if is_orig:
                    ep.set_state(State.SYN_ACK_SENT if ackf else State.SYN_SENT)
                else:
                    if not ackf and peer.state == State.SYN_ACK_SENT and base == ep.start_seq:
                        self.is_partial = False
                        self._flip()
                        peer.set_state(State.ESTABLISHED)
                    if peer.state == State.SYN_SENT:
                        peer.set_state(State.ESTABLISHED)
                    ep.set_state(State.ESTABLISHED)
            if fin:
                ep.set_state(State.CLOSED)
            if rst:
                ep.set_state(State.RESET)
            if ep.state == State.INACTIVE:
                if not is_orig and length == 0 and self.orig.state == State.SYN_SENT:
                    pass
                elif ackf and peer.state == State.ESTABLISHED:
                    ep.set_state(State.ESTABLISHED)
                    self.is_partial = False
                else:
                    ep.set_state(State.PARTIAL)
        elif s in (State.SYN_SENT, State.SYN_ACK_SENT):
            if fin:
                ep.set_state(State.CLOSED)
            if rst:
                ep.set_state(State.RESET)
        elif s in (State.ESTABLISHED, State.PARTIAL):
            if syn and s == State.PARTIAL and peer.state == State.INACTIVE and not ackf:
                ep.set_state(State.SYN_SENT)
            if fin and not rst:
                ep.set_state(State.CLOSED)
                if peer.state == State.RESET and peer.prev_state == State.CLOSED:
                    peer.set_state(State.CLOSED)
            if rst:
                ep.set_state(State.RESET)
        elif s == State.CLOSED and rst and peer.state != State.CLOSED:
            ep.set_state(State.RESET)

    def _flip(self) -> None:
        self.orig, self.resp = self.resp, self.orig
        self.orig.is_orig, self.resp.is_orig = True, False
        self.flipped = not self.flipped
        self.history.append("^")


def _is_reuse(conn: ZeekConn, seg: Segment) -> bool:
    """Zeek's IsReuse, simplified: a SYN after both sides closed (or a RST), or a SYN
    with a new ISN from the originator of a closed connection."""
    if not seg.flags & SYN or seg.flags & ACK:
        return False
    closed = {State.CLOSED, State.RESET}
    if (conn.orig.state in closed and conn.resp.state in closed) or \
            State.RESET in (conn.orig.state, conn.resp.state):
        return seg.seq != conn.orig.start_seq or conn.orig.state in closed
    return False


def zeek_connections(segments: Iterable[Segment]) -> list[ZeekConn]:
    """Group segments into Zeek connections (in order of first packet) and run the model."""
    active: dict[tuple[str, int, str, int], ZeekConn] = {}
    out: list[ZeekConn] = []
    for seg in segments:
        key = (seg.src, seg.sport, seg.dst, seg.dport)
        rkey = (seg.dst, seg.dport, seg.src, seg.sport)
        conn = active.get(key) or active.get(rkey)
        if conn is not None and _is_reuse(conn, seg):
            active.pop(key, None)
            active.pop(rkey, None)
            conn = None
        if conn is None:
            orig = Endpoint(True, seg.src, seg.sport)
            resp = Endpoint(False, seg.dst, seg.dport)
            conn = ZeekConn(orig, resp, first_ts_ns=seg.ts_ns)
            f = seg.flags
            # a partial connection: guess the responder from the ports (WantConnection)
            if (not (f & SYN) or (f & ACK)) and seg.sport in LIKELY_SERVER_PORTS:
                flip = (not (f & SYN) and seg.sport < seg.dport) \
                    if seg.dport in LIKELY_SERVER_PORTS else True
                if flip:
                    conn.orig, conn.resp = Endpoint(True, seg.dst, seg.dport), Endpoint(False, seg.src, seg.sport)
                    conn.history.append("^")
                    conn.flipped = True
            active[key] = conn
            out.append(conn)
        is_orig = seg.src == conn.orig.host and seg.sport == conn.orig.port
        ip_len = seg.seglen + seg.header_len + (20 if seg.ip_version == 4 else 40)
        conn.process(seg, is_orig, ip_len)
    return out
