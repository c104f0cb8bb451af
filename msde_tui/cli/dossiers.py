"""CLI commands on the dossier list: list, rename, remove, free (and demo, check)."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.table import Table

from msde_tui.cli.common import console, emit, state


def register(app: typer.Typer) -> None:
    app.command("list")(list_dossiers)
    app.command("rename")(rename)
    app.command("remove")(remove)
    app.command("free")(free_number)


def list_dossiers(ctx: typer.Context) -> None:
    """Show the dossier list."""
    st = state(ctx)
    dossiers = st.catalog().dossiers()
    if st.json:
        emit(st, {"dossiers": [asdict(d) | {"code": d.code} for d in dossiers]})
        return
    if not dossiers:
        console.print("The dossier list is empty. Create demo dossiers with: msde demo")
        return
    table = Table("Number", "Code", "Company", "Backend", "Location", "Status", box=None)
    for d in dossiers:
        where = d.location if d.is_embedded else f"{d.profile}:{d.location}"
        table.add_row(d.number, d.code, d.company, d.backend, where, d.status)
    console.print(table)


def rename(
    ctx: typer.Context,
    dossier: str = typer.Argument(..., help="Number (001) or code (001SOC)."),
    company: str = typer.Option(None, "--company", help="New company name."),
) -> None:
    """Change the company name shown in the list (the dossier's data is not touched)."""
    st = state(ctx)
    updated = st.catalog().rename(dossier, company=company)
    emit(st, {"dossier": asdict(updated)}, f"{updated.code}: {updated.company}")


def remove(
    ctx: typer.Context,
    dossier: str = typer.Argument(..., help="Number (001) or code (001SOC)."),
    delete_data: bool = typer.Option(
        False, "--delete-data", help="Also delete the embedded dossier file (never a SQL Server database)."
    ),
) -> None:
    """Remove a dossier from the list. Its data stays unless --delete-data is given."""
    st = state(ctx)
    removed = st.catalog().remove(dossier, delete_data=delete_data)
    kept = "deleted" if delete_data else "kept"
    emit(
        st,
        {"removed": removed.code, "data": kept},
        f"{removed.code} removed from the list; its data was {kept}.",
    )


def free_number(ctx: typer.Context) -> None:
    """Print the first free dossier number."""
    st = state(ctx)
    number = st.catalog().first_free_number()
    emit(st, {"number": number}, number)
