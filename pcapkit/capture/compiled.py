"""Whether numba's compiled kernels run: the one rule every layer asks.

The compiled kernels (the record walk, the columnar decoder's header gather and TCP option
walk, the TCP analysis and the per-connection models) run when numba is installed, unless
the input is small: importing numba and loading its cached kernels costs about a CPU
second, more than the interpreted code takes for a capture of a few thousand packets
(``benchmarks/bench_e2e.py``: a 213-frame trace). The command line declares the size of
its input around each command (:func:`input_size`); library calls, which do not know it,
stay compiled. Both backends run the same source and give the same answers (the parity
tests run each); ``PCAPKIT_NO_NUMBA=1`` still selects the interpreted TCP analysis (see
:func:`pcapkit.tcpflow.backends.compiled_available`).

Nothing here imports numba.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib.util import find_spec

# Below this many bytes of input the interpreted paths win: 4 MB is 10,000 to 40,000
# packets, which the interpreted decoder (about 12 us a packet) reads in well under
# the second numba takes to start.
SMALL_INPUT_BYTES = 4 << 20

_small_input = False
_installed: bool | None = None


def numba_installed() -> bool:
    """Whether numba can be imported (found on the path; not imported)."""
    global _installed
    if _installed is None:
        _installed = find_spec("numba") is not None
    return _installed


def small_input() -> bool:
    """Whether the command running declared a small input (see :func:`input_size`)."""
    return _small_input


def compiled_kernels() -> bool:
    """Whether the compiled kernels run by default: numba installed and the input not small."""
    return numba_installed() and not _small_input


@contextlib.contextmanager
def input_size(nbytes: int | None) -> Iterator[bool]:
    """Within the block, the input is ``nbytes`` long (None: unknown, e.g. standard
    input, which counts as big); yields whether the compiled kernels will run."""
    global _small_input
    before = _small_input
    _small_input = nbytes is not None and nbytes < SMALL_INPUT_BYTES
    try:
        yield compiled_kernels()
    finally:
        _small_input = before
