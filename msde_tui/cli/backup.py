"""CLI commands: ``msde backup``, ``msde verify``, ``msde restore`` (SPEC sections 5.1, 5.2, 7).

Human output: on a terminal a Rich progress display redrawn a few times a second; otherwise
plain lines (one per step and one per result). ``--json`` prints one document at the end with
a result per dossier. Exit code 1 when any dossier failed; 2 for bad usage found before
anything ran (unknown dossier, missing directory, number taken without --replace).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from msde_tui.cli import selecting
from msde_tui.cli.common import State, console, emit, set_exit, state
from msde_tui.engine import events as ev
from msde_tui.engine import naming, selection
from msde_tui.engine.backends import check_backup_directory
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BadInput, DossierExists, MsdeError
from msde_tui.engine.plans import (
    BackupOptions,
    BackupPlan,
    Connection,
    RestoreItem,
    RestorePlan,
    VerifyPlan,
)
from msde_tui.engine.proof import read_proof
from msde_tui.engine.runs import runner as operations

REFRESH_PER_SECOND = 4


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("backup")(backup_command)
    app.command("verify")(verify_command)
    app.command("restore")(restore_command)


# --------------------------------------------------------------------------- commands


def backup_command(
    ctx: typer.Context,
    directory: Annotated[str, typer.Option("--dir", help="Where to write the backups (on the SQL Server host for server dossiers).")],
    dossiers: Annotated[list[str] | None, typer.Argument(help="Dossier numbers (001) or codes (001SOC).")] = None,
    select_all: Annotated[bool, typer.Option("--all", help=selecting.ALL_HELP)] = False,
    where: Annotated[str | None, typer.Option("--where", help=selecting.WHERE_HELP)] = None,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Read each backup back and check it (default: on).")] = True,
    concurrency: Annotated[int, typer.Option("--concurrency", min=0, max=16, help="Dossiers backed up at once (0: follow the machine's cores).")] = 0,
    test_restore: Annotated[bool, typer.Option("--test-restore", help="SQL Server: after verifying, restore each backup under a scratch name, run DBCC CHECKDB, drop it.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Access: copy even while Access has the file open (the copy may be inconsistent).")] = False,
) -> None:
    """Back up dossiers: a file copy + proof (embedded, Access) or a native BACKUP (SQL Server)."""
    st = state(ctx)
    local_dir = Path(directory).expanduser()
    chosen = {d.number: d for d in selecting.choose(
        st, dossiers, select_all=select_all, where=where, backup_dir=lambda _d: local_dir)}
    if not chosen:
        emit(st, {"operation": "backup", "ok": 0, "failed": 0, "results": []},
             f"No dossier matches --where {where}; nothing to back up.")
        return
    groups: dict[str | None, list[Dossier]] = {}
    for dossier in chosen.values():
        on_disk = dossier.is_embedded or dossier.backend == "access"
        groups.setdefault(None if on_disk else dossier.profile or "", []).append(dossier)
    if None in groups:
        local = Path(directory).expanduser()
        if not local.is_dir():
            raise BadInput(f"The directory {local} does not exist.", "Create it first or choose another one.")
    options = BackupOptions(verify=verify or test_restore, test_restore=test_restore, force=force)
    connections = {p: Connection() if p is None else _server_connection(st, p) for p in groups}
    for profile, connection in connections.items():
        if profile is not None:  # written by the server's service account: checked first
            asyncio.run(check_backup_directory(connection, directory, home=st.home))
    streams: list[AsyncIterator[ev.Event]] = []
    for profile, members in groups.items():
        connection = connections[profile]
        plan = BackupPlan(connection, tuple(members), directory, options, concurrency=concurrency)
        streams.append(operations.run_backup(plan, home=st.home))
    results = run_and_show(st, "backup", streams, total=len(chosen))
    finish(st, "backup", results)


def verify_command(
    ctx: typer.Context,
    files: Annotated[list[str] | None, typer.Argument(help="Backup files (.sqlite.bak + proof, .bak on the server) or packed files.")] = None,
    server: Annotated[str | None, typer.Option("--server", help="Connection profile: the files are paths on that SQL Server host.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=0, max=16, help="Files verified at once (0: follow the machine's cores).")] = 0,
    position: Annotated[int | None, typer.Option("--position", min=1, help="SQL Server: verify only this backup set of the file (default: every set).")] = None,
    test_restore: Annotated[bool, typer.Option("--test-restore", help="SQL Server: also restore each full set under a scratch name, run DBCC CHECKDB, drop it.")] = False,
    select_all: Annotated[bool, typer.Option("--all", help="The newest backup in --dir of every embedded dossier.")] = False,
    where: Annotated[str | None, typer.Option("--where", help="The newest backup in --dir of each embedded dossier matching this filter (see backup --where).")] = None,
    directory: Annotated[str | None, typer.Option("--dir", help="With --all / --where: the directory holding the backups.")] = None,
) -> None:
    """Verify backups: re-read and compare with the proof, integrity check, identity."""
    st = state(ctx)
    missing: list[str] = []
    if select_all or where:
        if files or server:
            raise BadInput("Give backup files, or --all / --where with --dir, not both.",
                           "E.g. msde verify --all --dir /srv/backups")
        if not directory:
            raise BadInput("--all and --where need --dir: where the backups are.", "E.g. msde verify --all --dir /srv/backups")
        folder = Path(directory).expanduser()
        if not folder.is_dir():
            raise BadInput(f"The directory {folder} does not exist.", "Give the directory holding the backups.")
        chosen = [d for d in selecting.choose(st, None, select_all=select_all, where=where,
                                              backup_dir=lambda _d: folder) if d.is_embedded]
        found = selection.newest_backups(folder, chosen)
        missing = [d.code for d in chosen if d.code not in found]
        if missing and not st.json:
            console.print(f"No backup in {folder} for: {', '.join(missing)}.", highlight=False, markup=False)
        files = [str(found[d.code]) for d in chosen if d.code in found]
        if not files:
            emit(st, {"operation": "verify", "ok": 0, "failed": 0, "results": [], "missing": missing},
                 "Nothing to verify.")
            if missing:
                set_exit(1)
            return
    elif not files:
        raise BadInput("Which backups? Give the files, or --all / --where with --dir.",
                       "E.g. msde verify /srv/backups/001SOC_*.sqlite.bak, or msde verify --all --dir /srv/backups")
    connection = Connection() if server is None else _server_connection(st, server)
    plan = VerifyPlan(
        connection, tuple(files), concurrency=concurrency, position=position, test_restore=test_restore
    )
    results = run_and_show(st, "verify", [operations.run_verify(plan, home=st.home)], total=len(files))
    finish(st, "verify", results)
    if select_all or where:
        if missing:  # a chosen dossier with no backup there is not verified: the run failed
            set_exit(1)


def restore_command(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="The backup to restore (a server path with --server).")],
    number: Annotated[str, typer.Option("--number", help="Dossier number to restore as, e.g. 001.")],
    short: Annotated[str | None, typer.Option("--short", help="Short name (default: the backup's).")] = None,
    company: Annotated[str | None, typer.Option("--company", help="Company name (default: the backup's).")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite that dossier (after a verified safety copy).")] = False,
    server: Annotated[str | None, typer.Option("--server", help="Connection profile of the SQL Server to restore on.")] = None,
    data_dir: Annotated[str | None, typer.Option("--data-dir", help="SQL Server: where the data files go (default: the instance's).")] = None,
    log_dir: Annotated[str | None, typer.Option("--log-dir", help="SQL Server: where the log file goes.")] = None,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="SQL Server: RESTORE VERIFYONLY first (embedded backups are always verified).")] = True,
    position: Annotated[int | None, typer.Option("--position", min=1, help="SQL Server: which backup set of the file (FILE = n; needed when it holds several).")] = None,
    close_sessions: Annotated[bool, typer.Option("--close-sessions", help="SQL Server: close the other sessions on the database replaced (SINGLE_USER WITH ROLLBACK IMMEDIATE; MULTI_USER again afterwards).")] = False,
) -> None:
    """Restore a backup as dossier NUMBER; never over an existing one without --replace."""
    st = state(ctx)
    number = naming.check_number(number)
    catalog = st.catalog()
    taken = catalog.find(number)
    if taken is not None and not replace:
        raise DossierExists(
            f"Number {number} is already taken by {taken.code} ({taken.company}).",
            f"Choose another number: the first free is {catalog.first_free_number()}; "
            "or add --replace to overwrite it after a safety copy.",
        )
    if short is not None:
        short = naming.check_short(short)
    connection = Connection()
    if server is not None:
        connection = _server_connection(st, server)
        if short is None and taken is not None and not taken.is_embedded:
            short = taken.short  # restored over a listed dossier: it keeps its code
        if short is None and operations.file_kind(file, connection) == "server":
            short = _short_from_server_name(file)
    elif not Path(file).expanduser().is_file():
        raise BadInput(f"The file {file} does not exist.", "Check the path and the file name.")
    kind = operations.file_kind(file, connection)
    if short is None and kind == "embedded":
        short = _short_from_proof(Path(file).expanduser())
    if short is None and kind == "access":
        short = _short_from_access_proof(Path(file).expanduser())
    item = RestoreItem(
        source=file,
        number=number,
        short=short or "",
        company=company or "",
        replace=replace,
        data_dir=data_dir,
        log_dir=log_dir,
        position=position,
        close_sessions=close_sessions,
    )
    plan = RestorePlan(connection, (item,), verify_first=verify)
    stream = operations.run_restore(plan, home=st.home)
    if not replace:
        stream = _cli_replace_hint(stream)
    results = run_and_show(st, "restore", [stream], total=1)
    finish(st, "restore", results)


# --------------------------------------------------------------------------- helpers


def _server_connection(st: State, profile_name: str) -> Connection:
    """The connection of a saved profile; the password from MSDE_PASSWORD or a hidden prompt."""
    if not profile_name:
        raise BadInput(
            "A SQL Server dossier has no connection profile in the dossier list.",
            "Add a profile with 'msde server add' and set it on the dossier.",
        )
    from msde_tui.cli.server import ask_password  # late: loads the SQL Server drivers
    from msde_tui.engine.backends.mssql import profiles

    profile = profiles.get(profile_name, st.home)
    return profile.connection(ask_password(profile))


async def _cli_replace_hint(events: AsyncIterator[ev.Event]) -> AsyncIterator[ev.Event]:
    """The engine's events, its "already exists, replace it?" hints in the CLI's words."""
    async with contextlib.aclosing(events):  # type: ignore[type-var]
        async for event in events:
            if (
                isinstance(event, ev.DossierResult)
                and not event.ok
                and isinstance(event.details, dict)
                and event.details.get("error") == DossierExists.__name__
                and "replace" in (event.hint or "").lower()
            ):
                event = dataclasses.replace(
                    event,
                    hint="Add --replace to restore over it (a verified safety copy is taken "
                    "first), or give another --number.",
                )
            yield event


def _short_from_proof(file: Path) -> str | None:
    """The short name recorded in an embedded backup's proof (None: the restore will explain)."""
    try:
        return naming.parse_code(read_proof(file).code).short
    except MsdeError:
        return None


def _short_from_access_proof(file: Path) -> str | None:
    from msde_tui.engine.backends.access import proofs

    try:
        return naming.parse_code(proofs.read(file).code).short
    except MsdeError:
        return None


def _short_from_server_name(file: str) -> str:
    stem = operations.label_of(file).split("_")[0].split(".")[0]
    parsed = naming.parse_database_name(stem)
    if parsed is None:
        raise BadInput(
            f"Cannot tell the dossier's short name from {operations.label_of(file)}.",
            "Give it with --short.",
        )
    return parsed.short


def finish(st: State, operation: str, results: list[ev.DossierResult]) -> None:
    """Print the JSON document or the summary line; set the exit code."""
    ok, failed = operations.summarize(results)
    if st.json:
        emit(st, {
            "operation": operation,
            "ok": ok,
            "failed": failed,
            "results": [asdict(r) for r in results],
        })
    else:
        console.print(f"{ok} done, {failed} failed.", highlight=False, markup=False)
    if failed:
        set_exit(1)


def run_and_show(
    st: State, operation: str, streams: list[AsyncIterator[ev.Event]], *, total: int
) -> list[ev.DossierResult]:
    """Run the streams one after the other, showing progress; the results in order."""
    if st.json:
        display: _Display = _Display()
    elif console.is_terminal:
        display = _LiveDisplay(console, operation, total)
    else:
        display = _LineDisplay(console)

    async def run() -> list[ev.DossierResult]:
        results: list[ev.DossierResult] = []
        with display:
            for stream in streams:
                async for event in stream:
                    display.show(event)
                    if isinstance(event, ev.DossierResult):
                        results.append(event)
        return results

    return asyncio.run(run())


def result_line(result: ev.DossierResult) -> str:
    if result.ok:
        mark = "OK  " if result.verified else "DONE"
        return f"{mark} {result.dossier}: {result.message} ({result.seconds:.1f} s)"
    text = f"FAIL {result.dossier}: {result.message}"
    return f"{text}\n     What to do: {result.hint}" if result.hint else text


class _Display:
    """No output while running (``--json``)."""

    def __enter__(self) -> _Display:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def show(self, event: ev.Event) -> None:
        return None


class _LineDisplay(_Display):
    """Plain lines for logs and pipes: steps, warnings and results (no progress spam)."""

    def __init__(self, out: Console) -> None:
        self.out = out

    def _print(self, text: str) -> None:
        self.out.print(text, highlight=False, markup=False, soft_wrap=True)

    def show(self, event: ev.Event) -> None:
        if isinstance(event, ev.Step):
            detail = f" ({event.detail})" if event.detail else ""
            self._print(f"     {event.dossier}: {event.step}{detail}")
        elif isinstance(event, ev.ServerMessage) and (event.severity or 0) > 10:
            self._print(f"     {event.dossier}: server says: {event.text}")
        elif isinstance(event, ev.DossierResult):
            self._print(result_line(event))


class _LiveDisplay(_Display):
    """A Rich progress display: one bar per running dossier and an overall count.

    Events only change the bars' state; Rich redraws ``REFRESH_PER_SECOND`` times a second.
    """

    def __init__(self, out: Console, operation: str, total: int) -> None:
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TextColumn("{task.fields[detail]}", markup=False),
            TimeElapsedColumn(),
            console=out,
            auto_refresh=True,
            refresh_per_second=REFRESH_PER_SECOND,
            transient=True,
        )
        self.operation, self.total, self.done = operation.capitalize(), total, 0
        self.overall = self.progress.add_task(self._title(), total=total, detail="")
        self.tasks: dict[str, TaskID] = {}
        self.steps: dict[str, str] = {}  # each dossier's current step

    def _title(self) -> str:
        return f"{self.operation} {self.done}/{self.total}"

    def __enter__(self) -> _LiveDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def show(self, event: ev.Event) -> None:
        task = self.tasks.get(event.dossier)
        if isinstance(event, ev.Started):
            self.tasks[event.dossier] = self.progress.add_task(
                f"  {event.dossier}", total=100, detail=event.operation)
        elif task is None:
            if isinstance(event, ev.DossierResult) and event.details.get(ev.RUN_SUMMARY):
                # a whole run's summary (not a dossier): said, not counted
                self.progress.console.print(result_line(event), highlight=False, markup=False, soft_wrap=True)
            return
        elif isinstance(event, ev.Step):
            if self.steps.get(event.dossier) == event.step:  # one more table of the same step
                self.progress.update(task, detail=event.step)
            else:
                self.steps[event.dossier] = event.step
                self.progress.update(task, completed=0, detail=event.step)
        elif isinstance(event, ev.Progress):
            percent = event.percent
            if percent is None and event.rows_done is not None and event.rows_total:
                percent = 100.0 * event.rows_done / event.rows_total
            self.progress.update(task, completed=percent or 0, detail=_speed(event))
        elif isinstance(event, ev.DossierResult):
            self.progress.remove_task(task)
            del self.tasks[event.dossier]
            self.done += 1
            self.progress.update(self.overall, advance=1, description=self._title())
            self.progress.console.print(result_line(event), highlight=False, markup=False,
                                        soft_wrap=True)


def _speed(event: ev.Progress) -> str:
    parts: list[str] = []
    if event.rows_done is not None:
        parts.append(f"{event.rows_done:,}" + (f"/{event.rows_total:,}" if event.rows_total else "") + " rows")
    if event.mb_per_s is not None:
        parts.append(f"{event.mb_per_s:.1f} MB/s")
    if event.eta_s is not None and event.eta_s > 0:
        parts.append(f"ETA {event.eta_s:.0f} s")
    return " ".join(parts)
