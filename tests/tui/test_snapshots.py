"""Snapshots (pytest-textual-snapshot) of every wizard screen at 80x24, in English and French.

What makes them deterministic:
- one fixed data directory, SNAP_HOME, shown in paths on several screens; a lock file keeps two
  pytest processes on this machine from using it at the same time;
- the demo dossiers, their backups and the finished job are built with the clock frozen at
  FROZEN (file names, dates and sizes come out the same), and every app runs with the date
  fixed too (screens propose years from today's date);
- the finished job is written by hand with a fixed id, fixed event times and TZ=UTC, so the
  progress screen shows a run's end with fixed times and no live clock;
- cursors do not blink (set before each screenshot), animations are off in the app;
- the terminal's environment is fixed (truecolor, no NO_COLOR, box borders), so the step
  screens shown alone get the same theme as the full wizard on any machine.

Update after a deliberate screen change: ``pytest tests/tui/test_snapshots.py --snapshot-update``,
then look at the SVG files (tests/__snapshots__/test_snapshots/) before committing them.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import filelock
import pytest
import time_machine
from textual.pilot import Pilot
from textual.widgets import Input

from msde_tui.app import MsdeApp
from msde_tui.engine import events as ev
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.plans import Connection, WizardPlan
from msde_tui.engine.runs import jobs
from msde_tui.screens import registry
from msde_tui.screens.backups import BackupsScreen
from msde_tui.screens.browse import BrowseScreen
from msde_tui.screens.connection import ConnectionScreen
from msde_tui.screens.dossiers import DossiersScreen
from msde_tui.screens.jobs_screen import JobsScreen
from msde_tui.screens.operation import OperationScreen
from msde_tui.screens.progress import ProgressScreen
from msde_tui.screens.registry import StepPosition
from msde_tui.screens.summary import SummaryScreen
from tests.tui.app_support import StepHost, wait_for, wait_screen, wait_text

SNAP_ROOT = Path("/tmp/msde-snapshots")
SNAP_HOME = SNAP_ROOT / "home"
LOCK = Path("/tmp/msde-snapshots.lock")
FROZEN = datetime(2026, 3, 14, 9, 30, 0, tzinfo=UTC)
JOB_ID = "20260314-093000-beef"
SIZE = (80, 24)
LANGS = ("en", "fr")

pytestmark = pytest.mark.timeout(300)

# The snapshots show POSIX paths under /tmp (and time.tzset is POSIX).
pytestmark = [pytestmark, pytest.mark.posix_only]


def _build(home: Path) -> None:
    """Two demo dossiers, a backup of each in <home>/backups, one finished backup job."""
    from msde_tui.engine.plans import BackupOptions, BackupPlan
    from msde_tui.engine.runs.runner import collect, run_backup

    with time_machine.travel(FROZEN, tick=False):
        create_demo(home, dossiers=2, years=3, lines=300, seed=0)
        backups = home / "backups"
        backups.mkdir()
        dossiers = tuple(Catalog(home).dossiers())
        plan = BackupPlan(Connection(), dossiers, str(backups), BackupOptions())
        results = [e for e in collect(run_backup(plan, home=home)) if isinstance(e, ev.DossierResult)]
        assert [r.ok for r in results] == [True, True]
    _finished_job(home, dossiers)


def _finished_job(home: Path, dossiers: tuple[Any, ...]) -> None:
    """A backup job as the runner leaves it at its end: one dossier OK, one FAILED."""
    plan = WizardPlan(operation="backup", directory=str(home / "backups"), dossiers=dossiers)
    directory = jobs.jobs_dir(home) / JOB_ID
    directory.mkdir(parents=True)
    spec = {"id": JOB_ID, "operation": "backup", "created_at": "2026-03-14T09:30:00",
            "subjects": ["001SOC", "002BRA"], "plan": jobs.plan_to_dict(plan)}
    (directory / jobs.SPEC).write_text(json.dumps(spec))
    start = FROZEN.timestamp()
    timeline: list[tuple[float, ev.Event]] = [
        (start, ev.Started("001SOC", "backup", ("backup", "verify"))),
        (start, ev.Step("001SOC", "backup")),
        (start + 2, ev.Progress("001SOC", percent=50.0, bytes_done=4 * 1024**2, bytes_total=8 * 1024**2)),
        (start + 2, ev.ServerMessage("001SOC", "50 percent processed.", number=3211)),
        (start + 4, ev.Progress("001SOC", percent=100.0, bytes_done=8 * 1024**2, bytes_total=8 * 1024**2)),
        (start + 5, ev.Step("001SOC", "verify")),
        (start + 7, ev.DossierResult("001SOC", ok=True, verified=True,
                                     files=(str(home / "backups" / "001SOC.bak"),))),
        (start + 7, ev.Started("002BRA", "backup", ("backup", "verify"))),
        (start + 8, ev.DossierResult("002BRA", ok=False, message="The file is locked.",
                                     hint="Close the accounting program and try again.")),
    ]
    with open(directory / jobs.EVENTS, "w", encoding="utf-8") as handle:
        for at, event in timeline:
            handle.write(json.dumps(jobs.event_to_dict(event, at)) + "\n")
    result = {"state": "failed", "dossiers": {"001SOC": {"ok": True}, "002BRA": {"ok": False}}}
    (directory / jobs.RESULT).write_text(json.dumps(result))


@pytest.fixture(scope="module")
def snap_home() -> Iterator[Path]:
    """The fixed data directory, rebuilt for this module, held under a lock."""
    with filelock.FileLock(str(LOCK)), pytest.MonkeyPatch.context() as mp:
        try:
            shutil.rmtree(SNAP_ROOT, ignore_errors=True)
            SNAP_HOME.mkdir(parents=True)
            mp.setenv("MSDE_HOME", str(SNAP_HOME))
            mp.setenv("TZ", "UTC")
            # The same look whatever terminal runs the tests (CI, tmux, a Windows console).
            for name in ("NO_COLOR", "FORCE_COLOR", "TEXTUAL_THEME", "WT_SESSION"):
                mp.delenv(name, raising=False)
            mp.setenv("TERM", "xterm-256color")
            mp.setenv("COLORTERM", "truecolor")
            mp.setenv("MSDE_ASCII", "0")
            time.tzset()
            registry.load_extensions()
            _build(SNAP_HOME)
            yield SNAP_HOME
        finally:
            shutil.rmtree(SNAP_ROOT, ignore_errors=True)
    time.tzset()


@pytest.fixture
def frozen_date(snap_home: Path) -> Iterator[None]:
    """Today is FROZEN's date while the app runs (the clock still ticks for Textual)."""
    with time_machine.travel(FROZEN, tick=True):
        yield


def _no_blink(pilot: Pilot) -> None:
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


Before = Callable[[Pilot], Any]


def _snap(snap_compare: Any, app: Any, before: Before) -> None:
    async def run_before(pilot: Pilot) -> None:
        await before(pilot)
        _no_blink(pilot)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def _wizard(home: Path, lang: str) -> MsdeApp:
    return MsdeApp(home=home, lang=lang, offer_jobs=False, ascii_borders=False, ansi_theme=False)


async def _to_operation(pilot: Pilot, home: Path) -> OperationScreen:
    await wait_screen(pilot, ConnectionScreen)
    await pilot.press("enter")  # Local (embedded)
    screen = await wait_screen(pilot, OperationScreen)
    field = screen.query_one("#directory", Input)
    await wait_for(pilot, lambda: field.value == str(home / "backups"))
    return screen  # type: ignore[return-value]


# -- the built-in flow, driven from the first screen


@pytest.mark.parametrize("lang", LANGS)
def test_connection(snap_compare: Any, snap_home: Path, frozen_date: None, lang: str) -> None:
    async def before(pilot: Pilot) -> None:
        await wait_screen(pilot, ConnectionScreen)

    _snap(snap_compare, _wizard(snap_home, lang), before)


@pytest.mark.parametrize("lang", LANGS)
def test_help_dialog(snap_compare: Any, snap_home: Path, frozen_date: None, lang: str) -> None:
    async def before(pilot: Pilot) -> None:
        screen = await wait_screen(pilot, ConnectionScreen)
        await pilot.press("f1")
        await wait_for(pilot, lambda: pilot.app.screen is not screen)

    _snap(snap_compare, _wizard(snap_home, lang), before)


@pytest.mark.parametrize("lang", LANGS)
def test_operation(snap_compare: Any, snap_home: Path, frozen_date: None, lang: str) -> None:
    async def before(pilot: Pilot) -> None:
        await _to_operation(pilot, snap_home)

    _snap(snap_compare, _wizard(snap_home, lang), before)


@pytest.mark.parametrize("lang", LANGS)
def test_directory_browser(snap_compare: Any, snap_home: Path, frozen_date: None, lang: str) -> None:
    async def before(pilot: Pilot) -> None:
        await _to_operation(pilot, snap_home)
        await pilot.press("f4")
        await wait_screen(pilot, BrowseScreen)
        await wait_text(pilot, "001SOC")

    _snap(snap_compare, _wizard(snap_home, lang), before)


@pytest.mark.parametrize("lang", LANGS)
def test_dossier_list(snap_compare: Any, snap_home: Path, frozen_date: None, lang: str) -> None:
    async def before(pilot: Pilot) -> None:
        await _to_operation(pilot, snap_home)
        await pilot.press("enter")
        await wait_screen(pilot, DossiersScreen)
        await wait_text(pilot, "002")
        await pilot.press("space")  # one ticked: the ticks show

    _snap(snap_compare, _wizard(snap_home, lang), before)


@pytest.mark.parametrize("lang", LANGS)
def test_summary(snap_compare: Any, snap_home: Path, frozen_date: None, lang: str) -> None:
    async def before(pilot: Pilot) -> None:
        await _to_operation(pilot, snap_home)
        await pilot.press("enter")
        await wait_screen(pilot, DossiersScreen)
        await wait_text(pilot, "002")
        await pilot.press("a")
        await pilot.press("enter")
        await wait_screen(pilot, SummaryScreen)
        await wait_text(pilot, "002BRA")

    _snap(snap_compare, _wizard(snap_home, lang), before)


@pytest.mark.parametrize("lang", LANGS)
def test_backup_list(snap_compare: Any, snap_home: Path, frozen_date: None, lang: str) -> None:
    async def before(pilot: Pilot) -> None:
        await _to_operation(pilot, snap_home)
        await pilot.press("down")  # Restore
        await pilot.press("enter")
        await wait_screen(pilot, BackupsScreen)
        await wait_text(pilot, "002BRA")

    _snap(snap_compare, _wizard(snap_home, lang), before)


# -- the end of a run, and the jobs list


@pytest.mark.parametrize("lang", LANGS)
def test_progress_at_the_end(snap_compare: Any, snap_home: Path, frozen_date: None, lang: str) -> None:
    def factory(ctx: Any) -> ProgressScreen:
        job = jobs.load_job(snap_home, JOB_ID)
        plan = jobs.plan_from_dict(job.plan)
        return ProgressScreen(ctx, plan=plan, position=StepPosition(5, 5), job=job)

    async def before(pilot: Pilot) -> None:
        screen = await wait_screen(pilot, ProgressScreen)
        await wait_for(pilot, lambda: screen.finished)  # type: ignore[attr-defined]

    _snap(snap_compare, StepHost.make(snap_home, factory, lang=lang), before)


@pytest.mark.parametrize("lang", LANGS)
def test_jobs_list(snap_compare: Any, snap_home: Path, frozen_date: None, lang: str) -> None:
    app = _wizard(snap_home, lang)

    async def before(pilot: Pilot) -> None:
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("f5")
        await wait_screen(pilot, JobsScreen)
        await wait_text(pilot, JOB_ID)

    _snap(snap_compare, app, before)


# -- each extension operation's first screen, shown alone as the wizard shows it (step 3 of 3)

EXTENSIONS = ("auto", "archive", "unarchive", "cut", "audit", "export", "export_partial",
              "import", "apply")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("operation", EXTENSIONS)
def test_extension_first_screen(
    snap_compare: Any, snap_home: Path, frozen_date: None, operation: str, lang: str
) -> None:
    step = registry.get(operation).steps[0]
    plan = WizardPlan(connection=Connection(), operation=operation,
                      directory=str(snap_home / "backups"))

    def factory(ctx: Any) -> Any:
        return step(ctx, plan, StepPosition(3, 3))

    async def before(pilot: Pilot) -> None:
        await wait_for(pilot, lambda: len(pilot.app.screen_stack) > 1)
        await wait_for(pilot, lambda: not getattr(pilot.app.screen, "busy_reason", None))
        await pilot.pause(0.2)

    _snap(snap_compare, StepHost.make(snap_home, factory, lang=lang), before)


def test_the_fixed_home_is_the_one_shown(snap_home: Path) -> None:
    """The snapshots show SNAP_HOME: a run elsewhere would not match them."""
    assert os.environ["MSDE_HOME"] == str(snap_home)
    assert [d.number for d in Catalog(snap_home).dossiers()] == ["001", "002"]
