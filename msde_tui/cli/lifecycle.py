"""CLI commands: archive / unarchive (PAF), cut (fiscal-year cut), audit (tax-audit transfer)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from msde_tui.cli import selecting
from msde_tui.cli.common import (
    State,
    console,
    cut_from,
    cut_note,
    emit,
    err_console,
    set_exit,
    state,
)
from msde_tui.engine import identity, naming, selection
from msde_tui.engine.accounting import ledger
from msde_tui.engine.auditlog import audited
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BadInput, DossierNotFound, MsdeError
from msde_tui.engine.events import Event, Step
from msde_tui.engine.lifecycle import archive as archive_engine
from msde_tui.engine.lifecycle import cut as cut_engine
from msde_tui.engine.lifecycle import tax_audit as audit_engine

DOSSIERS_ARGUMENT = typer.Argument(None, help="Dossier numbers (001) or codes (001SOC); or --where.")


def register(app: typer.Typer) -> None:
    app.command("archive")(archive)
    app.command("unarchive")(unarchive)
    app.command("cut")(cut)
    app.command("audit")(audit)


# --------------------------------------------------------------------------- helpers


def _embedded(catalog: Catalog, ref: str) -> tuple[Dossier, Path]:
    dossier = catalog.get(ref)
    if not dossier.is_embedded:
        raise BadInput(
            f"{dossier.code} is a SQL Server dossier; archive, cut and audit work on embedded "
            "dossiers for now.",
            "Export it to an embedded dossier first (msde export).",
        )
    path = dossier.path(catalog.home)
    if not path.is_file():
        raise DossierNotFound(f"The file of {dossier.code} ({path}) is missing.", "Check the dossier list.")
    return identity.settle(catalog.home, dossier), path


def _emit(st: State, payload: dict[str, Any], human: str | None = None) -> None:
    """JSON with --json; else the human text, unwrapped (paths stay whole on 80 columns)."""
    if st.json or human is None:
        emit(st, payload)
    else:
        console.print(human, highlight=False, markup=False, soft_wrap=True)


def _directory(raw: str) -> Path:
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise BadInput(f"The directory {path} does not exist.", "Create it or give another --dir.")
    return path


def _progress(st: State) -> Callable[[Event], None]:
    def on_event(event: Event) -> None:
        if not st.json and isinstance(event, Step):
            detail = f" {event.detail}" if event.detail else ""
            err_console.print(f"{event.dossier}: {event.step}{detail}", highlight=False, markup=False, soft_wrap=True)

    return on_event


@ledger.translate_db_errors
def _error(exc: MsdeError) -> dict[str, Any]:
    return {"ok": False, "error": exc.message, "hint": exc.hint}


# --------------------------------------------------------------------------- archive


def archive(
    ctx: typer.Context,
    dossiers: list[str] = DOSSIERS_ARGUMENT,
    directory: str = typer.Option(..., "--dir", help="Where the PAF files are written."),
    years: str = typer.Option(None, "--years", help="Fiscal years to archive, e.g. 2015,2016."),
    older_than: int = typer.Option(
        archive_engine.DEFAULT_AGE, "--older-than", help="Default choice: closed years ended at least this many years ago."
    ),
    select_all: bool = typer.Option(False, "--all", help="Tick every closed year of every dossier (\"Select\")."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only show which years would be archived."),
    where: str = typer.Option(None, "--where", help=selecting.WHERE_HELP + " Here --where all picks "
                              "every embedded dossier (--all picks the years)."),
) -> None:
    """Archive fiscal years into a PAF per dossier, then replace them by one balance entry each."""
    st = state(ctx)
    if where:
        dossiers = [d.code for d in selecting.choose(st, dossiers, where=where) if d.is_embedded]
        if not dossiers:
            _emit(st, {"results": [], "where": where}, f"No embedded dossier matches --where {where}: nothing to do.")
            return
    elif not dossiers:
        raise BadInput("Which dossiers? Name them (001 002...), or use --where.", selection.HINT)
    if years and select_all:
        raise BadInput("--years and --all cannot be used together.", "Give one of them.")
    if older_than < 0:
        raise BadInput("--older-than cannot be negative.", "Give a number of years, e.g. 7.")
    out = _directory(directory)
    catalog = st.catalog()
    wanted = ledger.parse_years(years)
    results: list[dict[str, Any]] = []
    failed = False
    exit_codes: set[int] = set()
    for ref in dossiers:
        item: dict[str, Any] = {"dossier": ref}
        try:
            dossier, path = _embedded(catalog, ref)
            item["dossier"] = dossier.code
            all_years = ledger.years_of(path)
            if wanted:
                chosen = [y.code for y in all_years if y.code in wanted or str(y.end.year) in wanted]
                missing = [w for w in wanted if not any(w in (y.code, str(y.end.year)) for y in all_years)]
                if missing:
                    raise BadInput(
                        f"{dossier.code} has no fiscal year {', '.join(missing)}.",
                        f"Its years: {', '.join(y.code for y in all_years)}.",
                    )
            elif select_all:
                chosen = [y.code for y in archive_engine.archivable(all_years)]
            else:
                chosen = [y.code for y in archive_engine.default_years(all_years, date.today(), older_than)]
            item["years"] = chosen
            if not chosen:
                item.update(ok=True, skipped=True, message="No fiscal year to archive.")
            elif dry_run:
                item.update(ok=True, dry_run=True)
            else:
                options = {"years": chosen, "dir": str(out)}
                with audited(st.home, "archive", [dossier.code], options) as record:
                    result = archive_engine.archive_dossier(
                        path, chosen, out, number=dossier.number, short=dossier.short, on_event=_progress(st)
                    )
                    record.files = [str(result.paf)]
                item.update(
                    ok=True,
                    paf=str(result.paf),
                    verified=result.verified,
                    size=result.size,
                    seconds=round(result.seconds, 3),
                    archived=[asdict(y) for y in result.years],
                )
        except MsdeError as exc:
            failed = True
            exit_codes.add(exc.exit_code)
            item.update(_error(exc))
        results.append(item)
    if failed:  # 2 when every failure was bad input (no such year...), else 1
        set_exit(1 if 1 in exit_codes else 2)
    if st.json:
        _emit(st, {"ok": not failed, "results": results})
        return
    for item in results:
        if not item.get("ok"):
            console.print(f"{item['dossier']}: FAILED — {item['error']} {item['hint']}".rstrip(), highlight=False, markup=False, soft_wrap=True)
        elif item.get("skipped"):
            console.print(f"{item['dossier']}: nothing to archive.", highlight=False, markup=False, soft_wrap=True)
        elif item.get("dry_run"):
            console.print(f"{item['dossier']}: would archive {', '.join(item['years'])}.", highlight=False, markup=False, soft_wrap=True)
        else:
            console.print(
                f"{item['dossier']}: archived {', '.join(item['years'])} into {item['paf']} (verified).",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )


def unarchive(
    ctx: typer.Context,
    file: str = typer.Argument(..., help="The .paf file."),
    dossier: str = typer.Option(
        None, "--dossier", help="Dossier to import into: the one it came from or a copy made after it (default: the one it came from)."
    ),
    years: str = typer.Option(None, "--years", help="Only these archived years (default: all of them)."),
    delete: bool = typer.Option(False, "--delete", help="Delete the PAF once all its years are back."),
    show: bool = typer.Option(False, "--show", help="Only show the archived years the PAF holds."),
) -> None:
    """Import a PAF back into the dossier it came from: every detail returns, the balance entry goes."""
    st = state(ctx)
    info = archive_engine.read_paf_info(Path(file))
    if show:
        years_list = [
            {"code": y["code"], "start": y["start"], "end": y["end"], "rows": y["rows"]} for y in info.years
        ]
        _emit(
            st,
            {"paf": str(info.path), "dossier": info.code, "guid": info.guid, "years": years_list},
            "\n".join([f"{info.path.name}: archive of {info.code}"] + [
                f"  {y['code']}  {y['start']} – {y['end']}  {y['rows']['entry']} entries, "
                f"{y['rows']['entry_line']} lines, {y['rows']['attachment']} attachments"
                for y in years_list
            ]),
        )
        return
    catalog = st.catalog()
    if dossier:
        target, path = _embedded(catalog, dossier)
    else:
        found = identity.owner_of(catalog, info.guid)
        if found is None:
            raise DossierNotFound(
                f"{info.path.name} is an archive of dossier {info.code}, which is not in the dossier list.",
                "Add that dossier to the list (import or restore it) and run this again.",
            )
        target, path = _embedded(catalog, found.code)
    identity.check_line(target, info.guid, info.path.name, info.code)  # refused in words, nothing touched
    options = {"paf": str(info.path), "years": years or "all", "delete": delete}
    with audited(st.home, "unarchive", [target.code], options) as record:
        result = archive_engine.unarchive(
            path, info.path, years=ledger.parse_years(years), delete=delete, on_event=_progress(st),
            accept=identity.line(target),
        )
        record.files = [str(info.path)]
    payload = {
        "ok": True,
        "dossier": result.dossier,
        "paf": str(result.paf),
        "years": list(result.years),
        "entries": result.entries,
        "lines": result.lines,
        "attachments": result.attachments,
        "paf_deleted": result.paf_deleted,
        "seconds": round(result.seconds, 3),
    }
    kept = "deleted" if result.paf_deleted else "kept"
    _emit(
        st,
        payload,
        f"{result.dossier}: fiscal years {', '.join(result.years)} are back ({result.entries} entries, "
        f"{result.lines} lines, {result.attachments} attachments); the PAF was {kept}.",
    )


# --------------------------------------------------------------------------- cut


def cut(
    ctx: typer.Context,
    dossier: str = typer.Argument(None, help="Dossier number (001) or code (001SOC)."),
    keep_from: str = typer.Option(None, "--keep-from", help="First fiscal year to keep; earlier ones move out."),
    clean_references: bool = typer.Option(
        False, "--clean-references", help="Delete third parties that only the moved years used."
    ),
    list_only: bool = typer.Option(False, "--list", help="List the dossiers with at least --min-years years."),
    min_years: int = typer.Option(cut_engine.DEFAULT_MIN_YEARS, "--min-years", help="Threshold for --list."),
) -> None:
    """Move the fiscal years before --keep-from into a new dossier <code>_CUTnnn."""
    st = state(ctx)
    catalog = st.catalog()
    if list_only:
        if min_years < 1:
            raise BadInput("--min-years must be at least 1.")
        found = cut_engine.candidates(catalog, min_years)
        rows = [
            {
                "dossier": c.dossier.code,
                "company": c.dossier.company,
                "years": len(c.years),
                "first": c.years[0].code,
                "last": c.years[-1].code,
                "cut_from": cut_from(c.dossier),
            }
            for c in found
        ]
        if st.json:
            _emit(st, {"min_years": min_years, "dossiers": rows})
            return
        if not rows:
            console.print(f"No dossier has {min_years} fiscal years or more.")
            return
        table = Table("Dossier", "Company", "Years", "First", "Last", "Origin", box=None)
        for r, c in zip(rows, found, strict=True):
            table.add_row(*(str(r[k]) for k in ("dossier", "company", "years", "first", "last")),
                          cut_note(c.dossier))
        console.print(table)
        return
    if not dossier or not keep_from:
        raise BadInput("Give a dossier and --keep-from YEAR (or --list).", "Example: msde cut 001 --keep-from 2020")
    options = {"keep_from": keep_from, "clean_references": clean_references}
    with audited(st.home, "cut", [dossier], options) as record:
        result = cut_engine.cut(
            st.home, dossier, keep_from, clean_references=clean_references, on_event=_progress(st)
        )
        record.files = [str(result.cut_path)]
    _emit(
        st,
        {
            "ok": True,
            "dossier": result.dossier,
            "cut": result.cut_code,
            "cut_file": str(result.cut_path),
            "cut_number": result.catalog_number,
            "moved_years": list(result.years),
            "kept_years": list(result.kept_years),
            "rows": result.rows,
            "third_parties_deleted": result.third_parties_deleted,
            "verified": result.verified,
            "seconds": round(result.seconds, 3),
        },
        f"{result.dossier}: fiscal years {', '.join(result.years)} moved to {result.cut_code} "
        f"(dossier {result.catalog_number}, verified); {result.dossier} keeps "
        f"{', '.join(result.kept_years)}."
        + (f" {result.third_parties_deleted} unused third parties deleted." if clean_references else ""),
    )


# --------------------------------------------------------------------------- audit


def audit(
    ctx: typer.Context,
    dossier: str = typer.Argument(..., help="Dossier number (001) or code (001SOC)."),
    years: str = typer.Option(..., "--years", help="Fiscal years asked for, e.g. 2022,2023."),
    directory: str | None = typer.Option(
        None, "--dir", help="Where the Admin file (with --to embedded) and the FEC files go."
    ),
    simplified: bool = typer.Option(False, "--simplified", help="Real entries only (no simulations)."),
    no_attachments: bool = typer.Option(False, "--no-attachments", help="Leave attached documents out."),
    with_fec: bool = typer.Option(False, "--fec", help="Also write one FEC file per fiscal year."),
    encoding: str = typer.Option("utf-8", "--encoding", help="FEC encoding: utf-8 or iso-8859-15."),
    fec_id: str = typer.Option(
        None, "--fec-id",
        help="FEC file-name identifier for a dossier without French SIREN (the one the "
        "requesting administration uses): a FEC is a French format.",
    ),
    provisional: bool = typer.Option(
        False, "--provisional", help="Accept an open year or entries never validated: the FEC is named _PROVISOIRE."
    ),
    paf: str = typer.Option(
        None, "--paf", help="The PAF (or its directory) of archived years asked for: their entries come from it."
    ),
    to: str = typer.Option(
        "embedded", "--to",
        help="embedded (a file Admin<code>.sqlite in --dir) or a connection profile "
        "(database AdminPW0001SOC on that server).",
    ),
) -> None:
    """Tax-audit transfer: a copy Admin<code> of the years asked for (never restorable), + FEC."""
    st = state(ctx)
    if directory is None and (to == "embedded" or with_fec):
        raise BadInput(
            "--dir is needed" + (" for the FEC files." if to != "embedded" else " (where the Admin file goes)."),
            "Give an existing directory with --dir.",
        )
    out = _directory(directory) if directory is not None else None
    from msde_tui.engine.accounting import fec

    fec.check_encoding(encoding)
    catalog = st.catalog()
    target = catalog.get(dossier)
    passwords: dict[str, str] = {}

    def password_of(profile_name: str) -> str:
        if profile_name not in passwords:
            from msde_tui.cli.server import ask_password
            from msde_tui.engine.backends.mssql import profiles

            passwords[profile_name] = ask_password(profiles.get(profile_name, st.home))
        return passwords[profile_name]

    if target.is_embedded:
        _embedded(catalog, dossier)
        source_password = None
    else:
        if not target.profile:
            raise BadInput(f"Dossier {target.code} has no connection profile.", "Fix the dossier list.")
        source_password = password_of(target.profile)
    to_server = to != "embedded"
    database = audit_engine.server_database(target.number, target.short) if to_server else None
    server_password = password_of(to) if to_server else None
    options = {
        "years": years,
        "dir": str(out) if out else None,
        "to": to,
        "simplified": simplified,
        "attachments": not no_attachments,
        "fec": with_fec,
        "encoding": encoding,
        "fec_id": fec_id,
        "provisional": provisional,
        "paf": paf,
    }
    base = Path(target.location).stem if target.is_embedded else target.location
    with audited(st.home, "audit", [target.code], options) as record:
        with audit_engine.dossier_file(target, st.home, password=source_password) as path:
            common: dict[str, Any] = {
                "simplified": simplified,
                "attachments": not no_attachments,
                "with_fec": with_fec,
                "encoding": encoding,
                "on_event": _progress(st),
                "fec_id": fec_id,
                "provisional": provisional,
                "paf": Path(paf).expanduser() if paf else None,
            }
            if database is not None:
                result = audit_engine.audit_to_server(
                    path, ledger.parse_years(years), home=st.home, profile=to, database=database,
                    password=server_password, fec_directory=out, **common,
                )
            else:
                assert out is not None
                result = audit_engine.audit_dossier(path, ledger.parse_years(years), out, base=base, **common)
        where = f"{to}: {database}" if database else str(result.path)
        record.files = [where] + [str(f.path) for f in result.fec_files] + [
            str(f.description) for f in result.fec_files if f.description]
    payload = {"ok": True} | audit_engine.describe(result)
    copy = f"database {database} on {to}" if database else str(result.path)
    lines = [
        f"{result.dossier}: tax-audit copy {copy} written and verified "
        f"(years {', '.join(result.years)}{', real entries only' if simplified else ''}"
        f"{', without attachments' if no_attachments else ''}).",
        naming.NOT_RESTORABLE,
    ]
    for f in result.fec_files:
        lines.append(
            f"FEC {f.path.name}{' (PROVISIONAL)' if f.provisional else ''}: {f.entries} entries, "
            f"{f.lines} lines, debit = credit = {f.debit_total / 100:.2f}; described in "
            f"{f.description.name if f.description else '-'}."
        )
    lines += [f"Warning: {w}" for w in result.warnings]
    _emit(st, payload, "\n".join(lines))
