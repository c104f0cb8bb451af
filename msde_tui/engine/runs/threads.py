"""The thread bridge: blocking work in a worker thread, its events to async, in order.

A job is a plain function of a ``Work``: it emits events, reports progress in bytes (at most
ten progress events a second) and checks for cancellation; ``stream`` runs it in a worker
thread and yields its events through an asyncio queue. The embedded backend's jobs run on it
directly; ``registry.in_thread`` runs the engine's other synchronous work (``emit``) on it.

Cancelling the consumer sets ``Work.cancel``; the job stops where it checks it (``check``).
``stream`` then either waits for the job and stops at once (a backend's events: the runner
gives the result), or, with ``finish``, goes on yielding the job's events to its end before
the cancellation goes on (``in_thread``: the work's own result says what became of it).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

from msde_tui.engine.errors import Cancelled
from msde_tui.engine.events import Event, Progress, Step

PROGRESS_EVERY_S = 0.1  # at most ten progress events a second per dossier


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


async def stream(job: Callable[[Work], None], *, finish: bool = False) -> AsyncGenerator[Event, None]:
    """Run ``job`` in a thread and yield the events it emits, in order; its error is raised.

    Closing the generator (or cancelling its consumer) asks the job to stop and waits for it,
    so its clean-up (removing partial files) is done when the generator has closed. With
    ``finish``, a cancelled consumer still gets the job's events to its end, then the
    ``CancelledError`` (or the job's error, which says it was cancelled).
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
            try:
                item = await queue.get()
            except asyncio.CancelledError:
                work.cancel.set()  # a thread cannot be killed: it is asked to stop
                if not finish:
                    raise
                continue
            if isinstance(item, Done):
                if item.error is not None:
                    raise item.error
                if work.cancel.is_set():
                    raise asyncio.CancelledError
                return
            yield item
    finally:
        work.cancel.set()
        if not future.done():
            await asyncio.shield(future)
