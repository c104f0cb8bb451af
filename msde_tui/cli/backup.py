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

from msde_tui import units
from msde_tui.cli import selecting
from msde_tui.cli.common import State, console, emit, operation_word, set_exit, state
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
from msde_tui.engine.textsafe import printable
from msde_tui.engine.words import shown
from msde_tui.i18n import N_, _

REFRESH_PER_SECOND = 4


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("backup")(backup_command)
    app.command("verify")(verify_command)
    app.command("restore")(restore_command)


# --------------------------------------------------------------------------- commands


def backup_command(
    ctx: typer.Context,
    directory: Annotated[str, typer.Option("--dir", help=N_("Where to write the backups (on the SQL Server host for server dossiers)."))],
    dossiers: Annotated[list[str] | None, typer.Argument(help=N_("Dossier numbers (001) or codes (001SOC)."))] = None,
    select_all: Annotated[bool, typer.Option("--all", help=selecting.ALL_HELP)] = False,
    where: Annotated[str | None, typer.Option("--where", help=selecting.WHERE_HELP)] = None,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help=N_("Read each backup back and check it (default: on)."))] = True,
    concurrency: Annotated[int, typer.Option("--concurrency", min=0, max=16, help=N_("Dossiers backed up at once (0: follow the machine's cores)."))] = 0,
    test_restore: Annotated[bool, typer.Option("--test-restore", help=N_("SQL Server: after verifying, restore each backup under a scratch name, run DBCC CHECKDB, drop it."))] = False,
    force: Annotated[bool, typer.Option("--force", help=N_("Access: copy even while Access has the file open (the copy may be inconsistent)."))] = False,
) -> None:
    """Back up dossiers: a file copy + proof (embedded, Access) or a native BACKUP (SQL Server)."""
    st = state(ctx)
    local_dir = Path(directory).expanduser()
    chosen = {d.number: d for d in selecting.choose(
        st, dossiers, select_all=select_all, where=where, backup_dir=lambda _d: local_dir)}
    if not chosen:
        emit(st, {"operation": "backup", "ok": 0, "failed": 0, "results": []},
             _("No dossier matches --where {where}: nothing to back up.").format(where=where))
        return
    groups: dict[str | None, list[Dossier]] = {}
    for dossier in chosen.values():
        on_disk = dossier.is_embedded or dossier.backend == "access"
        groups.setdefault(None if on_disk else dossier.profile or "", []).append(dossier)
    if None in groups:
        local = Path(directory).expanduser()
        if not local.is_dir():
            raise BadInput(_("The directory {directory} does not exist.").format(directory=local),
                           _("Create it first or choose another directory."))
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
    files: Annotated[list[str] | None, typer.Argument(help=N_("Backup files (.sqlite.bak + proof, .bak on the server) or packed files."))] = None,
    server: Annotated[str | None, typer.Option("--server", help=N_("Connection profile: the files are paths on that SQL Server host."))] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=0, max=16, help=N_("Files verified at once (0: follow the machine's cores)."))] = 0,
    position: Annotated[int | None, typer.Option("--position", min=1, help=N_("SQL Server: verify only this backup set of the file (default: every set)."))] = None,
    test_restore: Annotated[bool, typer.Option("--test-restore", help=N_("SQL Server: also restore each full set under a scratch name, run DBCC CHECKDB, drop it."))] = False,
    select_all: Annotated[bool, typer.Option("--all", help=N_("The newest backup in --dir of every embedded dossier."))] = False,
    where: Annotated[str | None, typer.Option("--where", help=N_("The newest backup in --dir of each embedded dossier matching this filter (see backup --where)."))] = None,
    directory: Annotated[str | None, typer.Option("--dir", help=N_("With --all / --where: the directory holding the backups."))] = None,
) -> None:
    """Verify backups: re-read and compare with the proof, integrity check, identity."""
    st = state(ctx)
    missing: list[str] = []
    if select_all or where:
        if files or server:
            raise BadInput(_("Give backup files, or --all / --where with --dir, not both."),
                           _("E.g. msde verify --all --dir /srv/backups"))
        if not directory:
            raise BadInput(_("--all and --where need --dir: where the backups are."),
                           _("E.g. msde verify --all --dir /srv/backups"))
        folder = Path(directory).expanduser()
        if not folder.is_dir():
            raise BadInput(_("The directory {directory} does not exist.").format(directory=folder),
                           _("Give the directory holding the backups."))
        chosen = [d for d in selecting.choose(st, None, select_all=select_all, where=where,
                                              backup_dir=lambda _d: folder) if d.is_embedded]
        found = selection.newest_backups(folder, chosen)
        missing = [d.code for d in chosen if d.code not in found]
        if missing and not st.json:
            console.print(_("No backup in {directory} for: {dossiers}.").format(
                directory=folder, dossiers=", ".join(missing)), highlight=False, markup=False)
        files = [str(found[d.code]) for d in chosen if d.code in found]
        if not files:
            emit(st, {"operation": "verify", "ok": 0, "failed": 0, "results": [], "missing": missing},
                 _("Nothing to verify."))
            if missing:
                set_exit(1)
            return
    elif not files:
        raise BadInput(_("Which backups? Give the files, or --all / --where with --dir."),
                       _("E.g. msde verify /srv/backups/001SOC_*.sqlite.bak, or msde verify --all "
                         "--dir /srv/backups"))
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
    file: Annotated[str, typer.Argument(help=N_("The backup to restore (a server path with --server)."))],
    number: Annotated[str, typer.Option("--number", help=N_("Dossier number to restore as, e.g. 001."))],
    short: Annotated[str | None, typer.Option("--short", help=N_("Short name (default: the backup's)."))] = None,
    company: Annotated[str | None, typer.Option("--company", help=N_("Company name (default: the backup's)."))] = None,
    replace: Annotated[bool, typer.Option("--replace", help=N_("Overwrite that dossier (after a verified safety copy)."))] = False,
    server: Annotated[str | None, typer.Option("--server", help=N_("Connection profile of the SQL Server to restore on."))] = None,
    data_dir: Annotated[str | None, typer.Option("--data-dir", help=N_("SQL Server: where the data files go (default: the instance's)."))] = None,
    log_dir: Annotated[str | None, typer.Option("--log-dir", help=N_("SQL Server: where the log file goes."))] = None,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help=N_("SQL Server: RESTORE VERIFYONLY first (embedded backups are always verified)."))] = True,
    position: Annotated[int | None, typer.Option("--position", min=1, help=N_("SQL Server: which backup set of the file (FILE = n; needed when it holds several)."))] = None,
    close_sessions: Annotated[bool, typer.Option("--close-sessions", help=N_("SQL Server: close the other sessions on the database replaced (SINGLE_USER WITH ROLLBACK IMMEDIATE; MULTI_USER again afterwards)."))] = False,
) -> None:
    """Restore a backup as dossier NUMBER; never over an existing one without --replace."""
    st = state(ctx)
    number = naming.check_number(number)
    catalog = st.catalog()
    taken = catalog.find(number)
    if taken is not None and not replace:
        raise DossierExists(
            _("Number {number} is already taken by {code} ({company}).").format(
                number=number, code=taken.code, company=taken.company),
            _("Choose another number: the first free is {free}; or add --replace to overwrite it "
              "after a safety copy.").format(free=catalog.first_free_number()),
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
        raise BadInput(_("The file {file} does not exist.").format(file=file),
                       _("Check the path and the file name."))
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
            _("A SQL Server dossier has no connection profile in the dossier list."),
            _("Add a profile with 'msde server add' and set it on the dossier."),
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
                    hint=_("Add --replace to restore over it (a verified safety copy is taken "
                           "first), or give another --number."),
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
            _("Cannot tell the dossier's short name from {file}.").format(file=operations.label_of(file)),
            _("Give it with --short."),
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
        console.print(_("{ok} done, {failed} failed.").format(ok=ok, failed=failed),
                      highlight=False, markup=False, emoji=False)  # (Rich's emoji table: 15 ms to load)
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
    """One line per result (and its hint): the mark, the dossier, the engine's words translated."""
    if result.ok:
        mark = _("OK") if result.verified else _("DONE")
        return _("{mark} {dossier}: {message} ({seconds} s)").format(
            mark=f"{mark:<4}", dossier=result.dossier, message=shown(result.message),
            seconds=units.decimal(result.seconds))
    text = _("{mark} {dossier}: {message}").format(mark=f"{_('FAIL'):<4}", dossier=result.dossier,
                                                  message=shown(result.message))
    return f"{text}\n     " + _("What to do: {hint}").format(hint=shown(result.hint)) if result.hint else text


class _Display:
    """No output while running (``--json``)."""

    def __enter__(self) -> _Display:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def show(self, event: ev.Event) -> None:
        return None


class _LineDisplay(_Display):
    """Plain lines for logs and pipes: steps, warnings and results (no progress spam).

    Not a terminal: no style, no wrapping, nothing for Rich to lay out. Each line is written
    to the console's stream and flushed, as ``Console.print`` would, without its rendering
    (a tenth of a millisecond of the event loop's thread per line, four lines per dossier).
    """

    def __init__(self, out: Console) -> None:
        self.out = out

    def _print(self, text: str) -> None:
        stream = self.out.file
        stream.write(printable(text) + "\n")  # control characters escaped, as SafeConsole does
        stream.flush()

    def show(self, event: ev.Event) -> None:
        if isinstance(event, ev.Step):
            detail = f" ({shown(event.detail)})" if event.detail else ""
            self._print(f"     {event.dossier}: {shown(event.step)}{detail}")
        elif isinstance(event, ev.ServerMessage) and (event.severity or 0) > 10:
            self._print(f"     {event.dossier}: " + _("server says: {text}").format(text=event.text))
        elif isinstance(event, ev.DossierResult):
            self._print(result_line(event))


class _TickingProgress(Progress):
    """A ``Progress`` drawn only by its ``Live``'s own thread, ``REFRESH_PER_SECOND`` times a
    second: ``add_task`` (one per dossier) no longer redraws every bar at once as well."""

    def refresh(self) -> None:
        return None


class _LiveDisplay(_Display):
    """A Rich progress display: one bar per running dossier and an overall count.

    Events only change the bars' state; Rich redraws ``REFRESH_PER_SECOND`` times a second.
    Result lines are printed above the bars at that pace too, those of the same moment in one
    print: each print while the bars are shown redraws them (two redraws per dossier cost a
    many-dossier backup on a terminal a second of the event loop's thread).
    """

    def __init__(self, out: Console, operation: str, total: int) -> None:
        self.progress = _TickingProgress(
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
        self.operation, self.total, self.done = operation_word(operation).capitalize(), total, 0
        self.overall = self.progress.add_task(self._title(), total=total, detail="")
        self.tasks: dict[str, TaskID] = {}
        self.steps: dict[str, str] = {}  # each dossier's current step
        self.lines: list[str] = []  # result lines not printed yet
        self.printing: asyncio.TimerHandle | None = None

    def _title(self) -> str:
        return f"{self.operation} {self.done}/{self.total}"

    def __enter__(self) -> _LiveDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._print_lines()
        self.progress.stop()

    def _say(self, line: str) -> None:
        """Print ``line`` above the bars within 1/REFRESH_PER_SECOND s, with its neighbours."""
        self.lines.append(line)
        if self.printing is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # shown outside an event loop: at once
            self._print_lines()
            return
        self.printing = loop.call_later(1 / REFRESH_PER_SECOND, self._print_lines)

    def _print_lines(self) -> None:
        if self.printing is not None:
            self.printing.cancel()
            self.printing = None
        if self.lines:
            text = "\n".join(self.lines)
            self.lines.clear()
            # text from data: a ":name:" in it is not turned into an emoji (nor Rich's table loaded)
            self.progress.console.print(text, highlight=False, markup=False, soft_wrap=True, emoji=False)

    def show(self, event: ev.Event) -> None:
        task = self.tasks.get(event.dossier)
        if isinstance(event, ev.Started):
            self.tasks[event.dossier] = self.progress.add_task(
                f"  {event.dossier}", total=100, detail=operation_word(event.operation))
        elif task is None:
            if isinstance(event, ev.DossierResult) and event.details.get(ev.RUN_SUMMARY):
                self._say(result_line(event))  # a whole run's summary (not a dossier): said, not counted
            return
        elif isinstance(event, ev.Step):
            if self.steps.get(event.dossier) == event.step:  # one more table of the same step
                self.progress.update(task, detail=shown(event.step))
            else:
                self.steps[event.dossier] = event.step
                self.progress.update(task, completed=0, detail=shown(event.step))
        elif isinstance(event, ev.Progress):
            percent = event.percent
            if percent is None and event.rows_done is not None and event.rows_total:
                percent = 100.0 * event.rows_done / event.rows_total
            self.progress.update(task, completed=percent or 0, detail=_speed(event))
        elif isinstance(event, ev.DossierResult):
            self.progress.remove_task(task)
            del self.tasks[event.dossier]
            self.steps.pop(event.dossier, None)
            self.done += 1
            self.progress.update(self.overall, advance=1, description=self._title())
            self._say(result_line(event))


def _speed(event: ev.Progress) -> str:
    parts: list[str] = []
    if event.rows_done is not None:
        done = units.number(event.rows_done) + (f"/{units.number(event.rows_total)}" if event.rows_total else "")
        parts.append(_("{rows} rows").format(rows=done))
    if event.mb_per_s is not None:
        parts.append(units.speed(event.mb_per_s))
    if event.eta_s is not None and event.eta_s > 0:
        parts.append(_("{seconds} s left").format(seconds=f"{event.eta_s:.0f}"))
    return " ".join(parts)
