"""Convert an Access dossier (the way off Access, docs/OPERATIONS.md "Access dossiers").

The form: which Access dossier of the list, into what (a new embedded dossier, or a new
database on a SQL Server connection profile), and the new dossier's number. Enter checks the
answers and returns a ``ConvertPlan`` (``WizardPlan.op``); nothing is read from the Access file
or written before the summary has been shown and the job runs (``engine.backends.access``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList, Static

from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BadInput
from msde_tui.engine.textsafe import one_line
from msde_tui.i18n import N_, _
from msde_tui.screens import registry
from msde_tui.screens.context import load_profiles
from msde_tui.screens.pack_common import EMBEDDED, PackStep, PickList


class ConvertScreen(PackStep):
    CSS_PATH = ["pack_screens.tcss", "access_screens.tcss"]  # type: ignore[assignment]
    TITLE = N_("Convert an Access dossier")
    HELP = N_(
        "Choose the Access dossier (arrow keys), then Tab: what it becomes - a new embedded "
        "dossier (a SQLite file in the data directory) or a new database on a SQL Server "
        "connection profile - and the new dossier's number. Every table and its rows are "
        "copied and read back; the Access file is only read (msde cannot write the Access "
        "format). Enter shows the summary; nothing is written before it."
    )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "browse"  # no directory on this form: F4 is not offered

    @property
    def earlier(self) -> Any:
        from msde_tui.engine.backends.access.plans import ConvertPlan

        op = self.plan.op
        return op if isinstance(op, ConvertPlan) else None

    def compose_body(self) -> Iterable[Widget]:
        yield Label(_("Access dossier:"), classes="convert-label")
        yield PickList(id="access")
        yield Label(_("Convert into:"), classes="convert-label")
        yield PickList(id="destination")
        with Horizontal(classes="pack-row"):
            yield Label(_("New number"), classes="pack-label")
            earlier = self.earlier
            number = (earlier.number if earlier is not None else None) or self.ctx.catalog().first_free_number()
            yield Input(number, id="number", compact=True, max_length=3)
            yield Static("", id="number-info", markup=False)
        with Horizontal(classes="pack-row", id="password-row"):
            yield Label(_("SQL Server password"), classes="pack-label")
            yield Input(self.earlier.password if self.earlier is not None else "", id="password",
                        password=True, placeholder=_("never saved"), compact=True)
        yield Static("", id="outcome", markup=False)

    def on_mount(self) -> None:
        self.access = [d for d in self.ctx.catalog().dossiers() if d.backend == "access"]
        earlier = self.earlier
        sources = self.query_one("#access", PickList)
        sources.set_rows([(d.code, access_line(d)) for d in self.access],
                         keep=earlier.dossier.code if earlier is not None else None)
        rows = [(EMBEDDED, _("a new embedded dossier (SQLite file in the data directory)"))]
        rows += [(p.name, _("a new database on SQL Server {profile}").format(profile=p.name))
                 for p in load_profiles(self.ctx.home)]
        keep = None if earlier is None else (EMBEDDED if earlier.to == "embedded" else earlier.to)
        self.query_one("#destination", PickList).set_rows(rows, keep=keep)
        self._show()
        if not self.access:
            self.say(_("No Access dossier is in the dossier list: add one first ('msde add --file X.mdb')."))
        sources.focus()

    def _password_wanted(self) -> bool:
        to = self.query_one("#destination", PickList).choice
        connection = self.plan.connection
        return to not in (None, EMBEDDED) and not (not connection.is_embedded and connection.profile == to)

    def _show(self) -> None:
        self.query_one("#password-row").display = self._password_wanted()
        info = self.query_one("#number-info", Static)
        typed = self.query_one("#number", Input).value.strip()
        taken = self.ctx.catalog().find(typed) if typed.isdigit() else None
        info.update(_("taken by {code}").format(code=taken.code) if taken is not None else "")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "number":
            self._show()

    def build(self) -> object:
        from msde_tui.engine.backends.access.plans import ConvertPlan

        code = self.query_one("#access", PickList).choice
        source = next((d for d in self.access if d.code == code), None)
        if source is None:
            raise BadInput(_("Choose the Access dossier to convert."),
                           _("Add one first with 'msde add --file X.mdb'."))
        destination = self.query_one("#destination", PickList).choice
        to = "embedded" if destination in (None, EMBEDDED) else destination
        catalog = self.ctx.catalog()
        typed = self.query_one("#number", Input).value.strip()
        if not typed:
            raise BadInput(_("Type the new dossier's number."),
                           _("Type another number; the first free one is {free}.").format(
                               free=catalog.first_free_number()))
        taken = catalog.find(typed) if typed.isdigit() else None
        if taken is not None:
            raise BadInput(
                _("Number {number} is already taken by {code} ({company}).").format(
                    number=taken.number, code=taken.code, company=taken.company),
                _("Type another number; the first free one is {free}.").format(free=catalog.first_free_number()),
            )
        number = catalog.free_number(typed)
        password = ""
        if to != "embedded":
            connection = self.plan.connection
            if not connection.is_embedded and connection.profile == to:
                password = connection.password
            else:
                password = self.query_one("#password", Input).value
                if not password:
                    raise BadInput(
                        _("Type the password of SQL Server profile {profile}.").format(profile=to),
                        _("It is used for this conversion only and never written anywhere."),
                    )
        return ConvertPlan(source, to=to, number=number, password=password)

    def remember(self) -> None:
        """No directory here: the session's export/import directory stays as it was."""


def access_line(dossier: Dossier) -> str:
    name = dossier.location.replace("\\", "/").rsplit("/", 1)[-1]
    return f"{dossier.code}  {one_line(dossier.company)}  ({one_line(name)})"


def register() -> None:
    """Offer the conversion of an Access dossier (on every connection)."""

    def factory(ctx: Any, plan: Any, pos: Any) -> ConvertScreen:
        return ConvertScreen(ctx, plan, pos)

    registry.register(registry.Operation(
        id="convert",
        label=N_("Convert an Access dossier"),
        steps=(factory, registry.summary_step, registry.progress_step),  # type: ignore[arg-type]
        help=N_("An Access dossier (.mdb/.accdb) becomes a new embedded or SQL Server dossier, "
                "every table's rows checked equal."),
        asks_verify=False,
        asks_directory=False,
        shows_directory=False,
    ))
