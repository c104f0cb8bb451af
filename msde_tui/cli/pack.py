"""CLI commands for packed files and export copies: pack, import, apply, export, pack-info."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from msde_tui import units
from msde_tui.cli import selecting
from msde_tui.cli.backup import finish
from msde_tui.cli.common import State, emit, err_console, state
from msde_tui.cli.running import details as result_details
from msde_tui.cli.running import run_one, run_plan
from msde_tui.engine.errors import BadInput, MsdeError
from msde_tui.engine.packs import cutimport, packinfo
from msde_tui.engine.packs import export_copy as copies
from msde_tui.engine.plans import ApplyPlan, ExportCopyPlan, ImportPlan, PackPlan
from msde_tui.engine.words import shown
from msde_tui.i18n import N_, _

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
    value = typer.prompt(_("Passphrase"), hide_input=True,
                         confirmation_prompt=_("Repeat for confirmation") if confirm else False,
                         default="", show_default=False)
    if not value:
        raise BadInput(_("An empty passphrase cannot protect anything."),
                       _("Type a passphrase, or pack without --encrypt."))
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
    directory: Annotated[Path, typer.Option("--dir", help=N_("Directory to write the packed file in."))],
    dossiers: Annotated[list[str] | None, typer.Argument(help=N_("Numbers (001) or codes (001SOC)."))] = None,
    select_all: Annotated[bool, typer.Option("--all", help=selecting.ALL_HELP)] = False,
    where: Annotated[str | None, typer.Option("--where", help=selecting.WHERE_HELP)] = None,
    partial: Annotated[bool, typer.Option("--partial", help=N_("Only what changed since the last PBF/PTF (a PTF)."))] = False,
    encrypt: Annotated[bool, typer.Option("--encrypt", help=N_("Encrypt with a passphrase (asked, or MSDE_PACK_PASSPHRASE)."))] = False,
) -> None:
    """Write a PBF of each dossier, or a PTF with --partial."""
    st = state(ctx)
    records = selecting.choose(st, dossiers, select_all=select_all, where=where)
    if not records:
        emit(st, {"packages": [], "where": where},
             _("No dossier matches --where {where}: nothing to pack.").format(where=where))
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
        err_console.print(_("Warning: {warning}").format(warning=shown(details["warning"])),
                          highlight=False, markup=False)
    values = {"kind": details["kind"], "file": details["file"], "size": units.number(details["size"]),
              "rows": units.number(details["rows"]), "deleted": units.number(details.get("deleted", 0))}
    human = (_("{kind} written and verified: {file} ({size} bytes, {rows} rows, {deleted} deleted keys)")
             if details["kind"] == "PTF" else
             _("{kind} written and verified: {file} ({size} bytes, {rows} rows)")).format(**values)
    keys = ("file", "kind", "package_id", "size", "tables", "warning", "encrypted")
    emit(st, {k: details[k] for k in keys} | {"verified": True}, human)


def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help=N_("A .pbf, an export copy E001SOC.sqlite, or with --from "
                                              "an export copy database EPW0001SOC."))],
    number: Annotated[str | None, typer.Option("--number", help=N_("Dossier number to import as (default: first free; "
                                                                "an export copy: its own number)."))] = None,
    to: Annotated[str | None, typer.Option("--to", help=N_("'embedded' or a SQL Server connection profile "
                                                        "(default: embedded; with --from: that server)."))] = None,
    source: Annotated[str | None, typer.Option("--from", help=N_("Connection profile of the server holding the "
                                                              "export copy database."))] = None,
) -> None:
    """Import a PBF or an export copy (a file, or a database on a server) as a new dossier."""
    st = state(ctx)
    if source is not None:
        _import_database(st, str(file), source, number, to)
        return
    to = to or "embedded"
    if not file.is_file():
        raise BadInput(_("{file} does not exist.").format(file=file),
                       _("Check the file name (a database on a server needs --from PROFILE)."))
    if copies.is_sqlite_file(file):
        if to != "embedded":
            raise BadInput(_("An export copy file is imported as an embedded dossier."), _("Leave out --to."))
        source_kind, passphrase = ("cut" if cutimport.is_cut_file(file) else "copy"), None
    else:
        source_kind, passphrase = "pbf", _file_passphrase(file)
    result = run_one(st, ImportPlan(str(file), source=source_kind, number=number or "", to=to,
                                    passphrase=passphrase or ""))
    record = result_details(result)["dossier"]
    emit(st, {"dossier": record, "verified": True},
         _("Imported as {code} ({company}); every row was checked.").format(
             code=record["code"], company=record["company"]))


def _import_database(st: State, database: str, source: str, number: str | None, to: str | None) -> None:
    """``msde import EPW0001SOC --from PROFILE``: a SQL Server export copy under its base name."""
    if not database or Path(database).name != database:
        raise BadInput(_("'{name}' is not a database name.").format(name=database),
                       _("Give the export copy database's name, e.g. EPW0001SOC."))
    result = run_one(st, ImportPlan(database, source="database", number=number or "", to=to or "",
                                    from_profile=source))
    record = result_details(result)["dossier"]
    emit(st, {"dossier": record, "verified": True},
         _("Imported {database} as {code} ({where}); every row was checked.").format(
             database=database, code=record["code"], where=result.files[0]))


def apply_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help=N_("A .ptf file."))],
    dossier: Annotated[str | None, typer.Option("--dossier", help=N_("The dossier to update: the one it was made from or a copy of it (default: the one whose base it follows)."))] = None,
) -> None:
    """Apply a PTF to the dossier it follows, in one transaction."""
    st = state(ctx)
    passphrase = _file_passphrase(file)
    code = st.catalog().get(dossier).code if dossier else ""  # "": the one it follows (its GUID)
    result = run_one(st, ApplyPlan(str(file), code, passphrase=passphrase or ""))
    d = result_details(result)
    emit(st, {k: d[k] for k in ("dossier", "package_id", "upserted", "deleted", "replaced_tables")},
         _("{code} is up to date: {upserted} rows written, {deleted} deleted.").format(
             code=d["dossier"], upserted=units.number(d["upserted"]), deleted=units.number(d["deleted"])))


def export_command(
    ctx: typer.Context,
    dossier: Annotated[str, typer.Argument(help=N_("Number (001) or code (001SOC)."))],
    to: Annotated[str, typer.Option("--to", help=N_("'embedded' or a SQL Server connection profile."))] = "embedded",
    directory: Annotated[Path | None, typer.Option("--dir", help=N_("Embedded: directory of the copy (default: data dir)."))] = None,
) -> None:
    """Write the export copy E + base name (E001SOC.sqlite or EPW0001SOC)."""
    st = state(ctx)
    record = st.catalog().get(dossier)
    result = run_one(st, ExportCopyPlan((record.code,), to=to, directory="" if directory is None else str(directory)))
    d = result_details(result)
    copy = d["result"]
    emit(st, copy, _("Export copy written and checked: {target} ({rows} rows).").format(
        target=copy["target"], rows=units.number(d["rows"])))


def info_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help=N_("A .pbf, .ptf or .paf file."))],
) -> None:
    """Check every member of a packed file and show what it holds."""
    st = state(ctx)
    info = packinfo.package_info(file, passphrase=_file_passphrase(file))
    tables = info.get("tables") or {}
    lines = [_("{kind} {file}: verified, package {package}, made {when}").format(
        kind=info["kind"], file=file.name, package=info["package_id"], when=info["created_at"])]
    ident = info.get("dossier") or {}
    lines.append(_("dossier {code} ({company}), GUID {guid}").format(
        code=ident.get("code"), company=ident.get("company"), guid=ident.get("guid")))
    for name, t in tables.items():
        rows = units.number(t.get("rows", 0))
        lines.append("  " + (_("{table}: {rows} rows, {deleted} deleted").format(
            table=name, rows=rows, deleted=units.number(t["deleted"])) if t.get("deleted")
            else _("{table}: {rows} rows").format(table=name, rows=rows)))
    emit(st, info, "\n".join(lines))
