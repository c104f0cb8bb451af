"""CLI: ``msde log`` shows the audit log (one line per operation)."""

from __future__ import annotations

import typer
from rich.table import Table

from msde_tui.cli.common import console, emit, state
from msde_tui.engine import auditlog


def register(app: typer.Typer) -> None:
    app.command("log")(show_log)


def show_log(
    ctx: typer.Context,
    last: int = typer.Option(50, "--last", help="How many of the latest operations to show (0 = all)."),
) -> None:
    """Show the audit log: who did what, when, on which dossiers, with which result."""
    st = state(ctx)
    lines = auditlog.read(st.home, limit=last or None)
    if st.json:
        emit(st, {"log": lines})
        return
    if not lines:
        console.print("The audit log is empty.")
        return
    table = Table("Time", "User", "Operation", "Dossiers", "Result", "Seconds", box=None)
    for line in lines:
        table.add_row(
            str(line.get("time", "")),
            str(line.get("user", "")),
            str(line.get("operation", "")),
            ",".join(line.get("dossiers", [])),
            str(line.get("result", "")),
            f"{line.get('duration_s', 0):.1f}",
        )
    console.print(table)
