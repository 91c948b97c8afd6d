"""Check that the congestion model gives the same answers as a reference checkout of pcapkit
(before a rewrite of its passes), direction by direction, on every capture given.

    python benchmarks/congestion/paths_equal.py --ref CHECKOUT [--corpus DIR] [--ref-cache FILE] CAPTURE_OR_DIR...

Runs itself twice, as a child process, once with ``CHECKOUT`` first on ``PYTHONPATH`` (the
reference) and once with this checkout; each dumps, per capture and sending direction
(every stream, every direction that carries data), digests of what each pass gives: the
direction's report (data segments, ACKs, losses, RTT samples, MSS, handshake), the flight
trace (per segment interval, pipe, window, window edge, snd_nxt, state; per ACK acked and
delivered; the loss events), the identification (``direction_identification``, the
whole value), the full model (per segment estimates, phase changes, events, algorithm),
and ``flows``' ``cc_algorithm`` per stream (``bulk_algorithms``). Prints each difference
and exits 1 if there is one. ``--corpus``: also every capture of that corpus whose
INDEX.tsv lists tcp.
"""

from __future__ import annotations

import hashlib
import sys
from typing import Any

from checkouts import both_sides


def digest(value: Any) -> str:
    return hashlib.sha1(repr(value).encode()).hexdigest()[:16]


def dump(paths: list[str]) -> dict[str, Any]:
    """What this process' pcapkit gives for ``paths`` (see the module doc)."""
    from pcapkit.reports.congestion import _senders, _stream_segments, bulk_algorithms
    from pcapkit.tcpflow.analysed import analyse
    from pcapkit.tcpflow.ccflight import trace_flight
    from pcapkit.tcpflow.ccmodel import direction_identification, model_direction
    from pcapkit.tcpflow.ccvantage import sender_view
    from pcapkit.tcpflow.congestion import analyse_direction

    out: dict[str, Any] = {}
    for path in paths:
        try:
            an = analyse(path)
        except Exception as exc:  # (a capture pcapkit cannot read: the same error both sides)
            out[path] = {"error": type(exc).__name__}
            continue
        directions: dict[str, Any] = {}
        if len(an):
            for st, segs in _stream_segments(an, None):
                for sender, receiver in _senders(segs):
                    rep = analyse_direction(segs, sender, receiver)
                    tr = trace_flight(sender_view(rep))
                    model = model_direction(rep)
                    ident = direction_identification(analyse_direction(segs, sender, receiver, flights=False))
                    directions[f"{st} {sender} {receiver}"] = {
                        "sent": digest(rep.sent), "acks": digest(rep.acks), "losses": digest(rep.losses),
                        "rtt": digest(rep.rtt_samples), "flights": digest(rep.flights),
                        "head": digest((rep.mss, rep.min_rtt_ns, rep.sender_syn_ns, rep.receiver_syn_ns,
                                        rep.handshake_ack_ns, rep.sender_opened)),
                        "flight": digest((tr.mss, tr.interval, tr.pipe, tr.window, tr.wnd_edge, tr.nxt, tr.state)),
                        "acked": digest((tr.acked, tr.delivered)),
                        "events": digest((tr.events, tr.tail_probes, tr.window_probes, tr.uncaptured)),
                        "identification": repr(ident),
                        "model": digest((model.segments, model.changes, model.events)),
                        "model_identification": repr(model.identification),
                    }
        out[path] = {"flows": {str(k): v for k, v in bulk_algorithms(an).items() if v != "unknown"},
                     "directions": directions}
    return out


def main() -> int:
    sides = both_sides(__doc__, __file__, dump)
    if sides is None:
        return 0
    paths, ref, new = sides
    differences = directions = 0
    for path in paths:
        a, b = ref[path], new[path]
        if a.get("flows") != b.get("flows") or a.get("error") != b.get("error"):
            differences += 1
            print(f"{path}: flows {a.get('flows', a.get('error'))} != {b.get('flows', b.get('error'))}")
        da, db = a.get("directions", {}), b.get("directions", {})
        if set(da) != set(db):
            differences += 1
            print(f"{path}: directions {sorted(set(da) ^ set(db))}")
        for key in sorted(set(da) & set(db)):
            directions += 1
            for field in da[key]:
                if da[key][field] != db[key][field]:
                    differences += 1
                    print(f"{path} {key}: {field} differs: {da[key][field]} != {db[key][field]}")
    print(f"{len(paths)} captures, {directions} directions compared, {differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
