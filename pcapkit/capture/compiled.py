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

Nothing here imports numba but :func:`numba_module`, which every place that compiles a
kernel calls instead of ``import numba``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib.util import find_spec
from types import ModuleType
from typing import Any

# Below this many bytes of input the interpreted paths win: 4 MB is 10,000 to 40,000
# packets, which the interpreted decoder (about 12 us a packet) reads in well under
# the second numba takes to start.
SMALL_INPUT_BYTES = 4 << 20

_small_input = False
_installed: bool | None = None
_numba: ModuleType | None = None


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


def numba_module() -> ModuleType:
    """numba, imported on the first call, its cached kernels made quicker to load (see
    :func:`_load_cached_without_refresh`). Raises ImportError without numba."""
    global _numba
    if _numba is None:
        import numba

        _load_cached_without_refresh()
        _numba = numba
    return _numba


def allocation_free_jit() -> Any:
    """numba's ``njit`` (cached, GIL released) for a kernel that allocates nothing and
    returns numbers only (its caller grows its buffers): compiled without numba's
    reference counting, whose atomic increment and decrement of every array handed to
    every helper call would guard nothing (they took 3/4 of the tcptrace model's time)."""
    options: dict[str, Any] = {"cache": True, "nogil": True, "_nrt": False}  # (_nrt: not in numba's stubs)
    return numba_module().njit(**options)


def _load_cached_without_refresh() -> None:
    """Before it loads a kernel from its disk cache, numba refreshes its typing and target
    contexts: it imports and registers every implementation it has, about 0.2 s once per
    process (measured: the first cached kernel of ``pcapkit tcptrace`` 0.20 -> 0.04 s).
    A kernel loaded from the cache is machine code that needs none of them, only numba's
    runtime (NRT), initialised here as the refresh would. A compile still refreshes both
    contexts (numba's compiler does it itself), so a kernel missing from the cache is
    compiled as before. Left as numba has it when its internals are not the ones this
    was written against (numba 0.6x's ``caching.Cache``)."""
    try:
        from numba.core import caching
        from numba.core.runtime import nrt
    except ImportError:
        return
    cache = getattr(caching, "Cache", None)
    needed = ("load_overload", "_load_overload", "_guard_against_spurious_io_errors")
    if cache is None or not all(hasattr(cache, name) for name in needed) or not hasattr(nrt, "rtsys"):
        return

    def load_overload(self: Any, sig: Any, target_context: Any) -> Any:
        nrt.rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)

    cache.load_overload = load_overload
