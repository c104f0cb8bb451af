"""The document's import windows as forms (Fichier/Import/Complet and Partiel).

- Import (complete): a PBF, an export copy (E001SOC.sqlite) or a cut file (001SOC_CUT001.sqlite)
  found in a directory becomes a new dossier; the number is typed or proposed as the first free
  one (F6 = the document's "Select"); a taken number is refused -> ``ImportPlan``.
- Import (partial): the chosen dossier is brought up to date with a PTF -> ``ApplyPlan``; a PTF
  made for another dossier, or for another state of it, is refused in plain words when it runs.

The files are listed by ``engine.packlisting`` (read without a passphrase, in a worker).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, Static

from msde_tui.engine import naming
from msde_tui.engine.errors import BadInput, DossierExists, MsdeError
from msde_tui.engine.plans import ApplyPlan, ImportPlan
from msde_tui.engine.textsafe import one_line
from msde_tui.i18n import N_, _
from msde_tui.screens.dialogs import ConfirmScreen
from msde_tui.screens.pack_common import PackStep, PickList, dossier_line, entry_line

if TYPE_CHECKING:
    from msde_tui.engine.packs.packlisting import FileEntry

SOURCES = (
    ("pbf", N_("Backup files (*.pbf)")),
    ("copy", N_("Export copies (E001SOC.sqlite)")),
    ("cut", N_("Cut files (001SOC_CUT001.sqlite)")),
)


def list_files(directory: Path | None, source: str, home: Path) -> list[FileEntry]:
    """The files of ``directory`` an import of ``source`` can take (runs in a worker thread)."""
    if directory is None or not directory.is_dir():
        return []
    from msde_tui.engine.packs import packlisting

    if source in ("pbf", "ptf"):
        return packlisting.packed_entries(directory, source.upper())
    return packlisting.sqlite_entries(directory, home, source)


class FileForm(PackStep):
    """A form that picks one file of the directory (``#files``)."""

    entries: list[FileEntry]

    def file_rows(self) -> list[tuple[str, str]]:
        """The files' rows, written to the list's present width."""
        width = self.query_one("#files", PickList).line_room()
        return [(str(e.path), entry_line(e, width)) for e in self.entries]

    def on_pick_list_refit(self, event: PickList.Refit) -> None:
        if event.pick_list.id == "files" and getattr(self, "entries", None) is not None:
            event.pick_list.set_rows(self.file_rows(), keep=event.pick_list.choice)

    def chosen_entry(self) -> FileEntry | None:
        choice = self.query_one("#files", PickList).choice
        return next((e for e in self.entries if str(e.path) == choice), None)

    def checked_entry(self, missing: str) -> FileEntry:
        entry = self.chosen_entry()
        if entry is None:
            raise BadInput(missing, _("Check the directory."))
        if entry.problem:
            raise BadInput(_("{file} cannot be read: {problem}").format(file=entry.path.name, problem=entry.problem),
                           _("Choose another file."))
        return entry

    def entry_passphrase(self, entry: FileEntry) -> str:
        passphrase = self.query_one("#passphrase", Input).value if entry.encrypted else ""
        if entry.encrypted and not passphrase:
            raise BadInput(_("This packed file is encrypted."), _("Type its passphrase."))
        if entry.encrypted:  # a wrong one is refused here, not once the job has started
            from msde_tui.engine.packs.packinfo import check_passphrase

            check_passphrase(entry.path, passphrase)
        return passphrase


class ImportScreen(FileForm):
    TITLE = N_("Import (complete)")
    HELP = N_(
        "Choose what to import, then the file found in the directory: a packed backup file "
        "(PBF), an export copy E001SOC.sqlite (it comes back under its base name) or a cut file "
        "001SOC_CUT001.sqlite. The dossier gets the number typed under the list; F6 (Select) "
        "proposes the first free number. A number already in the dossier list is refused. An "
        "encrypted PBF asks for its passphrase. On a SQL Server connection a PBF becomes a "
        "database on that server; export copies and cut files become embedded dossiers."
    )
    BINDINGS = [
        # shown on its button, "Select (F6)", next to the number: the footer keeps room for F7/F9
        Binding("f6", "select_free", N_("Select"), id="pack_select_free", key_display="F6", show=False),
        # in the footer only where it works (check_action): F7 for a file of the data directory
        # not in the list yet, F9 for one in it - never both, so the footer keeps to 80 columns
        Binding("f7", "add_to_list", N_("List it"), id="import_add_to_list", key_display="F7"),
        Binding("f9", "remove_from_list", N_("Unlist"), id="import_remove_from_list", key_display="F9"),
    ]
    PLAN_TYPE = ImportPlan

    def compose_form(self) -> Iterable[Widget]:
        yield PickList(id="source")
        yield PickList(id="files")
        with Horizontal(classes="pack-row"):
            yield Label(_("Dossier number"), classes="pack-label")
            yield Input("", id="number", max_length=3, restrict=r"\d*", compact=True)
            yield Button(_("Select (F6)"), id="select-button", compact=True)
            yield Static("", id="number-info", markup=False)
        yield from self.passphrase_rows(twice=False)

    def earlier_directory(self) -> str:
        return str(Path(self.earlier.file).parent) if self.earlier is not None else ""

    def on_mount(self) -> None:
        source = self.query_one("#source", PickList)
        earlier: ImportPlan | None = self.earlier
        source.set_rows([(sid, _(label)) for sid, label in SOURCES], keep=earlier.source if earlier else None)
        source.border_title = _("Import from")
        self.query_one("#files", PickList).border_title = _("Files in the directory")
        self._show_list_keys()
        self.query_one("#passphrase-row").display = False
        if earlier is not None and earlier.number:
            self.query_one("#number", Input).value = earlier.number
        else:
            self.action_select_free()
        source.focus()
        self.relist()

    @property
    def source(self) -> str:
        return self.query_one("#source", PickList).choice or "pbf"

    # -- the list of files

    @work(exclusive=True, group="pack-list", exit_on_error=False)
    async def relist(self) -> None:
        raw = self.query_one("#directory", Input).value.strip()
        directory = Path(raw).expanduser() if raw else None
        self.entries = await asyncio.to_thread(list_files, directory, self.source, self.ctx.home)
        files = self.query_one("#files", PickList)
        keep = files.choice or (self.earlier.file if self.earlier is not None else None)
        files.set_rows(self.file_rows(), keep=keep)
        self.refresh_bindings()
        if getattr(self, "keep_said", False):
            self.keep_said = False  # what was just done stays said
        elif not self.entries:
            self.say(_("No such file in this directory."))
        elif not self.busy_reason:
            self.say("")
        self._show_passphrase()

    def _show_passphrase(self) -> None:
        entry = self.chosen_entry()
        self.query_one("#passphrase-row").display = bool(entry and entry.encrypted)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "source":
            self._show_list_keys()
            self.relist()
        elif event.option_list.id == "files":
            self._show_passphrase()
            self._propose_base_number()
            self.refresh_bindings()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "directory":
            self._show_list_keys()
            self.relist()
        elif event.input.id == "number":
            self.check_number()

    # -- the dossier list (the document's "add to / remove from the list")

    def action_add_to_list(self) -> None:
        """Put the chosen file of the data directory in the dossier list, as it is (no copy)."""
        from msde_tui.engine import dossier_files

        entry = self.chosen_entry()
        if entry is None or self.source == "pbf":
            self.say(_("Choose an export copy or a cut file first (a PBF is imported, not listed)."),
                     error=True)
            return
        if entry.listed_as:
            self.say(_("{file} is already in the list as {code}.").format(file=entry.path.name,
                                                                         code=entry.listed_as), error=True)
            return
        number = self.query_one("#number", Input).value.strip() or None
        try:
            added = dossier_files.add_file(self.ctx.home, entry.path, number=number)
        except MsdeError as exc:
            self.say_error(exc)
            return
        self.say(_("{file} is in the dossier list as {code}.").format(file=entry.path.name, code=added.code))
        self.busy_reason = None
        self.relist_keeping_message()

    @work(exclusive=True, group="list-change", exit_on_error=False)
    async def action_remove_from_list(self) -> None:
        from msde_tui.engine import dossier_files

        entry = self.chosen_entry()
        if entry is None or not entry.listed_as:
            self.say(_("Choose a file that is in the dossier list first."), error=True)
            return
        question = _("Remove {code} from the dossier list? Its file {file} stays where it is.").format(
            code=entry.listed_as, file=entry.path.name)
        if not await self.app.push_screen_wait(ConfirmScreen(question, default=False)):
            self.say("")
            return
        delete = await self.app.push_screen_wait(ConfirmScreen(
            _("Also DELETE the file {file}? This cannot be undone.").format(file=entry.path.name),
            default=False))
        try:
            removed = await asyncio.to_thread(dossier_files.remove, self.ctx.home, entry.listed_as,
                                              delete_data=delete)
        except MsdeError as exc:
            self.say_error(exc)
            return
        text = _("{code} removed from the list and its file deleted.") if delete else _(
            "{code} removed from the list; its file stays.")
        self.say(text.format(code=removed.code))
        self.relist_keeping_message()

    def _show_list_keys(self) -> None:
        """Export copies and cut files of the data directory can be put in the dossier list as
        they are (not a PBF, not a file elsewhere): F7 / F9 show in the footer where they work."""
        files = self.query_one("#files", PickList)
        raw = self.query_one("#directory", Input).value.strip()
        elsewhere = self.source != "pbf" and not self._in_data_dir(Path(raw).expanduser() / "x")
        files.border_subtitle = _("only a file of the data directory can go in the dossier list (F7)") if (
            elsewhere and raw) else ""
        self.refresh_bindings()

    def _in_data_dir(self, path: Path) -> bool:
        try:
            return path.resolve().parent == self.ctx.home.resolve()
        except OSError:
            return False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add_to_list", "remove_from_list"):
            try:
                entry = self.chosen_entry() if self.source != "pbf" else None
            except NoMatches:  # not composed yet
                return False
            if entry is None:
                return False
            if action == "remove_from_list":
                return bool(entry.listed_as)
            return not entry.listed_as and self._in_data_dir(entry.path)
        return super().check_action(action, parameters)

    def relist_keeping_message(self) -> None:
        """List the files again (their "in the list as" changed) without clearing what was said."""
        self.busy_reason = None
        self.keep_said = True
        self.relist()

    # -- the number

    def _propose_base_number(self) -> None:
        """An export copy comes back under its base name: its own number when that one is free."""
        entry = self.chosen_entry()
        if self.source != "copy" or entry is None:
            return
        base = naming.base_of_export(entry.code) or ""
        if not naming.CODE_RE.match(base):
            return
        catalog = self.ctx.catalog()
        number = naming.parse_code(base).number
        self.query_one("#number", Input).value = number if catalog.find(number) is None else catalog.first_free_number()

    def action_select_free(self) -> None:
        self.query_one("#number", Input).value = self.ctx.catalog().first_free_number()
        self.check_number()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "select-button":
            event.stop()
            self.action_select_free()
            return
        super().on_button_pressed(event)

    def number(self) -> str:
        """The number typed, checked: a valid number not in the dossier list (else BadInput)."""
        raw = self.query_one("#number", Input).value.strip()
        if not raw:
            raise BadInput(_("Type the dossier number."), _("F6 (Select) proposes the first free number."))
        number = naming.check_number(raw)
        catalog = self.ctx.catalog()
        taken = catalog.find(number)
        if taken is not None:
            raise DossierExists(
                _("Number {number} is already taken by {code} ({company}).").format(
                    number=number, code=taken.code, company=one_line(taken.company)
                ),
                _("Type another number; F6 (Select) proposes the first free one, {free}.").format(
                    free=catalog.first_free_number()
                ),
            )
        return number

    def check_number(self) -> bool:
        info = self.query_one("#number-info", Static)
        try:
            self.number()
        except MsdeError as exc:
            info.update(_("refused"))
            info.add_class("failed")
            self.say_error(exc)
            return False
        info.update(_("free"))
        info.remove_class("failed")
        if self.query_one("#message", Static).has_class("error"):
            self.say("")
        return True

    def build(self) -> object:
        entry = self.checked_entry(_("Choose a file to import."))
        number = self.number()
        connection = self.plan.connection
        to = "embedded"
        if not connection.is_embedded:
            if self.source != "pbf":
                raise BadInput(
                    _("Export copies and cut files become embedded dossiers."),
                    _("Choose 'Local (embedded)' on the first screen to import them."),
                )
            if not connection.profile:
                raise BadInput(
                    _("Importing into SQL Server needs a saved connection profile."),
                    _("Save this connection as a profile (msde server add), then choose it."),
                )
            to = connection.profile
        return ImportPlan(str(entry.path), source=self.source, number=number, to=to,
                          passphrase=self.entry_passphrase(entry), password=self.server_password())


class ApplyScreen(FileForm):
    TITLE = N_("Import (partial)")
    HELP = N_(
        "Choose the packed transfer file (PTF) found in the directory, then the dossier to bring "
        "up to date (the one the PTF was made from is proposed). The changes are applied in one "
        "transaction and checked; nothing changes when the PTF belongs to another dossier, or "
        "when the dossier is not in the state the PTF follows (apply the earlier PTFs first). "
        "An encrypted PTF asks for its passphrase."
    )
    PLAN_TYPE = ApplyPlan

    def compose_form(self) -> Iterable[Widget]:
        yield PickList(id="files")
        yield PickList(id="dossier")
        yield from self.passphrase_rows(twice=False)

    def earlier_directory(self) -> str:
        return str(Path(self.earlier.file).parent) if self.earlier is not None else ""

    def on_mount(self) -> None:
        self.dossiers = self.connection_dossiers()
        files = self.query_one("#files", PickList)
        files.border_title = _("Transfer files (*.ptf) in the directory")
        dossier = self.query_one("#dossier", PickList)
        dossier.border_title = _("Dossier to update")
        keep = self.earlier.dossier if self.earlier is not None else None
        dossier.set_rows([(d.code, dossier_line(d)) for d in self.dossiers], keep=keep)
        self.query_one("#passphrase-row").display = False
        files.focus()
        self.relist()

    @work(exclusive=True, group="pack-list", exit_on_error=False)
    async def relist(self) -> None:
        raw = self.query_one("#directory", Input).value.strip()
        directory = Path(raw).expanduser() if raw else None
        self.entries = await asyncio.to_thread(list_files, directory, "ptf", self.ctx.home)
        files = self.query_one("#files", PickList)
        keep = files.choice or (self.earlier.file if self.earlier is not None else None)
        files.set_rows(self.file_rows(), keep=keep)
        self.say("" if self.entries else _("No transfer file (.ptf) in this directory."))
        self._follow_file()

    def _follow_file(self) -> None:
        entry = self.chosen_entry()
        self.query_one("#passphrase-row").display = bool(entry and entry.encrypted)
        if entry is None or not entry.guid:
            return
        if self.earlier is not None and str(entry.path) == self.earlier.file:
            return  # back on the form: the dossier chosen for this file stays

        from msde_tui.engine.packs import packapply  # loaded already: the listing read the files

        # only a dossier of the PTF's line whose last PBF/PTF is this PTF's base (never one
        # whose base does not match: the user chooses then)
        shown = {d.code for d in self.dossiers}
        matches = [d for d in packapply.apply_candidates(self.ctx.catalog(), entry.guid, entry.base)
                   if d.code in shown]
        if len(matches) == 1:
            self.query_one("#dossier", PickList).choose(matches[0].code)
        else:
            self.query_one("#dossier", PickList).clear_choice()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "files":
            self._follow_file()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "directory":
            self.relist()

    def build(self) -> object:
        entry = self.checked_entry(_("Choose a transfer file (.ptf)."))
        code = self.query_one("#dossier", PickList).choice
        if code is None:
            raise BadInput(_("Choose the dossier to update."))
        return ApplyPlan(str(entry.path), code, passphrase=self.entry_passphrase(entry),
                         password=self.server_password())

