"""Field-by-field comparison of pcapkit's dissection with tshark's (the shared harness).

Usage from a per-protocol test::

    from fieldcompare import compare_file
    result = compare_file(path, prefixes=("udp.",))
    assert not result.diffs, result.report()

Tests under tests/dissect/ import it as ``fieldcompare`` (pytest puts that folder on
sys.path; it has no ``__init__.py``); elsewhere, add it with ``sys.path``.

``compare_file`` dissects the file with :func:`pcapkit.dissect.driver.dissect_file`
(with a session, so IP reassembly is on as in tshark), renders every emitted field
with its :class:`~pcapkit.fields.FieldSpec` and compares it with ``tshark -T fields``
for the same names (all occurrences, joined by ','), frame by frame. A field pcapkit
emits but tshark does not (or the reverse, for the names compared) is a difference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from oracle import tshark_fields

from pcapkit.fields import FieldSpec


@dataclass(frozen=True, slots=True)
class Diff:
    frame: int
    field: str
    ours: str | None
    theirs: str | None

    def __str__(self) -> str:
        return f"frame {self.frame} {self.field}: pcapkit={self.ours!r} tshark={self.theirs!r}"


@dataclass(slots=True)
class Comparison:
    path: Path
    fields: list[str]
    compared: int = 0
    frames: int = 0
    diffs: list[Diff] = field(default_factory=list)
    unspecified: set[str] = field(default_factory=set)  # emitted names without a FieldSpec

    def report(self, limit: int = 40) -> str:
        lines = [f"{self.path}: {len(self.diffs)} differences in {self.compared} values "
                 f"({self.frames} frames, {len(self.fields)} fields)"]
        lines += [f"  {d}" for d in self.diffs[:limit]]
        if len(self.diffs) > limit:
            lines.append(f"  ... {len(self.diffs) - limit} more")
        return "\n".join(lines)


_SPECS: dict[str, FieldSpec] | None = None


def field_specs() -> dict[str, FieldSpec]:
    """FieldSpecs of every dissector module that exists (missing modules are skipped)."""
    global _SPECS
    if _SPECS is None:
        from pcapkit.dissect import FIELD_MODULES

        specs: dict[str, FieldSpec] = {}
        for name in FIELD_MODULES:
            try:
                module = import_module(name)
            except ImportError:
                continue
            for spec in getattr(module, "FIELDS", ()):
                specs[spec.name] = spec
        _SPECS = specs
    return _SPECS


def dissect_all(path: Path | str, two_pass: bool = False) -> list[Any]:
    from pcapkit.dissect.driver import dissect_file

    return list(dissect_file(path, two_pass=two_pass))


def render(spec: FieldSpec, value: Any) -> str:
    return spec.render(value)


def compare_file(path: Path | str, *, fields: Iterable[str] | None = None,
                 prefixes: Iterable[str] | None = None, exclude: Iterable[str] = (),
                 options: tuple[str, ...] = (),
                 select: Callable[[str], bool] | None = None, two_pass: bool = False) -> Comparison:
    """Compare pcapkit with tshark on every frame of ``path``.

    fields:   compare exactly these names (default: every name pcapkit emits that has a spec);
    prefixes: keep only names starting with one of these ("ip.", "eth.");
    exclude:  names never compared; options: tshark ``-o`` preferences;
    select:   a further predicate over names;
    two_pass: both sides read the file twice (tshark -2, dissect_file(two_pass=True)).
    """
    path = Path(path)
    specs = field_specs()
    packets = dissect_all(path, two_pass)
    per_frame: list[dict[str, Any]] = [p.fields() for p in packets]
    emitted: set[str] = set()
    for f in per_frame:
        emitted.update(f)
    result = Comparison(path=path, fields=[], frames=len(packets))
    result.unspecified = {n for n in emitted if n not in specs}
    if fields is not None:
        names = list(dict.fromkeys(fields))
    else:
        names = sorted(n for n in emitted if n in specs)
    pre = tuple(prefixes) if prefixes is not None else None
    skip = set(exclude)
    names = [n for n in names if n not in skip and (pre is None or n.startswith(pre))
             and (select is None or select(n)) and n in specs]
    result.fields = names
    if not names:
        return result
    rows = tshark_fields(path, names, options=options, two_pass=two_pass)
    if len(rows) != len(packets):
        result.diffs.append(Diff(0, "frame count", str(len(packets)), str(len(rows))))
    for number, (ours_all, theirs_all) in enumerate(zip(per_frame, rows, strict=False), 1):
        for name in names:
            value = ours_all.get(name)
            ours = render(specs[name], value) if value is not None else None
            if ours == "":
                ours = None
            theirs = theirs_all.get(name)
            if ours is None and theirs is None:
                continue
            result.compared += 1
            if ours != theirs:
                result.diffs.append(Diff(number, name, ours, theirs))
    return result


def summarize(results: Iterable[Comparison]) -> dict[str, int]:
    """Count differences per field name over several comparisons."""
    counts: dict[str, int] = {}
    for r in results:
        for d in r.diffs:
            counts[d.field] = counts.get(d.field, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def assert_matches_tshark(path: Path | str, *, prefixes: Iterable[str] | None = None,
                          fields: Iterable[str] | None = None,
                          allowed: Callable[[Diff], bool] | None = None,
                          options: tuple[str, ...] = ()) -> Comparison:
    """compare_file, then fail with a readable report on any difference ``allowed`` does not
    excuse; also fail if nothing at all was compared (a test that cannot fail is no test)."""
    result = compare_file(path, prefixes=prefixes, fields=fields, options=options)
    bad = [d for d in result.diffs if allowed is None or not allowed(d)]
    if bad:
        result.diffs = bad
        raise AssertionError(result.report())
    if result.frames and not result.compared:
        raise AssertionError(f"{path}: no field compared (prefixes {prefixes}, fields {fields})")
    return result
