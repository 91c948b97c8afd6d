"""The committed ground-truth flows (tests/data/congestion/, made by
benchmarks/congestion/generate.py: Reno, CUBIC and BBR uploads at 2-3 Mbit/s, 2.5 s, with
the sender kernel's tcp_probe/tcp_cong_state_set/ss state beside each capture) agree
with their captures, checked against tshark; and truth.py labels segments with the probe
that follows them (the state they were sent under), not the one before.

The last test makes a fresh 3 s flow with the generator when this machine can (root,
tracefs, iperf3, network namespaces) and skips otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from conftest import requires_tshark
from oracle import tshark_fields

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "congestion"
BENCH = REPO / "benchmarks" / "congestion"
sys.path.insert(0, str(BENCH))

import ktrace  # noqa: E402
import sspoll  # noqa: E402
import truth  # noqa: E402

FLOWS = sorted(DATA.glob("*.pcap"))
LOSS_PHASES = {"slow-start", "congestion-avoidance", "fast-recovery", "rto-recovery", "cwr"}
BBR_PHASES = {"startup", "drain", "probe-bw", "probe-rtt", "fast-recovery", "rto-recovery"}
CLOCK_TOLERANCE_NS = 2_000


def _ns(text: str) -> int:
    return int(Decimal(text) * 1_000_000_000)


def _tshark_flow(pcap: Path) -> tuple[dict[str, object], list[dict[str, str]], list[dict[str, str]]]:
    """(meta, frames the sender sent, frames it received) of the data connection, by tshark."""
    meta = json.loads(pcap.with_name(pcap.stem + ".json").read_text())
    cport, sport = meta["client"]["port"], meta["server"]["port"]
    rows = tshark_fields(pcap, ["frame.time_epoch", "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack",
                                "tcp.len", "tcp.flags.syn", "tcp.analysis.bytes_in_flight", "frame.number"])
    sent = [r for r in rows if r.get("tcp.srcport") == str(cport) and r.get("tcp.dstport") == str(sport)]
    received = [r for r in rows if r.get("tcp.srcport") == str(sport) and r.get("tcp.dstport") == str(cport)]
    return meta, sent, received


def test_the_committed_set_is_whole() -> None:
    names = {p.name.split(".")[0] for p in DATA.iterdir() if p.name != "README.md"}
    assert {n.split("-")[1] for n in names} == {"reno", "cubic", "bbr"}
    for name in names:
        for suffix in (".pcap", ".truth.csv", ".castate.csv", ".json"):
            assert (DATA / f"{name}{suffix}").is_file(), name + suffix
    assert sum(p.stat().st_size for p in DATA.iterdir()) < 600_000


@requires_tshark
@pytest.mark.parametrize("pcap", FLOWS, ids=lambda p: p.stem)
def test_probes_show_the_acks_the_capture_shows(pcap: Path) -> None:
    """Every probe's snd_una is an ACK the sender had received by then (the SYN-ACK's 1
    at first), and nearly always the highest one: the probe of that very ACK, a few µs
    after tcpdump saw it (the trace clock's offset to the capture's is right)."""
    meta, sent, received = _tshark_flow(pcap)
    isn = int(next(r["tcp.seq_raw"] for r in sent if r.get("tcp.flags.syn") in ("1", "True")))
    ack_t = np.array([_ns(r["frame.time_epoch"]) for r in received if r.get("tcp.flags.syn") not in ("1", "True")])
    acks = np.array([int(r["tcp.ack"]) for r in received if r.get("tcp.flags.syn") not in ("1", "True")])
    highest = np.maximum.accumulate(np.concatenate([[1], acks]))
    t = truth.load_truth(pcap)
    una = (t["snd_una"].to_numpy() - isn) % (1 << 32)
    seen = np.searchsorted(ack_t, t["time_ns"].to_numpy() + CLOCK_TOLERANCE_NS, side="right")
    assert len(t) > 100
    assert np.isin(una, highest).all()
    assert (una <= highest[seen]).all(), "a probe shows an ACK the capture had not seen yet"
    direct = (seen > 0) & (una == highest[np.maximum(seen - 1, 0)])  # the highest before the latest frame
    assert direct.mean() > 0.95
    lag = t["time_ns"].to_numpy()[direct] - ack_t[seen[direct] - 1]
    assert 0 < np.median(lag) < 50_000 and np.percentile(lag, 5) > 0
    assert int(meta["mss"]) == max(int(r.get("tcp.len", "0")) for r in sent)


@requires_tshark
@pytest.mark.parametrize("pcap", FLOWS, ids=lambda p: p.stem)
def test_kernel_cwnd_covers_the_bytes_in_flight(pcap: Path) -> None:
    """In the Open state the kernel sends only while in flight < cwnd: its cwnd × mss is
    at least tshark's bytes in flight at every data segment (labelled with the probe that
    follows it)."""
    meta, sent, _ = _tshark_flow(pcap)
    bif = {int(r["frame.number"]): int(r["tcp.analysis.bytes_in_flight"]) for r in sent
           if int(r.get("tcp.len", "0")) > 0 and "tcp.analysis.bytes_in_flight" in r}
    seg = truth.label_segments(pcap)
    assert set(seg["frame.number"]) == set(bif)
    open_state = seg[(seg["kernel_ca_state"] == 0) & seg["kernel_cwnd_bytes"].notna()]
    assert len(open_state) > 100
    tshark_bif = open_state["frame.number"].map(bif).to_numpy()
    assert (open_state["kernel_cwnd_bytes"].to_numpy(dtype="int64") >= tshark_bif).mean() > 0.99
    assert meta["algorithm"] in ("reno", "cubic", "bbr")


def test_the_next_probe_is_the_right_one() -> None:
    """The latest probe before a segment is one ACK stale: it shows cwnd below the bytes
    in flight where the next probe never does."""
    over = {"next": 0, "previous": 0}
    for pcap in FLOWS:
        for align in over:
            seg = truth.label_segments(pcap, align=align)
            ok = (seg["kernel_ca_state"] == 0) & seg["kernel_cwnd_bytes"].notna() & seg["bytes_in_flight"].notna()
            over[align] += int((seg.loc[ok, "bytes_in_flight"] > seg.loc[ok, "kernel_cwnd_bytes"]).sum())
    assert over["previous"] > 10 * max(over["next"], 1)


@pytest.mark.parametrize("pcap", FLOWS, ids=lambda p: p.stem)
def test_phases_follow_the_issue_rules(pcap: Path) -> None:
    seg = truth.label_segments(pcap)
    algorithm = seg.attrs["meta"]["algorithm"]
    phases = set(seg["kernel_phase"].dropna())
    assert phases <= (BBR_PHASES if algorithm == "bbr" else LOSS_PHASES)
    assert seg["kernel_phase"].iloc[0] == ("startup" if algorithm == "bbr" else "slow-start")
    assert "fast-recovery" in phases  # these flows lose segments at the bottleneck's queue
    recovering = seg["kernel_ca_state"] == 3
    assert (seg.loc[recovering, "kernel_phase"] == "fast-recovery").all()
    if algorithm != "bbr":
        open_ = seg[seg["kernel_ca_state"].isin([0, 1])]
        unset = open_["kernel_ssthresh_bytes"].isna()
        below = open_["kernel_cwnd_bytes"] < open_["kernel_ssthresh_bytes"]
        expected = np.where(unset | below.fillna(False), "slow-start", "congestion-avoidance")
        assert (open_["kernel_phase"].to_numpy() == expected).all()


def test_trace_parsing_keeps_the_state_in_trace_order() -> None:
    text = (
        "# tracer: nop\n"
        "   iperf3-10 [001] ..s2. 100.000010: tcp_probe: family=AF_INET src=10.96.1.1:61000 "
        "dest=10.96.1.2:21000 mark=0x0 data_len=0 snd_nxt=0x10 snd_una=0xa snd_cwnd=10 "
        "ssthresh=2147483647 snd_wnd=100 srtt=5000 rcv_wnd=100 sock_cookie=1 skbaddr=0 skaddr=0\n"
        "   iperf3-10 [001] ..s2. 100.000012: tcp_cong_state_set: family=AF_INET sport=61000 dport=21000 "
        "saddr=10.96.1.1 daddr=10.96.1.2 saddrv6=::ffff:10.96.1.1 daddrv6=::ffff:10.96.1.2 cong_state=3\n"
        "   <idle>-0 [000] ..s2. 100.000020: tcp_probe: family=AF_INET src=10.96.1.1:61000 "
        "dest=10.96.1.2:21000 mark=0x0 data_len=0 snd_nxt=0x20 snd_una=0xb snd_cwnd=7 "
        "ssthresh=7 snd_wnd=100 srtt=5100 rcv_wnd=100 sock_cookie=1 skbaddr=0 skaddr=0\n")
    probes, changes = ktrace.parse_trace(text)
    assert [(p.time_ns, p.snd_una, p.snd_cwnd, p.ssthresh, p.ca_state) for p in probes] == [
        (100_000_010_000, 10, 10, ktrace.SSTHRESH_UNSET, 0), (100_000_020_000, 11, 7, 7, 3)]
    assert [(c.time_ns, c.state) for c in changes] == [(100_000_012_000, 3)]


def test_bbr_modes_from_ss() -> None:
    text = ("# 100 200\nSYN-SENT 0 1 10.96.1.1:61000 10.96.1.2:21000\n\t bbr bbr:(bw:0bps,mrtt:0)\n"
            "# 300 500\nESTAB 0 37 10.96.1.1:61000 10.96.1.2:21000\n"
            "\t bbr bbr:(bw:0bps,mrtt:4.2,pacing_gain:1,cwnd_gain:1)\n"
            "# 600 600\nESTAB 0 0 10.96.1.1:61000 10.96.1.2:21000\n"
            "\t bbr bbr:(bw:1Mbps,mrtt:4.2,pacing_gain:2.88672,cwnd_gain:2.88672)\n"
            "# 700 700\nESTAB 0 0 a b\n\t bbr bbr:(bw:1Mbps,mrtt:4.2,pacing_gain:0.34375,cwnd_gain:2.88672)\n"
            "# 800 800\nESTAB 0 0 a b\n\t bbr bbr:(bw:1Mbps,mrtt:4.2,pacing_gain:1.25,cwnd_gain:2)\n"
            "# 900 900\nESTAB 0 0 a b\n\t bbr bbr:(bw:1Mbps,mrtt:4.2,pacing_gain:1,cwnd_gain:1)\n")
    assert sspoll.parse_polls(text) == [(400, "startup"), (600, "startup"), (700, "drain"), (800, "probe-bw"),
                                        (900, "probe-rtt")]


def _can_generate() -> str:
    if os.geteuid() != 0:
        return "needs root"
    for program in ("iperf3", "tcpdump", "ip", "tc", "ss", "ethtool"):
        if shutil.which(program) is None:
            return f"{program} not installed"
    if not ktrace.tracefs_available():
        return "no tracefs with the tcp events"
    probe = f"pkccprobe{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True, timeout=10, check=False).returncode:
        return "cannot make network namespaces"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=10, check=False)
    return ""


@requires_tshark
def test_generator_makes_a_flow_with_consistent_truth(tmp_path: Path) -> None:
    reason = _can_generate()
    if reason:
        pytest.skip(reason)
    # seed 7 draws a flow without random loss (RTT 15 ms, SACK and timestamps on): mostly
    # in the Open state, which the checks below need (a lossy one spent 90 % of its 3 s
    # recovering on a loaded machine)
    proc = subprocess.run([sys.executable, str(BENCH / "generate.py"), "--out", str(tmp_path), "--flows", "1",
                           "--seed", "7", "--algos", "cubic", "--min-seconds", "3", "--max-seconds", "3",
                           "--min-rate-mbit", "2", "--max-rate-mbit", "2"],
                          capture_output=True, text=True, timeout=90, check=False,
                          # interpreted TCP analysis: a few hundred frames, and no compile on a cold cache
                          env={**os.environ, "PYTHONPATH": str(REPO), "PCAPKIT_NO_NUMBA": "1"})
    assert proc.returncode == 0, proc.stderr
    pcap = tmp_path / "000-cubic.pcap"
    meta = json.loads((tmp_path / "000-cubic.json").read_text())
    assert meta["tcpdump"]["dropped by kernel"] == 0 and meta["trace_overruns"] == 0
    test_probes_show_the_acks_the_capture_shows(pcap)
    test_kernel_cwnd_covers_the_bytes_in_flight(pcap)
    _check_receiver_side(pcap, meta)
    # everything the flow made is gone
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10, check=False)
    assert not set(meta["namespaces"]) & {line.split()[0] for line in listed.stdout.splitlines() if line}
    assert not (ktrace.TRACEFS / "instances" / meta["trace_instance"]).exists()


def _check_receiver_side(pcap: Path, meta: dict[str, object]) -> None:
    """The receiver-side capture holds what the relay passed, and each of its data segments
    takes the labels of the sender's frame with the same IP ID, raw sequence number and
    length (tshark's fields)."""
    rx_pcap = pcap.with_name(pcap.stem + ".receiver.pcap")
    relay, sent_counts, rx_counts = meta["relay"], meta["tcpdump"], meta["tcpdump_receiver"]
    assert isinstance(relay, dict) and isinstance(sent_counts, dict) and isinstance(rx_counts, dict)
    assert sent_counts["captured"] and rx_counts["captured"]
    fields = ["frame.number", "frame.time_epoch", "ip.id", "tcp.seq_raw", "tcp.len", "tcp.srcport"]
    cport = str(meta["client"]["port"])  # type: ignore[index]

    def data(path: Path) -> dict[tuple[str, str, str], dict[str, str]]:
        rows = [r for r in tshark_fields(path, fields) if r.get("tcp.srcport") == cport and r.get("tcp.len", "0") != "0"]
        return {(r["ip.id"], r["tcp.seq_raw"], r["tcp.len"]): r for r in rows}

    sent, received = data(pcap), data(rx_pcap)
    # every data segment the sender's capture shows reached the receiver's but those the
    # relay dropped at random (data frames only) or could not send (the tbf queue full;
    # the relay counts those of both directions together)
    assert set(received) <= set(sent)
    missing = len(sent) - len(received)
    assert relay["dropped_random"] <= missing <= relay["dropped_random"] + relay["send_errors"] + relay["dropped_listed"]
    labels = truth.label_receiver_segments(rx_pcap)
    sender_labels = truth.label_segments(pcap).set_index("frame.number")
    assert len(labels) == len(received) > 0
    assert labels["sender_frame"].notna().all()
    for row in labels.to_dict("records"):
        key = (f"0x{int(row['ip.id']):04x}", str(row["tcp.seq_raw"]), str(row["tcp.len"]))
        tx = sent[key]
        assert int(tx["frame.number"]) == int(row["sender_frame"])
        assert _ns(received[key]["frame.time_epoch"]) > _ns(tx["frame.time_epoch"])
        assert row["kernel_phase"] == sender_labels.at[int(row["sender_frame"]), "kernel_phase"]
