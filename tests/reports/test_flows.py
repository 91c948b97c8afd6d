"""pcapkit.reports.flows against tshark's conversation tables (-z conv,tcp/udp/ip)."""

from __future__ import annotations

import functools
import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.reports.flows import flows

FILES = [
    "labs/tcp-ethereal-trace-1", "labs/http-ethereal-trace-5", "labs/dns-ethereal-trace-1",
    "labs/NAT_home_side.pcap", "labs/icmp-ethereal-trace-1", "labs/dhcp-ethereal-trace-1",
    "tcp/bigtransfer.pcap", "tcp/fast_reuse.dmp.gz", "tcp/http.pcap", "tcp/6syns.dmp.gz",
]

_ROW = re.compile(r"^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+) (bytes|kB|MB)\s+(\d+)\s+(\d+) (bytes|kB|MB)\s+"
                  r"(\d+)\s+(\d+) (bytes|kB|MB)")


@functools.lru_cache(maxsize=32)
def tshark_conv(path: Path, kind: str) -> list[tuple[str, str, int, tuple[int, str], int, tuple[int, str]]]:
    """Rows of ``tshark -q -z conv,KIND``: (A, B, frames B->A, bytes B->A, frames A->B, bytes A->B)."""
    out = subprocess.run(["tshark", "-n", "-q", "-r", str(path), "-z", f"conv,{kind}"],
                         capture_output=True, text=True, check=False).stdout
    rows = []
    for line in out.splitlines():
        m = _ROW.match(line.strip())
        if m:
            rows.append((m[1], m[2], int(m[3]), (int(m[4]), m[5]), int(m[6]), (int(m[7]), m[8])))
    return rows


def _bytes_match(ours: int, shown: tuple[int, str]) -> bool:
    value, unit = shown
    if unit == "bytes":
        return ours == value
    scale = 1000 if unit == "kB" else 1000_000
    return value in (ours // scale, round(ours / scale))


def _ours(df, kind: str) -> dict[tuple[str, str], list[int]]:  # type: ignore[no-untyped-def]
    """Per unordered endpoint pair: [frames from the lower, bytes from lower, frames from the higher, bytes]."""
    agg: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in df.itertuples(index=False):
        if kind == "ip":
            if ":" in r.src:
                continue
            a, b = r.src, r.dst
        else:
            if r.proto != kind:
                continue
            a, b = f"{r.src}:{r.sport}", f"{r.dst}:{r.dport}"
        lo, hi = sorted([a, b])
        v = agg[(lo, hi)]
        if a == lo:
            v[0] += r.packets_ab; v[1] += r.bytes_ab; v[2] += r.packets_ba; v[3] += r.bytes_ba  # noqa: E702
        else:
            v[0] += r.packets_ba; v[1] += r.bytes_ba; v[2] += r.packets_ab; v[3] += r.bytes_ab  # noqa: E702
    return agg


@requires_tshark
@pytest.mark.parametrize("rel", FILES)
@pytest.mark.parametrize("kind", ["tcp", "udp", "ip"])
def test_packet_and_byte_counts_match_tshark_conv(corpus: Path, rel: str, kind: str) -> None:
    path = CORPUS / rel
    df = flows(path)
    ours = _ours(df, kind)
    # tshark may split one UDP pair into two rows (one per direction): add them up
    theirs: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    shown: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for a, b, f_ba, by_ba, f_ab, by_ab in tshark_conv(path, kind):
        lo, hi = sorted([a, b])
        v = theirs[(lo, hi)]
        if a == lo:
            v[0] += f_ab; v[2] += f_ba  # noqa: E702
        else:
            v[0] += f_ba; v[2] += f_ab  # noqa: E702
        shown[(lo, hi)].append((by_ab, by_ba) if a == lo else (by_ba, by_ab))  # type: ignore[arg-type]
    assert set(ours) == set(theirs), f"{rel} {kind}: pairs differ"
    for pair, v in theirs.items():
        assert (ours[pair][0], ours[pair][2]) == (v[0], v[2]), (rel, kind, pair)
        if len(shown[pair]) == 1:
            lo_bytes, hi_bytes = shown[pair][0]
            assert _bytes_match(ours[pair][1], lo_bytes), (rel, kind, pair, ours[pair][1], lo_bytes)  # type: ignore[arg-type]
            assert _bytes_match(ours[pair][3], hi_bytes), (rel, kind, pair, ours[pair][3], hi_bytes)  # type: ignore[arg-type]


@requires_tshark
def test_tcp_rows_carry_zeek_and_tcptrace_columns(corpus: Path) -> None:
    df = flows(CORPUS / "labs" / "tcp-ethereal-trace-1")
    tcp = df[df["proto"] == "tcp"]
    assert list(tcp["tcp.stream"]) == list(range(len(tcp)))
    big = tcp.sort_values("bytes").iloc[-1]
    assert (big["src"], big["sport"], big["dst"], big["dport"]) == ("192.168.1.102", 1161, "128.119.245.12", 80)
    # the trace ends before any FIN or RST (tshark agrees), so Zeek calls it S1
    flags = tshark_fields(CORPUS / "labs" / "tcp-ethereal-trace-1", ["tcp.flags.fin", "tcp.flags.reset"],
                          display_filter="tcp.stream == 0")
    assert not any(r.get("tcp.flags.fin") in ("1", "True") or r.get("tcp.flags.reset") in ("1", "True")
                   for r in flags)
    assert big["conn_state"] == "S1" and big["history"] == "ShADad"
    assert str(df["first"].dtype) == "datetime64[ns]" and str(df["duration"].dtype) == "timedelta64[ns]"
    assert big["rtt_ab_min_ms"] > 0 and big["throughput_ab_Bps"] > 0


@requires_tshark
@pytest.mark.parametrize("rel", ["tcp/fast_reuse.dmp.gz", "tcp/6syns.dmp.gz", "labs/http-ethereal-trace-5",
                                 "tcp/bro.org.pcap"])
def test_tcp_stream_numbers_are_tsharks(corpus: Path, rel: str) -> None:
    df = flows(CORPUS / rel)
    tcp = df[df["proto"] == "tcp"]
    rows = tshark_fields(CORPUS / rel, ["frame.number", "tcp.stream"], display_filter="tcp")
    stream_of = {int(r["frame.number"]): int(r["tcp.stream"]) for r in rows}
    assert sorted(tcp["tcp.stream"]) == sorted(set(stream_of.values()))
    for first, stream in zip(tcp["first_frame"], tcp["tcp.stream"], strict=True):
        assert stream_of[int(first)] == stream
    # each stream's packets are tshark's count for that stream
    counts: dict[int, int] = defaultdict(int)
    for s in stream_of.values():
        counts[s] += 1
    assert {int(s): int(p) for s, p in zip(tcp["tcp.stream"], tcp["packets"], strict=True)} == dict(counts)


def test_broken_captures_give_no_traceback(corpus: Path) -> None:
    """Damaged files: every report either works or raises a PcapkitError (one line)."""
    from conftest import corpus_files

    from pcapkit.errors import PcapkitError
    from pcapkit.reports.lab import lab_dhcp, lab_tcp
    from pcapkit.tcpflow.tcptrace import tcptrace_stats

    files = corpus_files("broken")
    assert files
    for p in files:
        for fn in (flows, tcptrace_stats, lab_tcp, lab_dhcp):
            try:
                fn(p)
            except PcapkitError as exc:
                assert "\n" not in str(exc)


def test_udp_conn_state_follows_zeek(corpus: Path) -> None:
    # Zeek's base/protocols/conn: UDP is SF when both sides sent, S0 when only the
    # originator did; history D/d once per direction for packets with payload
    df = flows(CORPUS / "labs" / "dns-ethereal-trace-1")
    udp = df[df["proto"] == "udp"]
    assert len(udp)
    for r in udp.itertuples(index=False):
        assert r.conn_state == ("SF" if r.packets_ba else "S0")
        assert r.history == ("Dd" if r.packets_ba else "D")
    assert set(df.loc[df["proto"] == "icmp", "conn_state"]) <= {"OTH"}


def _tcptrace_rtt_by_direction(path: Path) -> list[dict[str, tuple[int, float, float, float]]]:
    """Each connection of ``tcptrace -l -r -n``, in order: "A>B" -> (RTT samples, min,
    max, avg in ms) of the direction A->B, for both directions."""
    out = subprocess.run(["tcptrace", "-l", "-r", "-n", str(path)], capture_output=True, text=True,
                         check=False).stdout
    conns = []
    for block in out.split("================================"):
        hosts = re.findall(r"host \w+:\s+(\S+)", block)
        values = {name: re.search(rf"RTT {name}:\s+([\d.]+)(?: ms)?\s+RTT {name}:\s+([\d.]+)", block)
                  for name in ("samples", "min", "max", "avg")}
        if len(hosts) < 2 or not all(values.values()):
            continue
        a, b = hosts[0], hosts[1]
        conns.append({f"{src}>{dst}": (int(values["samples"][i]), float(values["min"][i]),  # type: ignore[index]
                                       float(values["max"][i]), float(values["avg"][i]))  # type: ignore[index]
                      for i, (src, dst) in ((1, (a, b)), (2, (b, a)))})
    return conns


@pytest.mark.skipif(subprocess.run(["which", "tcptrace"], capture_output=True).returncode != 0,
                    reason="tcptrace not installed")
@pytest.mark.parametrize("rel", ["labs/tcp-ethereal-trace-1", "labs/http-wireshark-trace1-1.pcapng",
                                 "tcp/bigtransfer.pcap", "tcp/http.pcap", "tcp/retransmit-fast009.pcap"])
def test_rtt_columns_are_tcptraces_per_direction(corpus: Path, rel: str) -> None:
    # issue 14: rtt_min_ms mixed both directions, so tcp-ethereal-trace-1 showed the
    # client's 0.093 ms ACK delay as the connection's minimum instead of the 23.2 ms path
    conns = _tcptrace_rtt_by_direction(CORPUS / rel)
    assert conns
    tcp = flows(CORPUS / rel)
    tcp = tcp[tcp["proto"] == "tcp"]
    rows: dict[frozenset[str], list[dict[str, object]]] = defaultdict(list)
    for r in tcp.to_dict("records"):
        rows[frozenset((f"{r['src']}:{r['sport']}", f"{r['dst']}:{r['dport']}"))].append(r)
    seen: dict[frozenset[str], int] = defaultdict(int)
    for conn in conns:
        key = frozenset(k.split(">")[0] for k in conn)
        row = rows[key][seen[key]]  # the same endpoints again: the next connection, in order
        seen[key] += 1
        for way, (src, dst) in (("ab", (row["src"], row["dst"])), ("ba", (row["dst"], row["src"]))):
            sport, dport = (row["sport"], row["dport"]) if way == "ab" else (row["dport"], row["sport"])
            count, rtt_min, rtt_max, rtt_avg = conn[f"{src}:{sport}>{dst}:{dport}"]
            got = [row[f"rtt_{way}_{stat}_ms"] for stat in ("min", "max", "avg")]
            if count == 0:
                assert all(v != v for v in got), (rel, way)  # NaN: no sample
                continue
            # tcptrace prints whole microseconds (truncated) in ms with one decimal, and its
            # average is sum / (count + 0.0001)
            assert abs(float(got[0]) - rtt_min) <= 0.11, (rel, way)  # type: ignore[arg-type]
            assert abs(float(got[1]) - rtt_max) <= 0.11, (rel, way)  # type: ignore[arg-type]
            assert abs(float(got[2]) * count / (count + 0.0001) - rtt_avg) <= 0.051, (rel, way)  # type: ignore[arg-type]
