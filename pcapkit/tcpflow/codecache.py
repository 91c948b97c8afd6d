"""The code :func:`pcapkit.tcpflow.backends.generate` makes, kept on disk between runs.

Generating the TCP analysis (inlining a dozen helpers into ``step`` and ``step`` into
``run_columns``: a few thousand syntax-tree nodes copied and renamed) costs about 0.1 s
of CPU in every process that analyses TCP, a third of a small command's own work. The
result depends only on the source files of the functions involved, the int constants
they read (written in as literals) and the Python version, so its compiled code object
is stored under a key hashed from exactly those (marshal, as Python stores .pyc files)
and loaded when the key matches: an edited helper, a changed constant, a moved checkout
or another interpreter each make a new key. The cache lives in ``__pycache__`` beside
this module (git-ignored, like numba's); where that is not writable nothing is stored
and the code is generated as before.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import marshal
import os
import sys
import tempfile
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

_CACHE_DIR = Path(__file__).resolve().parent / "__pycache__"


def cache_key(functions: Iterable[Callable[..., Any]]) -> str:
    """A digest of what the generated code of ``functions`` (the generated ones, their
    expression helpers and inlined functions) is made from: the interpreter's bytecode
    version, each function's name and source file (path and text), and every int global
    the functions can read (the constants generation writes in as literals)."""
    digest = hashlib.sha256(importlib.util.MAGIC_NUMBER + sys.version.encode())
    files: set[str] = set()
    for fn in functions:
        digest.update(f"{fn.__module__}.{fn.__qualname__}\0".encode())
        files.add(inspect.getfile(fn))
        constants = sorted((name, value) for name, value in fn.__globals__.items()
                           if isinstance(value, int) and not isinstance(value, bool))
        digest.update(repr(constants).encode())
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + Path(name).read_bytes())
    return digest.hexdigest()[:32]


def load(key: str) -> list[types.CodeType] | None:
    """The code objects stored under ``key``, or None (not stored, unreadable, or stored
    by another interpreter)."""
    try:
        data = (_CACHE_DIR / f"generated-{key}.bin").read_bytes()
        codes = marshal.loads(data)
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(codes, list) or not all(isinstance(c, types.CodeType) for c in codes):
        return None
    return codes


def store(key: str, codes: list[types.CodeType]) -> None:
    """Store ``codes`` under ``key`` (written to a temporary file and renamed, so a
    concurrent process never reads half a file); nothing when the directory is not writable."""
    try:
        _CACHE_DIR.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=_CACHE_DIR, prefix=".generated-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(marshal.dumps(codes))
            os.replace(tmp, _CACHE_DIR / f"generated-{key}.bin")
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
