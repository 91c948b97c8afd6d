"""Every lab on every corpus trace (a lab's own, the other labs', damaged files and the
traces of other protocols a user may hand it): question / answer / frames rows, or one
PcapkitError line; never a traceback. The IP and ICMP labs once failed on time-exceeded
messages without their probes (a capture at the router), the ARP lab on an 802.3 frame."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from conftest import CORPUS, corpus_files

from pcapkit.errors import PcapkitError
from pcapkit.reports.lab_dhcp import lab_dhcp_answers
from pcapkit.reports.lab_ethernet import lab_ethernet_arp
from pcapkit.reports.lab_http import lab_http
from pcapkit.reports.lab_icmp import lab_icmp
from pcapkit.reports.lab_intro import lab_intro
from pcapkit.reports.lab_ip import lab_ip
from pcapkit.reports.lab_nat import lab_nat
from pcapkit.reports.lab_tls import lab_tls
from pcapkit.reports.lab_udp import lab_udp
from pcapkit.reports.lab_wifi import lab_wifi

LABS: list[Callable[[Path], pd.DataFrame]] = [lab_udp, lab_ip, lab_icmp, lab_ethernet_arp, lab_intro, lab_wifi,
                                              lab_dhcp_answers, lambda p: lab_nat(p, p), lab_http, lab_tls,
                                              *(lambda p, n=n: lab_http(p, n) for n in range(1, 6))]
FRAMES = re.compile(r"^(\d+( / \d+)?((, |; )\d+( / \d+)?)*)?$")


def _check(df: pd.DataFrame) -> None:
    assert list(df.columns) == ["question", "answer", "frames"]
    assert df["question"].is_unique
    for answer, frames in zip(df["answer"], df["frames"], strict=True):
        assert answer and "\n" not in answer
        assert FRAMES.match(frames), frames


@pytest.mark.parametrize("group", ["labs", "broken", "ip", "l2", "tcp", "dhcp", "bgp", "formats"])
def test_every_lab_on_every_trace(corpus: Path, group: str) -> None:
    files = sorted((CORPUS / "labs").iterdir()) if group == "labs" else corpus_files(group)
    assert files
    answered = 0
    for path in files:
        for lab in LABS:
            try:
                df = lab(path)
            except PcapkitError as exc:
                assert "\n" not in str(exc)
                continue
            _check(df)
            answered += 1
    assert answered > 0
