"""A damaged or cut capture is reported by every report command, as tshark does: the
reader's line (offset and reason) appears in what the command prints, the rows before the
damage are kept, and there is no traceback (brief: bad input). `congestion` once said
nothing of it, nor `expert` when the capture had no item, nor a lab that found nothing to
answer on (its error line now says the capture is damaged too)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, seeded_mutants

from pcapkit.capture.files import open_capture
from pcapkit.cli.main import cli

COMMANDS = [["read"], ["show"], ["flows"], ["tcp"], ["handshakes"], ["rtt"], ["rtt", "--summary"], ["tcptrace"],
            ["stats"], ["stats", "--hierarchy"], ["expert"], ["dns"], ["http"], ["iostat"], ["congestion"],
            ["congestion", "--summary"], ["lab", "tcp"], ["lab", "intro"], ["lab", "http"]]


def _damaged(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """A copy of a lab trace cut inside a record (pcap), or with bits flipped where the
    reader reads on and then warns (pcapng); with the reader's warning, path left out."""
    if kind == "cut":
        source = CORPUS / "labs/tcp-ethereal-trace-1"
        copies = [source.read_bytes()[:100_003]]
    elif kind == "cut-quiet":  # (a trace without expert items: expert's summary once lost the error)
        source = CORPUS / "labs/dhcp-ethereal-trace-1"
        copies = [source.read_bytes()[:5_555]]
    else:
        source = CORPUS / "labs/http-wireshark-trace1-1.pcapng"
        copies = list(seeded_mutants(source.read_bytes(), "reported", 12))
    if not source.exists():
        pytest.skip("corpus missing")
    for k, data in enumerate(copies):
        path = tmp_path / f"{kind}{k}{source.suffix}"
        path.write_bytes(data)
        with open_capture(str(path)) as reader:
            frames = sum(1 for _ in reader)
            if reader.warnings and frames > 10:
                return path, reader.warnings[0].split(": ", 1)[1]
    raise AssertionError("no damaged copy read on for 10 frames")


@pytest.mark.parametrize("kind", ["cut", "cut-quiet", "flipped"])
def test_every_command_reports_the_damage(tmp_path: Path, kind: str) -> None:
    path, damage = _damaged(tmp_path, kind)
    for words in COMMANDS:
        args = [*words[:2], str(path), *words[2:]] if words[0] == "lab" else [words[0], str(path), *words[1:]]
        result = CliRunner().invoke(cli, args)
        said = result.output + result.stderr
        assert result.exit_code in (0, 1) and "Traceback" not in said, (words, said[-500:])
        assert damage in said, (words, damage, said[-300:])
