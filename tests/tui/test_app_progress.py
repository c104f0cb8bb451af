"""Progress screen: tailing a job's events file, re-attaching at start, cancel, report, quit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Input

from msde_tui.app import MsdeApp
from msde_tui.engine import events as ev
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.plans import WizardPlan
from msde_tui.engine.runs import jobs
from msde_tui.screens.connection import ConnectionScreen
from msde_tui.screens.dialogs import ConfirmScreen
from msde_tui.screens.jobs_screen import JobsScreen
from msde_tui.screens.progress import FAILED, OK, RUNNING, WAITING, JobView, ProgressScreen
from tests.tui.app_support import screen_text, wait_for, wait_screen, wait_text

PLAN = WizardPlan(
    operation="backup",
    directory="/backups",
    dossiers=(
        Dossier("001", "SOC", "Société A", location="001SOC.sqlite"),
        Dossier("002", "BRA", "Brasserie B", location="002BRA.sqlite"),
    ),
)


def test_job_view_folds_events_into_rows() -> None:
    view = JobView(["001SOC", "002BRA"])
    view.apply(10.0, ev.Started("001SOC", "backup", ("backup", "verify")))
    view.apply(11.0, ev.Step("001SOC", "backup"))
    view.apply(12.0, ev.Progress("001SOC", percent=25.0, bytes_done=2 * 1024**2, bytes_total=8 * 1024**2))
    row = view.rows["001SOC"]
    assert (row.state, row.percent) == (RUNNING, 25.0)
    assert row.mb_per_s == 2.0  # 2 MB in 1 s of this step
    assert row.eta(12.0) == 3.0  # 1 s for 25 %: 3 s left
    assert view.rows["002BRA"].state == WAITING
    view.apply(13.0, ev.ServerMessage("001SOC", "25 percent processed.", number=3211))
    view.apply(14.0, ev.DossierResult("001SOC", ok=True, verified=True, files=("/b/x.bak",)))
    view.apply(15.0, ev.DossierResult("002BRA", ok=False, message="Disk full.", hint="Free space."))
    assert view.rows["001SOC"].state == OK and view.rows["002BRA"].state == FAILED
    assert any("[3211] 25 percent processed." in line for line in view.log)
    assert any("FAILED - Disk full. Free space." in line for line in view.log)
    assert view.counts() == (1, 1)
    view2 = JobView(["a.bak"])
    view2.finish({"state": "cancelled", "dossiers": {}})
    assert view2.rows["a.bak"].state == "CANCELLED"


@pytest.fixture
def runner():  # type: ignore[no-untyped-def]
    """A stand-in runner process (it only sleeps): the job's pid is alive while it lives."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child
    child.kill()
    child.wait()


def _running_job(home: Path, pid: int) -> jobs.JobInfo:
    """A job directory as the runner writes it."""
    directory = jobs.jobs_dir(home) / "20260101-120000-abcd"
    directory.mkdir(parents=True)
    spec = {"id": directory.name, "operation": "backup", "created_at": "2026-01-01T12:00:00",
            "subjects": ["001SOC", "002BRA"], "plan": jobs.plan_to_dict(PLAN)}
    (directory / jobs.SPEC).write_text(json.dumps(spec))
    (directory / jobs.EVENTS).touch()
    (directory / jobs.PID).write_text(str(pid))
    (directory / jobs.HEARTBEAT).write_text("x")
    return jobs.load_job(home, directory.name)


def _append(job: jobs.JobInfo, *events: ev.Event) -> None:
    with open(job.events_file, "a", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(jobs.event_to_dict(event)) + "\n")


async def test_reattach_at_start_follows_the_job_to_its_end(home: Path, runner) -> None:
    job = _running_job(home, runner.pid)
    app = MsdeApp(home=home, lang="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, JobsScreen)
        await wait_text(pilot, "RUNNING")
        assert job.id in screen_text(app)
        await pilot.press("enter")
        await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "WAITING")
        text = screen_text(app)
        assert "Step 5 of 5: Progress" in text and "Local (embedded)" in text
        await pilot.press("f2")  # Back while running: refused, says why
        await wait_text(pilot, "F8 cancels it")
        assert isinstance(app.screen, ProgressScreen)
        _append(
            job,
            ev.Started("001SOC", "backup", ("backup", "verify")),
            ev.Step("001SOC", "backup"),
            ev.Progress("001SOC", percent=50.0),
            ev.ServerMessage("001SOC", "50 percent processed.", number=3211),
        )
        await wait_text(pilot, "[3211] 50 percent processed.")
        text = screen_text(app)
        assert "RUNNING" in text and " 50 " in text
        assert "[######......]" in text or "[██████░░░░░░]" in text  # a bar in characters
        await pilot.press("ctrl+q")  # work runs: asks first
        await wait_screen(pilot, ConfirmScreen)
        assert "still running" in screen_text(app)
        await pilot.press("n")
        await wait_screen(pilot, ProgressScreen)
        _append(
            job,
            ev.DossierResult("001SOC", ok=True, verified=True, files=("/backups/001SOC_x.sqlite.bak",)),
            ev.DossierResult("002BRA", ok=False, message="The file is locked.", hint="Close it."),
        )
        result = {"state": "failed", "dossiers": {"001SOC": {"ok": True}, "002BRA": {"ok": False}}}
        jobs.write_atomic(job.directory / jobs.RESULT, json.dumps(result).encode())
        await wait_text(pilot, "Result: FAILED. 1 OK, 1 not OK.")
        text = screen_text(app)
        assert "The file is locked." in text
        assert jobs.load_job(home, job.id).seen
        await pilot.press("f6")
        target = home / "report.txt"
        app.screen.query_one("#save-path", Input).value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, target.exists)
        report = target.read_text()
        assert "001SOC: OK (verified)" in report and "/backups/001SOC_x.sqlite.bak" in report
        assert "002BRA: FAILED - The file is locked. Close it." in report
        await pilot.press("enter")  # new operation: back to the wizard
        await wait_screen(pilot, ConnectionScreen)
    app2 = MsdeApp(home=home, lang="en")
    async with app2.run_test(size=(80, 24)) as pilot:  # seen: not offered again
        await wait_screen(pilot, ConnectionScreen)


@pytest.mark.posix_only  # the stand-in runner only stops on SIGTERM; Windows' runner reads the file
async def test_cancel_asks_then_asks_the_job_to_stop(home: Path, runner) -> None:
    job = _running_job(home, runner.pid)
    app = MsdeApp(home=home, lang="fr")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, JobsScreen)
        await wait_text(pilot, "EN COURS")
        await pilot.press("enter")
        await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "EN ATTENTE")
        await pilot.press("f8")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("n")
        await wait_screen(pilot, ProgressScreen)
        assert not (job.directory / jobs.CANCEL).exists()
        await pilot.press("f8")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("o")  # "oui"
        await wait_for(pilot, lambda: (job.directory / jobs.CANCEL).exists())
        assert runner.wait(timeout=5) != 0  # the runner got SIGTERM (this stand-in just dies)
        await wait_text(pilot, "Résultat : INTERROMPU")
        assert "INTERROMPU" in screen_text(app).split("Dossier", 1)[1]  # rows say it in words


async def test_interrupted_job_is_shown_as_interrupted(home: Path, runner) -> None:
    _running_job(home, runner.pid)
    runner.kill()
    runner.wait()
    app = MsdeApp(home=home, lang="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, JobsScreen)
        await wait_text(pilot, "INTERRUPTED")
        await pilot.press("enter")
        await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "Result: INTERRUPTED")
        assert "ended without a result" in screen_text(app)
