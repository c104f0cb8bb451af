"""The thread bridge of the embedded backend: blocking work in a worker thread, events to async.

A job is a plain function of a ``Work``: it emits events, reports progress (at most ten
progress events a second) and checks for cancellation; ``stream`` runs it in a worker thread
and yields its events, in order, through an asyncio queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from msde_tui.engine.errors import Cancelled
from msde_tui.engine.events import Event, Progress, Step

PROGRESS_EVERY_S = 0.1  # at most ten progress events a second per dossier
T = TypeVar("T")


@dataclass(frozen=True)
class Done:
    error: BaseException | None


class Work:
    """What a worker thread sees: emit events, report progress, check for cancellation."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Event | Done]) -> None:
        self._loop = loop
        self._queue = queue
        self.cancel = threading.Event()
        self._last_progress = 0.0
        self._started = time.monotonic()

    def put(self, item: Event | Done) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody listens any more
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def emit(self, event: Event) -> None:
        self.put(event)

    def step(self, label: str, step: str, detail: str = "") -> None:
        self._started = time.monotonic()
        self._last_progress = 0.0
        self.put(Step(label, step, detail))

    def progress(self, label: str, done: int, total: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last_progress < PROGRESS_EVERY_S:
            return
        self._last_progress = now
        elapsed = max(now - self._started, 1e-6)
        rate = done / elapsed
        percent = 100.0 if total <= 0 else min(100.0, 100.0 * done / total)
        eta = (total - done) / rate if rate > 0 and total >= done else None
        self.put(
            Progress(
                label,
                percent=round(percent, 1),
                bytes_done=done,
                bytes_total=total,
                mb_per_s=round(rate / 1e6, 2),
                eta_s=None if eta is None else round(eta, 1),
            )
        )

    def check(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("Cancelled; nothing was changed.", "Run it again when you are ready.")


async def stream(job: Callable[[Work], None]) -> AsyncIterator[Event]:
    """Run ``job`` in a thread and yield the events it emits, in order.

    Closing the generator (or cancelling its consumer) asks the job to stop and waits for it,
    so its clean-up (removing partial files) is done when the generator has closed.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event | Done] = asyncio.Queue()
    work = Work(loop, queue)

    def run() -> None:
        try:
            job(work)
        except BaseException as exc:  # handed to the async side, raised there
            work.put(Done(exc))
        else:
            work.put(Done(None))

    future = loop.run_in_executor(None, run)
    try:
        while True:
            item = await queue.get()
            if isinstance(item, Done):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        work.cancel.set()
        if not future.done():
            await asyncio.shield(future)


class Beside(threading.Thread, Generic[T]):
    """``function(*args)`` in a thread of its own; ``result()`` waits and returns (or raises) it."""

    def __init__(self, function: Callable[..., T], *args: object) -> None:
        super().__init__(daemon=True)
        self._call = (function, args)
        self._value: T | None = None
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        function, args = self._call
        try:
            self._value = function(*args)
        except BaseException as exc:  # handed to result()
            self._error = exc

    def result(self) -> T:
        self.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set by run() when there is no error
