"""pcapkit.reports.iostat against ``tshark -q -z io,stat,INTERVAL[,FILTER...]``."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark

from pcapkit.reports.iostat import column_names, iostat

# (tcpdump expression, display filter meaning the same on these files): tshark's "udp"
# also matches the UDP header quoted inside an ICMP error, pcapkit's BPF does not
FILTERS = [("", ""), ("tcp", "tcp && !icmp"), ("udp", "udp && !icmp"), ("icmp", "icmp"), ("arp", "arp")]
# plain Ethernet captures (no VLAN tags or tunnels, where BPF's "udp" and tshark's differ);
# hardware_dups and bgp-bgpsec have time stamps that go back
FILES = ["labs/http-wireshark-trace1-1.pcapng", "labs/tcp-ethereal-trace-1", "labs/NAT_home_side.pcap",
         "labs/dhcp-wireshark-trace1-1.pcapng", "labs/icmp-ethereal-trace-1", "tcp/hardware_dups.dmp.gz",
         "bgp/bgp-bgpsec.pcap"]
INTERVALS = ["1", "0.5", "0.01", "0", "10", "1000"]

_ROW = re.compile(r"^\|\s*[\d.]+\s+<>\s+(?:[\d.]+|Dur)\s*\|(.*)\|\s*$")


def tshark_iostat(path: Path, interval: str, display_filters: list[str]) -> list[list[int]]:
    """The rows of ``tshark -q -z io,stat``: frames and bytes of each column, in order."""
    spec = ",".join(["io,stat", interval, *display_filters])
    out = subprocess.run(["tshark", "-n", "-q", "-r", str(path), "-z", spec], capture_output=True, text=True,
                         check=True).stdout
    return [[int(v) for v in m[1].replace("|", " ").split()]
            for m in (_ROW.match(line) for line in out.splitlines()) if m]


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("rel", FILES)
def test_iostat_equals_tshark(rel: str) -> None:
    path = CORPUS / rel
    if not path.is_file():
        pytest.skip(f"{rel} not in corpus")
    bpf = [b for b, _ in FILTERS]
    names = column_names(bpf)
    for interval in INTERVALS:
        want = tshark_iostat(path, interval, [d for _, d in FILTERS])
        df = iostat(str(path), interval, bpf)
        got = [[int(v) for pair in names for v in (row[pair[0]], row[pair[1]])] for _, row in df.iterrows()]
        assert got == want, (rel, interval)


def test_iostat_without_filter_is_one_all_frames_column() -> None:
    path = CORPUS / "labs/tcp-ethereal-trace-1"
    df = iostat(str(path), 1)
    assert list(df.columns) == ["start_s", "end_s", "frames", "bytes"]
    # every frame is in some row (the trace's last frame is not on an interval boundary)
    frames = subprocess.run(["capinfos", "-c", "-M", str(path)], capture_output=True, text=True, check=True).stdout
    assert int(df["frames"].sum()) == int(re.search(r"Number of packets:\s+(\d+)", frames)[1])  # type: ignore[index]
    assert column_names(["tcp", "tcp", ""]) == [("frames[tcp]", "bytes[tcp]"), ("frames[tcp] (2)", "bytes[tcp] (2)"),
                                              ("frames", "bytes")]


def test_iostat_cli_writes_csv(tmp_path: Path) -> None:
    from pcapkit.cli.main import cli

    out = tmp_path / "io.csv"
    res = CliRunner().invoke(cli, ["iostat", str(CORPUS / "labs/tcp-ethereal-trace-1"), "-i", "1", "tcp", "udp",
                                   "-o", str(out)])
    assert res.exit_code == 0, res.output
    header = out.read_text().splitlines()[0]
    assert header == "start_s,end_s,frames[tcp],bytes[tcp],frames[udp],bytes[udp]"
    res = CliRunner().invoke(cli, ["iostat", str(CORPUS / "labs/tcp-ethereal-trace-1"), "-i", "-1"])
    assert res.exit_code != 0 and "Traceback" not in res.output


def _written_capture(path: Path, seconds: list[float]) -> Path:
    """A pcap of small UDP/TCP frames (alternating) at ``seconds`` after an epoch base."""
    import struct

    from pcapkit.capture.writer import PcapWriter
    from pcapkit.frame import Frame

    with PcapWriter(path, linktype=1) as w:
        for n, t in enumerate(seconds, 1):
            proto = 17 if n % 2 else 6
            l4 = struct.pack("!HHHH", 1000, 2000, 8, 0) if proto == 17 else struct.pack("!HHIIBBHHH", 1000, 2000, 1, 0,
                                                                                          5 << 4, 0x10, 100, 0, 0)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), n, 0, 64, proto, 0, bytes([10, 0, 0, 1]),
                             bytes([10, 0, 0, 2]))
            data = bytes.fromhex("020000000002020000000001" "0800") + ip + l4 + bytes(n)
            w.write(Frame(n, 1_700_000_000_000_000_000 + round(t * 1e9), len(data), len(data), 1, 0, data))
    return path


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("seconds", [
    [10.0, 9.0, 12.0, 8.5, 13.5, 11.2],        # times before frame 1's: counted at the last time seen
    [0.0, 1.0, 2.0],                           # the last frame on an interval boundary: no row for it
    [0.0, 0.0000004, 0.9999996, 3.0000005],    # relative times rounded to whole microseconds
    [5.0],                                     # one frame: no duration, no row
])
def test_iostat_equals_tshark_on_written_times(tmp_path: Path, seconds: list[float]) -> None:
    path = _written_capture(tmp_path / "times.pcap", seconds)
    names = column_names(["", "udp", "tcp"])
    for interval in ("1", "0.5", "0"):
        want = tshark_iostat(path, interval, ["", "udp", "tcp"])
        df = iostat(str(path), interval, ["", "udp", "tcp"])
        got = [[int(v) for pair in names for v in (row[pair[0]], row[pair[1]])] for _, row in df.iterrows()]
        assert got == want, (seconds, interval)


def test_a_clock_jump_is_a_one_line_limit_not_a_billion_rows() -> None:
    from pcapkit.errors import LimitExceeded
    from pcapkit.reports.iostat import interval_us

    path = CORPUS / "tcp/http.dmp.gz"  # its time stamps span 129 million seconds
    if not path.is_file():
        pytest.skip("tcp/http.dmp.gz not in corpus")
    with pytest.raises(LimitExceeded) as info:
        iostat(str(path), 1)
    message = str(info.value)
    assert "\n" not in message
    fits = re.search(r"at least ([\d.e+]+) s", message)[1]  # type: ignore[index]
    df = iostat(str(path), fits)
    assert len(df) <= 1_000_000 and interval_us(fits) == df.attrs["interval_us"]
    assert int(df["frames"].sum()) == len(tshark_frames(path))
    res = CliRunner().invoke(__import__("pcapkit.cli.main", fromlist=["cli"]).cli, ["iostat", str(path), "-i", "1"])
    assert res.exit_code == 1 and "Traceback" not in res.output


def tshark_frames(path: Path) -> list[str]:
    return subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "frame.number"],
                          capture_output=True, text=True, check=True).stdout.split()
