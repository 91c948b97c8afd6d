#!/usr/bin/env python3
"""Make a fresh set of ground-truth TCP flows: captures with the sender kernel's own
congestion state beside them (issue 12, item 1).

    python benchmarks/congestion/generate.py --out DIR --flows N --seed S
        [--algos reno,cubic,bbr] [--min-seconds T] [--max-seconds T]
        [--min-rate-mbit R] [--max-rate-mbit R] [--sack random|on|off]
        [--timestamps random|on|off] [--keep-raw]

Needs root, tracefs, iperf3, tcpdump, iproute2 (ip, tc, ss), ethtool and procps
(sysctl). Per flow (netpath.py, flow.py): three network namespaces (sender, relay,
receiver; 10.96.x.0/24 inside them only), a bottleneck (captures/tools/delay_bridge.py
for the delay and random loss, tc tbf for the rate and its queue), an iperf3 upload
with ``-C ALGO``, tcpdump on the sender's interface (snaplen 128), a private tracefs
instance recording tcp_probe and tcp_cong_state_set of the sender's data socket
(ktrace.py), and for BBR ``ss -tin`` polled every 10 ms (sspoll.py).

Parameters are drawn from the seed, algorithms taken in turn: RTT 5-150 ms
(log-uniform), random loss 0-2 % (none on a fifth of the flows), bottleneck 5-100
Mbit/s (log-uniform; the Python relay carried 330-500 Mbit/s here, so 100 is safe),
queue 0.5-4 BDP, 4-20 s, TCP timestamps and SACK each on or off. Flows run one after
another: the relay is timing-critical on a small machine. A failed flow is reported on
stderr and skipped (its files removed); the exit status is 1 when any flow failed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
if "PYTHONPATH" not in os.environ:  # this repository's pcapkit, unless PYTHONPATH names one
    sys.path.insert(1, str(Path(__file__).resolve().parents[2]))

from flow import FlowParams, run_flow
from ktrace import tracefs_available

ALGORITHMS = ("reno", "cubic", "bbr")


def draw_params(rng: random.Random, i: int, seed: int, algorithm: str, *, min_s: float, max_s: float,
                min_rate: float, max_rate: float, sack_mode: str = "random",
                timestamps_mode: str = "random") -> FlowParams:
    rtt = math.exp(rng.uniform(math.log(5), math.log(150)))
    loss = 0.0 if rng.random() < 0.2 else rng.uniform(0.0, 2.0)
    rate = math.exp(rng.uniform(math.log(min_rate), math.log(max(min_rate, max_rate))))
    queue_bdp = rng.uniform(0.5, 4.0)
    duration = rng.uniform(min_s, max_s)
    timestamps, sack = rng.random() < 0.6, rng.random() < 0.6
    if sack_mode != "random":  # drawn anyway, so the other parameters stay those of the seed
        sack = sack_mode == "on"
    if timestamps_mode != "random":
        timestamps = timestamps_mode == "on"
    bdp = rate * 1e6 / 8 * rtt / 1000
    # a port pair unique to this process and flow (the trace filter sees every namespace's
    # sockets); the client's port lies outside the ephemeral range its control connection uses
    k = (os.getpid() % 100) * 40 + i % 40
    return FlowParams(name=f"{i:03d}-{algorithm}", algorithm=algorithm, seed=seed, flow_seed=seed * 1000 + i,
                      rtt_ms=round(rtt, 2), loss_percent=round(loss, 3), rate_mbit=round(rate, 2),
                      queue_bdp=round(queue_bdp, 2), queue_bytes=max(3000, int(bdp * queue_bdp)),
                      duration_s=round(duration, 1), timestamps=timestamps, sack=sack,
                      client_port=61000 + k, server_port=20000 + k)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--flows", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--algos", default=",".join(ALGORITHMS))
    ap.add_argument("--min-seconds", type=float, default=4.0)
    ap.add_argument("--max-seconds", type=float, default=20.0)
    ap.add_argument("--min-rate-mbit", type=float, default=5.0)
    ap.add_argument("--max-rate-mbit", type=float, default=100.0)
    ap.add_argument("--sack", choices=("random", "on", "off"), default="random",
                    help="SACK on every flow, on none, or drawn per flow (default)")
    ap.add_argument("--timestamps", choices=("random", "on", "off"), default="random",
                    help="TCP timestamps on every flow, on none, or drawn per flow (default)")
    ap.add_argument("--keep-raw", action="store_true", help="keep each flow's raw trace, ss polls and relay "
                    "counters in DIR/.NAME.work/")
    args = ap.parse_args()
    algos = [a for a in args.algos.split(",") if a]
    if unknown := set(algos) - set(ALGORITHMS):
        ap.error(f"unknown algorithm(s): {', '.join(sorted(unknown))}")
    if not tracefs_available():
        print("generate: needs root and tracefs with the tcp events", file=sys.stderr)
        return 2
    # SIGTERM ends the run through the flows' finally blocks (namespaces, trace instance)
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    failed = 0
    for i in range(args.flows):
        params = draw_params(rng, i, args.seed, algos[i % len(algos)], min_s=args.min_seconds,
                             max_s=min(args.max_seconds, 20.0), min_rate=args.min_rate_mbit,
                             max_rate=args.max_rate_mbit, sack_mode=args.sack,
                             timestamps_mode=args.timestamps)
        started = time.monotonic()
        try:
            meta = run_flow(params, i, args.out, args.keep_raw)
        except Exception as exc:  # one broken flow must not lose the set
            failed += 1
            print(f"{params.name}: FAILED: {exc}", file=sys.stderr)
            for suffix in (".pcap", ".receiver.pcap", ".truth.csv", ".castate.csv", ".json"):
                (args.out / f"{params.name}{suffix}").unlink(missing_ok=True)
            continue
        iperf = meta["iperf3"]
        assert isinstance(iperf, dict)
        print(f"{params.name}: rtt {params.rtt_ms} ms, loss {params.loss_percent} %, {params.rate_mbit} Mbit/s, "
              f"queue {params.queue_bdp} BDP, {params.duration_s} s, ts={int(params.timestamps)} "
              f"sack={int(params.sack)}: {(iperf.get('received_bits_per_second') or 0) / 1e6:.1f} Mbit/s, "
              f"{meta['probes']} probes, offset {meta['clock_offset_ns']} ns "
              f"({time.monotonic() - started:.1f} s)", file=sys.stderr)
    (args.out / "SET.json").write_text(json.dumps({"flows": args.flows, "failed": failed, "seed": args.seed,
                                                   "algos": algos, "max_seconds": args.max_seconds,
                                                   "min_seconds": args.min_seconds,
                                                   "min_rate_mbit": args.min_rate_mbit,
                                                   "max_rate_mbit": args.max_rate_mbit,
                                                   "sack": args.sack, "timestamps": args.timestamps}) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
