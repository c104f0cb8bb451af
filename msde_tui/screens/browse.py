"""Directory browser. For SQL Server it lists the SERVER HOST's directories (through the
server, as its service account sees them); for embedded dossiers, this computer's disk."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from msde_tui.engine.backends.base import DirEntry
from msde_tui.engine.errors import MsdeError
from msde_tui.engine.plans import Connection
from msde_tui.i18n import N_, _
from msde_tui.screens.context import WizardContext
from msde_tui.screens.widgets import WizardFooter, human_size, translate_bindings

UP = "\x00up"


def join(directory: str, name: str, sep: str) -> str:
    if directory.endswith(("/", "\\")):
        return directory + name
    return directory + sep + name


def parent(directory: str, sep: str) -> str:
    text = directory.rstrip("/\\")
    if not text:
        return sep
    if sep == "\\" and len(text) == 2 and text[1] == ":":
        return text + "\\"  # C:\ has no parent
    cut = max(text.rfind("/"), text.rfind("\\"))
    if cut < 0:
        return directory
    head = text[:cut]
    if not head:
        return sep
    if sep == "\\" and len(head) == 2 and head[1] == ":":
        return head + "\\"
    return head


class BrowseScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("enter", "open", N_("Open"), id="browse_open", key_display="Enter", priority=True),
        Binding("backspace", "up", N_("Up"), id="browse_up", key_display="BkSp"),
        Binding("f4,ctrl+s", "choose", N_("Choose this one"), id="browse_choose", key_display="F4"),
        Binding("f2,ctrl+b,escape", "cancel", N_("Cancel"), id="browse_cancel", key_display="F2"),
        Binding("f1", "help", N_("Help"), id="browse_help", key_display="F1"),
    ]
    HELP = N_(
        "The directories (in brackets) and files of the directory shown at the top. The arrows "
        "move; Enter opens the highlighted directory ('..' goes up one level, as Backspace "
        "does); F4 chooses the directory shown at the top (the one you are in, not the "
        "highlighted one); F2 goes back to the form without changing it."
    )

    def __init__(
        self, ctx: WizardContext, connection: Connection, start: str, separator: str
    ) -> None:
        super().__init__()
        translate_bindings(self)
        self.ctx = ctx
        self.connection = connection
        self.sep = separator
        self.current = start
        self.entries: list[DirEntry] = []

    def compose(self) -> ComposeResult:
        where = (
            _("on this computer")
            if self.connection.is_embedded
            else _("on the SQL Server host {host}").format(host=self.connection.host)
        )
        with Vertical(classes="dialog dialog-wide"):
            yield Static(_("Choose a directory {where}").format(where=where), classes="dialog-title")
            yield Static(self.current, id="browse-path", markup=False)
            yield OptionList(id="browse-list")
            yield Static("", id="browse-message", classes="message", markup=False)
        yield WizardFooter()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.load(self.current)

    @work(exclusive=True, group="browse", exit_on_error=False)
    async def load(self, directory: str) -> None:
        message = self.query_one("#browse-message", Static)
        message.update(_("Reading {path} ...").format(path=directory))
        try:
            backend = await self.ctx.backend(self.connection)
            entries = await backend.list_dir(directory)
        except MsdeError as exc:
            message.update(_("ERROR:") + " " + str(exc))
            return
        except OSError as exc:
            message.update(_("ERROR:") + " " + (exc.strerror or str(exc)))
            return
        self.current = directory
        self.entries = sorted(entries, key=lambda e: (not e.is_dir, e.name.lower()))
        self.query_one("#browse-path", Static).update(directory)
        options = [Option(Text(".. " + _("(up one level)")), id=UP)]
        for index, entry in enumerate(self.entries):
            if entry.is_dir:
                options.append(Option(Text(f"[{entry.name}]"), id=f"d{index}"))
            else:
                options.append(
                    Option(Text(f"   {entry.name}  ({human_size(entry.size_bytes)})"), id=f"f{index}")
                )
        listing = self.query_one(OptionList)
        listing.clear_options()
        listing.add_options(options)
        listing.highlighted = 0
        dirs = sum(1 for e in self.entries if e.is_dir)
        files = len(self.entries) - dirs
        message.update(
            _("{dirs} directories, {files} files. Enter opens, F4 chooses this directory.").format(
                dirs=dirs, files=files
            )
        )

    def action_open(self) -> None:
        listing = self.query_one(OptionList)
        if listing.highlighted is None:
            return
        option = listing.get_option_at_index(listing.highlighted)
        if option.id == UP:
            self.action_up()
        elif option.id and option.id.startswith("d"):
            entry = self.entries[int(option.id[1:])]
            self.load(join(self.current, entry.name, self.sep))

    def action_up(self) -> None:
        self.load(parent(self.current, self.sep))

    def action_choose(self) -> None:
        self.dismiss(self.current)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_help(self) -> None:
        from msde_tui.screens.dialogs import HelpScreen

        self.app.push_screen(HelpScreen(_("Choose a directory"), _(self.HELP)))


def local_start(path: str, home: Path) -> str:
    """Where the local browser opens: the typed directory if it exists, else the data dir."""
    candidate = Path(path).expanduser() if path else home
    while not candidate.is_dir() and candidate != candidate.parent:
        candidate = candidate.parent
    return str(candidate if candidate.is_dir() else home)
