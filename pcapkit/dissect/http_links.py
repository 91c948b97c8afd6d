"""tshark's second pass over HTTP (``tshark -2``): the fields that name a later frame.

A request's ``http.response_in`` and ``http.next_request_in``, a response's
``http.next_request_in`` and ``http.next_response_in`` are unknown while the file is read in
order. :func:`pcapkit.dissect.driver.dissect_file` with ``two_pass=True`` first dissects the
file once, keeping each HTTP conversation's request/response list (a few integers per
message), turns them into :func:`link_table`, and gives the table to the session of the
second pass, where :func:`pcapkit.dissect.http.dissect_message` adds the links.
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer
from pcapkit.dissect.http import HttpConversation, second_pass_links

LinkKey = tuple[int, bool, int]            # (frame, is a response, request number)


def link_table(conversations: list[HttpConversation]) -> dict[LinkKey, dict[str, int]]:
    """The fields tshark adds on its second pass (``-2``), which name a later frame: a request's
    ``http.response_in`` and ``http.next_request_in``; a response's ``http.next_request_in``
    and ``http.next_response_in``; from the conversations of a first pass over the file."""
    table: dict[LinkKey, dict[str, int]] = {}
    for conv in conversations:
        entries = conv.requests
        for i, entry in enumerate(entries):
            nxt = entries[i + 1] if i + 1 < len(entries) else None
            if entry.frame:
                links = {"http.response_in": entry.response_frame,
                         "http.next_request_in": nxt.frame if nxt is not None else 0}
                table[(entry.frame, False, entry.number)] = {k: v for k, v in links.items() if v}
            if entry.response_frame:
                links = {"http.next_request_in": nxt.frame if nxt is not None else 0,
                         "http.next_response_in": nxt.response_frame if nxt is not None else 0}
                table[(entry.response_frame, True, entry.number)] = {k: v for k, v in links.items() if v}
    return {k: v for k, v in table.items() if v}


# what tshark's second pass reads from the request/response pair it finds by frame number
_PAIR_FIELDS = ("http.request_number", "http.response_number", "http.prev_request_in", "http.prev_response_in",
                "http.request_in", "http.time", "http.response_for.uri", "http.response_in",
                "http.next_request_in", "http.next_response_in")


def second_pass_frame(layers: list[Layer], ctx: Context) -> None:
    """Several messages completed in one frame, on the second pass: tshark finds the
    request/response pair by frame number, so every message of the frame shows the last
    one's numbers and links (requests 1, 2, 3 in one frame read 3, 3, 3 under ``-2``)."""
    if len(layers) < 2 or not second_pass_links(ctx):
        return
    last = next((lay for lay in reversed(layers) if lay.fields.get("http.request") or lay.fields.get("http.response")),
                None)
    if last is None:
        return
    for lay in layers:
        if lay is last or not (lay.fields.get("http.request") or lay.fields.get("http.response")):
            continue
        for name in _PAIR_FIELDS:
            lay.fields.pop(name, None)
            if name in last.fields:
                lay.fields[name] = last.fields[name]


