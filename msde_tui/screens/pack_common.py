"""What the packed-file and export screens share: the local directory row, the passphrase rows,
a one-choice list (``PickList``) and the dossier tick list.

Each of these screens is a form: Enter checks the answers and returns a new plan (an
``engine.plans`` operation plan in ``WizardPlan.op``); nothing is read into or written until the
summary has been shown and the job runs. Going back to the screen shows the answers given.
Packed files and export-copy files are always read and written by this computer, so each screen
asks its own local directory (F4 browses this computer's disk), whatever the connection.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BadInput
from msde_tui.engine.plans import Connection, WizardPlan
from msde_tui.engine.textsafe import one_line
from msde_tui.i18n import N_, _
from msde_tui.screens.base import FormStep
from msde_tui.screens.browse import BrowseScreen, local_start
from msde_tui.screens.steps import StepPosition
from msde_tui.screens.widgets import TickList, clip, human_size, table_room

if TYPE_CHECKING:
    from msde_tui.engine.packs.packlisting import FileEntry

EMBEDDED = "\x00embedded"  # the export-copy destination "an embedded file in the directory"


def entry_line(entry: FileEntry, width: int = 0) -> str:
    """Code, company, date and size of a packed file; the company takes what ``width`` leaves
    (21 characters when no width is given)."""
    when = entry.when.strftime("%Y-%m-%d %H:%M") if entry.when else "?"
    if entry.problem:
        company = _("cannot be read")
    elif entry.listed_as:
        company = _("in the list as {code}").format(code=entry.listed_as)
    elif entry.encrypted:
        company = _("(encrypted)")
    else:
        company = one_line(entry.company)
    room = max(8, width - 14 - 1 - 1 - len(when) - 1 - 9) if width else 21
    return f"{clip(one_line(entry.code), 14):<14} {clip(company, room):<{room}} {when} {human_size(entry.size):>9}"


# --------------------------------------------------------------------------- widgets


class PickList(OptionList):
    """One choice among rows that change; the highlighted row is the choice, drawn ``(*)``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows: list[tuple[str, str]] = []
        self._marked: int | None = None
        self._wanted: str | None = None

    class Refit(Message):
        """The list's width changed: its screen may write its rows again to the new width."""

        def __init__(self, pick_list: PickList) -> None:
            super().__init__()
            self.pick_list = pick_list

    _fitted_width = -1

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._fitted_width:
            self._fitted_width = event.size.width
            self.post_message(self.Refit(self))

    def line_room(self) -> int:
        """The characters a row has: inside the border, beside ``(*)`` and a scrollbar."""
        return table_room(self) - 4

    def set_rows(self, rows: list[tuple[str, str]], keep: str | None = None) -> None:
        if self._wanted is not None and any(rid == self._wanted for rid, _l in rows):
            keep, self._wanted = self._wanted, None  # the row chosen before Back
        self.rows = list(rows)
        self._marked = None
        self.clear_options()
        self.add_options([Option(Text("( ) " + label), id=rid) for rid, label in self.rows])
        if self.rows:
            index = next((i for i, (rid, _l) in enumerate(self.rows) if rid == keep), 0)
            self.highlighted = index
            self._mark(index)

    @property
    def choice(self) -> str | None:
        index = self.highlighted
        if index is None or not (0 <= index < len(self.rows)):
            return None
        return self.rows[index][0]

    def choose(self, rid: str) -> None:
        """Choose that row; when the list does not hold it yet, once it does."""
        for index, (other, _label) in enumerate(self.rows):
            if other == rid:
                self._wanted = None
                self.highlighted = index
                self._mark(index)
                return
        self._wanted = rid

    def clear_choice(self) -> None:
        """No row chosen (the user picks one)."""
        self.highlighted = None
        self._mark(None)

    def _mark(self, index: int | None) -> None:
        if index == self._marked:
            return
        for position, mark in ((self._marked, "( ) "), (index, "(*) ")):
            if position is not None and 0 <= position < len(self.rows):
                self.replace_option_prompt_at_index(position, Text(mark + self.rows[position][1]))
        self._marked = index

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list is self:
            self._mark(event.option_index)



class PackStep(FormStep):
    """A form with a local directory: Enter checks it and returns the plan (``build``).

    A refusal (a taken number, no file chosen) is shown inline and the form stays.
    ``PLAN_TYPE`` is the plan this form builds; ``self.earlier`` is that plan when the user came
    back to the form, so every field shows its earlier answer.
    """

    CSS_PATH = "pack_screens.tcss"
    BINDINGS = [
        Binding("f4", "browse", N_("Browse"), id="pack_browse", key_display="F4"),
    ]
    DIRECTORY_LABEL = N_("Local directory")
    last_directory: dict[Path, str] = {}  # per data directory, for the next pack step of the session

    def __init__(self, ctx: Any, plan: WizardPlan, position: StepPosition) -> None:
        super().__init__(ctx, plan, position)
        self.dossiers: list[Dossier] = []
        self.entries: list[FileEntry] = []
        self.previous: dict[str, dict[str, Any] | None] = {}
        self.numbers: list[str] = []

    # -- layout

    def compose_body(self) -> Iterable[Widget]:
        with Horizontal(classes="pack-row"):
            yield Label(_(self.DIRECTORY_LABEL), classes="pack-label")
            yield Input(self.start_directory(), id="directory", compact=True)
            yield Button(_("Browse (F4)"), id="browse-button", compact=True)
        yield from self.compose_form()
        yield Static("", id="outcome", markup=False)

    def compose_form(self) -> Iterable[Widget]:
        return []

    def earlier_directory(self) -> str:
        earlier = self.earlier
        return str(getattr(earlier, "directory", "") or "") if earlier is not None else ""

    def start_directory(self) -> str:
        home = self.ctx.home
        return self.earlier_directory() or self.plan.directory or PackStep.last_directory.get(home) or str(home / "exports")

    def passphrase_rows(self, *, twice: bool) -> Iterable[Widget]:
        with Horizontal(classes="pack-row", id="passphrase-row"):
            yield Label(_("Passphrase (optional)") if twice else _("Passphrase"), classes="pack-label")
            hint = _("empty = not encrypted") if twice else _("this file is encrypted")
            earlier = str(getattr(self.earlier, "passphrase", "") or "")
            yield Input(earlier, id="passphrase", password=True, placeholder=hint, compact=True)
        if twice:
            with Horizontal(classes="pack-row", id="passphrase2-row"):
                yield Label(_("Passphrase again"), classes="pack-label")
                yield Input(earlier, id="passphrase2", password=True, placeholder=_("the same again"),
                            compact=True)

    def passphrase(self, *, twice: bool) -> str | None:
        first = self.query_one("#passphrase", Input).value
        if twice and first != self.query_one("#passphrase2", Input).value:
            raise BadInput(_("The two passphrases differ."), _("Type the same passphrase twice, or leave both empty."))
        return first or None

    @property
    def directory(self) -> Path:
        raw = self.query_one("#directory", Input).value.strip()
        if not raw:
            raise BadInput(_("The directory is empty."), _("Type a directory or press F4 to browse."))
        path = Path(raw).expanduser()
        return path if path.is_absolute() else (Path.cwd() / path)

    # -- browsing this computer

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "browse-button":
            event.stop()
            self.action_browse()

    def action_browse(self) -> None:
        field = self.query_one("#directory", Input)
        separator = "\\" if Path.cwd().anchor.endswith("\\") else "/"

        def chosen(path: str | None) -> None:
            if path:
                field.value = path
                field.focus()

        start = local_start(field.value.strip(), self.ctx.home)
        self.app.push_screen(BrowseScreen(self.ctx, Connection(), start, separator), chosen)


    # -- next: the plan, nothing else

    def remember(self) -> None:
        PackStep.last_directory[self.ctx.home] = self.query_one("#directory", Input).value.strip()

    # -- dossiers of the connection

    def connection_dossiers(self) -> list[Dossier]:
        """The listed dossiers this connection reaches (embedded ones, or the profile's)."""
        connection = self.plan.connection
        found = []
        for dossier in self.ctx.catalog().dossiers():
            if connection.is_embedded:
                if dossier.is_embedded and dossier.path(self.ctx.home).is_file():
                    found.append(dossier)
            elif not dossier.is_embedded and connection.profile and dossier.profile == connection.profile:
                found.append(dossier)
        return found

    def server_password(self) -> str:
        connection = self.plan.connection
        return "" if connection.is_embedded else connection.password


def dossier_line(dossier: Dossier) -> str:
    return f"{dossier.code:<16} {clip(one_line(dossier.company), 50)}"


def fill_dossiers(ticks: TickList, dossiers: list[Dossier], ticked: Iterable[str] = ()) -> None:
    """One row per dossier, its code as value; the codes in ``ticked`` ticked."""
    chosen = set(ticked)
    for dossier in dossiers:
        ticks.add_option(Selection(Text(dossier_line(dossier)), dossier.code, dossier.code in chosen))
    if ticks.option_count:
        ticks.highlighted = 0


def ticked(ticks: TickList) -> tuple[str, ...]:
    chosen = tuple(str(v) for v in ticks.selected)
    if not chosen:
        raise BadInput(_("Tick at least one dossier (space ticks, a ticks all)."))
    return chosen
