"""Detached jobs: specs without passwords, event files, states, and a job that outlives its parent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from msde_tui.engine import events as ev
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BadInput
from msde_tui.engine.plans import Connection, RestoreItem, WizardPlan
from msde_tui.engine.runs import jobs

SECRET = "S3cr3t-pa55!"


def _server_plan() -> WizardPlan:
    return WizardPlan(
        connection=Connection(kind="mssql", host="srv", port=1433, user="sa", password=SECRET),
        operation="restore",
        verify_after=True,
        directory="D:\\Backups",
        data_dir="D:\\Data",
        restore_items=(RestoreItem(source="D:\\Backups\\PW0001SOC_x.bak", number="004", short="SOC"),),
    )


def test_plan_round_trip_leaves_the_password_out() -> None:
    plan = _server_plan()
    data = plan_json = json.dumps(jobs.plan_to_dict(plan))
    assert SECRET not in plan_json
    back = jobs.plan_from_dict(json.loads(data), password="given")
    assert back.connection.password == "given"
    assert back == jobs.plan_from_dict(jobs.plan_to_dict(plan), password="given")
    assert back.restore_items == plan.restore_items
    assert back.data_dir == "D:\\Data"
    backup = WizardPlan(dossiers=(Dossier("001", "SOC", "Société", location="001SOC.sqlite"),))
    assert jobs.plan_from_dict(jobs.plan_to_dict(backup)) == backup


def test_events_round_trip_and_unknown_types_are_skipped(tmp_path: Path) -> None:
    events = [
        ev.Started("001SOC", "backup", ("backup", "verify")),
        ev.Step("001SOC", "backup"),
        ev.Progress("001SOC", percent=50.0, bytes_done=10, bytes_total=20, mb_per_s=1.5),
        ev.ServerMessage("001SOC", "50 percent processed.", number=3211, severity=10),
        ev.Statement("001SOC", "BACKUP DATABASE [x] TO DISK = N'y'"),
        ev.DossierResult("001SOC", ok=True, verified=True, files=("a.bak", "a.bak.json"), details={"n": 1}),
    ]
    path = tmp_path / "events.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(jobs.event_to_dict(event)) + "\n")
        handle.write(json.dumps({"type": "FromTheFuture", "dossier": "x", "t": 1}) + "\n")
        handle.write('{"type": "Step", "dossier": "001SOC", "st')  # a line being written
    tail = jobs.EventTail(path)
    read = [e for _t, e in tail.read()]
    assert read == events
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('ep": "verify", "t": 2}\n')
    assert [e for _t, e in tail.read()] == [ev.Step("001SOC", "verify")]
    assert tail.read() == []


def test_incomplete_plans_and_bad_ids_are_refused(home: Path) -> None:
    with pytest.raises(BadInput):
        jobs.start_job(WizardPlan(operation="backup"), home=home)
    with pytest.raises(BadInput):
        jobs.load_job(home, "../../etc")
    with pytest.raises(BadInput):
        jobs.find_job(home, "nothing")
    assert jobs.list_jobs(home) == []


def _fake_job(home: Path, job_id: str, *, pid: int | None, result: dict | None) -> Path:
    directory = jobs.jobs_dir(home) / job_id
    directory.mkdir(parents=True)
    spec = {"id": job_id, "operation": "backup", "created_at": "2026-01-01T10:00:00",
            "subjects": ["001SOC"], "plan": jobs.plan_to_dict(WizardPlan())}
    (directory / jobs.SPEC).write_text(json.dumps(spec))
    (directory / jobs.EVENTS).touch()
    if pid is not None:
        (directory / jobs.PID).write_text(str(pid))
        (directory / jobs.HEARTBEAT).write_text("1")
    if result is not None:
        (directory / jobs.RESULT).write_text(json.dumps(result))
    return directory


def test_states_running_finished_and_interrupted(home: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _fake_job(home, "20260101-100000-aaaa", pid=dead.pid, result=None)
    _fake_job(home, "20260101-100001-bbbb", pid=os.getpid(), result=None)
    _fake_job(home, "20260101-100002-cccc", pid=dead.pid, result={"state": "ok", "dossiers": {}})
    states = {j.id: j.state for j in jobs.list_jobs(home)}
    assert states == {
        "20260101-100000-aaaa": jobs.INTERRUPTED,
        "20260101-100001-bbbb": jobs.RUNNING,
        "20260101-100002-cccc": jobs.OK,
    }
    assert [j.id for j in jobs.list_jobs(home)][0] == "20260101-100002-cccc"  # newest first
    assert jobs.find_job(home, "20260101-100001").id == "20260101-100001-bbbb"
    stale = jobs.jobs_dir(home) / "20260101-100001-bbbb" / jobs.HEARTBEAT
    old = time.time() - jobs.STALE_AFTER_S - 5
    os.utime(stale, (old, old))
    assert jobs.load_job(home, "20260101-100001-bbbb").state == jobs.INTERRUPTED
    finished = jobs.load_job(home, "20260101-100002-cccc")
    assert not finished.seen and finished in jobs.jobs_to_show(home)
    jobs.mark_seen(finished)
    assert all(j.id != finished.id for j in jobs.jobs_to_show(home))


def _wait_result(directory: Path, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while not (directory / jobs.RESULT).exists():
        assert time.monotonic() < deadline, (directory / jobs.RUNNER_LOG).read_text()
        time.sleep(0.1)
    return json.loads((directory / jobs.RESULT).read_text())


PARENT = """
import sys, time
from pathlib import Path
from msde_tui.engine.runs import jobs
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.plans import WizardPlan
home = Path(sys.argv[1])
plan = WizardPlan(operation="backup", directory=str(home / "backups"),
                  dossiers=tuple(Catalog(home).dossiers()))
job = jobs.start_job(plan, home=home)
print(job.id, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(os.name == "nt", reason="process groups and SIGHUP are POSIX")
def test_job_outlives_its_terminal_and_is_found_again(home: Path) -> None:
    import signal

    from msde_tui.cli import main as msde
    from msde_tui.engine.accounting.demo import create_demo

    create_demo(home, dossiers=2, years=2, lines=200)
    (home / "backups").mkdir()
    # The "terminal side": its own session, like a login shell; killed as a session drop would.
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(home)],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    assert parent.stdout is not None
    job_id = parent.stdout.readline().strip()
    directory = jobs.jobs_dir(home) / job_id
    assert not (directory / jobs.RESULT).exists()
    os.killpg(parent.pid, signal.SIGHUP)
    os.killpg(parent.pid, signal.SIGKILL)
    parent.wait(timeout=10)
    result = _wait_result(directory)
    assert result["state"] == "ok"
    for code in ("001SOC", "002BRA"):
        files = [Path(f) for f in result["dossiers"][code]["files"]]
        assert files and all(f.exists() for f in files)
    job = jobs.load_job(home, job_id)
    assert job.state == jobs.OK and job.subjects == ("001SOC", "002BRA")
    events = [e for _t, e in jobs.EventTail(job.events_file).read()]
    finals = {e.dossier: e.ok for e in events if isinstance(e, ev.DossierResult)}
    assert finals == {"001SOC": True, "002BRA": True}
    assert isinstance(events[0], ev.Started)
    assert msde(["--home", str(home), "--json", "jobs"]) == 0
    assert msde(["--home", str(home), "jobs", "show", job_id[:15]]) == 0


def test_server_job_gets_the_password_through_a_pipe_only(home: Path, tds_server, tmp_path: Path) -> None:
    from msde_tui.engine.accounting.demo import build_dossier

    source = tmp_path / "001SOC.sqlite"
    build_dossier(source, code="001SOC", company="Société", years=1, lines=50)
    tds_server.create_database("PW0001SOC", sqlite_file=source)
    plan = WizardPlan(
        connection=Connection(kind="mssql", host=tds_server.host, port=tds_server.port,
                              user=tds_server.user, password=tds_server.password),
        operation="backup",
        directory=str(tds_server.backup_dir),
        dossiers=(Dossier("001", "SOC", "Société", backend="mssql", location="PW0001SOC"),),
    )
    job = jobs.start_job(plan, home=home)
    result = _wait_result(job.directory)
    assert result["state"] == "ok", result
    assert any(str(f).endswith(".bak") for f in result["dossiers"]["001SOC"]["files"])
    for path in job.directory.iterdir():  # spec, events, result, pid, logs: never the password
        assert tds_server.password not in path.read_text(errors="replace"), path.name
    wrong = jobs.start_job(
        WizardPlan(**{**plan.__dict__, "connection": Connection(
            kind="mssql", host=tds_server.host, port=tds_server.port, user=tds_server.user,
            password="not-it")}),
        home=home,
    )
    failed = _wait_result(wrong.directory)
    assert failed["state"] == "failed"
    assert failed["dossiers"]["001SOC"]["message"]  # in plain words, from the engine


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_a_finished_job_is_not_left_defunct(home: Path) -> None:
    """The wizard starts jobs and lives on: each finished runner is reaped at once (no <defunct>
    process per job until the wizard quits), even when nobody asks whether it is alive."""
    from msde_tui.engine.accounting.demo import create_demo
    from msde_tui.engine.catalog import Catalog

    create_demo(home, dossiers=1, years=1, lines=20)
    (home / "backups").mkdir()
    plan = WizardPlan(operation="backup", directory=str(home / "backups"),
                      dossiers=tuple(Catalog(home).dossiers()))
    job = jobs.start_job(plan, home=home)
    result = _wait_result(job.directory)
    assert result["state"] == "ok", result
    stat = Path(f"/proc/{job.pid}/stat")
    deadline = time.monotonic() + 10
    while stat.exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # a runner that has just written its result is about to end
    assert not stat.exists(), f"job runner {job.pid} left as {stat.read_text()!r}"
