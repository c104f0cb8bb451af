"""The one thread bridge (engine/runs/threads.py) as ``registry.in_thread`` uses it: work
cancelled past its point of no return still reports its steps and its true result, and work
cancelled before it stops at its next ``Progress``. (The embedded backend's side, which stops
at once: tests/engine/test_embedded_backend.py, the cancel tests.)"""

from __future__ import annotations

import asyncio
import threading

import pytest

from msde_tui.engine.events import DossierResult, Emit, Event, Progress, Step
from msde_tui.engine.runs import registry


async def cancelled_midway(work_after: str) -> list[Event]:
    """The events of an ``in_thread`` run whose consumer is cancelled once its ``copy`` step
    began; then the work goes on with ``work_after`` (a ``Step`` or a ``Progress``)."""
    go_on = threading.Event()

    def work(emit: Emit) -> DossierResult:
        emit(Step("001SOC", "copy"))
        assert go_on.wait(60)
        if work_after == "step":
            emit(Step("001SOC", "publish"))  # past the point of no return: steps only
        else:
            emit(Progress("001SOC", percent=50.0, rows_done=1, rows_total=2))  # raises Cancelled
            emit(Step("001SOC", "publish"))
        return DossierResult("001SOC", ok=True)

    seen: list[Event] = []
    copying = asyncio.Event()

    async def consume() -> None:
        async for event in registry.in_thread("001SOC", "pack", ("copy", "publish"), work, step_progress=False):
            seen.append(event)
            if isinstance(event, Step) and event.step == "copy":
                copying.set()

    task = asyncio.create_task(consume())
    await copying.wait()
    task.cancel()
    for _ in range(3):
        await asyncio.sleep(0)  # the cancellation reaches the consumer, waiting for the next event
    go_on.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    return seen


async def test_work_past_its_point_of_no_return_reports_to_its_end() -> None:
    seen = await cancelled_midway("step")
    assert [e.step for e in seen if isinstance(e, Step)] == ["copy", "publish"]
    assert isinstance(seen[-1], DossierResult) and seen[-1].ok


async def test_work_cancelled_before_stops_at_its_next_progress() -> None:
    seen = await cancelled_midway("progress")
    assert [e.step for e in seen if isinstance(e, Step)] == ["copy"]
    assert not any(isinstance(e, Progress) for e in seen)
    result = seen[-1]
    assert isinstance(result, DossierResult) and not result.ok and "Cancelled" in result.message
