"""The package layout rules that lint-imports does not check: library code never prints
(only pcapkit/cli/ talks to the terminal) and no module grows past ~500 lines.

The import direction itself (cli > reports > tcpflow > columnar > dissect > proto >
capture > errors/frame/fields, no circles) is the ``[tool.importlinter]`` contract in
pyproject.toml, run as ``lint-imports`` by scripts/dev.sh test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pcapkit"
MAX_LINES = 500

# Modules over the limit that other work is splitting right now; delete a line when its
# module is split (the test fails while a listed module is already under the limit).
OVERSIZED_FOR_NOW = {
    "dissect/dhcp.py",
}


def library_modules() -> list[Path]:
    """Every module of the package outside pcapkit/cli/."""
    return sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != "cli")


def terminal_output(source: str) -> list[str]:
    """Calls that print or leave the process: ``print(...)``, any use of
    ``sys.stdout``/``sys.stderr`` (and their ``__x__`` originals), ``sys.exit``/``exit``/
    ``quit``/``os._exit``; as ``line: text``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("print", "exit", "quit"):
            found.append(f"{node.lineno}: {node.func.id}()")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "sys" and node.attr in ("stdout", "stderr", "__stdout__",
                                                        "__stderr__", "exit"):
                found.append(f"{node.lineno}: sys.{node.attr}")
            elif node.value.id == "os" and node.attr == "_exit":
                found.append(f"{node.lineno}: os._exit")
        elif isinstance(node, ast.ImportFrom) and node.module == "sys":
            names = {a.name for a in node.names} & {"stdout", "stderr", "exit"}
            found += [f"{node.lineno}: from sys import {n}" for n in sorted(names)]
    return sorted(found, key=lambda line: int(line.split(":")[0]))


@pytest.mark.parametrize("path", library_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_library_never_prints(path: Path) -> None:
    assert terminal_output(path.read_text(encoding="utf-8")) == []


def test_the_print_scan_can_fail() -> None:
    source = ("import sys\nfrom sys import stderr\nprint('x')\nsys.stdout.write('y')\n"
              "sys.exit(1)\n'''print(in a docstring) is fine'''\n")
    assert terminal_output(source) == ["2: from sys import stderr", "3: print()",
                                       "4: sys.stdout", "5: sys.exit"]


def test_modules_stay_small() -> None:
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines())
             for p in PACKAGE.rglob("*.py")}
    too_big = {name: n for name, n in sizes.items() if n > MAX_LINES and name not in OVERSIZED_FOR_NOW}
    assert too_big == {}
    already_split = {name for name in OVERSIZED_FOR_NOW if sizes.get(name, 0) <= MAX_LINES}
    assert already_split == set(), "split: delete these from OVERSIZED_FOR_NOW"
