"""The application of each conversation for ``flows``: ``dns``, ``http``, ``tls`` or
``tls:SERVER-NAME`` (the ClientHello's SNI), from pcapkit's DNS, HTTP and TLS dissectors.

Only conversations on those dissectors' ports (UDP/TCP 53; TCP 443, 993 and tshark's HTTP
ports, :data:`pcapkit.dissect.http.HTTP_PORTS`, as :mod:`pcapkit.dissect.registry`
dispatches them) are labelled (HTTP that tshark's heuristic finds on other ports is not), and only their frames are
dissected, in one pass over the capture: the other frames are read and skipped, so the
cost and the memory grow with those conversations' frames (a frame-number -> conversation
map of them), not with the capture. A conversation whose frames hold a TLS layer is
``tls`` (with the first server name seen), else one holding an HTTP message is ``http``,
else one holding a DNS message is ``dns`` (mDNS and LLMNR are not DNS, as in tshark's
frame.protocols); otherwise, and for a capture that is not a file (standard input,
frames), the label is empty.

Standard input and a FIFO can be read once only: :func:`rereadable` copies them to a
temporary file (on disk, the capture's size) that both passes read.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from os import PathLike, fspath
from typing import Any

import numpy as np

from pcapkit.capture.batch import CaptureFiles
from pcapkit.dissect.http import HTTP_PORTS

_UDP_PORTS = (53,)
_TCP_PORTS = (53, 443, 993, *HTTP_PORTS)
_RANK = {"dns": 1, "http": 2, "tls": 3}


def is_file(source: Any) -> bool:
    """Whether ``source`` is the path of a regular file (one that can be read twice)."""
    return isinstance(source, (str, PathLike)) and fspath(source) != "-" and os.path.isfile(source)


@contextlib.contextmanager
def rereadable(source: Any) -> Iterator[tuple[Any, Callable[[str], str]]]:
    """``source`` itself when it is a regular file or frames, else (standard input, a
    FIFO) the path of a temporary copy of its bytes; with a function that puts the
    source's name back in a message about the copy."""
    name = fspath(source) if isinstance(source, (str, PathLike)) else None
    if name is None or (name != "-" and (is_file(name) or not os.path.exists(name))):
        yield source, lambda text: text  # (a missing file is the reader's one error line)
        return
    label = "<stdin>" if name == "-" else name
    with tempfile.NamedTemporaryFile(prefix="pcapkit-", suffix=".capture") as copy:
        if name == "-":
            shutil.copyfileobj(sys.stdin.buffer, copy)
        else:
            with open(name, "rb") as stream:
                shutil.copyfileobj(stream, copy)
        copy.flush()
        yield copy.name, lambda text: text.replace(copy.name, label)


FIRST_FRAMES = 12  # per conversation: its first frames with a payload name its application


def on_application_port(sport: int, dport: int) -> bool:
    """Whether a TCP or UDP packet's ports are ones the application dissectors read."""
    return sport in _TCP_PORTS or dport in _TCP_PORTS


def filtered_report(report: Callable[[Any, str | None], Any], path: Any, filter: str | None) -> Any:
    """``report(path, filter)``; with a filter, standard input or a FIFO is first copied
    (the filter reads the capture once more), and an error names the source, not the copy."""
    with rereadable(path if filter else None) as (copy, named):
        df = report(copy if filter else path, filter)
    if "pcapkit.error" in df.attrs:
        df.attrs["pcapkit.error"] = named(str(df.attrs["pcapkit.error"]))
    return df


def application_labels(source: Any, frame: np.ndarray, conv: np.ndarray, proto: np.ndarray, sport: np.ndarray,
                       dport: np.ndarray, nconv: int, tcp_payload_frames: np.ndarray | None = None) -> np.ndarray:
    """An object array of ``nconv`` labels (None: no application), one per conversation id
    of ``conv`` (per packet, with the packets' ``frame`` numbers, IP ``proto`` and ports).

    Only the first ``FIRST_FRAMES`` frames of each conversation that can carry a message
    are dissected (TCP: the frames in ``tcp_payload_frames``, when given; UDP: all): the
    request, the ClientHello or the query comes first, and the cost stays bounded per
    conversation (a million one-SYN flows on port 80 dissect nothing)."""
    labels = np.full(nconv, None, dtype=object)
    if not is_file(source) and not isinstance(source, (list, CaptureFiles)):
        return labels  # (frames from an iterator were consumed by the first pass)
    on_port = (((proto == 17) & (np.isin(sport, _UDP_PORTS) | np.isin(dport, _UDP_PORTS)))
               | ((proto == 6) & (np.isin(sport, _TCP_PORTS) | np.isin(dport, _TCP_PORTS))))
    if tcp_payload_frames is not None:
        on_port &= (proto != 6) | np.isin(frame, tcp_payload_frames)
    if not bool(on_port.any()):
        return labels
    rows = np.flatnonzero(on_port)
    rows = rows[np.lexsort((frame[rows], conv[rows]))]  # by conversation, then frame
    by_conv = conv[rows]
    starts = np.flatnonzero(np.r_[True, by_conv[1:] != by_conv[:-1]])
    rank = np.arange(rows.shape[0]) - np.repeat(starts, np.diff(np.r_[starts, rows.shape[0]]))
    rows = rows[rank < FIRST_FRAMES]
    # the chosen packets' frame numbers (ascending) and conversations: two int64 arrays,
    # walked along with the reader instead of a dict per frame
    order = np.argsort(frame[rows], kind="stable")
    numbers, conversations = frame[rows][order].astype(np.int64), conv[rows][order].astype(np.int64)
    from pcapkit.dissect.driver import DissectSession, dissect

    session = DissectSession()
    found: dict[int, str] = {}
    # A conversation's ports name its one stream protocol (pcapkit.dissect.tcp_streams; UDP:
    # DNS), so once it has a label that cannot change ("http", "dns", "tls:NAME") its other
    # frames are not dissected. They would only have added directions to the stream
    # dispatcher, which matters near its limit: then every chosen frame is dissected.
    dispatcher = session.tcp_dispatcher
    skip_settled = dispatcher is None or 2 * np.unique(conversations).shape[0] < dispatcher.max_streams
    for at, raw in _chosen_frames(source, numbers):
        cid = int(conversations[at])
        if skip_settled and _settled(found.get(cid)):
            continue
        for layer in dissect(raw, session).layers:
            name = layer.protocol
            if name not in _RANK:
                continue
            current = found.get(cid)
            kind = None if current is None else current.split(":", 1)[0]
            if kind is None or _RANK[name] > _RANK[kind]:
                found[cid] = current = name
            if name == "tls" and current == "tls":
                sni = layer.fields.get("tls.handshake.extensions_server_name")
                if sni:
                    found[cid] = f"tls:{sni[0] if isinstance(sni, list) else sni}"
    for cid, label in found.items():
        labels[cid] = label
    return labels


def _chosen_frames(source: Any, numbers: np.ndarray) -> Iterator[tuple[int, Any]]:
    """(index in ``numbers``, frame) of the frames of ``source`` (a file, or frames in a
    list) numbered ``numbers`` (ascending), in order. A file's frames come from its record
    batches (:func:`pcapkit.capture.batch.frames_numbered`); the damage that ends them was
    reported by the first pass, so it ends the labelling quietly."""
    if not isinstance(source, list):
        from pcapkit.capture.batch import frames_numbered
        from pcapkit.errors import CaptureFileError

        with contextlib.suppress(CaptureFileError):
            yield from enumerate(frames_numbered(source if isinstance(source, CaptureFiles) else fspath(source),
                                                 numbers))
        return
    at = 0
    for raw in source:
        while at < numbers.shape[0] and numbers[at] < raw.number:
            at += 1
        if at == numbers.shape[0]:
            return
        if numbers[at] == raw.number:
            yield at, raw


def _settled(label: str | None) -> bool:
    """Whether a conversation's label is final (see :func:`application_labels`)."""
    return label is not None and (label in ("http", "dns") or label.startswith("tls:"))
