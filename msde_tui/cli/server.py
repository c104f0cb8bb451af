"""CLI commands: ``msde server add|list|remove|test|dirs`` (SQL Server connection profiles).

Profiles never hold a password: it comes from ``MSDE_PASSWORD`` or a hidden prompt.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import TYPE_CHECKING

import typer

from msde_tui import units
from msde_tui.cli.common import State, console, emit, listing, state
from msde_tui.engine.backends.mssql import profiles
from msde_tui.engine.backends.mssql.backend import MssqlBackend
from msde_tui.engine.words import shown
from msde_tui.i18n import N_, _

if TYPE_CHECKING:
    from msde_tui.engine.backends.base import DatabaseInfo, DirEntry, ServerFacts

server_app = typer.Typer(
    name="server",
    help=N_("SQL Server connection profiles: add, list, remove, test, browse server directories."),
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(server_app, name="server")


def ask_password(profile: profiles.Profile) -> str:
    """``MSDE_PASSWORD`` or a hidden prompt; never stored."""
    from_env = profiles.password_from_env()
    if from_env is not None:
        return from_env
    return str(
        typer.prompt(
            _("Password for {user} on {host}").format(user=profile.user, host=profile.host),
            hide_input=True,
            default="",
            show_default=False,
        )
    )


def backend_for(st: State, name: str) -> MssqlBackend:
    profile = profiles.get(name, st.home)
    return MssqlBackend(profile.connection(ask_password(profile)))


@server_app.command("add", help=N_("Save a connection profile (no password is ever stored)."))
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=N_("Profile name, e.g. office.")),
    host: str = typer.Option(
        ..., "--host", help=N_("Server name or address, optionally srv\\INSTANCE.")
    ),
    port: int = typer.Option(1433, "--port", help=N_("TCP port (1433 by default).")),
    user: str = typer.Option(..., "--user", help=N_("SQL Server login.")),
    driver: str = typer.Option("pymssql", "--driver", help=N_("One of: pymssql, pyodbc, mssql-python.")),
    replace: bool = typer.Option(False, "--replace", help=N_("Change an existing profile.")),
) -> None:
    """Save a connection profile (no password is ever stored)."""
    st = state(ctx)
    profile = profiles.check_profile(name, host, port, user, driver)
    path = profiles.add(profile, st.home, replace=replace)
    emit(
        st,
        {"profile": asdict(profile), "file": str(path)},
        _("Saved profile '{name}' ({user} on {host}:{port}, {driver}) in {file}.").format(
            name=name, user=user, host=profile.host, port=port, driver=driver, file=path) + "\n"
        + _("The password is not stored: set {variable} or type it when asked.").format(
            variable=profiles.PASSWORD_ENV),
    )


@server_app.command("list", help=N_("Show the saved connection profiles."))
def list_profiles(ctx: typer.Context) -> None:
    """Show the saved connection profiles."""
    st = state(ctx)
    found = profiles.load(st.home)
    if st.json:
        emit(st, {"profiles": [asdict(p) for p in found.values()]})
        return
    if not found:
        console.print(
            _("No connection profile yet. Add one with: msde server add NAME --host HOST --user USER")
        )
        return
    table = listing(_("Name"), _("Host"), _("Port"), _("User"), _("Driver"))
    for p in found.values():
        table.add_row(p.name, p.host, str(p.port), p.user, p.driver)
    console.print(table)


@server_app.command("remove", help=N_("Forget a connection profile (nothing on the server is touched)."))
def remove(ctx: typer.Context, name: str = typer.Argument(..., help=N_("Profile name."))) -> None:
    """Forget a connection profile (nothing on the server is touched)."""
    st = state(ctx)
    removed = profiles.remove(name, st.home)
    emit(st, {"removed": asdict(removed)}, _("Removed profile '{name}'.").format(name=name))


@server_app.command("test", help=N_("Connect and show version, edition, the Express size limit and the "
                                     "default paths."))
def test(ctx: typer.Context, name: str = typer.Argument(..., help=N_("Profile name."))) -> None:
    """Connect and show version, edition, the Express size limit and the default paths."""
    st = state(ctx)
    backend = backend_for(st, name)

    async def run() -> tuple[ServerFacts, list[DatabaseInfo]]:
        try:
            facts = await backend.facts()
            dbs = await backend.databases()
            return facts, dbs
        finally:
            await backend.close()

    facts, dbs = asyncio.run(run())
    from msde_tui.engine.backends.base import ServerFacts  # noqa: PLC0415

    assert isinstance(facts, ServerFacts)
    limit = facts.size_limit_bytes
    payload = asdict(facts) | {
        "is_express": facts.is_express,
        "size_limit_bytes": limit,
        "service_account": backend.service_account,
        "dossier_databases": [asdict(d) for d in dbs],  # type: ignore[call-overload]
    }
    rows = [
        (_("version"), facts.version),
        (_("edition"), facts.edition + (" " + _("(Express: no backup compression)") if facts.is_express else "")),
    ]
    if limit is not None:
        rows.append((_("limit"), _("{size} GB per database (data files)").format(size=limit // 1024**3)))
    rows += [
        (_("backups"), facts.default_backup_path),
        (_("data"), facts.default_data_path),
        (_("log"), facts.default_log_path),
        (_("service"), shown(backend.service_account)),
        (_("dossiers"), _("{count} database(s)").format(count=len(dbs))),
    ]
    width = max(len(label) for label, _value in rows) + 2
    lines = [
        _("Connected to {host} as {user}.").format(host=backend.connection.host, user=backend.connection.user),
        f"  {facts.product}",
    ] + [f"  {label:<{width}}{value}" for label, value in rows]
    emit(st, payload, "\n".join(lines))


@server_app.command("dirs", help=N_("List a directory as the SQL Server service sees it on its own machine."))
def dirs(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=N_("Profile name.")),
    path: str = typer.Argument(
        None, help=N_("Directory on the SQL Server host (default: its backup path).")
    ),
) -> None:
    """List a directory as the SQL Server service sees it on its own machine."""
    st = state(ctx)
    backend = backend_for(st, name)

    async def run() -> tuple[str, list[DirEntry], tuple[bool, int | None]]:
        try:
            facts = await backend.facts()
            where = path or facts.default_backup_path
            entries = await backend.list_dir(where)
            return where, list(entries), await backend.check_dir(where)
        finally:
            await backend.close()

    where, entries, (_exists, free) = asyncio.run(run())
    payload = {"directory": where, "free_bytes": free, "entries": [asdict(e) for e in entries]}
    lines = [
        _("{directory} on {host}").format(directory=where, host=backend.connection.host)
        + (" " + _("({size} GB free)").format(size=units.decimal(free / 1024**3)) if free is not None else "")
    ]
    for e in entries:
        lines.append(
            f"  {e.name}{'/' if e.is_dir else ''}"
            + ("" if e.is_dir else "  " + _("{size} bytes").format(size=units.number(e.size_bytes)))
        )
    if not entries:
        lines.append("  " + _("(empty)"))
    emit(st, payload, "\n".join(lines))


@server_app.command("status", help=N_(
    "Every database on the server with the age of its last full backup (msdb history, whoever "
    "made it), and the warnings: never backed up, old, FULL recovery without log backups."))
def status(ctx: typer.Context, name: str = typer.Argument(..., help=N_("Profile name."))) -> None:
    """Every database on the server with the age of its last full backup (msdb history,
    whoever made it), and the warnings: never backed up, old, FULL recovery without log
    backups."""
    st = state(ctx)
    backend = backend_for(st, name)

    async def run() -> list[object]:
        try:
            return list(await backend.backup_history())
        finally:
            await backend.close()

    from datetime import datetime  # noqa: PLC0415

    found = asyncio.run(run())
    now = datetime.now()
    payload = {
        "databases": [
            asdict(d) | {"age_days": d.age_days(now)}  # type: ignore[call-overload, attr-defined]
            for d in found
        ]
    }
    lines = [_("Backups on {host} (msdb history, whoever made them):").format(host=backend.connection.host)]
    for d in found:
        lines.append(
            f"  {d.database:<24} {d.recovery_model:<11} "  # type: ignore[attr-defined]
            + _("last full {age}").format(age=shown(d.age_text(now)))  # type: ignore[attr-defined]
        )
        for warning in d.warnings:  # type: ignore[attr-defined]
            lines.append("    " + _("WARNING: {warning}").format(warning=shown(warning)))
    if not found:
        lines.append("  " + _("(no user database)"))
    emit(st, payload, "\n".join(lines))


@server_app.command("rights", help=N_(
    "What the profile's login may do here (backup, verify, restore, browse, delete), and what is "
    "missing for the rest."))
def login_rights(ctx: typer.Context, name: str = typer.Argument(..., help=N_("Profile name."))) -> None:
    """What the profile's login may do here (backup, verify, restore, browse, delete), and
    what is missing for the rest."""
    st = state(ctx)
    backend = backend_for(st, name)

    async def run() -> object:
        try:
            return await backend.login_rights()
        finally:
            await backend.close()

    found = asyncio.run(run())
    if found is None:
        emit(st, {"rights": None}, _("The server did not say what this login may do."))
        return
    rows = found.rights()  # type: ignore[attr-defined]
    payload = {"login": found.login, "sysadmin": found.sysadmin,  # type: ignore[attr-defined]
               "rights": [asdict(r) for r in rows]}
    lines = [_("Login '{user}' on {host}:").format(user=backend.connection.user, host=backend.connection.host)]
    lines += [f"  {_('yes') if r.allowed else _('NO'):<3}  {shown(r.operation)}  ({shown(r.needs)})"
              for r in rows]
    emit(st, payload, "\n".join(lines))
