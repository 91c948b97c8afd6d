"""The on-disk cache of generated code: what it loads is what generation makes, and any
change to what the code is made from (a source file, a constant) makes a new key."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pcapkit.tcpflow import analysis, backends, codecache
from pcapkit.tcpflow.analysis import step


def _fresh(functions: list) -> list:
    return [compile(module, fn.__code__.co_filename, "exec")
            for fn, module in backends.generate(functions, expressions=analysis._EXPRESSIONS,
                                                inline=analysis._INLINE)]


def test_cached_code_equals_generated_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codecache, "_CACHE_DIR", tmp_path)
    functions = [step.run_columns]
    first = backends.generated_code(functions, expressions=analysis._EXPRESSIONS, inline=analysis._INLINE)
    assert len(list(tmp_path.glob("generated-*.bin"))) == 1  # stored
    second = backends.generated_code(functions, expressions=analysis._EXPRESSIONS, inline=analysis._INLINE)
    fresh = _fresh(functions)
    # code objects compare by value: bytecode, constants, names, file name and line table
    assert [c for _, c in first] == [c for _, c in second] == fresh


def _module(path: Path, text: str) -> ModuleType:
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def test_key_changes_with_source_constant_and_place(tmp_path: Path) -> None:
    text = "LIMIT = 7\n\ndef f(x):\n    return x + LIMIT\n"
    a = _module(tmp_path / "cc_mod_a.py", text)
    key = codecache.cache_key([a.f])
    assert codecache.cache_key([a.f]) == key
    a.LIMIT = 8  # a constant the generated code would write in as a literal
    assert codecache.cache_key([a.f]) != key
    a.LIMIT = 7
    (tmp_path / "cc_mod_a.py").write_text(text + "\n# edited\n")
    assert codecache.cache_key([a.f]) != key  # the source text
    b = _module(tmp_path / "cc_mod_b.py", text)
    assert codecache.cache_key([b.f]) != codecache.cache_key([a.f])  # another file (name and place)


def test_unwritable_cache_generates_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setattr(codecache, "_CACHE_DIR", blocker / "sub")
    got = backends.generated_code([step.step], expressions=analysis._EXPRESSIONS, inline=analysis._INLINE)
    assert [c for _, c in got] == _fresh([step.step])


def test_damaged_cache_file_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codecache, "_CACHE_DIR", tmp_path)
    functions = [step.step]
    key = codecache.cache_key([*functions, *analysis._EXPRESSIONS, *analysis._INLINE])
    (tmp_path / f"generated-{key}.bin").write_bytes(b"\x00garbage")
    got = backends.generated_code(functions, expressions=analysis._EXPRESSIONS, inline=analysis._INLINE)
    assert [c for _, c in got] == _fresh(functions)
