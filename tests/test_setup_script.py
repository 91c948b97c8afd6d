"""Every external program that pcapkit, its tests, benchmarks and capture tools run is
installed by ``scripts/dev.sh``.

A green CI on a developer's machine can hide a missing install step (``ping`` was
missing once: nine live-capture tests failed on a fresh machine). This test reads
the programs the code runs (subprocess calls, ``shutil.which`` lookups, the netns
helpers' ``exec_a``/``exec_b``, pexpect spawns, and the command words of the shell
scripts), finds the Debian package that owns each one (``dpkg -S``) and requires that
package to be in the set-up script's ``SYSTEM_PACKAGES``, unless Debian installs it
on every machine (Essential or Priority: required).
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SETUP = REPO / "scripts" / "dev.sh"
SCANNED = ("pcapkit", "tests", "benchmarks", "captures", "scripts")

# calls whose first argument (a string, or a list whose first item is a string) is a program
_RUNNERS = frozenset({"run", "Popen", "check_output", "check_call", "call", "spawn", "run_a", "run_b",
                      "exec_a", "exec_b", "in_sender", "in_receiver", "sh", "_run", "which", "execvp",
                      "execlp"})
# shell words that are not programs on PATH
_SHELL_WORDS = frozenset(["if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac", "in", "function", "return", "local", "export", "set", "unset", "shift", "trap", "exit", "echo", "printf", "read", "cd", "pwd", "test", "[", "[[", "]", "]]", "true", "false", ":", ".", "source", "eval", "exec", "wait", "kill", "command", "type", "declare", "readonly", "break", "continue", "let", "time", "{", "}", "!", "&&", "||", "|", ";", "then"])


def _first_program(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.List | ast.Tuple) and node.elts:
        words = [e.value if isinstance(e, ast.Constant) and isinstance(e.value, str) else None for e in node.elts]
        if words[:3] == ["ip", "netns", "exec"] and len(words) > 4:
            return words[4]  # the program run inside the namespace (ip itself is found elsewhere)
        return words[0]
    return None


def python_programs(path: Path) -> set[str]:
    """Programs run by the Python file ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name not in _RUNNERS:
            continue
        program = _first_program(node.args[0])
        if program and re.fullmatch(r"[A-Za-z0-9_.+-]+", program) and not program.startswith("-"):
            found.add(program)
    return found


def shell_programs(path: Path) -> set[str]:
    """Command words of a shell script: the first word of each simple command (after
    ``ip netns exec NS``, ``env``/``sudo``/``timeout N`` and the script's own wrapper
    functions, those that run ``"$@"``); here-document bodies are data."""
    text = re.sub(r"^\s*[A-Za-z_][A-Za-z0-9_]*=\([^)]*\)", "", path.read_text(), flags=re.M)  # arrays
    functions = set(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\)", text, re.M))
    wrappers = set(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\)\s*\{[^}\n]*\"\$@\"", text, re.M))
    found: set[str] = set()
    heredoc_end: str | None = None
    pending = ""
    for raw in text.splitlines():
        if heredoc_end is not None:
            if raw.strip() == heredoc_end:
                heredoc_end = None
            continue
        line = (pending + "\n" + raw if pending else raw).strip()
        heredoc = re.search(r"<<-?\s*['\"]?([A-Za-z_]+)", line)
        if heredoc:
            heredoc_end = heredoc.group(1)
        if not line or line.startswith("#") or re.match(r"[A-Za-z_][A-Za-z0-9_]*=\(", line):
            continue  # comments, array assignments
        line = re.sub(r"^[^\s()]+\)\s*", "", line)  # a case label
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.commenters = "#"
        lexer.wordchars += "$-./=:,*{}[]@%+~"
        try:
            tokens = list(lexer)
        except ValueError:  # a quote continues on the next line
            pending = line
            continue
        pending = ""
        commands: list[list[str]] = [[]]
        redirect = False
        for tok in tokens:
            if (tok and all(ch in "<>&" for ch in tok) and "<" in tok) or tok in (">", ">>", ">&", "&>"):
                redirect = True  # the next word is a file or a here-document marker
            elif tok and all(ch in ";&|()" for ch in tok):
                commands.append([])
            elif redirect:
                redirect = False
            else:
                commands[-1].append(tok)
        for words in commands:
            words = [w for w in words if not re.fullmatch(r"\d*>.*|/dev/\w+", w)]
            while words:
                head = words[0]
                if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", head) or head in ("!", "env", "sudo", "then", "do",
                                                                                "else", "exec") or head in wrappers:
                    words = words[1:]
                elif words[:3] == ["ip", "netns", "exec"] and len(words) > 4:
                    found.add("ip")
                    words = words[4:]
                elif head == "timeout" and len(words) > 2:
                    found.add("timeout")
                    words = words[2:]
                else:
                    break
            if not words or words[0] in functions:
                continue
            word = words[0]
            if word in _SHELL_WORDS or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.+-]*", word):
                continue
            found.add(word)
    return found


@cache
def programs_called() -> dict[str, set[str]]:
    """program -> the files that run it."""
    called: dict[str, set[str]] = {}
    for top in SCANNED:
        for path in sorted((REPO / top).rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            if path.suffix == ".py":
                progs = python_programs(path)
            elif path.suffix == ".sh":
                progs = shell_programs(path)
            else:
                continue
            for prog in progs:
                called.setdefault(prog, set()).add(str(path.relative_to(REPO)))
    # the interpreters are the venv's own
    for own in ("python", "python3", "pcapkit"):
        called.pop(own, None)
    return called


def setup_packages() -> set[str]:
    match = re.search(r"^SYSTEM_PACKAGES=\(([^)]*)\)", SETUP.read_text(), re.M)
    assert match, "scripts/dev.sh has no SYSTEM_PACKAGES=(...) line"
    return set(match.group(1).split())


def _candidates(executable: str) -> set[str]:
    # merged /usr: dpkg may know /bin/ping where PATH finds /usr/bin/ping, or the other way round
    paths = {executable, os.path.realpath(executable)}
    return paths | {p.removeprefix("/usr") if p.startswith("/usr/") else "/usr" + p for p in paths}


def packages_of(executables: list[str]) -> dict[str, str]:
    """executable -> the Debian package that owns it (one ``dpkg -S`` for all)."""
    wanted = sorted(set().union(*(_candidates(e) for e in executables))) if executables else []
    proc = subprocess.run(["dpkg", "-S", *wanted], capture_output=True, text=True, check=False)
    owner: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        package, _, path = line.partition(": ")
        owner[path.strip()] = package.split(":")[0].split(",")[0].strip()
    found = {}
    for exe in executables:
        for candidate in sorted(_candidates(exe)):
            if candidate in owner:
                found[exe] = owner[candidate]
                break
    return found


@cache
def _always_installed(package: str) -> bool:
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Essential} ${Priority}", package], capture_output=True,
                          text=True, check=False)
    essential, _, priority = proc.stdout.partition(" ")
    return essential == "yes" or priority == "required"


def test_scanner_finds_the_programs_it_must() -> None:
    """The scanner itself: it sees the live tests' ping, the oracle's tshark and the
    benchmark's iperf3 (so the check below cannot pass by finding nothing)."""
    called = programs_called()
    for prog in ("ping", "tshark", "tcpdump", "tcptrace", "capinfos", "iperf3", "ip"):
        assert prog in called, f"{prog} not found by the scanner"


def install_problems(packages: set[str]) -> list[str]:
    """What is called but not installed by a set-up script installing ``packages``."""
    problems = []
    called = programs_called()
    where_found = {prog: shutil.which(prog) for prog in called}
    owners = packages_of([p for p in where_found.values() if p])
    for prog, where in sorted(called.items()):
        path = where_found[prog]
        if path is None:
            problems.append(f"{prog} (run by {', '.join(sorted(where))}) is not installed")
            continue
        package = owners.get(path)
        if package is None:
            problems.append(f"{prog} ({path}) belongs to no Debian package")
        elif package not in packages and not _always_installed(package):
            problems.append(f"{prog} comes from Debian package {package}, which scripts/dev.sh does not install")
    return problems


requires_dpkg = pytest.mark.skipif(shutil.which("dpkg") is None, reason="not a Debian machine")


@requires_dpkg
def test_every_program_called_is_installed_by_the_setup_script() -> None:
    problems = install_problems(setup_packages())
    assert not problems, "\n".join(problems)


@requires_dpkg
def test_a_missing_package_is_caught() -> None:
    """Without iputils-ping in the list (the fresh-machine failure of issue 11), the check fails."""
    problems = install_problems(setup_packages() - {"iputils-ping"})
    assert any(p.startswith("ping ") and "iputils-ping" in p for p in problems), problems
