"""Run an iterator a few items ahead in a background thread.

Reading rows (SQLite through ADBC, Arrow conversions) releases the GIL, as do hashing and
Parquet writing: with the reader one batch ahead, both cores work during an export.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


def prefetch(items: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """Yield the items of ``items`` in order, produced by a thread up to ``depth`` ahead.

    The producer's exception is raised here, at the item where it happened. When the consumer
    stops early (break, exception, close), the producer stops too and ``items`` is closed in
    its own thread before this generator returns, so whatever ``items`` holds open is released.
    """
    box: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=depth)
    stop, ended = threading.Event(), threading.Event()

    def put(entry: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                box.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            run()
        finally:
            ended.set()

    def run() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    break
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put((False, exc))
        finally:
            try:
                close = getattr(items, "close", None)
                if close is not None:
                    close()
            except BaseException as exc:  # noqa: BLE001 - raised there too; the end is still put
                put((False, exc))
            put((True, _DONE))

    worker = threading.Thread(target=produce, name="msde-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            ok, item = box.get()
            if item is _DONE:
                return
            if not ok:
                raise item  # type: ignore[misc]
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        _wait(ended)
        worker.join()


def _wait(ended: threading.Event) -> None:
    """Wait for the producer's end even through Ctrl-C (raised after): the caller may close what
    it reads from (an ADBC cursor) as soon as this returns. (Not ``Thread.join``: interrupted,
    Python 3.11's marks the thread ended while it still runs.)"""
    interrupted: KeyboardInterrupt | None = None
    while True:
        try:
            ended.wait()
            break
        except KeyboardInterrupt as exc:
            interrupted = exc
    if interrupted is not None:
        raise interrupted
