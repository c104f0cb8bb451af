"""Cancelling an operation that runs in a worker thread (import, pack, archive, cut...) stops it
at its next progress report: nothing half-done is kept, and the result says it was cancelled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.events import DossierResult, Event, Progress
from msde_tui.engine.packs.packops import run_import, run_pack
from msde_tui.engine.plans import ImportPlan, PackPlan


async def _consume(events: AsyncIterator[Event], seen: list[Event], moving: asyncio.Event) -> None:
    async for event in events:
        seen.append(event)
        if isinstance(event, Progress) and (event.percent or 0) > 0:
            moving.set()


async def test_a_cancelled_import_lists_nothing_and_leaves_no_file(home: Path, tmp_path: Path) -> None:
    create_demo(home, dossiers=1, years=3, lines=20_000)
    out = tmp_path / "pbf"
    out.mkdir()
    packed = [e async for e in run_pack(PackPlan(dossiers=("001",), directory=str(out)), home)]
    assert next(e for e in packed if isinstance(e, DossierResult)).ok
    pbf = next(out.glob("*.pbf"))
    before_files = sorted(p.name for p in home.iterdir())
    before_list = Catalog(home).dossiers()

    seen: list[Event] = []
    moving = asyncio.Event()
    task = asyncio.ensure_future(_consume(run_import(ImportPlan(file=str(pbf)), home), seen, moving))
    await asyncio.wait([task, asyncio.ensure_future(moving.wait())], return_when=asyncio.FIRST_COMPLETED)
    assert not task.done(), "the import ended before it could be cancelled"
    task.cancel()  # as F8 / SIGTERM of the job cancel the task that consumes the events
    with contextlib.suppress(asyncio.CancelledError):
        await task
    result = next(e for e in seen if isinstance(e, DossierResult))
    assert not result.ok and "Cancelled" in result.message
    assert Catalog(home).dossiers() == before_list
    assert sorted(p.name for p in home.iterdir()) == before_files
