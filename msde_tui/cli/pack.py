"""CLI commands for packed files and export copies: pack, import, apply, export, pack-info."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from msde_tui.cli import selecting
from msde_tui.cli.common import State, emit, err_console, set_exit, state
from msde_tui.engine.auditlog import audited
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BadInput, MsdeError
from msde_tui.engine.packs import export_copy as copies
from msde_tui.engine.packs import pack as packs

PASSPHRASE_ENV = "MSDE_PACK_PASSPHRASE"


def register(app: typer.Typer) -> None:
    app.command("pack")(pack_command)
    app.command("import")(import_command)
    app.command("apply")(apply_command)
    app.command("export")(export_command)
    app.command("pack-info")(info_command)


def _passphrase(ask: bool, *, confirm: bool) -> str | None:
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    if not ask:
        return None
    value = typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, default="", show_default=False)
    if not value:
        raise BadInput("An empty passphrase cannot protect anything.", "Type a passphrase, or pack without --encrypt.")
    return str(value)


def _file_passphrase(path: Path) -> str | None:
    """The passphrase for an existing file: only asked when the file is encrypted."""
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env
    try:
        encrypted = bool(packs.package_header(path)["encrypted"])
    except MsdeError:  # the command's own read reports the damage in plain words
        return None
    return _passphrase(encrypted, confirm=False) if encrypted else None


def _where(record: Dossier, home: Path) -> str:
    """What an import or apply wrote: the dossier's file, or its database name on the server."""
    return str(record.path(home)) if record.is_embedded else record.location


def _progress(quiet: bool):  # type: ignore[no-untyped-def]
    def show(message: str) -> None:
        if not quiet:
            err_console.print(f"  {message}", highlight=False, markup=False)

    return show


def pack_command(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Option("--dir", help="Directory to write the packed file in.")],
    dossiers: Annotated[list[str] | None, typer.Argument(help="Numbers (001) or codes (001SOC).")] = None,
    select_all: Annotated[bool, typer.Option("--all", help=selecting.ALL_HELP)] = False,
    where: Annotated[str | None, typer.Option("--where", help=selecting.WHERE_HELP)] = None,
    partial: Annotated[bool, typer.Option("--partial", help="Only what changed since the last PBF/PTF (a PTF).")] = False,
    encrypt: Annotated[bool, typer.Option("--encrypt", help=f"Encrypt with a passphrase (asked, or {PASSPHRASE_ENV}).")] = False,
) -> None:
    """Write a PBF of each dossier, or a PTF with --partial."""
    st = state(ctx)
    records = selecting.choose(st, dossiers, select_all=select_all, where=where)
    if not records:
        emit(st, {"packages": [], "where": where}, f"No dossier matches --where {where}: nothing to pack.")
        return
    passphrase = _passphrase(encrypt, confirm=True) if encrypt else None
    if len(records) == 1 and dossiers:  # one named dossier: its error is the command's
        emit(st, *_pack_one(st, records[0], directory, partial, passphrase))
        return
    done: list[dict[str, object]] = []
    failed: list[dict[str, object]] = []
    for record in records:
        try:
            payload, human = _pack_one(st, record, directory, partial, passphrase)
        except MsdeError as exc:
            failed.append({"dossier": record.code, "error": type(exc).__name__, "message": exc.message,
                           "hint": exc.hint})
            if not st.json:
                err_console.print(f"FAILED {record.code}: {exc.message}", highlight=False, markup=False)
            continue
        done.append({"dossier": record.code, **payload})
        if not st.json:
            emit(st, {}, f"{record.code}: {human}")
    emit(st, {"packages": done, "failed": failed} if st.json else {},
         None if st.json else f"{len(done)} packed, {len(failed)} failed.")
    if failed:
        set_exit(1)


def _pack_one(st: State, record: Dossier, directory: Path, partial: bool,
              passphrase: str | None) -> tuple[dict[str, object], str]:
    options = {"dir": str(directory), "partial": partial, "encrypt": passphrase is not None}
    with audited(st.home, "pack", [record.code], options) as logged:
        result = packs.export_package(record, st.home, directory, partial=partial, passphrase=passphrase,
                                      progress=_progress(st.json))
        logged.files = [str(result.path)]
    if result.warning:
        err_console.print(f"Warning: {result.warning}", highlight=False, markup=False)
    rows = sum(t.get("rows", 0) for t in result.tables.values())
    deleted = sum(t.get("deleted", 0) for t in result.tables.values())
    human = f"{result.kind} written and verified: {result.path} ({result.size:,} bytes, {rows:,} rows"
    human += f", {deleted:,} deleted keys)" if result.kind == "PTF" else ")"
    return ({"file": str(result.path), "kind": result.kind, "package_id": result.package_id,
             "size": result.size, "tables": result.tables, "warning": result.warning,
             "encrypted": result.encrypted, "verified": True}, human)


def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A .pbf, an export copy E001SOC.sqlite, or with --from "
                                              "an export copy database EPW0001SOC.")],
    number: Annotated[str | None, typer.Option("--number", help="Dossier number to import as (default: first free; "
                                                                "an export copy: its own number).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="'embedded' or a SQL Server connection profile "
                                                        "(default: embedded; with --from: that server).")] = None,
    source: Annotated[str | None, typer.Option("--from", help="Connection profile of the server holding the "
                                                              "export copy database.")] = None,
) -> None:
    """Import a PBF or an export copy (a file, or a database on a server) as a new dossier."""
    st = state(ctx)
    if source is not None:
        _import_database(st, str(file), source, number, to)
        return
    to = to or "embedded"
    if not file.is_file():
        raise BadInput(f"{file} does not exist.", "Check the file name (a database on a server needs --from PROFILE).")
    if copies.is_sqlite_file(file):
        if to != "embedded":
            raise BadInput("An export copy file is imported as an embedded dossier.", "Leave out --to.")
        with audited(st.home, "import", [], {"file": str(file), "number": number, "to": to}) as logged:
            record = copies.import_export_copy(file, st.home, number=number)
            logged.dossiers, logged.files = [record.code], [_where(record, st.home)]
    else:
        passphrase = _file_passphrase(file)
        with audited(st.home, "import", [], {"file": str(file), "number": number, "to": to}) as logged:
            record = packs.import_package(file, st.home, number=number,
                                          to_profile=None if to == "embedded" else to,
                                          passphrase=passphrase, progress=_progress(st.json))
            logged.dossiers, logged.files = [record.code], [_where(record, st.home)]
    emit(st, {"dossier": asdict(record) | {"code": record.code}, "verified": True},
         f"Imported as {record.code} ({record.company}); every row was checked.")


def _import_database(st: State, database: str, source: str, number: str | None, to: str | None) -> None:
    """``msde import EPW0001SOC --from PROFILE``: a SQL Server export copy under its base name."""
    if not database or Path(database).name != database:
        raise BadInput(f"{database!r} is not a database name.", "Give the export copy database's name, e.g. EPW0001SOC.")
    options = {"database": database, "from": source, "number": number, "to": to}
    with audited(st.home, "import", [], options) as logged:
        record = copies.import_export_database(database, st.home, profile=source, number=number, to=to,
                                               progress=_progress(st.json))
        logged.dossiers, logged.files = [record.code], [_where(record, st.home)]
    emit(st, {"dossier": asdict(record) | {"code": record.code}, "verified": True},
         f"Imported {database} as {record.code} ({_where(record, st.home)}); every row was checked.")


def apply_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A .ptf file.")],
    dossier: Annotated[str | None, typer.Option("--dossier", help="The dossier to update: the one it was made from or a copy of it (default: the one whose base it follows).")] = None,
) -> None:
    """Apply a PTF to the dossier it follows, in one transaction."""
    st = state(ctx)
    passphrase = _file_passphrase(file)
    with audited(st.home, "apply", [dossier] if dossier else [], {"file": str(file)}) as logged:
        result = packs.apply_package(file, st.home, dossier_ref=dossier, passphrase=passphrase,
                                     progress=_progress(st.json))
        logged.dossiers, logged.files = [result.dossier.code], [_where(result.dossier, st.home)]
    emit(st, {"dossier": result.dossier.code, "package_id": result.package_id, "upserted": result.upserted,
              "deleted": result.deleted, "replaced_tables": result.replaced_tables},
         f"{result.dossier.code} is up to date: {result.upserted:,} rows written, {result.deleted:,} deleted.")


def export_command(
    ctx: typer.Context,
    dossier: Annotated[str, typer.Argument(help="Number (001) or code (001SOC).")],
    to: Annotated[str, typer.Option("--to", help="'embedded' or a SQL Server connection profile.")] = "embedded",
    directory: Annotated[Path | None, typer.Option("--dir", help="Embedded: directory of the copy (default: data dir).")] = None,
) -> None:
    """Write the export copy E + base name (E001SOC.sqlite or EPW0001SOC)."""
    st = state(ctx)
    record = st.catalog().get(dossier)
    options = {"to": to, "dir": None if directory is None else str(directory)}
    with audited(st.home, "export", [record.code], options) as logged:
        result = copies.export_copy(record, st.home, to=to, directory=directory, progress=_progress(st.json))
        logged.files = [str(result.target)]
    rows = sum(result.tables.values())
    emit(st, asdict(result), f"Export copy written and checked: {result.target} ({rows:,} rows).")


def info_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A .pbf, .ptf or .paf file.")],
) -> None:
    """Check every member of a packed file and show what it holds."""
    st = state(ctx)
    info = packs.package_info(file, passphrase=_file_passphrase(file))
    tables = info.get("tables") or {}
    lines = [f"{info['kind']} {file.name}: verified, package {info['package_id']}, made {info['created_at']}"]
    ident = info.get("dossier") or {}
    lines.append(f"dossier {ident.get('code')} ({ident.get('company')}), GUID {ident.get('guid')}")
    for name, t in tables.items():
        lines.append(f"  {name}: {t.get('rows', 0):,} rows" + (f", {t['deleted']:,} deleted" if t.get("deleted") else ""))
    emit(st, info, "\n".join(lines))
