"""The Kurose & Ross HTTP lab on its traces: each answer derived from tshark's HTTP fields in the test."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.lab_cmd import lab
from pcapkit.reports.lab_common import NO_ANSWER
from pcapkit.reports.lab_http import lab_http

LABS = CORPUS / "labs"
TRACES = [LABS / f"http-ethereal-trace-{n}" for n in range(1, 6)] + [LABS / "http-wireshark-trace1-1.pcapng"]
FIELDS = ["frame.number", "frame.time_relative", "ip.src", "ip.dst", "http.request.method", "http.request.uri",
          "http.request.version", "http.response.version", "http.response.code", "http.response.phrase",
          "http.last_modified", "http.content_length", "http.accept_language", "http.authorization",
          "http.authbasic", "http.request.line", "http.request_in", "tcp.segment", "http.host"]


def _answers(path: Path, part: int | None = None) -> dict[str, tuple[str, str]]:
    df = lab_http(path, part)
    return {q: (a, f) for q, a, f in zip(df["question"], df["answer"], df["frames"], strict=True)}


def _since(row: dict[str, str]) -> str:
    found = re.search(r"If-Modified-Since: (.*?)\\r\\n", row.get("http.request.line", ""))
    return found.group(1) if found else "no such line"


def _status(row: dict[str, str]) -> str:
    return f"{row['http.response.code']} {row.get('http.response.phrase', '')}".strip()


def _segments(row: dict[str, str]) -> list[str]:
    return row.get("tcp.segment", row["frame.number"]).split(",")


@requires_tshark
@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_answers_match_tshark(corpus: Path, path: Path) -> None:
    ws = tshark_fields(path, FIELDS, display_filter="http")
    gets = [r for r in ws if r.get("http.request.method") == "GET"]
    by_request = {r["http.request_in"]: r for r in ws if "http.request_in" in r}
    first, response = gets[0], by_request[gets[0]["frame.number"]]
    same_uri = [r for r in gets[1:] if r["http.request.uri"] == first["http.request.uri"]]
    authorized = [r for r in gets[1:] if "http.authorization" in r]
    servers = {r["ip.dst"] for r in gets}
    # which parts the trace holds data for, from tshark's view of it
    parts = {1, *([2] if any(_since(r) != "no such line" for r in gets) else []),
             *([3] if len(_segments(response)) > 1 else []), *([4] if len(servers) > 1 else []),
             *([5] if authorized or any(r.get("http.response.code") == "401" for r in ws) else [])}
    answers = _answers(path)
    assert {int(q.split(":")[0]) for q in answers} == parts
    for part in range(1, 6):  # every part's questions on every trace: an answer or a reason
        assert {int(q.split(":")[0]) for q in _answers(path, part)} == {part}
    at, rat = first["frame.number"], response["frame.number"]
    expected = {
        "1: the browser's HTTP version": (first["http.request.version"], at),
        "1: languages the browser accepts (Accept-Language)": (first["http.accept_language"], at),
        "1: the computer's IP address": (first["ip.src"], at),
        "1: the server's IP address": (first["ip.dst"], at),
        "1: the server's HTTP version": (response["http.response.version"], rat),
        "1: the status code returned": (_status(response), rat),
        "1: when the file was last modified (Last-Modified)": (
            response.get("http.last_modified", NO_ANSWER + "the response has no Last-Modified header"), rat),
        "1: content bytes returned (Content-Length)": (response["http.content_length"], rat),
    }
    for question, answer in expected.items():
        assert answers[question] == answer, question
    if 2 in parts:
        second = same_uri[0]
        second_response = by_request[second["frame.number"]]
        assert answers["2: If-Modified-Since in the first GET"] == (_since(first), at)
        assert answers["2: If-Modified-Since in the second GET"] == (_since(second), second["frame.number"])
        assert answers["2: status code and phrase of the response to the second GET"][0] == _status(second_response)
        for which, resp in (("first", response), ("second", second_response)):
            returned = answers[f"2: did the server return the file's contents ({which} GET)"][0]
            assert returned == (f"yes: {_status(resp)}, Content-Length {resp['http.content_length']}"
                                if "http.content_length" in resp else f"no: {_status(resp)}, no body")
    if 3 in parts:
        segments = _segments(response)
        assert answers["3: GET requests the browser sent"][0] == str(len(gets))
        assert answers["3: frame with the GET"][0] == at
        assert answers["3: frame with the response's status code and phrase"][0] == segments[0]
        assert answers["3: status code and phrase of the response"][0] == _status(response)
        assert answers["3: TCP segments that carried the response"] == (str(len(segments)), ", ".join(segments))
    if 4 in parts:
        assert answers["4: addresses the GETs were sent to"][0] == ", ".join(
            f"{r['ip.dst']} ({r['http.host']})" for r in gets)
        objects = [r for r in gets[1:] if r["http.request.uri"] != "/favicon.ico"]
        done = by_request[objects[0]["frame.number"]]
        parallel = Decimal(objects[1]["frame.time_relative"]) < Decimal(done["frame.time_relative"])
        assert answers["4: the embedded objects: downloaded serially or in parallel"][0] == (
            f"{'in parallel' if parallel else 'serially'}: the second object's GET at "
            f"{objects[1]['frame.time_relative']} s, the first object's response complete at "
            f"{done['frame.time_relative']} s")
    if 5 in parts:
        assert answers["5: the server's response to the first GET"] == (_status(response), rat)
        auth = authorized[0]
        assert answers["5: the new field in the second GET"] == (
            f"Authorization: {auth['http.authorization']} (decoded {auth['http.authbasic']})", auth["frame.number"])


def test_other_trace_says_why(corpus: Path) -> None:
    answers = _answers(LABS / "http-ethereal-trace-1", 5)
    assert answers["5: the new field in the second GET"][0].startswith(NO_ANSWER)
    answers = _answers(LABS / "http-ethereal-trace-1", 2)
    assert answers["2: If-Modified-Since in the second GET"][0].startswith(NO_ANSWER)
    answers = _answers(LABS / "dhcp-ethereal-trace-1", 1)
    assert answers["1: the browser's HTTP version"][0].startswith(NO_ANSWER)


def test_cli(corpus: Path) -> None:
    res = CliRunner().invoke(lab, ["http", str(LABS / "http-ethereal-trace-5"), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "Authorization: Basic" in res.output
    res = CliRunner().invoke(lab, ["http", str(LABS / "http-ethereal-trace-1"), "--part", "4"])
    assert res.exit_code == 0 and "4: GET requests the browser sent" in res.output
