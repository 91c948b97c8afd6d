"""The sender kernel's congestion state per data segment of a generated flow.

``load_truth(pcap)`` reads ``NAME.truth.csv`` (one row per tcp_probe of the sender's data
socket, times on the capture's clock) with the flow's ``NAME.json`` in ``attrs["meta"]``.

``label_segments(pcap)`` gives, for every data segment the sender sent (pcapkit's own
TCP table, :func:`pcapkit.reports.tcp.tcp_frames`), the state it was sent under:

* **which probe.** tcp_probe fires when an ACK arrives, *before* the kernel processes it,
  so a probe shows the state left by the previous ACK: the state under which every
  segment sent since that previous ACK went out. A segment therefore takes the values of
  the first probe *after* it in time, not of the latest probe before it, which is one
  ACK stale (in slow start its cwnd is one segment short; :func:`alignment_report`
  counts both ways). Time, not frame order: a busy socket processes ACKs late, from its
  backlog, merged (see :func:`match_probes`), and the segments sent meanwhile go out
  under the state before that processing. Exception: a timer (RTO) changes the state
  with no ACK and no probe; a segment sent before a ca_state change that lies between
  it and its probe takes the probe before it (one ACK stale, the best there is).
* **ca_state** is the latest change at or before the segment (``NAME.castate.csv``).
* ``kernel_cwnd_bytes`` = snd_cwnd × mss, ``kernel_ssthresh_bytes`` = ssthresh × mss
  (missing while unset).
* ``kernel_phase`` (issue 12): Loss -> rto-recovery, Recovery -> fast-recovery; for Reno
  and CUBIC CWR -> cwr, else slow-start when cwnd < ssthresh, congestion-avoidance
  otherwise; for BBR its mode from ss (startup before the first poll: every BBR flow
  starts there).
* ``kernel_cwnd_limited`` (bool): True only in the Open state (ca_state 0: nothing SACKed,
  marked lost or re-sent, so the kernel's in-flight count equals the capture's), tshark's
  ``tcp.analysis.bytes_in_flight`` at the segment (highest byte sent minus highest ACK
  received) ≥ kernel cwnd − 1 MSS; False in every other state, where SACKed and lost
  data still count in the capture's bytes in flight but not in the kernel's (deciding
  there too called segments limited that went out with far more than cwnd in flight:
  on set2's BBR flows tshark's bytes in flight was then a median 69 % above cwnd).

``label_receiver_segments(receiver_pcap)`` gives the same labels for the data segments of
``NAME.receiver.pcap`` (the capture after the bottleneck): each is the very frame the
sender captured, found by its IP ID, raw sequence number and length (Linux numbers a
connected socket's datagrams one by one, so the triple is unique within a flow), and takes
the state that frame was sent under. Segments the bottleneck dropped are missing there.
"""

from __future__ import annotations

import json
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PHASE_BY_CA_STATE = {4: "rto-recovery", 3: "fast-recovery"}
CWR = 2
SEQ_MOD = 1 << 32


def _sibling(pcap: str | PathLike[str], suffix: str) -> Path:
    p = Path(pcap)
    return p.with_name(p.name.removesuffix(".pcap") + suffix)


def load_meta(pcap: str | PathLike[str]) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads(_sibling(pcap, ".json").read_text())
    return meta


def load_truth(pcap: str | PathLike[str]) -> pd.DataFrame:
    """The truth rows of ``pcap``'s flow; ``attrs["meta"]`` holds its json."""
    df = pd.read_csv(_sibling(pcap, ".truth.csv"),
                     dtype={"time_ns": "int64", "snd_una": "int64", "snd_nxt": "int64", "snd_cwnd": "int64",
                            "ssthresh": "Int64", "srtt_us": "int64", "ca_state": "int8", "bbr_mode": "string"},
                     keep_default_na=False, na_values={"ssthresh": [""]})
    df["bbr_mode"] = df["bbr_mode"].replace("", pd.NA)
    df.attrs["meta"] = load_meta(pcap)
    return df


def load_ca_changes(pcap: str | PathLike[str]) -> pd.DataFrame:
    path = _sibling(pcap, ".castate.csv")
    if not path.exists():
        return pd.DataFrame({"time_ns": np.array([], dtype="int64"), "ca_state": np.array([], dtype="int8")})
    return pd.read_csv(path, dtype={"time_ns": "int64", "ca_state": "int8"})


def flow_frames(pcap: str | PathLike[str], meta: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(frames the sender sent, frames it received, its ISN) on the data connection."""
    from pcapkit.reports.tcp import tcp_frames

    df = tcp_frames(pcap)
    cport, sport = meta["client"]["port"], meta["server"]["port"]
    out = (df["tcp.srcport"] == cport) & (df["tcp.dstport"] == sport)
    back = (df["tcp.srcport"] == sport) & (df["tcp.dstport"] == cport)
    sent, received = df[out.fillna(False)], df[back.fillna(False)]
    syn = sent[(sent["tcp.flags"] & 0x02) > 0]
    isn = int(syn["tcp.seq_raw"].iloc[0]) if len(syn) else int(sent["tcp.seq_raw"].iloc[0])
    return sent, received, isn


def match_probes(truth: pd.DataFrame, received: pd.DataFrame, isn: int, tolerance_ns: int = 2000) -> pd.DataFrame:
    """Check each probe against the ACKs the capture shows. Adds ``frame.number`` (the
    latest received frame at or before the probe, ``tolerance_ns`` allowing for the clock
    offset's uncertainty), ``lag_ns`` (probe - that frame), ``direct`` (the probe is that
    frame's own: its snd_una is the highest ACK captured before the frame) and ``una_ok``
    (its snd_una is an ACK the capture showed by then: never one from the future).

    Not every probe is direct: when the socket is busy (the sender is in sendmsg) the
    kernel queues arriving segments on its backlog, merges consecutive pure ACKs there,
    and runs tcp_probe when it processes them, up to milliseconds later, once per merged
    segment. So probes are not paired with frames one by one; segments take their state
    by time (label_segments), which holds in both cases."""
    rx = received[(received["tcp.flags"] & 0x02) == 0]
    times = rx["frame.time_epoch"].to_numpy().view("int64")
    acks = rx["tcp.ack"].to_numpy(dtype="int64", na_value=0)
    highest = np.maximum.accumulate(np.concatenate([[1], acks]))  # [i]: before frame i; the SYN-ACK acked 1
    frames = rx["frame.number"].to_numpy(dtype="int64")
    probe_t = truth["time_ns"].to_numpy()
    una_rel = (truth["snd_una"].to_numpy() - isn) % SEQ_MOD
    idx = np.searchsorted(times, probe_t + tolerance_ns, side="right") - 1
    matched = idx >= 0
    at = np.maximum(idx, 0)
    out = truth.copy()
    out["frame.number"] = pd.array(frames[at], dtype="Int64")
    out["lag_ns"] = pd.array(probe_t - times[at], dtype="Int64")
    out.loc[~matched, ["frame.number", "lag_ns"]] = pd.NA
    out["direct"] = matched & (highest[at] == una_rel)
    seen = np.isin(una_rel, highest)
    out["una_ok"] = matched & seen & (una_rel <= highest[at + 1])
    return out


def label_segments(pcap: str | PathLike[str], *, align: str = "next") -> pd.DataFrame:
    """The kernel's state per data segment the sender sent (see the module doc).
    ``align="previous"`` takes the latest probe at or before each segment instead (for
    :func:`alignment_report` only)."""
    truth = load_truth(pcap)
    meta = truth.attrs["meta"]
    mss = int(meta["mss"])
    sent, _, _ = flow_frames(pcap, meta)
    probes = truth
    data = sent[sent["tcp.len"].fillna(0) > 0]
    seg_frames = data["frame.number"].to_numpy(dtype="int64")
    seg_t = data["frame.time_epoch"].to_numpy().view("int64")
    probe_t = probes["time_ns"].to_numpy()
    if align == "next":
        # the first probe after the segment shows the state it was sent under ...
        k = np.searchsorted(probe_t, seg_t, side="right")
        has_next = k < len(probes)
        nxt_t = np.where(has_next, probe_t[np.minimum(k, len(probes) - 1)], np.iinfo(np.int64).max)
        # ... unless a timer changed the state in between (no ACK, so no probe): then the one before
        ct = load_ca_changes(pcap)["time_ns"].to_numpy()
        timer = (np.searchsorted(ct, nxt_t, side="left") - np.searchsorted(ct, seg_t, side="right")) > 0
        k = np.where(timer | ~has_next, k - 1, k)
    else:
        k = np.searchsorted(probe_t, seg_t, side="right") - 1
    valid = k >= 0
    row = probes.iloc[np.maximum(k, 0)]
    cwnd = row["snd_cwnd"].to_numpy() * mss
    ssthresh = row["ssthresh"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan) * mss
    ca = _ca_state_at(pcap, seg_t, row["ca_state"].to_numpy())
    bif = data["tcp.analysis.bytes_in_flight"].to_numpy(dtype="float64", na_value=np.nan)
    phase = _phases(meta["algorithm"], ca, cwnd, ssthresh, row["bbr_mode"].astype(object).where(row["bbr_mode"].notna(), None).to_numpy())
    out = pd.DataFrame({
        "frame.number": seg_frames,
        "frame.time_epoch": data["frame.time_epoch"].to_numpy(),
        "tcp.seq": data["tcp.seq"].to_numpy(dtype="int64", na_value=0),
        "tcp.len": data["tcp.len"].to_numpy(dtype="int64", na_value=0),
        "bytes_in_flight": pd.array(data["tcp.analysis.bytes_in_flight"].to_numpy(), dtype="Int64"),
        "kernel_cwnd_bytes": pd.array(cwnd, dtype="Int64"),
        "kernel_ssthresh_bytes": pd.array(np.where(np.isnan(ssthresh), 0, ssthresh).astype("int64"), dtype="Int64"),
        "kernel_ca_state": ca,
        "kernel_phase": pd.array(phase, dtype="string"),
        # decided only in Open: nothing SACKed, lost or re-sent, so the kernel's in flight is
        # the capture's bytes in flight; elsewhere the capture cannot tell (SACKed data still
        # counts there), and the answer is False
        "kernel_cwnd_limited": (ca == 0) & ~np.isnan(bif) & (bif >= cwnd - mss),
    })
    out.loc[np.isnan(ssthresh), "kernel_ssthresh_bytes"] = pd.NA
    out.loc[~valid, ["kernel_cwnd_bytes", "kernel_ssthresh_bytes", "kernel_phase"]] = pd.NA
    out.loc[~valid, "kernel_cwnd_limited"] = False
    out.attrs["meta"] = meta
    return out


def label_receiver_segments(receiver_pcap: str | PathLike[str]) -> pd.DataFrame:
    """The kernel's state per data segment of the receiver-side capture (module doc):
    :func:`label_segments` of the sender's capture, matched frame by frame. Columns as
    there (``frame.number`` is the receiver capture's), plus ``sender_frame``; a segment
    the sender's capture does not show (none are expected) keeps missing labels."""
    rx_path = Path(receiver_pcap)
    sender_pcap = rx_path.with_name(rx_path.name.removesuffix(".receiver.pcap") + ".pcap")
    sent = label_segments(sender_pcap)
    meta = sent.attrs["meta"]
    keys = ["ip.id", "tcp.seq_raw", "tcp.len"]
    sent_ids = _data_frame_keys(sender_pcap, meta)[["frame.number", "ip.id", "tcp.seq_raw"]].rename(
        columns={"frame.number": "sender_frame"})
    sent = sent.rename(columns={"frame.number": "sender_frame"}).merge(sent_ids, on="sender_frame", how="left")
    rx_ids = _data_frame_keys(rx_path, meta)
    if sent.duplicated(keys).any():
        raise ValueError(f"{sender_pcap}: two data segments share an IP ID, sequence number and length")
    rx_frames = sent.drop(columns=["frame.time_epoch", "bytes_in_flight"])
    out = rx_ids.merge(rx_frames, on=keys, how="left")
    out["kernel_cwnd_limited"] = out["kernel_cwnd_limited"].fillna(False).astype(bool)
    out.attrs["meta"] = meta
    return out


def _data_frame_keys(pcap: str | PathLike[str], meta: dict[str, Any]) -> pd.DataFrame:
    """frame.number, frame.time_epoch, ip.id, tcp.seq_raw, tcp.len of the sender's data segments."""
    import pcapkit

    cols = ["frame.number", "frame.time_epoch", "ip.id", "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.len"]
    df = pcapkit.read_packets(pcap, columns=cols)
    data = df[(df["tcp.srcport"] == meta["client"]["port"]) & (df["tcp.dstport"] == meta["server"]["port"])
              & (df["tcp.len"] > 0)].fillna({"tcp.len": 0})
    return data[["frame.number", "frame.time_epoch", "ip.id", "tcp.seq_raw", "tcp.len"]].astype(
        {"frame.number": "int64", "ip.id": "int64", "tcp.seq_raw": "int64", "tcp.len": "int64"}).reset_index(drop=True)


def _ca_state_at(pcap: str | PathLike[str], seg_t: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    changes = load_ca_changes(pcap)
    if not len(changes):
        return np.asarray(fallback, dtype=np.int8)
    i = np.searchsorted(changes["time_ns"].to_numpy(), seg_t, side="right") - 1
    return np.where(i >= 0, changes["ca_state"].to_numpy()[np.maximum(i, 0)], 0).astype(np.int8)


def _phases(algorithm: str, ca: np.ndarray, cwnd: np.ndarray, ssthresh: np.ndarray,
            bbr_mode: np.ndarray) -> list[str]:
    out = []
    for state, c, s, mode in zip(ca.tolist(), cwnd.tolist(), ssthresh.tolist(), bbr_mode.tolist(), strict=True):
        if state in PHASE_BY_CA_STATE:
            out.append(PHASE_BY_CA_STATE[state])
        elif algorithm == "bbr":
            out.append(mode or "startup")
        elif state == CWR:
            out.append("cwr")
        else:
            out.append("slow-start" if s != s or c < s else "congestion-avoidance")  # s != s: NaN, unset
    return out


def alignment_report(pcap: str | PathLike[str]) -> dict[str, float]:
    """How well the probes line up with the capture: the share of probes that are the
    ACK frame's own (``direct``), the share consistent with the captured ACKs, the probe's lag after its
    frame when the probe is the frame's own (median, 99th percentile, µs), and the share of cwnd-limited segments whose
    bytes in flight exceed the kernel's cwnd under each alignment (next probe: ours;
    previous probe: one ACK stale)."""
    truth = load_truth(pcap)
    _, received, isn = flow_frames(pcap, truth.attrs["meta"])
    m = match_probes(truth, received, isn)
    lag = m.loc[m["direct"], "lag_ns"].dropna().to_numpy(dtype="int64")
    over = {}
    for align in ("next", "previous"):
        seg = label_segments(pcap, align=align)
        ok = seg["kernel_cwnd_bytes"].notna() & seg["bytes_in_flight"].notna() & seg["kernel_ca_state"].eq(0)
        over[align] = float((seg.loc[ok, "bytes_in_flight"] > seg.loc[ok, "kernel_cwnd_bytes"]).mean())
    return {"probes": float(len(m)), "direct": float(m["direct"].mean()), "una_ok": float(m["una_ok"].mean()),
            "lag_median_us": float(np.median(lag) / 1000) if len(lag) else float("nan"),
            "lag_p99_us": float(np.percentile(lag, 99) / 1000) if len(lag) else float("nan"),
            "over_cwnd_next": over["next"], "over_cwnd_previous": over["previous"]}
