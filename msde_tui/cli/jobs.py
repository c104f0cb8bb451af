"""CLI: ``msde jobs`` lists detached jobs; ``show ID`` prints one; ``cancel ID`` stops one.

Jobs are the backups, verifies and restores started from the wizard; they run in their own
process and outlive the terminal (see ``engine.jobs``).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import typer
from rich.cells import cell_len
from rich.table import Table

from msde_tui.cli.common import console, emit, operation_word, set_exit, state
from msde_tui.engine import events as ev
from msde_tui.engine.runs import jobs as jobs_engine
from msde_tui.engine.runs.registry import scope as runner_scope
from msde_tui.engine.words import shown
from msde_tui.i18n import N_, _

jobs_app = typer.Typer(
    name="jobs",
    help=N_("Detached jobs started from the wizard: list, show, cancel."),
    invoke_without_command=True,
    no_args_is_help=False,
)

STATE_WORDS = {
    jobs_engine.RUNNING: N_("RUNNING"),
    jobs_engine.OK: N_("OK"),
    jobs_engine.FAILED: N_("FAILED"),
    jobs_engine.CANCELLED: N_("CANCELLED"),
    jobs_engine.INTERRUPTED: N_("INTERRUPTED"),
}


def state_word(job_state: str) -> str:
    """A job's state, as a word in the user's language."""
    return _(STATE_WORDS[job_state]) if job_state in STATE_WORDS else job_state.upper()


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
        console.print(_("No jobs."), highlight=False)
        return
    # each column: its header and options (the id is what 'msde jobs show' takes: never cut; the
    # dossiers, one a line, wrap and fold instead)
    columns: list[tuple[str, dict[str, Any]]] = [
        (_("Job"), {"no_wrap": True}), (_("Started"), {"no_wrap": True}), (_("Operation"), {"min_width": 6}),
        (_("State"), {"no_wrap": True}), (_("Dossiers"), {"overflow": "fold", "min_width": 8}),
    ]
    rows = [
        [job.id, job.created_at.replace("T", " ")[:19], operation_word(job.operation), state_word(job.state),
         "\n".join(job.subjects) if job.subjects else _dossiers(job)]
        for job in found
    ]
    width = [max([cell_len(columns[i][0]), *(cell_len(row[i]) for row in rows)]) for i in range(4)]
    columns[0][1]["min_width"] = width[0]
    # The start on one line: the date and time when the dossiers still get 8 cells beside them
    # (a cell of padding each side of every column), else the clock; no column at all when even
    # that has no room (the job's id is its start).
    others = width[0] + width[2] + width[3] + 8 + 2 * 5
    if others + width[1] > console.width:
        for job, row in zip(found, rows, strict=True):
            row[1] = job.created_at[11:19]
        if others + max(cell_len(columns[1][0]), 8) > console.width:
            del columns[1]
            for row in rows:
                del row[1]
    table = Table(box=None)
    for header, options in columns:
        table.add_column(header, **options)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _dossiers(job: jobs_engine.JobInfo) -> str:
    """The job's dossiers, or what it works on in words (the automatic run: every dossier)."""
    scope = runner_scope(job.operation)
    return ", ".join(job.subjects) or (_(scope) if scope else "-")


def describe_event(at: float, event: ev.Event) -> str | None:
    """One line for a human, or None for events not worth a line (progress)."""
    when = datetime.fromtimestamp(at).strftime("%H:%M:%S") if at else "--:--:--"
    who = event.dossier
    if isinstance(event, ev.Started):
        text = _("started {operation}").format(operation=operation_word(event.operation))
        text += f" ({', '.join(shown(s) for s in event.steps)})" if event.steps else ""
    elif isinstance(event, ev.Step):
        text = shown(event.step) + (f": {shown(event.detail)}" if event.detail else "")
    elif isinstance(event, ev.ServerMessage):
        number = f"[{event.number}] " if event.number is not None else ""
        text = f"{number}{event.text}"
    elif isinstance(event, ev.Statement):
        text = _("runs: {statement}").format(statement=event.text)
    elif isinstance(event, ev.DossierResult):
        word = _("OK") if event.ok else _("FAILED")
        text = word + (" " + _("(verified)") if event.verified else "")
        if event.message:
            text += f" - {shown(event.message)}"
        if event.hint:
            text += f" {shown(event.hint)}"
        if event.files:
            text += " " + _("files: {files}").format(files=", ".join(event.files))
    else:
        return None
    return f"{when} {who}: {text}"


@jobs_app.command("show", help=N_("Print a job's events and its result."))
def show(
    ctx: typer.Context,
    job_id: str = typer.Argument(..., help=N_("The job id (or the start of it).")),
    follow: bool = typer.Option(False, "--follow", "-f", help=N_("Wait and print events until the job ends.")),
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
            _("Job {id}: {operation} of {dossiers}, started {when}").format(
                id=job.id, operation=operation_word(job.operation), dossiers=_dossiers(job),
                when=job.created_at),
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
        console.print(_("State: {state}").format(state=state_word(job.state)), highlight=False)
        if job.state == jobs_engine.INTERRUPTED:
            console.print(
                _("The job's process is gone without a result (machine restarted or process "
                  "killed). Its log is in {directory}.").format(directory=job.directory),
                highlight=False,
                markup=False,
            )
    if job.state in (jobs_engine.FAILED, jobs_engine.INTERRUPTED, jobs_engine.CANCELLED):
        set_exit(1)


@jobs_app.command("cancel", help=N_("Ask a running job to stop safely."))
def cancel(
    ctx: typer.Context,
    job_id: str = typer.Argument(..., help=N_("The job id (or the start of it).")),
) -> None:
    """Ask a running job to stop safely."""
    st = state(ctx)
    job = jobs_engine.find_job(st.home, job_id)
    if job.state != jobs_engine.RUNNING:
        emit(st, {"id": job.id, "state": job.state},
             _("Job {id} is not running ({state}).").format(id=job.id, state=state_word(job.state)))
        return
    jobs_engine.request_cancel(st.home, job.id)
    emit(st, {"id": job.id, "state": "cancelling"}, _("Asked job {id} to stop.").format(id=job.id))
