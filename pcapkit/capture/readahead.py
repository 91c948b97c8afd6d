"""Make the next items of an iterator in a second thread while the caller uses this one.

Reading a big capture is two kinds of work per batch: walking and decoding its records
(numba kernels that release the GIL, and large numpy operations) and building tables
from the decoded columns. :func:`read_ahead` runs the first kind for batch k + 1 in a
background thread while the caller does the second for batch k, so a machine with two
cores spends the time of the longer one, not of both. The items come out in the order
made; an exception raised by the iterator comes out at its place, after the items made
before it, and stops the iteration; closing the generator early stops the thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_POLL_SECONDS = 0.1  # how often a waiting producer checks whether the caller stopped


class _End:
    """The producer ran out of items."""


class _Raised:
    """The producer's iterator raised ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """The items of ``items``, made in a background thread at most ``depth`` ahead of
    the caller (each item made ahead is held in memory until taken)."""
    ready: queue.Queue[T | _End | _Raised] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: T | _End | _Raised) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not hand_over(item):
                    return
        except BaseException as exc:  # (handed to the caller, raised there)
            hand_over(_Raised(exc))
            return
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:  # (a generator's own clean-up, e.g. its file, here and now)
                close()
        hand_over(_End())

    worker = threading.Thread(target=produce, name="pcapkit-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if isinstance(item, _End):
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()
