"""CLI: ``msde log`` shows the audit log (one line per operation)."""

from __future__ import annotations

import typer

from msde_tui import units
from msde_tui.cli.common import console, emit, listing, operation_word, state
from msde_tui.engine import auditlog
from msde_tui.i18n import N_, _

# The audit log's results (engine/auditlog.py writes them in English).
RESULT_WORDS = {"ok": N_("ok"), "failed": N_("failed"), "cancelled": N_("cancelled"),
                "partial": N_("partial")}


def register(app: typer.Typer) -> None:
    app.command("log")(show_log)


def show_log(
    ctx: typer.Context,
    last: int = typer.Option(50, "--last", help=N_("How many of the latest operations to show (0 = all).")),
) -> None:
    """Show the audit log: who did what, when, on which dossiers, with which result."""
    st = state(ctx)
    lines = auditlog.read(st.home, limit=last or None)
    if st.json:
        emit(st, {"log": lines})
        return
    if not lines:
        console.print(_("The audit log is empty."))
        return
    table = listing(_("When"), _("User"), _("Operation"), _("Dossiers"), _("Result"), _("Seconds"))
    for line in lines:
        table.add_row(
            str(line.get("time", "")),
            str(line.get("user", "")),
            operation_word(str(line.get("operation", ""))),
            ",".join(line.get("dossiers", [])),
            _(RESULT_WORDS.get(str(line.get("result", "")), str(line.get("result", "")))),
            units.decimal(float(line.get("duration_s", 0) or 0)),
        )
    console.print(table)
