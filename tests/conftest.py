"""Shared fixtures: where the corpus and captures are, and whether tshark is here."""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from pcapkit.frame import Frame

# CI runs every property test with the same examples, so a red run is reproducible and a
# new bug cannot turn a green main red at random; HYPOTHESIS_PROFILE=explore draws fresh
# examples (how the fuzz campaigns in the README's Testing section are run)
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO = Path(__file__).resolve().parent.parent
CAPTURES = REPO / "captures"
# the shared corpus sits beside the repository (../shared/corpus); PCAPKIT_CORPUS overrides
CORPUS = Path(os.environ.get("PCAPKIT_CORPUS", REPO.parent / "shared" / "corpus"))


def corpus_files(*subdirs: str) -> list[Path]:
    """Every capture file of the corpus (or of the given sub-folders), sorted."""
    roots = [CORPUS / s for s in subdirs] if subdirs else [CORPUS]
    files: list[Path] = []
    for root in roots:
        if root.is_dir():
            files.extend(p for p in root.rglob("*") if p.is_file() and p.suffix not in (".md", ".tsv"))
    return sorted(files)


def capture_files() -> list[Path]:
    return sorted(p for p in CAPTURES.glob("*") if p.suffix in (".pcap", ".pcapng", ".gz"))


def seeded_mutants(raw: bytes, seed: str, count: int) -> Iterator[bytes]:
    """``count`` damaged copies of a capture file's bytes, the same for the same seed: every
    third one cut short, the others with 1 to 12 bits flipped (never in the first 24
    bytes, the pcap file header)."""
    rng = random.Random(seed)
    for k in range(count):
        data = bytearray(raw)
        if k % 3 == 2:
            data = data[:rng.randrange(24, len(data))]
        else:
            for _ in range(rng.randint(1, 12)):
                data[rng.randrange(24, len(data))] ^= 1 << rng.randrange(8)
        yield bytes(data)


def frames_of(files: list[str], errors: list[str] | None = None) -> Iterator[Frame]:
    """Frames of all files in order, renumbered 1..N, through the record readers (the
    per-frame reference of several files read as one capture); what stopped a file early
    (a cut file: every frame before the damage is delivered) goes to ``errors``."""
    from pcapkit.capture.files import open_capture

    number = 0
    for path in files:
        with open_capture(path) as reader:
            for frame in reader:
                number += 1
                yield dataclasses.replace(frame, number=number)
        if errors is not None:
            errors.extend(reader.warnings)


def corpus_id(path: Path) -> str:
    try:
        return str(path.relative_to(CORPUS))
    except ValueError:
        return path.name


requires_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
requires_tcpdump = pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    return CORPUS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without the corpus, the tests of a module that reads it are skipped, with the reason.

    The corpus is not part of the repository (CI and a developer's machine have it beside the
    checkout, or at $PCAPKIT_CORPUS): a module that imports ``CORPUS`` or ``corpus_files`` builds its paths from it,
    often at collection time, and without it would fail on a missing file rather than say why.
    """
    if CORPUS.is_dir():
        return
    skip = pytest.mark.skip(reason=f"reads the corpus, not found at {CORPUS}")
    for item in items:
        module = getattr(item, "module", None)
        # (a module reads the corpus through these two names of this file)
        if getattr(module, "CORPUS", None) is CORPUS or getattr(module, "corpus_files", None) is corpus_files:
            item.add_marker(skip)
