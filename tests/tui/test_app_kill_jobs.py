"""An archive, a cut, a PBF pack and a PBF import started in the wizard, then the terminal
killed (SIGHUP then SIGKILL of the wizard's session) while the job runs: each job finishes on
its own, a new wizard and ``msde jobs`` show it finished, and every dossier checks clean.

The "terminal side" is the wizard headless at 80x24 in its own session (as in
tests/tui/test_app_server_flows.py); it walks to the progress screen by keyboard, prints the job id
the moment the job exists, and waits to be killed with its session.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msde_tui.app import MsdeApp
from msde_tui.cli import app as cli_app
from msde_tui.engine.accounting.check import check_dossier
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.backends.embedded import dossier as embedded
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.plans import PackPlan
from msde_tui.engine.runs import jobs
from msde_tui.engine.runs.registry import run
from msde_tui.engine.runs.runner import collect_async
from msde_tui.screens.jobs_screen import JobsScreen
from msde_tui.screens.progress import ProgressScreen
from tests.tui.app_support import screen_text, wait_screen, wait_text

WIZARD = """
import asyncio, sys
from pathlib import Path
from msde_tui.app import MsdeApp
from msde_tui.engine.plans import WizardPlan
from msde_tui.screens.progress import ProgressScreen
from tests.tui import test_app_kill_jobs as kill
from tests.tui.app_support import wait_for, wait_screen

home, operation, out = sys.argv[1:4]

async def main():
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await kill.to_progress(app, pilot, operation, Path(out))
        screen = await wait_screen(pilot, ProgressScreen)
        await wait_for(pilot, lambda: screen.job is not None)
        print(screen.job.id, flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""


async def to_progress(app: MsdeApp, pilot: object, operation: str, out: Path) -> None:
    """Keyboard only: connection -> operation -> its form -> summary (codes typed) -> start."""
    from msde_tui.screens.connection import ConnectionScreen
    from msde_tui.screens.operation import OperationScreen
    from msde_tui.screens.summary import SummaryScreen
    from tests.tui.app_support import type_text, wait_for, wait_screen
    from tests.tui.test_app_operations import focus_to, set_field

    p = pilot
    await wait_screen(p, ConnectionScreen)  # type: ignore[arg-type]
    await p.press("enter")  # type: ignore[attr-defined]
    screen = await wait_screen(p, OperationScreen)  # type: ignore[arg-type]
    wizard_op = {"pack": "export"}.get(operation, operation)
    while screen.operation_id != wizard_op:  # type: ignore[attr-defined]
        await p.press("down")  # type: ignore[attr-defined]
    if operation == "archive":
        await set_field(p, "directory", str(out))  # type: ignore[arg-type]
    await p.press("enter")  # type: ignore[attr-defined]
    await wait_for(p, lambda: not isinstance(app.screen, OperationScreen))  # type: ignore[arg-type]
    await p.pause(0.3)  # type: ignore[attr-defined]
    if operation == "cut":
        await focus_to(p, "dossiers")  # type: ignore[arg-type]
        await p.press("space")  # type: ignore[attr-defined]
        await set_field(p, "keep-from", str(date.today().year - 4))  # type: ignore[arg-type]
    elif operation == "pack":
        await set_field(p, "directory", str(out))  # type: ignore[arg-type]
        await focus_to(p, "dossiers")  # type: ignore[arg-type]
        await p.press("space")  # type: ignore[attr-defined]
        await focus_to(p, "pbf")  # type: ignore[arg-type]
        await p.press("space")  # type: ignore[attr-defined]
    elif operation == "import":
        await set_field(p, "directory", str(out))  # type: ignore[arg-type]
        await wait_for(p, lambda: app.screen.entries)  # type: ignore[arg-type, attr-defined]
    await p.press("enter")  # type: ignore[attr-defined]
    summary = await wait_screen(p, SummaryScreen)  # type: ignore[arg-type]
    await wait_for(p, lambda: summary.summary is not None, timeout=30)  # type: ignore[arg-type, attr-defined]
    for index, code in enumerate(summary.confirm_codes):  # type: ignore[attr-defined]
        if index:
            await p.press("tab")  # type: ignore[attr-defined]
        await type_text(p, code)  # type: ignore[arg-type]
    await p.press("enter")  # type: ignore[attr-defined]


def clean(home: Path) -> None:
    for dossier in Catalog(home).dossiers():
        conn = embedded.connect(dossier.path(home), readonly=True)
        try:
            assert check_dossier(conn) == [], dossier.code
        finally:
            conn.close()


@pytest.mark.skipif(os.name == "nt", reason="process groups and SIGHUP are POSIX")
@pytest.mark.parametrize("operation", ["archive", "cut", "pack", "import"])
async def test_the_job_outlives_its_terminal(operation: str, home: Path, tmp_path: Path) -> None:
    create_demo(home, dossiers=1, years=9, lines=3000)
    out = tmp_path / "out"
    out.mkdir()
    if operation == "import":
        await collect_async(run(PackPlan(("001SOC",), str(out)), home))
    terminal = subprocess.Popen(
        [sys.executable, "-c", WIZARD, str(home), operation, str(out)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
        start_new_session=True,
    )
    try:
        assert terminal.stdout is not None
        job_id = (await asyncio.wait_for(asyncio.to_thread(terminal.stdout.readline), 120)).strip()
        assert job_id, "the wizard did not reach the job"
    finally:
        if terminal.poll() is None:  # the terminal goes away: SIGHUP to its session, then gone
            os.killpg(terminal.pid, signal.SIGHUP)
            os.killpg(terminal.pid, signal.SIGKILL)
        terminal.wait(timeout=10)
    job = jobs.load_job(home, job_id)
    assert job.state == jobs.RUNNING and job.result is None  # killed in the middle of the job
    assert job.pid is not None and job.pid != terminal.pid
    for _ in range(600):
        if jobs.load_job(home, job_id).finished:
            break
        await asyncio.sleep(0.2)
    finished = jobs.load_job(home, job_id)
    assert finished.state == jobs.OK, finished.result

    app = MsdeApp(home=home, lang="en")  # a new wizard, as after logging in again
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, JobsScreen)
        await wait_text(pilot, job_id)
        await pilot.press("enter")
        await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "Result: OK", timeout=30)
        assert "FAILED" not in screen_text(app)
    listed = CliRunner().invoke(cli_app, ["--home", str(home), "--json", "jobs"])
    assert job_id in listed.output, listed.output
    assert '"ok"' in listed.output.lower(), listed.output  # the job's state, from 'msde jobs'
    clean(home)
    if operation == "archive":
        assert len(list(out.glob("*.paf"))) == 1
    elif operation == "cut":
        assert Catalog(home).dossiers()[-1].status == "cut"
    elif operation == "pack":
        assert len(list(out.glob("*.pbf"))) == 1
    else:
        assert Catalog(home).dossiers()[-1].status == "imported"
