"""CLI command on Access dossiers: ``msde convert`` (the way off Access).

Adding (``msde add --file X.mdb``), backing up, verifying and restoring Access dossiers go
through the usual commands; see docs/OPERATIONS.md, "Access dossiers".
"""

from __future__ import annotations

from typing import Annotated

import typer

from msde_tui.cli.backup import finish, run_and_show
from msde_tui.cli.common import state
from msde_tui.engine.backends.access.plans import ConvertPlan
from msde_tui.engine.errors import BadInput
from msde_tui.engine.runs import registry
from msde_tui.i18n import N_, _


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("convert")(convert_command)


def convert_command(
    ctx: typer.Context,
    dossier: Annotated[str, typer.Argument(help=N_("The Access dossier: number (001) or code (001NW)."))],
    to: Annotated[str, typer.Option("--to", help=N_("'embedded' or a SQL Server connection profile."))] = "embedded",
    number: Annotated[str | None, typer.Option("--number", help=N_("Number of the new dossier (default: the first free one)."))] = None,
    short: Annotated[str | None, typer.Option("--short", help=N_("Short name of the new dossier (default: the Access dossier's)."))] = None,
    company: Annotated[str | None, typer.Option("--company", help=N_("Company name (default: the Access dossier's)."))] = None,
    force: Annotated[bool, typer.Option("--force", help=N_("Read the file even while Access has it open (the result may be inconsistent)."))] = False,
) -> None:
    """Convert an Access dossier into a new embedded dossier or SQL Server database, every
    table's rows checked equal; the Access file is only read."""
    st = state(ctx)
    record = st.catalog().get(dossier)
    if record.backend != "access":
        raise BadInput(_("{code} is not an Access dossier.").format(code=record.code),
                       _("Use 'msde export' to copy an embedded or SQL Server dossier."))
    password = ""
    if to != "embedded":
        from msde_tui.cli.server import ask_password
        from msde_tui.engine.backends.mssql import profiles

        password = ask_password(profiles.get(to, st.home))  # refuses an unknown profile first
    plan = ConvertPlan(record, to=to, number=number, short=short, company=company, force=force,
                       password=password)
    results = run_and_show(st, "convert", [registry.run(plan, st.home)], total=1)
    finish(st, "convert", results)
