"""CLI commands for packed files and export copies: pack, import, apply, export, pack-info."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from msde_tui.cli import selecting
from msde_tui.cli.backup import finish
from msde_tui.cli.common import State, emit, err_console, state
from msde_tui.cli.running import details as result_details
from msde_tui.cli.running import run_one, run_plan
from msde_tui.engine.errors import BadInput, MsdeError
from msde_tui.engine.packs import cutimport, packinfo
from msde_tui.engine.packs import export_copy as copies
from msde_tui.engine.plans import ApplyPlan, ExportCopyPlan, ImportPlan, PackPlan

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
        encrypted = bool(packinfo.package_header(path)["encrypted"])
    except MsdeError:  # the command's own read reports the damage in plain words
        return None
    return _passphrase(encrypted, confirm=False) if encrypted else None


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
    plan = PackPlan(tuple(r.code for r in records), str(directory), partial=partial,
                    passphrase=passphrase or "")
    if len(records) > 1 or not dossiers:  # several: one result each, the run goes on
        finish(st, "pack", run_plan(st, plan))
        return
    result = run_one(st, plan)  # one named dossier: its error is the command's
    details = result_details(result)
    if details.get("warning"):
        err_console.print(f"Warning: {details['warning']}", highlight=False, markup=False)
    human = (f"{details['kind']} written and verified: {details['file']} ({details['size']:,} bytes, "
             f"{details['rows']:,} rows")
    human += f", {details['deleted']:,} deleted keys)" if details["kind"] == "PTF" else ")"
    keys = ("file", "kind", "package_id", "size", "tables", "warning", "encrypted")
    emit(st, {k: details[k] for k in keys} | {"verified": True}, human)


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
        source_kind, passphrase = ("cut" if cutimport.is_cut_file(file) else "copy"), None
    else:
        source_kind, passphrase = "pbf", _file_passphrase(file)
    result = run_one(st, ImportPlan(str(file), source=source_kind, number=number or "", to=to,
                                    passphrase=passphrase or ""))
    record = result_details(result)["dossier"]
    emit(st, {"dossier": record, "verified": True},
         f"Imported as {record['code']} ({record['company']}); every row was checked.")


def _import_database(st: State, database: str, source: str, number: str | None, to: str | None) -> None:
    """``msde import EPW0001SOC --from PROFILE``: a SQL Server export copy under its base name."""
    if not database or Path(database).name != database:
        raise BadInput(f"{database!r} is not a database name.", "Give the export copy database's name, e.g. EPW0001SOC.")
    result = run_one(st, ImportPlan(database, source="database", number=number or "", to=to or "",
                                    from_profile=source))
    record = result_details(result)["dossier"]
    emit(st, {"dossier": record, "verified": True},
         f"Imported {database} as {record['code']} ({result.files[0]}); every row was checked.")


def apply_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A .ptf file.")],
    dossier: Annotated[str | None, typer.Option("--dossier", help="The dossier to update: the one it was made from or a copy of it (default: the one whose base it follows).")] = None,
) -> None:
    """Apply a PTF to the dossier it follows, in one transaction."""
    st = state(ctx)
    passphrase = _file_passphrase(file)
    code = st.catalog().get(dossier).code if dossier else ""  # "": the one it follows (its GUID)
    result = run_one(st, ApplyPlan(str(file), code, passphrase=passphrase or ""))
    d = result_details(result)
    emit(st, {k: d[k] for k in ("dossier", "package_id", "upserted", "deleted", "replaced_tables")},
         f"{d['dossier']} is up to date: {d['upserted']:,} rows written, {d['deleted']:,} deleted.")


def export_command(
    ctx: typer.Context,
    dossier: Annotated[str, typer.Argument(help="Number (001) or code (001SOC).")],
    to: Annotated[str, typer.Option("--to", help="'embedded' or a SQL Server connection profile.")] = "embedded",
    directory: Annotated[Path | None, typer.Option("--dir", help="Embedded: directory of the copy (default: data dir).")] = None,
) -> None:
    """Write the export copy E + base name (E001SOC.sqlite or EPW0001SOC)."""
    st = state(ctx)
    record = st.catalog().get(dossier)
    result = run_one(st, ExportCopyPlan((record.code,), to=to, directory="" if directory is None else str(directory)))
    d = result_details(result)
    copy = d["result"]
    emit(st, copy, f"Export copy written and checked: {copy['target']} ({d['rows']:,} rows).")


def info_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A .pbf, .ptf or .paf file.")],
) -> None:
    """Check every member of a packed file and show what it holds."""
    st = state(ctx)
    info = packinfo.package_info(file, passphrase=_file_passphrase(file))
    tables = info.get("tables") or {}
    lines = [f"{info['kind']} {file.name}: verified, package {info['package_id']}, made {info['created_at']}"]
    ident = info.get("dossier") or {}
    lines.append(f"dossier {ident.get('code')} ({ident.get('company')}), GUID {ident.get('guid')}")
    for name, t in tables.items():
        lines.append(f"  {name}: {t.get('rows', 0):,} rows" + (f", {t['deleted']:,} deleted" if t.get("deleted") else ""))
    emit(st, info, "\n".join(lines))
