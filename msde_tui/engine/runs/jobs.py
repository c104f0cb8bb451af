"""Detached jobs: long work that outlives the terminal (a dropped SSH or RDP session).

A job lives in ``<home>/jobs/<id>/``::

    spec.json      what to do: the operation and the wizard plan, WITHOUT the password
    pid            the runner's process id
    heartbeat      rewritten every few seconds while the runner lives
    events.jsonl   every engine event as one JSON line, appended and flushed as it happens
    result.json    written atomically at the end: overall state + one result per dossier
    cancel         present when someone asked the job to stop
    seen           present once the wizard has shown the final result to someone
    runner.log     the runner's own stderr (a crash report, never a password)

``start_job`` writes the spec and spawns ``python -m msde_tui.jobrunner ID`` detached from the
terminal (a new session on POSIX, a detached process outside the session's job on Windows:
``msde_tui.osdep``). The password (SQL Server) goes to the
child through its stdin pipe, never through a file or the command line. The wizard and
``msde jobs`` read the directory: a job whose runner is gone without a ``result.json`` is
"interrupted".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from msde_tui.engine import events as ev
from msde_tui.engine.atomic import write_atomic
from msde_tui.engine.errors import BadInput, MsdeError
from msde_tui.engine.plans import WizardPlan
from msde_tui.engine.runs.jobspec import (  # noqa: F401 - also part of this module's interface
    RUNNERS,
    Runner,
    connection_to_dict,
    event_from_dict,
    event_to_dict,
    op_registry,
    plan_from_dict,
    plan_subjects,
    plan_to_dict,
    runner_for,
    to_operation_plan,
)
from msde_tui.osdep import on_stop_request, request_stop, spawn_detached
from msde_tui.osdep import pid_alive as _os_pid_alive

SPEC = "spec.json"
EVENTS = "events.jsonl"
RESULT = "result.json"
PID = "pid"
HEARTBEAT = "heartbeat"
CANCEL = "cancel"
SEEN = "seen"
RUNNER_LOG = "runner.log"
SPEC_VERSION = 1
HEARTBEAT_EVERY_S = 2.0
STALE_AFTER_S = 60.0

# Job states as shown to people (words, never colour alone).
RUNNING = "running"
OK = "ok"
FAILED = "failed"
CANCELLED = "cancelled"
INTERRUPTED = "interrupted"
FINISHED_STATES = (OK, FAILED, CANCELLED)

# Popen handles of the children this process started, so that a finished child is reaped
# (a zombie of our own would look alive).
_CHILDREN: dict[str, subprocess.Popen[bytes]] = {}


# ---------------------------------------------------------------------------------------------
# job records


@dataclass(frozen=True)
class JobInfo:
    id: str
    directory: Path
    operation: str
    created_at: str
    state: str  # running | ok | failed | cancelled | interrupted
    subjects: tuple[str, ...]
    pid: int | None
    result: dict[str, Any] | None
    plan: dict[str, Any]
    seen: bool = False

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def events_file(self) -> Path:
        return self.directory / EVENTS


def jobs_dir(home: Path) -> Path:
    return Path(home) / "jobs"


def new_job_id(now: datetime | None = None) -> str:
    when = now or datetime.now()
    return f"{when:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _check_id(job_id: str) -> str:
    if not job_id or any(c not in "0123456789abcdef-" for c in job_id):
        raise BadInput(f"'{job_id}' is not a job id.", "Run 'msde jobs' to see the job ids.")
    return job_id


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _read_pid(directory: Path) -> int | None:
    try:
        return int((directory / PID).read_text().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int, started_by: float | None = None) -> bool:
    """Whether a process with this id runs (a zombie counts as dead; see ``osdep.pid_alive``)."""
    for job_id, child in list(_CHILDREN.items()):
        if child.pid == pid:
            if child.poll() is not None:
                del _CHILDREN[job_id]
                return False
            return True
    return _os_pid_alive(pid, started_by=started_by)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _age(path: Path) -> float | None:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return None


def job_state(directory: Path) -> tuple[str, dict[str, Any] | None]:
    result = _read_json(directory / RESULT)
    if result is not None:
        state = str(result.get("state", FAILED))
        return (state if state in FINISHED_STATES else FAILED), result
    pid = _read_pid(directory)
    age = _age(directory / HEARTBEAT)
    if pid is None:
        # Between the spec and the pid (a fraction of a second): running, unless that is old.
        spec_age = _age(directory / SPEC)
        return (RUNNING if spec_age is not None and spec_age < 15 else INTERRUPTED), None
    pid_written = _mtime(directory / PID)
    if not pid_alive(pid, started_by=pid_written):
        # The runner may have written result.json between our two reads.
        result = _read_json(directory / RESULT)
        if result is not None:
            return str(result.get("state", FAILED)), result
        return INTERRUPTED, None
    if age is not None and age > STALE_AFTER_S:
        return INTERRUPTED, None
    return RUNNING, None


def load_job(home: Path, job_id: str) -> JobInfo:
    directory = jobs_dir(home) / _check_id(job_id)
    spec = _read_json(directory / SPEC)
    if spec is None:
        raise BadInput(f"No job '{job_id}'.", "Run 'msde jobs' to see the job ids.")
    state, result = job_state(directory)
    plan = spec.get("plan") or {}
    subjects = tuple(spec.get("subjects") or ())
    return JobInfo(
        id=job_id,
        directory=directory,
        operation=str(spec.get("operation", "")),
        created_at=str(spec.get("created_at", "")),
        state=state,
        subjects=subjects,
        pid=_read_pid(directory),
        result=result,
        plan=plan,
        seen=(directory / SEEN).exists(),
    )


def find_job(home: Path, ref: str) -> JobInfo:
    """A job by its id or a unique prefix of it."""
    ref = ref.strip().lower()
    ids = [j.id for j in list_jobs(home)]
    if ref in ids:
        return load_job(home, ref)
    matches = [i for i in ids if i.startswith(ref)]
    if len(matches) == 1:
        return load_job(home, matches[0])
    if not matches:
        raise BadInput(f"No job '{ref}'.", "Run 'msde jobs' to see the job ids.")
    raise BadInput(f"'{ref}' matches several jobs.", "Give more of the job id.")


def list_jobs(home: Path) -> list[JobInfo]:
    """Every job, newest first."""
    root = jobs_dir(home)
    if not root.is_dir():
        return []
    found = []
    for directory in sorted(root.iterdir(), reverse=True):
        if directory.is_dir() and (directory / SPEC).exists():
            try:
                found.append(load_job(home, directory.name))
            except MsdeError:
                continue
    return found


def running_jobs(home: Path) -> list[JobInfo]:
    return [j for j in list_jobs(home) if j.state == RUNNING]


def jobs_to_show(home: Path) -> list[JobInfo]:
    """Jobs someone should see: still running, or ended without anyone seeing the result."""
    return [j for j in list_jobs(home) if j.state == RUNNING or not j.seen]


def mark_seen(job: JobInfo) -> None:
    """Remember that the final result was shown (it is not offered again at start)."""
    if job.state != RUNNING:
        with contextlib.suppress(OSError):
            (job.directory / SEEN).touch()


# ---------------------------------------------------------------------------------------------
# starting, following and cancelling


def start_job(
    plan: WizardPlan,
    *,
    home: Path,
    python: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> JobInfo:
    """Write the job spec and spawn its detached runner. The password goes through a pipe."""
    if runner_for(plan) is None:
        raise BadInput(f"The operation '{plan.operation}' cannot run as a job.")
    if plan.op is not None:
        op_registry().of_plan(plan.op)  # a registered operation's plan, or refused here
    elif plan.operation in ("backup", "verify", "restore"):
        to_operation_plan(plan)  # refuse an incomplete plan before spawning anything
    home = Path(home).resolve()
    job_id = new_job_id()
    directory = jobs_dir(home) / job_id
    directory.mkdir(parents=True, exist_ok=False)
    spec = {
        "version": SPEC_VERSION,
        "id": job_id,
        "operation": plan.operation,
        "created_at": datetime.now().isoformat(timespec="seconds"),
        "subjects": list(plan_subjects(plan)),
        "plan": plan_to_dict(plan),
    }
    write_atomic(directory / SPEC, json.dumps(spec, indent=2, ensure_ascii=False).encode())
    (directory / EVENTS).touch()
    env = dict(os.environ)
    env["MSDE_HOME"] = str(home)
    env.update(extra_env or {})
    command = [python or sys.executable, "-m", "msde_tui.jobrunner", job_id, "--home", str(home)]
    with open(directory / RUNNER_LOG, "wb") as log:
        child = spawn_detached(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
            close_fds=True,
        )
    _CHILDREN[job_id] = child
    # Reaped as soon as it ends, whoever watches it: a finished job must not stay a <defunct>
    # process of the wizard until the wizard quits.
    threading.Thread(target=child.wait, name=f"reap-{job_id}", daemon=True).start()
    assert child.stdin is not None
    try:
        # Line 1: the connection's password; line 2: the plan's secrets (passphrases...) as JSON.
        secrets = op_registry().secrets_of(plan.op) if plan.op is not None else {}
        child.stdin.write(plan.connection.password.encode("utf-8") + b"\n")
        child.stdin.write(json.dumps(secrets).encode("utf-8") + b"\n")
        child.stdin.close()
    except OSError:
        pass  # the runner died at once; its state will show "interrupted" with runner.log
    # The runner writes its pid too (the same number); writing it here means a job never
    # lacks one, even if the runner dies before its first line.
    write_atomic(directory / PID, str(child.pid).encode())
    return load_job(home, job_id)


def request_cancel(home: Path, job_id: str) -> None:
    """Ask a running job to stop (it finishes the current statement safely, then stops)."""
    job = load_job(home, job_id)
    write_atomic(job.directory / CANCEL, b"cancel\n")
    if job.pid and job.state == RUNNING:
        request_stop(job.pid)  # POSIX: SIGTERM; Windows: the runner reads the cancel file


class EventTail:
    """Read the events a job appended since the last call (complete lines only)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self._partial = b""

    def read(self) -> list[tuple[float, ev.Event]]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except OSError:
            return []
        self.offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        found: list[tuple[float, ev.Event]] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except ValueError:
                continue
            event = event_from_dict(raw)
            if event is not None:
                found.append((float(raw.get("t", 0.0)), event))
        return found


def read_events(path: Path) -> list[tuple[float, ev.Event]]:
    return EventTail(path).read()


# ---------------------------------------------------------------------------------------------
# the runner side (called by msde_tui.jobrunner in the detached process)


def _dossier_result_dict(result: ev.DossierResult) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "message": result.message,
        "hint": result.hint,
        "verified": result.verified,
        "files": list(result.files),
        "seconds": result.seconds,
        "details": result.details,
    }


async def run_job(
    home: Path, job_id: str, password: str = "", secrets: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run the job in this process: events to events.jsonl, then result.json. Returns it."""
    home = Path(home)
    directory = jobs_dir(home) / _check_id(job_id)
    spec = _read_json(directory / SPEC)
    if spec is None:
        raise BadInput(f"No job '{job_id}'.")
    write_atomic(directory / PID, str(os.getpid()).encode())
    plan = plan_from_dict(spec.get("plan") or {}, password=password, secrets=secrets)
    runner = runner_for(plan)
    started = time.time()
    results: dict[str, dict[str, Any]] = {}
    error: dict[str, str] | None = None
    cancelled = False

    events_file = open(directory / EVENTS, "a", encoding="utf-8")

    def write(event: ev.Event) -> None:
        events_file.write(json.dumps(event_to_dict(event), ensure_ascii=False, default=str) + "\n")
        events_file.flush()

    def record(event: ev.Event) -> None:
        if isinstance(event, ev.DossierResult):
            results[event.dossier] = _dossier_result_dict(event)
        write(event)

    async def consume() -> None:
        if runner is None:
            raise BadInput(f"The operation '{plan.operation}' cannot run as a job.")
        async for event in runner(plan, home):
            record(event)

    async def heartbeat(task: asyncio.Task[None]) -> None:
        while not task.done():
            (directory / HEARTBEAT).write_text(f"{time.time():.3f}\n")
            if (directory / CANCEL).exists():
                task.cancel()
            await asyncio.sleep(0.25 if (directory / CANCEL).exists() else 0.5)

    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(consume())
    on_stop_request(loop, task.cancel)  # POSIX: SIGTERM cancels, a hang-up is ignored
    beat = asyncio.ensure_future(heartbeat(task))
    try:
        await task
    except asyncio.CancelledError:
        cancelled = True
    except MsdeError as exc:
        error = {"message": exc.message, "hint": exc.hint}
    except Exception as exc:  # the job must always end with a result.json
        error = {"message": f"The job stopped on an unexpected error: {exc!r}", "hint": ""}
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
        events_file.close()

    for subject in spec.get("subjects") or []:
        if subject in results or any(key.endswith(subject) for key in results):
            continue
        if cancelled:
            message, hint = "Cancelled before it finished.", ""
        else:
            message = (error or {}).get("message") or "The job ended before this one was done."
            hint = (error or {}).get("hint", "")
        results[subject] = {
            "ok": False,
            "message": message,
            "hint": hint,
            "verified": False,
            "files": [],
            "seconds": 0.0,
            "details": {},
        }
    if cancelled:
        state = CANCELLED
    elif error is None and results and all(r["ok"] for r in results.values()):
        state = OK
    else:
        state = FAILED
    result = {
        "id": job_id,
        "operation": plan.operation,
        "state": state,
        "started_at": datetime.fromtimestamp(started).isoformat(timespec="seconds"),
        "finished_at": datetime.now().isoformat(timespec="seconds"),
        "seconds": round(time.time() - started, 3),
        "error": error,
        "dossiers": results,
    }
    write_atomic(
        directory / RESULT, json.dumps(result, indent=2, ensure_ascii=False, default=str).encode()
    )
    return result
