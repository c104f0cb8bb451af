"""Every operation of engine.runner walked through the wizard by keyboard alone, at 80x24, from
the connection screen to its result (a real detached job), on embedded dossiers.

For each: the form returns a plan and changes nothing; a summary is shown before any file or
dossier changes; going back from the summary leaves every file byte-for-byte as it was (and the
form shows the answers again); the operations that change data need the dossier codes typed;
the job's result is the one the same plan gives when run by the engine directly (what the CLI
runs), on a twin of the data directory.
(Backup, restore and verify walk the same path in tests/tui/test_app_embedded.py.)
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import shutil
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input
from typer.testing import CliRunner

from msde_tui.app import MsdeApp
from msde_tui.cli import app as cli_app
from msde_tui.engine import auditlog
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.events import DossierResult
from msde_tui.engine.plans import (
    ArchivePlan,
    AuditPlan,
    CutPlan,
    ExportCopyPlan,
    PackPlan,
    WizardPlan,
)
from msde_tui.engine.runs import jobs
from msde_tui.engine.runs import registry as runner
from msde_tui.engine.runs.runner import collect_async
from msde_tui.screens.connection import ConnectionScreen
from msde_tui.screens.operation import OperationScreen
from msde_tui.screens.progress import ProgressScreen
from msde_tui.screens.summary import SummaryScreen
from tests.tui.app_support import screen_text, type_text, wait_for, wait_screen, wait_text

Keys = Callable[[Pilot, Screen], Awaitable[None]]


def snapshot(*roots: Path) -> dict[str, str]:
    """Every file under ``roots`` (jobs and reports aside) -> its SHA-256."""
    found: dict[str, str] = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not {"jobs", "reports"} & set(path.relative_to(root).parts):
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


async def focus_to(pilot: Pilot, widget_id: str) -> None:
    """Tab until the widget ``#widget_id`` has the focus (keyboard only)."""
    for _ in range(16):
        focused = pilot.app.focused
        if focused is not None and focused.id == widget_id:
            return
        await pilot.press("tab")
    raise AssertionError(f"no focusable #{widget_id}")


async def set_field(pilot: Pilot, field_id: str, text: str) -> None:
    """Tab to the field, clear it and type ``text`` (keyboard only)."""
    await focus_to(pilot, field_id)
    await pilot.press("end", "ctrl+u")
    await type_text(pilot, text)


async def walk(
    app: MsdeApp, pilot: Pilot, operation: str, form_keys: Keys, roots: tuple[Path, ...],
    directory: Path | None = None,
) -> tuple[SummaryScreen, jobs.JobInfo]:
    await wait_screen(pilot, ConnectionScreen)
    await pilot.press("enter")  # Local (embedded)
    screen = await wait_screen(pilot, OperationScreen)
    for _ in range(20):
        if screen.operation_id == operation:  # type: ignore[attr-defined]
            break
        await pilot.press("down")
    assert screen.operation_id == operation  # type: ignore[attr-defined]
    if directory is not None:
        await set_field(pilot, "directory", str(directory))
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, OperationScreen))
    form = app.screen
    form_type = type(form)
    if not isinstance(form, SummaryScreen):
        await pilot.pause(0.3)  # the form's lists fill in a worker
        await form_keys(pilot, form)
        before = snapshot(*roots)
        await pilot.press("enter")
    else:
        before = snapshot(*roots)
    summary = await wait_screen(pilot, SummaryScreen)
    await wait_for(pilot, lambda: summary.summary is not None, timeout=30)  # type: ignore[attr-defined]
    assert snapshot(*roots) == before, "the summary came after a change"
    await pilot.press("f2")  # Back: nothing written, the answers kept
    back = await wait_screen(pilot, form_type if form_type is not SummaryScreen else OperationScreen)
    await pilot.pause(0.3)
    assert snapshot(*roots) == before, "going back from the summary changed a file"
    plan = app.plan
    await pilot.press("enter")  # the same answers again
    summary = await wait_screen(pilot, SummaryScreen)
    await wait_for(pilot, lambda: summary.summary is not None, timeout=30)  # type: ignore[attr-defined]
    assert app.screen.plan == plan if back is not None else True  # type: ignore[attr-defined]
    codes = summary.confirm_codes  # type: ignore[attr-defined]
    if codes:
        await pilot.press("enter")  # nothing typed: refused, nothing changed
        await pilot.pause()
        assert isinstance(app.screen, SummaryScreen) and snapshot(*roots) == before
        for index, code in enumerate(codes):
            if index:
                await pilot.press("tab")
            await type_text(pilot, code)
    await pilot.press("enter")
    progress = await wait_screen(pilot, ProgressScreen)
    await wait_text(pilot, "Result:", timeout=180)
    assert "Result: OK" in screen_text(app), screen_text(app)
    job = jobs.load_job(app.home, progress.job.id)  # type: ignore[attr-defined]
    return summary, job  # type: ignore[return-value]


def twin(home: Path, tmp_path: Path) -> Path:
    """A copy of the data directory made before the operation: the engine runs the plan there."""
    copy = tmp_path / "twin"
    shutil.copytree(home, copy)
    return copy


def outcome(results: list[DossierResult] | dict[str, dict[str, object]]) -> dict[str, bool]:
    if isinstance(results, dict):
        return {k: bool(v["ok"]) for k, v in results.items()}
    return {r.dossier: r.ok for r in results}


def cli_argv(plan: object, directory: str) -> list[list[str]]:
    """The ``msde`` commands that do what ``plan`` does (its directory replaced)."""
    if isinstance(plan, CutPlan):
        return [["cut", plan.dossier, "--keep-from", plan.keep_from]]
    if isinstance(plan, PackPlan):
        return [["pack", code, "--dir", directory] + (["--partial"] if plan.partial else []) for code in plan.dossiers]
    if isinstance(plan, ArchivePlan):
        return [["archive", code, "--dir", directory, "--years", ",".join(years)] for code, years in plan.years]
    if isinstance(plan, ExportCopyPlan):
        return [["export", code, "--dir", directory] for code in plan.dossiers]
    if isinstance(plan, AuditPlan):
        return [["audit", plan.dossier, "--years", ",".join(plan.years), "--dir", directory]
                + (["--fec"] if plan.fec else [])]
    return []


async def same_as_engine(job: jobs.JobInfo, home: Path, plan: object) -> None:
    """The same plan on the twin data directory: by ``msde`` when it has a command for it (what
    a technician would type), else by the engine's runner; the same outcome per dossier."""
    directory = ""
    if getattr(plan, "directory", ""):
        twin_out = home.parent / "twin-out"
        twin_out.mkdir(exist_ok=True)
        directory = str(twin_out)
        plan = dataclasses.replace(plan, directory=directory)  # type: ignore[type-var]
    commands = cli_argv(plan, directory)
    if commands:
        outcomes: dict[str, bool] = {}
        for argv, subject in zip(commands, runner.subjects(plan), strict=True):
            done = await asyncio.to_thread(
                CliRunner().invoke, cli_app, ["--home", str(home), "--json", *argv])
            outcomes[subject] = done.exit_code == 0
            assert done.exit_code == 0, done.output
            if isinstance(plan, CutPlan):
                job_years = job.result["dossiers"][subject]["details"]["moved_years"]  # type: ignore[index]
                assert json.loads(done.output)["moved_years"] == job_years
        assert outcome(job.result["dossiers"]) == outcomes  # type: ignore[index]
        return
    events = await collect_async(runner.run(plan, home))
    direct = [e for e in events if isinstance(e, DossierResult)]
    assert outcome(job.result["dossiers"]) == outcome(direct)  # type: ignore[index]
    assert all(r.ok for r in direct)


@pytest.fixture
def demo(home: Path) -> Path:
    create_demo(home, dossiers=2, years=9, lines=200)
    return home


async def test_archive_is_summarised_confirmed_and_run_as_a_job(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "paf"
    out.mkdir()

    async def keys(pilot: Pilot, form: Screen) -> None:
        pass  # the years ended 7 years ago or more are ticked for every dossier

    twin_home = twin(demo, tmp_path)
    app = MsdeApp(home=demo, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        summary, job = await walk(app, pilot, "archive", keys, (demo, out), directory=out)
        assert summary.confirm_codes == ("001SOC", "002BRA")
    plan = app.plan.op
    await same_as_engine(job, twin_home, plan)
    assert [c for c, _y in plan.years] == ["001SOC", "002BRA"]
    assert len(list(out.glob("*.paf"))) == 2
    assert auditlog.read(demo)[-1]["operation"] == "archive"

    async def unarchive_keys(pilot: Pilot, form: Screen) -> None:
        await focus_to(pilot, "years")
        await pilot.press("a")  # every archived year
        await focus_to(pilot, "delete")
        await pilot.press("space")  # and delete the PAFs afterwards

    app = MsdeApp(home=demo, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        summary, job = await walk(app, pilot, "unarchive", unarchive_keys, (demo, out), directory=out)
        assert set(summary.confirm_codes) == {"001SOC", "002BRA"}
    assert not list(out.glob("*.paf")) and job.state == jobs.OK
    assert auditlog.read(demo)[-1]["operation"] == "unarchive"


async def test_cut_pack_import_apply_unarchive_audit_and_export_copy(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    keep = str(date.today().year - 4)

    async def cut_keys(pilot: Pilot, form: Screen) -> None:
        await focus_to(pilot, "dossiers")
        await pilot.press("space")  # the first dossier
        await set_field(pilot, "keep-from", keep)

    async def pbf_keys(pilot: Pilot, form: Screen) -> None:
        await set_field(pilot, "directory", str(out))
        await focus_to(pilot, "dossiers")
        await pilot.press("space", "down", "space")  # 001SOC and 002BRA
        await focus_to(pilot, "pbf")
        await pilot.press("space")  # Backup files (*.pbf)

    async def import_keys(pilot: Pilot, form: Screen) -> None:
        await set_field(pilot, "directory", str(out))
        await wait_for(pilot, lambda: form.entries)  # type: ignore[attr-defined]

    async def copy_keys(pilot: Pilot, form: Screen) -> None:
        await set_field(pilot, "directory", str(out))
        await focus_to(pilot, "dossiers")
        await pilot.press("space")  # the first dossier, as an embedded file

    async def partial_keys(pilot: Pilot, form: Screen) -> None:
        await set_field(pilot, "directory", str(out))
        await focus_to(pilot, "dossiers")
        await pilot.press("down", "space")  # 002BRA: it has a PBF now

    async def audit_keys(pilot: Pilot, form: Screen) -> None:
        await focus_to(pilot, "dossiers")
        await pilot.press("space")
        await set_field(pilot, "years", keep)

    async def apply_keys(pilot: Pilot, form: Screen) -> None:
        await set_field(pilot, "directory", str(out))
        await wait_for(pilot, lambda: form.entries)  # type: ignore[attr-defined]

    twin_home = twin(demo, tmp_path)
    for operation, keys in (
        ("cut", cut_keys),
        ("export", pbf_keys),
    ):
        app = MsdeApp(home=demo, lang="en", offer_jobs=False)
        async with app.run_test(size=(80, 24)) as pilot:
            if operation == "export":
                app.plan = WizardPlan(directory=str(out))
            summary, job = await walk(app, pilot, operation, keys, (demo, out), directory=None)
        await same_as_engine(job, twin_home, app.plan.op)
    assert [d.status for d in Catalog(demo).dossiers()][-1] == "cut"
    assert len(list(out.glob("*.pbf"))) == 2

    for operation, keys in (("import", import_keys), ("export_partial", partial_keys),
                            ("export", copy_keys), ("audit", audit_keys)):
        app = MsdeApp(home=demo, lang="en", offer_jobs=False)
        async with app.run_test(size=(80, 24)) as pilot:
            app.plan = WizardPlan(directory=str(out))
            _summary, job = await walk(app, pilot, operation, keys, (demo, out),
                                       directory=out if operation == "audit" else None)
        if operation in ("export", "audit"):
            await same_as_engine(job, twin_home, app.plan.op)
    assert Catalog(demo).dossiers()[-1].status == "imported"
    assert list(out.glob("*.ptf")) and list(out.glob("E*.sqlite")) and list(out.glob("Admin*.sqlite"))

    app = MsdeApp(home=demo, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.plan = WizardPlan(directory=str(out))
        summary, _job = await walk(app, pilot, "apply", apply_keys, (demo, out))
        assert summary.confirm_codes == (app.plan.op.dossier,)  # the dossier changed is typed


async def test_the_automatic_run_is_a_job_after_its_summary(demo: Path) -> None:
    async def keys(pilot: Pilot, form: Screen) -> None:
        return None

    app = MsdeApp(home=demo, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        _summary, job = await walk(app, pilot, "auto_run", keys, (demo,))
    assert job.state == jobs.OK
    assert {"001SOC", "002BRA"} <= set(job.result["dossiers"])  # type: ignore[index]
    from msde_tui.engine.auto import report

    last = report.load_last_run(demo)  # what the wizard's options screen and 'msde auto' show
    assert last is not None and [d["code"] for d in last["dossiers"]] == ["001SOC", "002BRA"]


def test_plans_round_trip_without_their_secrets() -> None:
    plan = PackPlan(("001SOC",), "/tmp/x", passphrase="open sesame")
    data = runner.plan_to_dict(plan)
    assert "open sesame" not in str(data)
    assert runner.plan_from_dict(data, runner.secrets_of(plan)) == plan
    assert runner.plan_from_dict(data) == PackPlan(("001SOC",), "/tmp/x")


async def test_every_registered_operation_has_a_wizard_path() -> None:
    from msde_tui.screens import registry

    offered = {op.id for op in registry.operations()}
    assert {"archive", "unarchive", "cut", "audit", "export", "export_partial", "import", "apply",
            "auto_run"} <= offered
    for op in registry.operations():
        if op.id in ("backup", "restore", "verify", "auto"):
            continue
        assert registry.summary_step in op.steps and op.steps[-1] is registry.progress_step, op.id
    await asyncio.sleep(0)


async def test_a_cancelled_threaded_operation_gives_its_true_result_then_stops(tmp_path: Path) -> None:
    import threading

    release = threading.Event()
    ran: list[str] = []

    def work(emit: runner.Emit) -> DossierResult:
        release.wait(10)
        ran.append("done")
        return DossierResult("x", ok=True, message="published")

    async def consume(seen: list[object]) -> None:
        async for event in runner.one_by_one(["a", "b"], lambda _i: runner.in_thread("x", "t", (), work)):
            seen.append(event)

    seen: list[object] = []
    task = asyncio.ensure_future(consume(seen))
    await asyncio.sleep(0.2)
    task.cancel()  # while the first item's thread works
    await asyncio.sleep(0.1)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    results = [e for e in seen if isinstance(e, DossierResult)]
    assert [r.message for r in results] == ["published"] and ran == ["done"]  # no second item


def test_every_operation_is_registered_once_with_its_plan_type(home: Path) -> None:
    from msde_tui.engine import plans
    from msde_tui.engine.backends.access.plans import ConvertPlan

    expected = {
        "backup": plans.BackupPlan, "verify": plans.VerifyPlan, "restore": plans.RestorePlan,
        "pack": plans.PackPlan, "export_copy": plans.ExportCopyPlan, "import": plans.ImportPlan,
        "apply": plans.ApplyPlan, "archive": plans.ArchivePlan, "unarchive": plans.UnarchivePlan,
        "cut": plans.CutPlan, "audit": plans.AuditPlan, "auto_run": plans.AutoRunPlan,
        "convert": ConvertPlan,
    }
    assert {name: runner.get(name).plan_type for name in runner.names()} == expected
    verify = plans.VerifyPlan(plans.Connection(), ("/x/001SOC_20260101_000000.sqlite.bak",))
    assert runner.subjects(verify) == ("001SOC_20260101_000000.sqlite.bak",)
    assert runner.describe(verify, home).lines[0].what == "read back and check"


async def test_backup_verify_and_restore_walk_the_same_path(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "backups"
    out.mkdir()

    async def tick_all(pilot: Pilot, form: Screen) -> None:
        await wait_text(pilot, "of 2 ticked")
        await pilot.press("a")
        await wait_text(pilot, "2 of 2 ticked")

    async def tick_newest(pilot: Pilot, form: Screen) -> None:
        await wait_text(pilot, "of 2 ticked")
        await pilot.press("space")
        target = form.query_one("#target", Input)
        await wait_for(pilot, lambda: target.value == "003")  # the first free number

    twin_home = twin(demo, tmp_path)
    results = {}
    for operation, keys in (("backup", tick_all), ("verify", tick_all), ("restore", tick_newest)):
        app = MsdeApp(home=demo, lang="en", offer_jobs=False)
        async with app.run_test(size=(80, 24)) as pilot:
            _summary, job = await walk(app, pilot, operation, keys, (demo, out), directory=out)
        results[operation] = job.result["dossiers"]  # type: ignore[index]
    assert set(results["backup"]) == {"001SOC", "002BRA"}
    assert len(results["verify"]) == 2 and all(r["ok"] for r in results["verify"].values())
    assert Catalog(demo).get("003").status  # restored under the first free number
    done = await asyncio.to_thread(CliRunner().invoke, cli_app, [
        "--home", str(twin_home), "--json", "backup", "001SOC", "002BRA", "--dir", str(tmp_path)])
    assert done.exit_code == 0, done.output  # msde backs up the same dossiers the same way
    assert {r["dossier"] for r in json.loads(done.output)["results"]} == set(results["backup"])


async def test_a_passphrase_reaches_the_job_through_its_pipe_only(demo: Path, tmp_path: Path) -> None:
    from msde_tui.engine.packs.packlisting import is_encrypted

    out = tmp_path / "enc"
    secret = "pass-phrase-s3cret"
    plan = WizardPlan(operation="export", op=PackPlan(("002BRA",), str(out), passphrase=secret))
    job = jobs.start_job(plan, home=demo)
    for _ in range(600):
        if jobs.load_job(demo, job.id).finished:
            break
        await asyncio.sleep(0.2)
    finished = jobs.load_job(demo, job.id)
    assert finished.state == jobs.OK, finished.result
    [pbf] = out.glob("*.pbf")
    assert is_encrypted(pbf)
    for path in [*finished.directory.iterdir(), demo / "audit.log.jsonl"]:
        assert secret not in path.read_text(errors="replace"), path.name
    from msde_tui.engine.packs import packinfo

    assert packinfo.package_info(pbf, passphrase=secret)["dossier"]["code"] == "002BRA"


async def test_a_pbf_pack_reports_how_far_it_is_table_by_table(demo: Path, tmp_path: Path) -> None:
    from msde_tui.engine.events import Progress

    events = await collect_async(runner.run(PackPlan(("001SOC",), str(tmp_path / "o")), demo))
    percents = [e.percent for e in events if isinstance(e, Progress)]
    assert percents == sorted(percents) and len(set(percents)) > 5  # type: ignore[type-var]
    last = [e for e in events if isinstance(e, Progress)][-1]
    assert (last.percent, last.rows_done) == (100.0, last.rows_total) and last.rows_done  # every row read
    assert isinstance(events[-1], DossierResult) and events[-1].ok


async def test_enter_down4_enter_enter_shows_the_archive_summary_and_archives_nothing(demo: Path) -> None:
    """The issue's first report: on a fresh start, Enter, Down x4, Enter, Enter archived two years
    of every dossier. Now that Enter leads to the summary; nothing is written."""
    (demo / "backups").mkdir()
    before = snapshot(demo)
    app = MsdeApp(home=demo, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("enter")
        screen = await wait_screen(pilot, OperationScreen)
        await wait_for(pilot, lambda: screen.query_one("#directory", Input).value)
        await pilot.press("down", "down", "down", "down")
        assert screen.operation_id == "archive"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, OperationScreen))
        await pilot.pause(0.3)
        await pilot.press("enter")
        summary = await wait_screen(pilot, SummaryScreen)
        await wait_for(pilot, lambda: summary.summary is not None)  # type: ignore[attr-defined]
        await pilot.press("enter")  # the codes are not typed: refused
        await pilot.pause(0.5)
        assert isinstance(app.screen, SummaryScreen) and "type each code" in screen_text(app)
    assert snapshot(demo) == before and not list((demo / "backups").iterdir())
