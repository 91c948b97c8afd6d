#!/usr/bin/env python3
"""Score a congestion model against the sender kernel's truth (issue 12, item 5).

    python benchmarks/congestion/accuracy.py DIR [--format table|csv] [--model api]
        [--side sender|receiver] [--only NAME] [--per-flow]

DIR holds flows made by generate.py (NAME.pcap, NAME.truth.csv, NAME.castate.csv,
NAME.json). The model scored is pcapkit.reports.congestion (models.py).
Per data segment the sender sent, the kernel's state comes from
truth.label_segments; figures are pooled over segments (a flow counts by its size):

  phase        share of segments whose phase equals the kernel's (issue 12's names/rules)
  cwnd_med     median |model - kernel cwnd| / kernel cwnd, on kernel-cwnd-limited segments
               (decided in the Open state only, see truth.py)
  cwnd_ok      share of those within max(10 %, 2 MSS) of the kernel's cwnd
  tshark_*     the same two for tshark's tcp.analysis.bytes_in_flight as the cwnd. On
               cwnd-limited segments bytes in flight is near cwnd by definition (that
               is how "limited" is decided, truth.py), so tshark scores well there; the
  *_ok_all     columns give the share within max(10 %, 2 MSS) over every segment
  said_lim     share of segments the model calls cwnd-limited (limited_by == cwnd, the
  cwnd_ok_said issue's wording) and its share within max(10 %, 2 MSS) on those
  ssth_cov     share of segments with a kernel ssthresh for which the model gives one
  ssth_med/ok  median relative error and share within max(10 %, 2 MSS) there
  algo         share of flows whose cc_algorithm is right (confusion matrix below)

Rows: all flows, then per algorithm, per RTT bucket, per loss bucket, TCP timestamps on/off.

--side receiver scores the model on NAME.receiver.pcap (the capture after the
bottleneck) instead, each of its data segments labelled with the state the sender's
kernel sent that very frame under (truth.label_receiver_segments); the figures keep
their meaning (kernel-cwnd-limited is the sender-side decision for that frame).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
if "PYTHONPATH" not in os.environ:  # this repository's pcapkit, unless PYTHONPATH names one
    sys.path.insert(1, str(Path(__file__).resolve().parents[2]))

from models import SegmentsFn, SummaryFn, pick, tshark_bytes_in_flight
from truth import label_receiver_segments, label_segments

RTT_BUCKETS = ((0, 20, "rtt <20 ms"), (20, 60, "rtt 20-60 ms"), (60, 1e9, "rtt >=60 ms"))
LOSS_BUCKETS = ((0, 1e-9, "loss 0"), (1e-9, 0.5, "loss <0.5 %"), (0.5, 1.0, "loss 0.5-1 %"),
                (1.0, 100, "loss 1-2 %"))
ALGOS = ("reno", "cubic", "bbr")


def score_flow(pcap: Path, segments_fn: SegmentsFn, summary_fn: SummaryFn,
               side: str = "sender") -> tuple[pd.DataFrame, dict[str, object]]:
    """Per data segment: kernel truth, model answer, tshark's bytes in flight. ``pcap``
    is the sender's capture; with ``side="receiver"`` the model reads the receiver's."""
    if side == "receiver":
        pcap = receiver_capture(pcap)
        truth = label_receiver_segments(pcap)
    else:
        truth = label_segments(pcap)
    meta = truth.attrs["meta"]
    cport, sport = meta["client"]["port"], meta["server"]["port"]
    model = segments_fn(str(pcap))
    model = model[(model["tcp.srcport"] == cport) & (model["tcp.dstport"] == sport)]
    model = model[["frame.number", "cwnd_bytes", "ssthresh_bytes", "phase", "limited_by"]].astype(
        {"frame.number": "int64"})
    seg = truth.merge(model, on="frame.number", how="left")
    seg = seg.merge(tshark_bytes_in_flight(pcap, cport), on="frame.number", how="left")
    seg["mss"] = meta["mss"]
    summary = summary_fn(str(pcap))
    row = summary[(summary["tcp.srcport"] == cport) & (summary["tcp.dstport"] == sport)]
    flow = {"name": pcap.name.removesuffix(".pcap").removesuffix(".receiver"), "algorithm": meta["algorithm"], "rtt_ms": meta["rtt_ms"],
            "loss_percent": meta["loss_percent"], "timestamps": bool(meta["timestamps"]),
            "predicted": str(row["cc_algorithm"].iloc[0]) if len(row) else "unknown",
            "segments": len(seg), "model_rows": int(seg["phase"].notna().sum())}
    return seg, flow


def _cwnd_figures(estimate: np.ndarray, kernel: np.ndarray, mss: np.ndarray) -> tuple[float, float]:
    ok = ~np.isnan(estimate) & (kernel > 0)
    if not ok.any():
        return float("nan"), float("nan")
    err = np.abs(estimate[ok] - kernel[ok])
    return float(np.median(err / kernel[ok])), float(np.mean(err <= np.maximum(0.1 * kernel[ok], 2 * mss[ok])))


def figures(seg: pd.DataFrame, flows: pd.DataFrame) -> dict[str, float]:
    known = seg["kernel_phase"].notna()
    lim = seg["kernel_cwnd_limited"].fillna(False).to_numpy(dtype=bool) & seg["kernel_cwnd_bytes"].notna().to_numpy()
    kernel = seg["kernel_cwnd_bytes"].to_numpy(dtype="float64", na_value=np.nan)
    mss = seg["mss"].to_numpy(dtype="float64")
    model = seg["cwnd_bytes"].to_numpy(dtype="float64", na_value=np.nan)
    tshark = seg["tshark_bif"].to_numpy(dtype="float64", na_value=np.nan)
    cwnd_med, cwnd_ok = _cwnd_figures(model[lim], kernel[lim], mss[lim])
    ts_med, ts_ok = _cwnd_figures(tshark[lim], kernel[lim], mss[lim])
    _, cwnd_ok_all = _cwnd_figures(model, kernel, mss)
    said = (seg["limited_by"] == "cwnd").fillna(False).to_numpy(dtype=bool)
    _, cwnd_ok_said = _cwnd_figures(model[said], kernel[said], mss[said])
    _, ts_ok_all = _cwnd_figures(tshark, kernel, mss)
    k_ss = seg["kernel_ssthresh_bytes"].to_numpy(dtype="float64", na_value=np.nan)
    m_ss = seg["ssthresh_bytes"].to_numpy(dtype="float64", na_value=np.nan)
    has = ~np.isnan(k_ss)
    ss_med, ss_ok = _cwnd_figures(m_ss[has], k_ss[has], mss[has])
    return {"flows": len(flows), "segments": int(known.sum()),
            "phase": float((seg.loc[known, "phase"] == seg.loc[known, "kernel_phase"]).fillna(False).mean())
            if known.any() else float("nan"),
            "cwnd_limited": int(lim.sum()), "cwnd_med": cwnd_med, "cwnd_ok": cwnd_ok,
            "tshark_med": ts_med, "tshark_ok": ts_ok, "cwnd_ok_all": cwnd_ok_all, "tshark_ok_all": ts_ok_all,
            "said_lim": float(said.mean()) if len(said) else float("nan"), "cwnd_ok_said": cwnd_ok_said,
            "ssth_cov": float((~np.isnan(m_ss[has])).mean()) if has.any() else float("nan"),
            "ssth_med": ss_med, "ssth_ok": ss_ok,
            "algo": float((flows["predicted"] == flows["algorithm"]).mean()) if len(flows) else float("nan")}


def _bucket(value: float, buckets: tuple[tuple[float, float, str], ...]) -> str:
    return next(name for lo, hi, name in buckets if lo <= value < hi)


def receiver_capture(pcap: Path) -> Path:
    return pcap.with_name(pcap.name.removesuffix(".pcap") + ".receiver.pcap")


def report(directory: Path, model: str = "auto", side: str = "sender",
           only: str | None = None) -> tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(model name, figures per group, algorithm confusion, one row per flow); ``only``:
    score just the flows whose name contains it."""
    name, segments_fn, summary_fn = pick(model)
    parts, flows = [], []
    for pcap in sorted(directory.glob("*.pcap")):
        if not pcap.with_name(pcap.stem + ".truth.csv").exists() or (only and only not in pcap.stem):
            continue
        if side == "receiver" and not receiver_capture(pcap).exists():
            continue  # made before the generator captured at the receiver
        seg, flow = score_flow(pcap, segments_fn, summary_fn, side)
        seg["flow"] = str(flow["name"])
        known = seg["kernel_phase"].notna()
        flow["phase"] = float((seg.loc[known, "phase"] == seg.loc[known, "kernel_phase"]).fillna(False).mean()) \
            if known.any() else float("nan")
        parts.append(seg)
        flows.append(flow)
    if not parts:
        raise SystemExit(f"accuracy: no generated flows in {directory}"
                         + (" with a receiver-side capture" if side == "receiver" else ""))
    seg, fl = pd.concat(parts, ignore_index=True), pd.DataFrame(flows)
    fl["rtt_bucket"] = [_bucket(v, RTT_BUCKETS) for v in fl["rtt_ms"]]
    fl["loss_bucket"] = [_bucket(v, LOSS_BUCKETS) for v in fl["loss_percent"]]
    groups: list[tuple[str, pd.Series]] = [("all", fl["name"] == fl["name"])]
    groups += [(a, fl["algorithm"] == a) for a in ALGOS if (fl["algorithm"] == a).any()]
    groups += [(b, fl["rtt_bucket"] == b) for _, _, b in RTT_BUCKETS if (fl["rtt_bucket"] == b).any()]
    groups += [(b, fl["loss_bucket"] == b) for _, _, b in LOSS_BUCKETS if (fl["loss_bucket"] == b).any()]
    groups += [(f"timestamps {'on' if on else 'off'}", fl["timestamps"] == on) for on in (True, False)
               if (fl["timestamps"] == on).any()]
    rows = []
    for label, sel in groups:
        names = set(fl.loc[sel, "name"])
        rows.append({"group": label, **figures(seg[seg["flow"].isin(names)], fl[sel])})
    table = pd.DataFrame(rows)
    confusion = pd.crosstab(fl["algorithm"], fl["predicted"]).reindex(
        index=[a for a in ALGOS if (fl["algorithm"] == a).any()])
    return name, table, confusion, fl


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("directory", type=Path)
    ap.add_argument("--format", choices=("table", "csv"), default="table")
    ap.add_argument("--model", choices=("auto", "api"), default="api")
    ap.add_argument("--side", choices=("sender", "receiver"), default="sender",
                    help="the capture the model reads (the truth is always the sender kernel's)")
    ap.add_argument("--only", help="score only the flows whose name contains this (e.g. 036-reno)")
    ap.add_argument("--per-flow", action="store_true", help="also print one row per flow")
    args = ap.parse_args()
    name, table, confusion, flows = report(args.directory, args.model, args.side, args.only)
    if args.format == "csv":
        table.insert(0, "model", name)
        print(table.to_csv(index=False, float_format="%.4f"), end="")
        return 0
    print(f"model: {name}; {args.directory}; {args.side}-side captures")
    shown = table.copy()
    for col in ("phase", "cwnd_ok", "tshark_ok", "cwnd_ok_all", "tshark_ok_all", "said_lim", "cwnd_ok_said",
                "ssth_cov", "ssth_ok", "algo"):
        shown[col] = [_percent(v) for v in shown[col]]
    for col in ("cwnd_med", "tshark_med", "ssth_med"):
        shown[col] = [_percent(v) for v in shown[col]]
    print(shown.to_string(index=False))
    print("\nalgorithm confusion (rows: kernel, columns: model):")
    print(confusion.to_string())
    if args.per_flow:
        cols = ["name", "algorithm", "predicted", "rtt_ms", "loss_percent", "timestamps", "segments", "phase"]
        shown = flows[cols].copy()
        shown["phase"] = [_percent(v) for v in shown["phase"]]
        print("\nper flow:")
        print(shown.to_string(index=False))
    return 0


def _percent(v: float) -> str:
    return "-" if v != v else f"{100 * v:.1f} %"


if __name__ == "__main__":
    sys.exit(main())
