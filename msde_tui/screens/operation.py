"""Step 2: the operation (Backup / Restore / Verify...), "Verify after", the directory and,
for a restore, where the data files go. Directories are checked through the backend: on the
SQL Server host for a server, on this computer for embedded dossiers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from textual import work
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from msde_tui.engine.backends import directory_problem
from msde_tui.engine.backends.base import ServerFacts
from msde_tui.engine.errors import BadInput, MsdeError
from msde_tui.engine.paths import DirProblem
from msde_tui.engine.plans import WizardPlan
from msde_tui.i18n import N_, _
from msde_tui.screens import registry
from msde_tui.screens.base import StepScreen
from msde_tui.screens.browse import BrowseScreen, local_start
from msde_tui.screens.connection import describe_error
from msde_tui.screens.dialogs import ConfirmScreen
from msde_tui.screens.widgets import ChoiceList, SpaceCheckbox, human_size


def normalize_directory(raw: str, *, embedded: bool, separator: str) -> str:
    """The directory as the backend wants it; refuses empty, relative and mixed-style paths."""
    text = raw.strip()
    if not text:
        raise BadInput(_("The directory is empty."), _("Type a directory or press F4 to browse."))
    if embedded:
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
        return str(path.resolve())
    try:
        from msde_tui.engine.backends.mssql.tsql import normalize_server_dir
    except ImportError:
        return text
    return normalize_server_dir(text, separator)


def directory_refusal(problem: DirProblem) -> BadInput:
    """The refusal of a directory, in the user's language."""
    if problem.kind == "service":
        return BadInput(
            _("The SQL Server service account {account} cannot write in {path} on the server "
              "host ({reason}).").format(
                account=problem.account, path=problem.path, reason=_(problem.detail)),
            _("Give {account} the right to write in {path} on the server, or choose another "
              "directory there.").format(account=problem.account, path=problem.path),
        )
    if problem.kind == "system":
        return BadInput(
            _("{path} is on a system filesystem ({kind}), not a place for backups.").format(
                path=problem.path, kind=problem.detail),
            _("Choose a directory on a disk, e.g. under your home directory or /srv."),
        )
    return BadInput(
        _("The account {account} cannot write in {path} ({reason}).").format(
            account=problem.account, path=problem.path, reason=problem.detail),
        _("Choose another directory, or give that account the right to write there."),
    )


class OperationScreen(StepScreen):
    TITLE = N_("Operation")
    HELP = N_("Choose the operation with the arrow keys; this help tells of the one chosen.")
    HELP_VERIFY = N_("'Verify after' reads every backup back and checks it (recommended).")
    HELP_SERVER_DIR = N_(
        "On SQL Server the directory is ON THE SERVER HOST, as the SQL Server service sees it: "
        "F4 browses the server's directories."
    )
    HELP_DATA_DIR = N_(
        "The second directory is where the restored data files go (by default the server's "
        "data directory)."
    )
    BINDINGS = [
        Binding("f4", "browse", N_("Browse"), id="browse", key_display="F4"),
    ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.facts: ServerFacts | None = None
        self.directory_label = ""

    # -- layout

    def compose_body(self) -> Iterable[Widget]:
        choices = [
            (op.id, _(op.label)) for op in registry.operations() if op.available(self.plan.connection)
        ]
        ids = [cid for cid, _label in choices]
        selected = self.plan.operation if self.plan.operation in ids else ids[0]
        yield ChoiceList(choices, selected=selected, id="operation")
        yield SpaceCheckbox(
            _("Verify after (recommended)"), self.plan.verify_after, id="verify", compact=True
        )
        yield Label("", id="directory-label", classes="label-line")
        with Horizontal(classes="field-row", id="directory-row"):
            yield Input(self.plan.directory, id="directory", compact=True)
            yield Button(_("Browse (F4)"), id="browse-button", compact=True)
        yield Label(_("Restored data files go to (on the server):"), id="data-dir-label", classes="label-line")
        with Horizontal(classes="field-row", id="data-dir-row"):
            yield Input(self.plan.data_dir, id="data-dir", compact=True)
        yield Static("", id="dir-info", markup=False)

    def help_text(self) -> str:
        op = registry.get(self.operation_id)
        parts = [_(self.HELP), f"{_(op.label)}: {_(op.help)}" if op.help else _(op.label)]
        if op.asks_verify:
            parts.append(_(self.HELP_VERIFY))
        if op.asks_directory and op.shows_directory:
            parts.append(self.directory_label)
            if not self.plan.connection.is_embedded:
                parts.append(_(self.HELP_SERVER_DIR))
        if op.asks_data_dir and not self.plan.connection.is_embedded:
            parts.append(_(self.HELP_DATA_DIR))
        return "\n\n".join(parts)

    def on_mount(self) -> None:
        self._show_operation(self.operation_id)
        operations = self.query_one("#operation", ChoiceList)
        operations.styles.max_height = operations.option_count + 2  # every entry, room allowing
        operations.focus()
        self.load_facts()

    @property
    def operation_id(self) -> str:
        return self.query_one("#operation", ChoiceList).choice

    def on_choice_list_chosen(self, event: ChoiceList.Chosen) -> None:
        self._show_operation(event.choice)

    def _show_operation(self, operation_id: str) -> None:
        op = registry.get(operation_id)
        embedded = self.plan.connection.is_embedded
        self.query_one("#verify").display = op.asks_verify
        where = _("on this computer") if embedded else _("on the SQL Server host")
        self.directory_label = _("{label} ({where}):").format(label=_(op.directory_label), where=where)
        self.query_one("#directory-label", Label).update(self.directory_label)
        self.query_one("#directory-label").display = op.shows_directory
        self.query_one("#directory-row").display = op.shows_directory
        self.refresh_bindings()  # F4 only where there is a directory to browse
        show_data = op.asks_data_dir and not embedded
        self.query_one("#data-dir-label").display = show_data
        self.query_one("#data-dir-row").display = show_data
        info = self.query_one("#dir-info", Static)
        if op.asks_data_dir and embedded:
            info.update(_("Restored dossiers go into the data directory {home}.").format(home=self.ctx.home))
        else:
            info.update("")

    @work(exclusive=True, group="facts", exit_on_error=False)
    async def load_facts(self) -> None:
        try:
            self.facts = await self.ctx.facts(self.plan.connection)
        except Exception as exc:  # noqa: BLE001 - plain words, never a traceback
            self.say_error(describe_error(exc))
            return
        directory = self.query_one("#directory", Input)
        if not directory.value:
            if self.plan.connection.is_embedded:
                directory.value = self.facts.default_backup_path or str(self.ctx.home / "backups")
            else:
                directory.value = self.facts.default_backup_path
        data_dir = self.query_one("#data-dir", Input)
        if not data_dir.value and not self.plan.connection.is_embedded:
            data_dir.value = self.facts.default_data_path

    # -- browsing

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "browse-button":
            event.stop()
            self.action_browse()

    def _separator(self) -> str:
        if self.plan.connection.is_embedded:
            return "\\" if Path.cwd().anchor.endswith("\\") else "/"
        return self.facts.path_separator if self.facts else "\\"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "browse":
            try:
                return registry.get(self.operation_id).shows_directory
            except NoMatches:  # asked before the list is there
                return True
        return True

    def action_browse(self) -> None:
        field = self.query_one("#directory", Input)
        if self.plan.connection.is_embedded:
            start = local_start(field.value.strip(), self.ctx.home)
        else:
            start = field.value.strip() or (self.facts.default_backup_path if self.facts else "")
            if not start:
                self.say(_("Wait until the server answered, then browse again."))
                return

        def chosen(path: str | None) -> None:
            if path:
                field.value = path
                field.focus()

        self.app.push_screen(
            BrowseScreen(self.ctx, self.plan.connection, start, self._separator()), chosen
        )

    # -- next

    def answers(self) -> WizardPlan:
        op = registry.get(self.operation_id)
        plan = replace(
            self.plan,
            operation=op.id,
            verify_after=self.query_one("#verify", SpaceCheckbox).value,
            directory=self.query_one("#directory", Input).value.strip(),
            data_dir=self.query_one("#data-dir", Input).value.strip(),
        )
        if plan.operation != self.plan.operation:  # as Next does: another operation's choices go
            plan = replace(plan, dossiers=(), restore_items=(), op=None)
        return plan

    def go_next(self) -> None:
        op = registry.get(self.operation_id)
        try:
            directory = ""
            if op.asks_directory:
                directory = normalize_directory(
                    self.query_one("#directory", Input).value,
                    embedded=self.plan.connection.is_embedded,
                    separator=self._separator(),
                )
            data_dir = ""
            if op.asks_data_dir and not self.plan.connection.is_embedded:
                data_dir = normalize_directory(
                    self.query_one("#data-dir", Input).value,
                    embedded=False,
                    separator=self._separator(),
                )
        except MsdeError as exc:
            self.say_error(exc)
            return
        verify = self.query_one("#verify", SpaceCheckbox).value
        plan = replace(
            self.plan,
            operation=op.id,
            verify_after=verify if op.asks_verify else True,
            directory=directory,
            data_dir=data_dir,
        )
        if plan.operation != self.plan.operation:
            plan = replace(plan, dossiers=(), restore_items=(), op=None)
        if op.make_plan is not None:  # an operation without choices of its own
            plan = replace(plan, op=op.make_plan(plan))
        elif plan.directory != self.plan.directory:
            plan = replace(plan, restore_items=())
        self.busy_reason = _("Checking the directory...")
        self.say(self.busy_reason)
        self.check_and_go(plan)

    def _back_to_field(self, message: str = "") -> None:
        """Leave "Checking the directory..." behind: the answer is the user's to change."""
        self.busy_reason = None
        self.say(message)
        self.query_one("#directory", Input).focus()

    @work(exclusive=True, group="check", exit_on_error=False)
    async def check_and_go(self, plan: WizardPlan) -> None:
        op = registry.get(plan.operation)
        try:
            if plan.directory:
                backend = await self.ctx.backend(plan.connection)
                exists, free = await backend.check_dir(plan.directory)
            else:
                exists, free = True, None
        except Exception as exc:  # noqa: BLE001
            self.busy_reason = None
            self.say_error(describe_error(exc))
            return
        self.busy_reason = None
        if not exists:
            if op.writes_directory and plan.connection.is_embedded:
                question = _("The directory {path} does not exist. Create it?").format(
                    path=plan.directory
                )
                if not await self.app.push_screen_wait(ConfirmScreen(question, default=True)):
                    self._back_to_field(_("Type another directory or press F4 to browse."))
                    return
                try:
                    Path(plan.directory).mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    self.say_error(
                        BadInput(
                            _("Cannot create {path}: {reason}").format(
                                path=plan.directory, reason=exc.strerror or exc
                            ),
                            _("Choose another directory."),
                        )
                    )
                    self.query_one("#directory", Input).focus()
                    return
                free = None
            else:
                where = _("on this computer") if plan.connection.is_embedded else _("on the server host")
                self.say_error(
                    BadInput(
                        _("The directory {path} does not exist {where}.").format(
                            path=plan.directory, where=where
                        ),
                        _("Type an existing directory or press F4 to browse."),
                    )
                )
                self.query_one("#directory", Input).focus()
                return
        if op.writes_directory and plan.directory:
            try:  # written by this computer's user, or by the SQL Server service account
                problem = await directory_problem(backend, plan.directory)
            except Exception as exc:  # noqa: BLE001
                self.say_error(describe_error(exc))
                self.query_one("#directory", Input).focus()
                return
            if problem is not None:
                self.say_error(directory_refusal(problem))
                self.query_one("#directory", Input).focus()
                return
        if free is not None:
            self.query_one("#dir-info", Static).update(
                _("{free} free in this directory.").format(free=human_size(free))
            )
        self.dismiss(plan)
