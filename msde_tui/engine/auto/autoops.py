"""The automatic run as a runner operation (``runs.registry``): the wizard's job, ``msde auto``
and the scheduler's runs all go through it and report the same events.

``run_auto`` reports through a callback; here its events become the operation's stream: per
dossier ``Started``, the backup's steps and progress when one is due, and one
``DossierResult``; then one result for the run itself (``auto``), marked
``details[events.RUN_SUMMARY]`` so that it is never shown or counted as a dossier, whose
``details["report"]`` is the run's report (what ``--json`` prints). The run writes its own audit-log line (only when
it did something), so this operation is not wrapped by ``registry.audited``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from msde_tui.engine.catalog import Catalog
from msde_tui.engine.events import RUN_SUMMARY, DossierResult, Event
from msde_tui.engine.plans import AutoRunPlan
from msde_tui.engine.runs import registry as runner
from msde_tui.engine.runs.registry import Description, Line, OperationDef
from msde_tui.i18n import N_, _

RUN = "auto"  # the label of the run's own result (never shown: it is not a dossier)


async def run_auto_now(plan: AutoRunPlan, home: Path) -> AsyncIterator[Event]:
    """One automatic run, its events as they happen."""
    from msde_tui.engine.auto import run as auto  # late: the run loads the backup engine

    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    task = asyncio.create_task(auto.run_auto(
        home, only=list(plan.only) or None, dry_run=plan.dry_run, emit=queue.put_nowait))
    task.add_done_callback(lambda _task: queue.put_nowait(None))
    try:
        while (event := await queue.get()) is not None:
            yield event
    finally:
        if not task.done():  # the consumer stopped (a cancelled job): the run stops too
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    report = task.result()  # Busy (another run holds the lock) and the like are raised here
    yield DossierResult(RUN, ok=report.ok, message=f"{len(report.dossiers)} dossier(s) looked at.",
                        details={"report": report.to_json(), RUN_SUMMARY: True})


def describe_auto(plan: AutoRunPlan, home: Path) -> Description:
    codes = ", ".join(plan.only) if plan.only else _("every dossier of the list")
    count = len(plan.only) if plan.only else len(Catalog(home).dossiers())
    line = Line(_("{count} dossier(s)").format(count=count), _("apply the automatic-backup policy to {codes} now: a verified backup where it is "
                       "due, then the oldest backups beyond the number kept are DELETED").format(codes=codes))
    return Description((line,), _("msde auto (see 'msde auto --dry-run' for each decision)") + "\n", ())


runner.register(OperationDef("auto_run", AutoRunPlan, run_auto_now, describe_auto, lambda p: tuple(p.only),
                            scope=N_("every dossier of the list")))
