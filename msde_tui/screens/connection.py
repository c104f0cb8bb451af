"""Step 1: where the dossiers are. Local (embedded), a saved profile, or another SQL Server."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from textual import work
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from msde_tui.engine.errors import BadInput, MsdeError
from msde_tui.engine.plans import Connection, WizardPlan
from msde_tui.i18n import N_, _
from msde_tui.screens.base import StepScreen
from msde_tui.screens.context import WizardContext, load_profiles
from msde_tui.screens.steps import StepPosition
from msde_tui.screens.widgets import ChoiceList

if TYPE_CHECKING:
    from msde_tui.engine.backends.mssql.profiles import Profile

EMBEDDED = "embedded"
OTHER = "other"


def describe_error(exc: BaseException) -> MsdeError:
    """Any failure as plain words (MsdeError passes through; the rest is wrapped)."""
    if isinstance(exc, MsdeError):
        return exc
    if isinstance(exc, OSError):
        return MsdeError(_("The connection failed: {reason}").format(reason=exc.strerror or exc))
    return MsdeError(_("The connection failed: {reason}").format(reason=exc))


class ConnectionScreen(StepScreen):
    TITLE = N_("Connection")
    HELP = N_(
        "Choose where the dossiers are. 'Local (embedded)' works on the dossier files of this "
        "computer's data directory, with no server. For SQL Server choose a saved connection "
        "or 'Another SQL Server', then type the server name (or address), the port (1433 by "
        "default), the SQL login and its password. The password stays in memory only.\n\n"
        "'Test connection' (Tab to it, Enter) checks the login without going further; Next "
        "checks it too."
    )

    def __init__(self, ctx: WizardContext, plan: WizardPlan, position: StepPosition) -> None:
        super().__init__(ctx, plan, position)
        self.profiles: list[Profile] = load_profiles(ctx.home)
        self.error_field: str | None = None  # the field the last refusal is about

    # -- layout

    def _initial_choice(self) -> str:
        conn = self.plan.connection
        if conn.is_embedded:
            return EMBEDDED
        if conn.profile and any(p.name == conn.profile for p in self.profiles):
            return f"profile:{conn.profile}"
        return OTHER

    def compose_body(self) -> Iterable[Widget]:
        yield Label(_("Where are the dossiers?"), classes="section-first")
        choices = [(EMBEDDED, _("Local (embedded): dossier files in {home}").format(home=self.ctx.home))]
        for profile in self.profiles:
            choices.append(
                (f"profile:{profile.name}", f"{profile.name}: {profile.user}@{profile.host}:{profile.port}")
            )
        choices.append((OTHER, _("Another SQL Server (type it below)")))
        yield ChoiceList(choices, selected=self._initial_choice(), id="where")
        conn = self.plan.connection
        # Composed in the state _apply_choice gives them on mount (restyling a mounted widget
        # costs more than styling it once).
        off = self._initial_choice() == EMBEDDED
        yield from self._row(_("Server"), Input(conn.host, id="host", compact=True, disabled=off))
        yield from self._row(
            _("Port"), Input(str(conn.port), id="port", compact=True, type="integer", disabled=off)
        )
        yield from self._row(_("SQL login"), Input(conn.user, id="user", compact=True, disabled=off))
        yield from self._row(
            _("Password"),
            Input(conn.password, id="password", password=True, compact=True, disabled=off),
        )
        with Horizontal(classes="buttons"):
            yield Button(_("Test connection"), id="test", compact=True, disabled=off)
        yield Static("", id="facts", markup=False)

    def _row(self, label: str, field: Input) -> Iterable[Widget]:
        row = Horizontal(Label(_("{label}:").format(label=label), classes="field-label"), field, classes="field-row")
        yield row

    def on_mount(self) -> None:
        self._apply_choice(self.query_one("#where", ChoiceList).choice, fill=False)
        self.query_one("#where", ChoiceList).focus()

    # -- behaviour

    def on_choice_list_chosen(self, event: ChoiceList.Chosen) -> None:
        self._apply_choice(event.choice, fill=True)

    def _apply_choice(self, choice: str, *, fill: bool) -> None:
        server = choice != EMBEDDED
        for field_id in ("host", "port", "user", "password"):
            self.query_one(f"#{field_id}", Input).disabled = not server
        self.query_one("#test", Button).disabled = not server
        profile = self._profile(choice)
        if fill and profile is not None:
            self.query_one("#host", Input).value = profile.host
            self.query_one("#port", Input).value = str(profile.port)
            self.query_one("#user", Input).value = profile.user
            self.query_one("#password", Input).value = ""
        self.query_one("#facts", Static).update("")
        self.say("")

    def _profile(self, choice: str) -> Profile | None:
        if not choice.startswith("profile:"):
            return None
        name = choice.split(":", 1)[1]
        return next((p for p in self.profiles if p.name == name), None)

    def connection(self) -> Connection:
        """The connection the form describes (raises BadInput when incomplete)."""
        choice = self.query_one("#where", ChoiceList).choice
        self.error_field = None
        if choice == EMBEDDED:
            return Connection()
        host = self.query_one("#host", Input).value.strip()
        port_text = self.query_one("#port", Input).value.strip() or "1433"
        user = self.query_one("#user", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not host:
            self.error_field = "host"
            raise BadInput(_("The server name is empty."), _("Type the server name or address."))
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            self.error_field = "port"
            raise BadInput(
                _("'{port}' is not a port number.").format(port=port_text),
                _("Use a number from 1 to 65535 (1433 by default)."),
            )
        if not user:
            self.error_field = "user"
            raise BadInput(_("The SQL login is empty."), _("Type the SQL Server login."))
        profile = self._profile(choice)
        return Connection(
            kind="mssql",
            profile=profile.name if profile else None,
            host=host,
            port=int(port_text),
            user=user,
            password=password,
            driver=profile.driver if profile else self.plan.connection.driver,
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "test":
            event.stop()
            self._check(advance=False)

    def go_next(self) -> None:
        self._check(advance=True)

    def _check(self, *, advance: bool) -> None:
        try:
            connection = self.connection()
        except MsdeError as exc:
            self.say_error(exc)
            if self.error_field:  # the cursor goes where the error is; Shift+Tab from there
                self.query_one(f"#{self.error_field}", Input).focus()  # reaches the choice list
            return
        if connection.is_embedded and advance:
            self.dismiss(replace(self.plan, connection=connection))
            return
        self.busy_reason = _("Connecting, please wait...")
        self.say(self.busy_reason)
        self._connect(connection, advance)

    @work(exclusive=True, group="connect", exit_on_error=False)
    async def _connect(self, connection: Connection, advance: bool) -> None:
        try:
            facts = await self.ctx.facts(connection)
        except Exception as exc:  # noqa: BLE001 - shown in plain words, never a traceback
            self.ctx.forget(connection)
            self.busy_reason = None
            self.query_one("#facts", Static).update("")
            self.say_error(describe_error(exc))
            return
        self.busy_reason = None
        line = _("Connected: {product}, {edition}, version {version}.").format(
            product=facts.product, edition=facts.edition, version=facts.version
        )
        if facts.is_express and facts.size_limit_bytes:
            line += " " + _("Express: {gb} GB per database.").format(
                gb=facts.size_limit_bytes // 1024**3
            )
        self.query_one("#facts", Static).update(line)
        self.say("")
        if advance:
            self.dismiss(replace(self.plan, connection=connection))
