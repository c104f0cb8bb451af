"""CLI commands on the dossier list: list, rename, remove, free, add, demo, check."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from msde_tui import units
from msde_tui.cli.common import (
    ALL_HELP,
    WHERE_HELP,
    State,
    console,
    cut_from,
    cut_note,
    emit,
    listing,
    set_exit,
    state,
)
from msde_tui.engine import paths
from msde_tui.engine.backends.access import fileformat as access_files
from msde_tui.engine.backends.access.guard import refuse_access
from msde_tui.engine.backends.embedded import dossier as embedded
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BadInput, MsdeError
from msde_tui.engine.words import problem_kind, shown
from msde_tui.i18n import N_, _

if TYPE_CHECKING:  # the SQL toolkit loads in the commands that use it, not for ``msde list``
    from msde_tui.engine.accounting.check import Problem


def register(app: typer.Typer) -> None:
    app.command("list")(list_dossiers)
    app.command("rename")(rename)
    app.command("remove")(remove)
    app.command("free")(free_number)
    app.command("add")(add)
    app.command("demo")(demo)
    app.command("check")(check)


def _finish_interrupted(home: Path) -> None:
    """List the dossiers a kill left unlisted after a committed cut or a completed import."""
    if (home / paths.CUT_PENDING_DIR).is_dir():
        from msde_tui.engine.lifecycle import cut

        cut.recover(home)
    if (home / paths.IMPORT_PENDING_DIR).is_dir():
        from msde_tui.engine.packs import packimport

        packimport.recover_imports(home)


def list_dossiers(ctx: typer.Context) -> None:
    """Show the dossier list."""
    st = state(ctx)
    _finish_interrupted(st.home)
    dossiers = st.catalog().dossiers()
    if st.json:
        emit(st, {"dossiers": [asdict(d) | {"code": d.code, "fiscal_years": _years(st, d),
                                            "cut_from": cut_from(d)}
                               for d in dossiers]})
        return
    if not dossiers:
        console.print(_("The dossier list is empty. Create demo dossiers with: msde demo"))
        return
    table = listing(_("Number"), _("Code"), _("Company"), _("Backend"), _("Location"), _("Status"))
    for d in dossiers:
        where = d.location if d.is_embedded or d.backend == "access" else f"{d.profile}:{d.location}"
        table.add_row(d.number, d.code, d.company, _backend_word(d.backend), where,
                      _(STATUS_WORDS.get(d.status, d.status)) + (f" ({cut_note(d)})" if cut_note(d) else ""))
    console.print(table)


# Words of the list's columns (the catalog keeps them in English).
BACKEND_WORDS = {"embedded": N_("embedded"), "mssql": N_("SQL Server"), "access": N_("Access")}
STATUS_WORDS = {status: status for status in (N_("active"), N_("restored"), N_("cut"), N_("imported"),
                                             N_("converted"), N_("export"))}


def _backend_word(backend: str) -> str:
    return _(BACKEND_WORDS[backend]) if backend in BACKEND_WORDS else backend


def _years(st: State, d: Dossier) -> int | None:
    """Fiscal years of an embedded dossier (None for SQL Server: listing does not connect)."""
    return embedded.fiscal_year_count(d.path(st.home)) if d.is_embedded else None


def rename(
    ctx: typer.Context,
    dossier: str = typer.Argument(..., help=N_("Number (001) or code (001SOC).")),
    company: str = typer.Option(None, "--company", help=N_("New company name.")),
) -> None:
    """Change the company name shown in the list (the dossier's data is not touched)."""
    st = state(ctx)
    updated = st.catalog().rename(dossier, company=company)
    emit(st, {"dossier": asdict(updated)}, f"{updated.code}: {updated.company}")


def remove(
    ctx: typer.Context,
    dossier: str = typer.Argument(..., help=N_("Number (001) or code (001SOC).")),
    delete_data: bool = typer.Option(
        False, "--delete-data", help=N_("Also delete the embedded dossier file (never a SQL Server database).")
    ),
) -> None:
    """Remove a dossier from the list. Its data stays unless --delete-data is given."""
    st = state(ctx)
    removed = st.catalog().remove(dossier, delete_data=delete_data)
    kept = "deleted" if delete_data else "kept"
    emit(
        st,
        {"removed": removed.code, "data": kept},
        (_("{code} removed from the list; its data was deleted.") if delete_data
         else _("{code} removed from the list; its data was kept.")).format(code=removed.code),
    )


def free_number(ctx: typer.Context) -> None:
    """Print the first free dossier number."""
    st = state(ctx)
    number = st.catalog().first_free_number()
    emit(st, {"number": number}, number)


def add(
    ctx: typer.Context,
    number: str = typer.Option(None, "--number", help=N_("Dossier number (default: the first free one).")),
    short: str = typer.Option(..., "--short", help=N_("Short name, e.g. SOC.")),
    company: str = typer.Option(..., "--company", help=N_("Company name shown in the list.")),
    file: str = typer.Option(None, "--file", help=N_("An embedded dossier file in the data directory, or an Access file (.mdb/.accdb) anywhere.")),
    profile: str = typer.Option(None, "--profile", help=N_("SQL Server connection profile.")),
    database: str = typer.Option(None, "--database", help=N_("SQL Server database name.")),
) -> None:
    """Put an existing dossier in the list: an embedded file (--file) or a SQL Server database."""
    st = state(ctx)
    catalog = st.catalog()
    if bool(file) == bool(profile or database) or (not file and not (profile and database)):
        raise BadInput(
            _("Give either --file, or both --profile and --database."),
            _("e.g. msde add --short SOC --company 'Soc SRL' --file 001SOC.sqlite"),
        )
    if not company.strip():
        raise BadInput(_("The company name cannot be empty."))
    number = number or catalog.first_free_number()
    if file and access_files.sniff(Path(file).expanduser()) is not None:
        found = access_files.open_access(Path(file))  # recognised by its header, not its name
        added = catalog.add(Dossier(number=number, short=short, company=company.strip(),
                                    backend="access", location=str(found.path)))
        emit(st, {"added": asdict(added) | {"code": added.code, "format": found.format,
                                            "size": found.size}},
             _("{code} ({company}) added: {path} — {kind}. msde reads it and writes copies or "
               "other formats; it never writes Access files.").format(
                 code=added.code, company=added.company, path=found.path, kind=found.describe()))
        return
    if file:
        from msde_tui.engine.dossier_files import add_file

        added = add_file(st.home, file, number=number, short=short, company=company)
        emit(st, {"added": asdict(added) | {"code": added.code}},
             _("{code} ({company}) added: {where}").format(code=added.code, company=added.company,
                                                          where=added.location))
        return
    from msde_tui.engine.backends.mssql import profiles

    profiles.get(profile, st.home)  # refuses an unknown profile
    name = database.strip()
    if not name or len(name) > 128:
        raise BadInput(_("'{name}' is not a database name.").format(name=database),
                       _("Use 1 to 128 characters."))
    added = catalog.add(Dossier(number=number, short=short, company=company.strip(), backend="mssql",
                                location=name, profile=profile))
    where = added.location if added.is_embedded else f"{added.profile}:{added.location}"
    emit(st, {"added": asdict(added) | {"code": added.code}},
         _("{code} ({company}) added: {where}").format(code=added.code, company=added.company,
                                                      where=where))


def demo(
    ctx: typer.Context,
    dossiers: int = typer.Option(3, "--dossiers", min=1, max=999, help=N_("How many dossiers.")),
    years: int = typer.Option(10, "--years", min=1, max=100, help=N_("Fiscal years per dossier.")),
    lines: int = typer.Option(3000, "--lines", min=0, help=N_("Entry lines per dossier (about).")),
    seed: int = typer.Option(0, "--seed", help=N_("Same seed, same data.")),
) -> None:
    """Create demo dossiers (Belgian chart, journals, VAT, openings) in the data directory."""
    from msde_tui.engine.accounting.demo import create_demo

    st = state(ctx)
    started = time.perf_counter()
    created = create_demo(st.home, dossiers=dossiers, years=years, lines=lines, seed=seed)
    seconds = time.perf_counter() - started
    report = []
    for d in created:
        count = embedded.entry_line_count(d.path(st.home)) or 0
        report.append(asdict(d) | {"code": d.code, "years": years, "lines": count})
    total = sum(r["lines"] for r in report)
    rate = int(total / seconds) if seconds > 0 else 0
    if st.json:
        emit(st, {"created": report, "seconds": round(seconds, 3), "lines_per_second": rate})
        return
    for r in report:
        console.print(_("{code}  {company}  {years} fiscal years, {lines} lines  -> {file}").format(
                          code=r["code"], company=r["company"], years=r["years"],
                          lines=units.number(r["lines"]), file=r["location"]), highlight=False, markup=False)
    console.print(_("{count} demo dossier(s) created in {home} ({lines} lines in {seconds} s, "
                    "{rate} lines/s).").format(count=len(report), home=st.home, lines=units.number(total),
                                               seconds=units.decimal(seconds), rate=units.number(rate)),
                  highlight=False, markup=False)


def check(
    ctx: typer.Context,
    dossiers: Annotated[list[str] | None, typer.Argument(
        help=N_("Numbers (001) or codes (001SOC); or use --all / --where."), show_default=False)] = None,
    select_all: Annotated[bool, typer.Option("--all", help=ALL_HELP)] = False,
    where: Annotated[str | None, typer.Option("--where", help=WHERE_HELP)] = None,
) -> None:
    """List the integrity problems of dossiers (exit 0 healthy, 1 problems found or not checked)."""
    from msde_tui.cli import selecting  # the selection: loaded when a check runs

    st = state(ctx)
    chosen = selecting.choose(st, dossiers, select_all=select_all, where=where)
    if len(dossiers or []) == 1:  # one dossier named: its error is the command's
        _show_one(st, chosen[0], _check(st, chosen[0], _passwords(st, chosen)))
        return
    checkable = [d for d in chosen if d.backend != "access"]
    if not checkable:
        emit(st, {"dossiers": [], "healthy": True},
             _("No dossier to check ({count} Access dossier(s) left aside: convert them first).").format(
                 count=len(chosen)) if chosen else
             _("No dossier matches --where {where}: nothing to check.").format(where=where))
        return
    passwords = _passwords(st, checkable)
    results = _check_each(st, checkable, passwords)
    bad = sum(1 for _d, problems, error in results if problems or error is not None)
    if bad:
        set_exit(1)
    if st.json:
        emit(st, {"healthy": not bad, "dossiers": [
            {"dossier": d.code, "healthy": not problems and error is None,
             "problems": [asdict(p) for p in problems or []],
             "error": None if error is None else error.message,  # JSON speaks English, as every result's
             "hint": None if error is None else error.hint}
            for d, problems, error in results]})
        return
    for d, problems, error in results:
        if error is not None:
            console.print(_("{code}: not checked: {message}").format(code=d.code, message=shown(error.message)),
                          highlight=False, markup=False)
        else:
            _show_one(st, d, problems or [])
    left = len(chosen) - len(checkable)
    console.print(_("{count} dossier(s) checked: {healthy} without problem, {bad} with problems or not "
                    "checked.").format(count=len(results), healthy=len(results) - bad, bad=bad)
                  + (" " + _("{count} Access dossier(s) left aside.").format(count=left) if left else ""),
                  highlight=False, markup=False)


def _show_one(st: State, record: Dossier, problems: list[Problem]) -> None:
    if problems:
        set_exit(1)
    if st.json:
        emit(st, {"dossier": record.code, "healthy": not problems,
                  "problems": [asdict(p) for p in problems]})
        return
    if not problems:
        console.print(_("{code}: no problem found.").format(code=record.code), highlight=False, markup=False)
        return
    console.print(_("{code}: {count} problem(s):").format(code=record.code, count=len(problems)),
                  highlight=False, markup=False)
    for p in problems:
        console.print(f"  [{problem_kind(p.kind)}] {shown(p.message)}", highlight=False, markup=False)


def _passwords(st: State, records: list[Dossier]) -> dict[str, str]:
    """The password of each SQL Server profile the dossiers use, asked once per profile before
    any check runs."""
    from msde_tui.cli.server import ask_password
    from msde_tui.engine.backends.mssql import profiles

    asked: dict[str, str] = {}
    for record in records:
        if not record.is_embedded and record.backend != "access" and record.profile and record.profile not in asked:
            asked[record.profile] = ask_password(profiles.get(record.profile, st.home))
    return asked


def _check_each(
    st: State, records: list[Dossier], passwords: dict[str, str],
) -> list[tuple[Dossier, list[Problem] | None, MsdeError | None]]:
    """Every dossier checked, several at once (the machine's cores), in the list's order; a
    dossier that cannot be checked gives its error, the others are checked all the same."""
    def one(record: Dossier) -> tuple[Dossier, list[Problem] | None, MsdeError | None]:
        try:
            return record, _check(st, record, passwords), None
        except MsdeError as exc:
            return record, None, exc

    from msde_tui.engine.runs.concurrency import embedded_concurrency

    with ThreadPoolExecutor(max_workers=embedded_concurrency()) as pool:
        return list(pool.map(one, records))


def _check(st: State, record: Dossier, passwords: dict[str, str]) -> list[Problem]:
    if not record.is_embedded:
        refuse_access(record, "the integrity check")
        if not record.profile:
            raise BadInput(_("Dossier {code} has no connection profile.").format(code=record.code),
                           _("Fix the dossier list."))
    from msde_tui.engine.accounting.check import check_listed  # the SQL toolkit: loaded here

    return check_listed(st.home, record, passwords.get(record.profile or ""))
