"""CLI: ``msde jobs`` lists detached jobs; ``show ID`` prints one; ``cancel ID`` stops one.

Jobs are the backups, verifies and restores started from the wizard; they run in their own
process and outlive the terminal (see ``engine.jobs``).
"""

from __future__ import annotations

import time
from datetime import datetime

import typer
from rich.table import Table

from msde_tui.cli.common import console, emit, set_exit, state
from msde_tui.engine import events as ev
from msde_tui.engine.runs import jobs as jobs_engine
from msde_tui.engine.runs.registry import scope as runner_scope
from msde_tui.engine.runs.registry import title as runner_title

jobs_app = typer.Typer(
    name="jobs",
    help="Detached jobs started from the wizard: list, show, cancel.",
    invoke_without_command=True,
    no_args_is_help=False,
)

STATE_WORDS = {
    jobs_engine.RUNNING: "RUNNING",
    jobs_engine.OK: "OK",
    jobs_engine.FAILED: "FAILED",
    jobs_engine.CANCELLED: "CANCELLED",
    jobs_engine.INTERRUPTED: "INTERRUPTED",
}


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")


def _job_payload(job: jobs_engine.JobInfo) -> dict[str, object]:
    return {
        "id": job.id,
        "operation": job.operation,
        "created_at": job.created_at,
        "state": job.state,
        "dossiers": list(job.subjects),
        "pid": job.pid,
        "directory": str(job.directory),
        "result": job.result,
    }


@jobs_app.callback()
def list_jobs(ctx: typer.Context) -> None:
    """List running and finished jobs, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    st = state(ctx)
    found = jobs_engine.list_jobs(st.home)
    if st.json:
        emit(st, {"jobs": [_job_payload(j) for j in found]})
        return
    if not found:
        console.print("No jobs.", highlight=False)
        return
    table = Table("Job", "Started", "Operation", "State", "Dossiers", box=None)
    for job in found:
        table.add_row(
            job.id,
            job.created_at.replace("T", " "),
            runner_title(job.operation),
            STATE_WORDS.get(job.state, job.state.upper()),
            ", ".join(job.subjects) or runner_scope(job.operation),
        )
    console.print(table)


def describe_event(at: float, event: ev.Event) -> str | None:
    """One line for a human, or None for events not worth a line (progress)."""
    when = datetime.fromtimestamp(at).strftime("%H:%M:%S") if at else "--:--:--"
    who = event.dossier
    if isinstance(event, ev.Started):
        text = f"started {event.operation}" + (f" ({', '.join(event.steps)})" if event.steps else "")
    elif isinstance(event, ev.Step):
        text = f"{event.step}" + (f": {event.detail}" if event.detail else "")
    elif isinstance(event, ev.ServerMessage):
        number = f"[{event.number}] " if event.number is not None else ""
        text = f"{number}{event.text}"
    elif isinstance(event, ev.Statement):
        text = f"runs: {event.text}"
    elif isinstance(event, ev.DossierResult):
        word = "OK" if event.ok else "FAILED"
        text = word + (" (verified)" if event.verified else "")
        if event.message:
            text += f" - {event.message}"
        if event.hint:
            text += f" {event.hint}"
        if event.files:
            text += f" files: {', '.join(event.files)}"
    else:
        return None
    return f"{when} {who}: {text}"


@jobs_app.command("show")
def show(
    ctx: typer.Context,
    job_id: str = typer.Argument(..., help="The job id (or the start of it)."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Wait and print events until the job ends."),
) -> None:
    """Print a job's events and its result."""
    st = state(ctx)
    job = jobs_engine.find_job(st.home, job_id)
    tail = jobs_engine.EventTail(job.events_file)
    if st.json:
        while follow and jobs_engine.load_job(st.home, job.id).state == jobs_engine.RUNNING:
            time.sleep(0.5)
        job = jobs_engine.load_job(st.home, job.id)
        events = [jobs_engine.event_to_dict(e, at=t) for t, e in tail.read()]
        emit(st, {"job": _job_payload(job), "events": events})
    else:
        console.print(
            f"Job {job.id}: {runner_title(job.operation)} of {', '.join(job.subjects) or '-'}, started {job.created_at}",
            highlight=False,
            markup=False,
        )
        while True:
            for at, event in tail.read():
                line = describe_event(at, event)
                if line:
                    console.print(line, highlight=False, markup=False)
            job = jobs_engine.load_job(st.home, job.id)
            if not follow or job.state != jobs_engine.RUNNING:
                break
            time.sleep(0.5)
        for at, event in tail.read():
            line = describe_event(at, event)
            if line:
                console.print(line, highlight=False, markup=False)
        console.print(f"State: {STATE_WORDS.get(job.state, job.state)}", highlight=False)
        if job.state == jobs_engine.INTERRUPTED:
            console.print(
                "The job's process is gone without a result (machine restarted or process "
                f"killed). Its log is in {job.directory}.",
                highlight=False,
                markup=False,
            )
    if job.state in (jobs_engine.FAILED, jobs_engine.INTERRUPTED, jobs_engine.CANCELLED):
        set_exit(1)


@jobs_app.command("cancel")
def cancel(
    ctx: typer.Context,
    job_id: str = typer.Argument(..., help="The job id (or the start of it)."),
) -> None:
    """Ask a running job to stop safely."""
    st = state(ctx)
    job = jobs_engine.find_job(st.home, job_id)
    if job.state != jobs_engine.RUNNING:
        emit(st, {"id": job.id, "state": job.state}, f"Job {job.id} is not running ({job.state}).")
        return
    jobs_engine.request_cancel(st.home, job.id)
    emit(st, {"id": job.id, "state": "cancelling"}, f"Asked job {job.id} to stop.")
