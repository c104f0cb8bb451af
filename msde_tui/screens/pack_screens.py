"""Wizard screens of the document's export and import windows (packed files, export copies).

- Export (Fichier/Export/Complet): tick dossiers; either the export copy ``E`` + base name
  (an embedded file in the directory, or a database on a SQL Server profile), or, with
  "Backup files (*.pbf)" ticked, one PBF per dossier in the directory (optional passphrase,
  masked and typed twice).
- Export partial (Fichier/Export/Partiel): a PTF per dossier with what changed since its last
  PBF/PTF; the first time there is nothing to follow, so the document's warning is shown
  (this writes a PBF) and the work goes on only once confirmed.
- Import (Fichier/Import/Complet): a PBF, an export copy (E001SOC.sqlite) or a cut file
  (001SOC_CUT001.sqlite) found in a directory becomes a new dossier; the number is typed or
  proposed as the first free one (F6 = the document's "Select"); a taken number is refused.
- Import partial (Fichier/Import/Partiel): the chosen dossier is brought up to date with a PTF;
  a PTF made for another dossier, or for another state of it, is refused in plain words.

Packed files and export-copy files are always read and written by this computer, so each screen
asks its own local directory (F4 browses this computer's disk), whatever the connection. The
work runs in a thread; the result of each dossier is written as words (OK / FAILED).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from msde_tui.engine import naming
from msde_tui.engine.auditlog import audited
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BadInput, DossierExists, MsdeError
from msde_tui.engine.plans import Connection, WizardPlan
from msde_tui.engine.textsafe import one_line
from msde_tui.i18n import N_, _
from msde_tui.screens import registry
from msde_tui.screens.base import StepScreen
from msde_tui.screens.browse import BrowseScreen, local_start
from msde_tui.screens.context import load_profiles
from msde_tui.screens.dialogs import ConfirmScreen
from msde_tui.screens.registry import StepPosition
from msde_tui.screens.widgets import SpaceCheckbox, TickList, human_size

if TYPE_CHECKING:
    from msde_tui.engine.packs.pack import PackResult


def _packs() -> ModuleType:
    """engine.pack, imported where it is used: it loads pyarrow and SQLAlchemy (slow start)."""
    from msde_tui.engine.packs import pack

    return pack


def _copies() -> ModuleType:
    """engine.export_copy, imported where it is used (see ``_packs``)."""
    from msde_tui.engine.packs import export_copy

    return export_copy

Progress = Callable[[str], None]
EMBEDDED = "\x00embedded"  # the export-copy destination "an embedded file in the directory"


# --------------------------------------------------------------------------- what is on disk


@dataclass(frozen=True)
class FileEntry:
    """A file offered for import: what it holds, in the words of the list."""

    path: Path
    code: str
    company: str
    when: datetime | None
    size: int
    encrypted: bool = False
    guid: str | None = None
    base: str | None = None  # PTF: the package id it follows
    problem: str = ""  # why it cannot be read ("" = readable)
    listed_as: str = ""  # already in the dossier list as this code


def _created(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)).replace(tzinfo=None)
    except ValueError:
        return None


def packed_entries(directory: Path, kind: str) -> list[FileEntry]:
    """The ``.pbf`` or ``.ptf`` files of ``directory``, newest first, read without a passphrase."""
    suffix = f".{kind.lower()}"
    found: list[FileEntry] = []
    for path in sorted(directory.glob(f"*{suffix}")) if directory.is_dir() else []:
        if not path.is_file():
            continue
        size = path.stat().st_size
        parsed = naming.parse_packed_file_name(path.name)
        code = parsed[0].code if parsed else path.stem
        when = parsed[1] if parsed else datetime.fromtimestamp(path.stat().st_mtime)
        try:
            info = _packs().package_header(path)  # the one reader: bounded, schema-checked
        except MsdeError as exc:
            found.append(FileEntry(path, code, "", when, size, problem=exc.message))
            continue
        if info["encrypted"]:
            found.append(FileEntry(path, code, _("(encrypted)"), _created(info.get("created_at")) or when,
                                   size, encrypted=True))
            continue
        ident = info.get("dossier") or {}
        found.append(FileEntry(
            path,
            str(ident.get("code") or code),
            str(ident.get("company") or ""),
            _created(info.get("created_at")) or when,
            size,
            guid=ident.get("guid"),
            base=info.get("base_package"),
        ))
    return sorted(found, key=lambda e: (e.when or datetime.min, e.path.name), reverse=True)


def _sqlite_identity(path: Path) -> tuple[str | None, str, str]:
    """(guid, company, problem) of an embedded dossier file, read-only."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT guid, company FROM dossier_info").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return None, "", str(exc)
    if not row:
        return None, "", _("no dossier information")
    return (str(row[0]) if row[0] else None), str(row[1] or ""), ""


def sqlite_entries(directory: Path, home: Path, kind: str) -> list[FileEntry]:
    """Export copies (``kind="copy"``, E001SOC.sqlite) or cut files (``"cut"``) of ``directory``."""
    listed = {
        (home / d.location).resolve(): d.code for d in Catalog(home).dossiers() if d.is_embedded
    }
    found: list[FileEntry] = []
    for path in sorted(directory.glob("*.sqlite")) if directory.is_dir() else []:
        stem = path.name.removesuffix(".sqlite")
        if kind == "cut":
            if not _packs().is_cut_file(path):
                continue
            code = stem
        else:
            base = naming.base_of_export(stem)
            if base is None or not naming.CODE_RE.match(base):
                continue
            code = stem
        if not _copies().is_sqlite_file(path):
            continue
        guid, company, problem = _sqlite_identity(path)
        stat = path.stat()
        found.append(FileEntry(
            path, code, company, datetime.fromtimestamp(stat.st_mtime), stat.st_size,
            guid=guid, problem=problem, listed_as=listed.get(path.resolve(), ""),
        ))
    return found


def entry_line(entry: FileEntry) -> str:
    when = entry.when.strftime("%Y-%m-%d %H:%M") if entry.when else "?"
    if entry.problem:
        company = _("cannot be read")
    elif entry.listed_as:
        company = _("in the list as {code}").format(code=entry.listed_as)
    else:
        company = one_line(entry.company)
    return f"{one_line(entry.code)[:14]:<14} {company[:21]:<21} {when} {human_size(entry.size):>9}"


# --------------------------------------------------------------------------- widgets


class PickList(OptionList):
    """One choice among rows that change; the highlighted row is the choice, drawn ``(*)``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows: list[tuple[str, str]] = []
        self._marked: int | None = None

    def set_rows(self, rows: list[tuple[str, str]], keep: str | None = None) -> None:
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
        for index, (other, _label) in enumerate(self.rows):
            if other == rid:
                self.highlighted = index
                self._mark(index)
                return

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


# --------------------------------------------------------------------------- the common frame


@dataclass(frozen=True)
class Outcome:
    ok: bool
    text: str


Job = Callable[[Progress], list[Outcome]]


class PackStep(StepScreen):
    """A step with a local directory; Enter runs the work in a thread and shows each outcome.

    When every outcome is OK (or each dossier got its own result line), Enter again goes back to
    the operation screen. A refusal of the whole work (a taken number, a wrong PTF) is shown
    inline and the form stays, so it can be corrected and run again.
    """

    CSS_PATH = "pack_screens.tcss"
    BINDINGS = [
        Binding("f4", "browse", N_("Browse"), id="pack_browse", key_display="F4"),
    ]
    DIRECTORY_LABEL = N_("Local directory")
    last_directory: dict[Path, str] = {}  # per data directory, for the next pack step of the session

    def __init__(self, ctx: Any, plan: WizardPlan, position: StepPosition) -> None:
        super().__init__(ctx, plan, position)
        self.done = False
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
        yield Static("", id="progress", markup=False)
        yield Static("", id="outcome", markup=False)

    def compose_form(self) -> Iterable[Widget]:
        return []

    def start_directory(self) -> str:
        home = self.ctx.home
        return self.plan.directory or PackStep.last_directory.get(home) or str(home / "exports")

    def passphrase_rows(self, *, twice: bool) -> Iterable[Widget]:
        with Horizontal(classes="pack-row", id="passphrase-row"):
            yield Label(_("Passphrase (optional)") if twice else _("Passphrase"), classes="pack-label")
            hint = _("empty = not encrypted") if twice else _("this file is encrypted")
            yield Input("", id="passphrase", password=True, placeholder=hint, compact=True)
        if twice:
            with Horizontal(classes="pack-row", id="passphrase2-row"):
                yield Label(_("Passphrase again"), classes="pack-label")
                yield Input("", id="passphrase2", password=True, placeholder=_("the same again"), compact=True)

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

    # -- running

    def prepare(self) -> Job:
        """Validate the form and return the work (raise ``MsdeError`` to refuse inline)."""
        raise NotImplementedError

    async def confirm(self) -> bool:
        """Ask what must be asked before the work starts (runs in the worker)."""
        return True

    def go_next(self) -> None:
        if self.done:
            PackStep.last_directory[self.ctx.home] = self.query_one("#directory", Input).value.strip()
            self.dismiss(replace(self.plan))
            return
        try:
            job = self.prepare()
        except MsdeError as exc:
            self.say_error(exc)
            return
        self.busy_reason = _("Working... wait until it is finished.")
        self.say(self.busy_reason)
        self.query_one("#outcome", Static).update("")
        self.run_job(job)

    @work(exclusive=True, group="pack", exit_on_error=False)
    async def run_job(self, job: Job) -> None:
        try:
            if not await self.confirm():
                self.busy_reason = None
                self.say(_("Nothing was written."))
                return
            self.say(self.busy_reason or "")
            outcomes = await asyncio.to_thread(job, self._progress_from_thread)
            error: MsdeError | None = None
        except MsdeError as exc:
            outcomes, error = [], exc
        except Exception as exc:  # noqa: BLE001 - plain words, never a traceback
            outcomes, error = [], MsdeError(str(exc) or type(exc).__name__)
        self.finished(outcomes, error)

    def _progress_from_thread(self, text: str) -> None:
        self.app.call_from_thread(self.query_one("#progress", Static).update, _("Working on: {what}").format(what=text))

    def finished(self, outcomes: list[Outcome], error: MsdeError | None) -> None:
        self.busy_reason = None
        self.query_one("#progress", Static).update("")
        outcome = self.query_one("#outcome", Static)
        if error is not None:
            outcome.update(_("FAILED"))
            self.say_error(error)
            return
        outcome.update("\n".join(f"{_('OK') if o.ok else _('FAILED')}  {o.text}" for o in outcomes))
        self.done = True
        failed = sum(not o.ok for o in outcomes)
        if failed:
            self.say(
                _("{failed} of {total} FAILED (see above). Enter goes back to the operations.").format(
                    failed=failed, total=len(outcomes)
                ),
                error=True,
            )
        else:
            self.say(_("Done. Enter goes back to the operations."))

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

    def server_password(self) -> str | None:
        connection = self.plan.connection
        return None if connection.is_embedded else connection.password


def _dossier_line(dossier: Dossier) -> str:
    return f"{dossier.code:<16} {one_line(dossier.company)[:50]}"


def _fill_dossiers(ticks: TickList, dossiers: list[Dossier]) -> None:
    for dossier in dossiers:
        ticks.add_option(Selection(Text(_dossier_line(dossier)), dossier.number, False))
    if ticks.option_count:
        ticks.highlighted = 0


def _ticked(ticks: TickList) -> list[str]:
    chosen = [str(v) for v in ticks.selected]
    if not chosen:
        raise BadInput(_("Tick at least one dossier (space ticks, a ticks all)."))
    return chosen


def _pack_line(code: str, result: PackResult) -> str:
    text = _("{code}: {kind} {file} written and verified ({size}).").format(
        code=code, kind=result.kind, file=result.path.name, size=human_size(result.size)
    )
    if result.encrypted:
        text += " " + _("Encrypted.")
    return text


# --------------------------------------------------------------------------- export


class ExportScreen(PackStep):
    TITLE = N_("Export (complete)")
    HELP = N_(
        "Tick the dossiers to export (space ticks, a ticks all). Without 'Backup files', each "
        "dossier is copied completely into a new dossier named E + its name: an embedded file "
        "(E001SOC.sqlite) in the directory, or a database (EPW0001SOC) on a SQL Server connection "
        "profile chosen under 'Copy to'. With 'Backup files (*.pbf)' ticked, one packed backup "
        "file per dossier is written in the directory instead (001-SOC_date_time.pbf), read back "
        "and checked; a passphrase, typed twice, encrypts it (leave both empty for none). "
        "Packed files and embedded copies are written on this computer."
    )

    def compose_form(self) -> Iterable[Widget]:
        yield TickList(id="dossiers")
        yield SpaceCheckbox(_("Backup files (*.pbf) instead of a copy"), id="pbf", compact=True)
        yield Label(_("Copy to:"), id="destination-label")
        yield PickList(id="destination")
        with Horizontal(classes="pack-row", id="password-row"):
            yield Label(_("SQL Server password"), classes="pack-label")
            yield Input("", id="password", password=True, placeholder=_("never saved"), compact=True)
        yield from self.passphrase_rows(twice=True)

    def on_mount(self) -> None:
        ticks = self.query_one("#dossiers", TickList)
        self.dossiers = self.connection_dossiers()
        _fill_dossiers(ticks, self.dossiers)
        ticks.border_title = _("Dossiers to export (space ticks, a ticks all)")
        rows: list[tuple[str, str]] = []
        if self.plan.connection.is_embedded:
            rows.append((EMBEDDED, _("Embedded file E<code>.sqlite in the directory")))
            rows += [(p.name, _("SQL Server {profile}: database E<name>").format(profile=p.name))
                     for p in load_profiles(self.ctx.home)]
        elif self.plan.connection.profile:
            name = self.plan.connection.profile
            rows.append((name, _("SQL Server {profile}: database E<name>").format(profile=name)))
        self.query_one("#destination", PickList).set_rows(rows)
        self._show()
        if not self.dossiers:
            self.say(_("No dossier of this connection is in the dossier list."))
        ticks.focus()

    def _show(self) -> None:
        pbf = self.query_one("#pbf", SpaceCheckbox).value
        self.query_one("#destination-label").display = not pbf
        self.query_one("#destination").display = not pbf
        self.query_one("#passphrase-row").display = pbf
        self.query_one("#passphrase2-row").display = pbf
        destination = self.query_one("#destination", PickList).choice
        self.query_one("#password-row").display = (
            not pbf and destination not in (None, EMBEDDED) and self.plan.connection.is_embedded
        )

    def on_checkbox_changed(self, event: SpaceCheckbox.Changed) -> None:
        self._show()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show()

    def prepare(self) -> Job:
        numbers = _ticked(self.query_one("#dossiers", TickList))
        directory = self.directory
        home = self.ctx.home
        if self.query_one("#pbf", SpaceCheckbox).value:
            passphrase = self.passphrase(twice=True)
            password = self.server_password()

            def pack_job(progress: Progress) -> list[Outcome]:
                directory.mkdir(parents=True, exist_ok=True)
                outcomes = []
                for number in numbers:
                    dossier = Catalog(home).get(number)
                    options = {"dir": str(directory), "partial": False, "encrypt": bool(passphrase)}
                    try:
                        with audited(home, "pack", [dossier.code], options) as logged:
                            result = _packs().export_package(dossier, home, directory, passphrase=passphrase,
                                                          password=password, progress=progress)
                            logged.files = [str(result.path)]
                        outcomes.append(Outcome(True, _pack_line(dossier.code, result)))
                    except MsdeError as exc:
                        outcomes.append(Outcome(False, f"{dossier.code}: {exc}"))
                return outcomes

            return pack_job
        destination = self.query_one("#destination", PickList).choice
        if destination is None:
            raise BadInput(_("Choose where the copy goes."), _("Tick 'Backup files' to write PBF files instead."))
        to = "embedded" if destination == EMBEDDED else destination
        if self.plan.connection.is_embedded:
            password = self.query_one("#password", Input).value if to != "embedded" else None
            if to != "embedded" and not password:
                raise BadInput(
                    _("Type the password of SQL Server profile {profile}.").format(profile=to),
                    _("It is used for this copy only and never written anywhere."),
                )
        else:
            password = self.server_password()

        def copy_job(progress: Progress) -> list[Outcome]:
            if to == "embedded":
                directory.mkdir(parents=True, exist_ok=True)
            outcomes = []
            for number in numbers:
                dossier = Catalog(home).get(number)
                options = {"to": to, "dir": str(directory) if to == "embedded" else None}
                try:
                    with audited(home, "export", [dossier.code], options) as logged:
                        result = _copies().export_copy(dossier, home, to=to, directory=directory,
                                                    password=password, progress=progress)
                        logged.files = [str(result.target)]
                    rows = sum(result.tables.values())
                    where = Path(result.target).name if result.backend == "embedded" else (
                        f"{result.target} ({result.profile})"
                    )
                    outcomes.append(Outcome(True, _("{code}: export copy {target} written and checked ({rows} rows).")
                                            .format(code=dossier.code, target=where, rows=f"{rows:,}")))
                except MsdeError as exc:
                    outcomes.append(Outcome(False, f"{dossier.code}: {exc}"))
            return outcomes

        return copy_job


# --------------------------------------------------------------------------- export partial


class PartialExportScreen(PackStep):
    TITLE = N_("Export (partial)")
    HELP = N_(
        "Tick the dossiers (space ticks, a ticks all). Each gets a packed transfer file "
        "(001-SOC_date_time.ptf) in the directory holding only what changed since its last "
        "PBF or PTF. The first time there is nothing to follow: the whole dossier is exported "
        "as a packed backup file (PBF) - you are warned and asked first. A passphrase, typed "
        "twice, encrypts the file (leave both empty for none)."
    )

    def compose_form(self) -> Iterable[Widget]:
        yield TickList(id="dossiers")
        yield Static("", id="state-info", markup=False)
        yield from self.passphrase_rows(twice=True)

    def on_mount(self) -> None:
        ticks = self.query_one("#dossiers", TickList)
        ticks.border_title = _("Dossiers (space ticks, a ticks all)")
        self.dossiers = self.connection_dossiers()
        _fill_dossiers(ticks, self.dossiers)
        if not self.dossiers:
            self.say(_("No dossier of this connection is in the dossier list."))
        ticks.focus()
        self.load_states()

    @work(exclusive=True, group="pack-state", exit_on_error=False)
    async def load_states(self) -> None:
        home, password = self.ctx.home, self.server_password()

        def read() -> dict[str, dict[str, Any] | None]:
            states: dict[str, dict[str, Any] | None] = {}
            for dossier in self.dossiers:
                try:
                    states[dossier.number] = _packs().previous_package(dossier, home, password=password)
                except MsdeError:
                    states[dossier.number] = None
            return states

        self.previous = await asyncio.to_thread(read)
        self._show_state()

    def _show_state(self) -> None:
        ticks = self.query_one("#dossiers", TickList)
        if ticks.highlighted is None or not self.dossiers:
            return
        number = str(ticks.get_option_at_index(ticks.highlighted).value)
        info = self.query_one("#state-info", Static)
        if number not in self.previous:
            info.update("")
            return
        state = self.previous[number]
        if state is None:
            info.update(_("No earlier PBF/PTF: the first partial export writes a PBF."))
        else:
            info.update(_("Follows {file} ({when}): a PTF is written.").format(
                file=state.get("file") or "?", when=str(state.get("created_at") or "?").replace("T", " ")
            ))

    def on_selection_list_selection_highlighted(self, event: TickList.SelectionHighlighted) -> None:
        self._show_state()

    def prepare(self) -> Job:
        numbers = _ticked(self.query_one("#dossiers", TickList))
        directory = self.directory
        passphrase = self.passphrase(twice=True)
        home, password = self.ctx.home, self.server_password()
        self.numbers = numbers

        def job(progress: Progress) -> list[Outcome]:
            directory.mkdir(parents=True, exist_ok=True)
            outcomes = []
            for number in numbers:
                dossier = Catalog(home).get(number)
                options = {"dir": str(directory), "partial": True, "encrypt": bool(passphrase)}
                try:
                    with audited(home, "pack", [dossier.code], options) as logged:
                        result = _packs().export_package(dossier, home, directory, partial=True,
                                                      passphrase=passphrase, password=password, progress=progress)
                        logged.files = [str(result.path)]
                    line = _pack_line(dossier.code, result)
                    if result.warning:
                        line += " " + result.warning
                    if result.kind == "PTF":
                        changed = sum(t.get("rows", 0) for t in result.tables.values())
                        deleted = sum(t.get("deleted", 0) for t in result.tables.values())
                        line += " " + _("{rows} rows changed, {deleted} deleted.").format(rows=changed, deleted=deleted)
                    outcomes.append(Outcome(True, line))
                except MsdeError as exc:
                    outcomes.append(Outcome(False, f"{dossier.code}: {exc}"))
            return outcomes

        return job

    async def confirm(self) -> bool:
        home, password = self.ctx.home, self.server_password()
        catalog = self.ctx.catalog()

        def firsts() -> list[str]:
            codes = []
            for number in self.numbers:
                dossier = catalog.get(number)
                if _packs().previous_package(dossier, home, password=password) is None:
                    codes.append(dossier.code)
            return codes

        first = await asyncio.to_thread(firsts)
        if not first:
            return True
        question = _(
            "No earlier packed file of {codes} is known: the first partial export is a complete "
            "export, and writes a packed backup file (PBF). The next partial exports write only "
            "the changes (PTF). Go on?"
        ).format(codes=", ".join(first))
        answer: bool = await self.app.push_screen_wait(ConfirmScreen(question, default=True))
        return answer


# --------------------------------------------------------------------------- import (complete)


SOURCES = (
    ("pbf", N_("Backup files (*.pbf)")),
    ("copy", N_("Export copies (E001SOC.sqlite)")),
    ("cut", N_("Cut files (001SOC_CUT001.sqlite)")),
)


class ImportScreen(PackStep):
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
        Binding("f6", "select_free", N_("Select"), id="pack_select_free", key_display="F6"),
    ]

    def compose_form(self) -> Iterable[Widget]:
        yield PickList(id="source")
        yield PickList(id="files")
        with Horizontal(classes="pack-row"):
            yield Label(_("Dossier number"), classes="pack-label")
            yield Input("", id="number", max_length=3, restrict=r"\d*", compact=True)
            yield Button(_("Select (F6)"), id="select-button", compact=True)
            yield Static("", id="number-info", markup=False)
        yield from self.passphrase_rows(twice=False)

    def on_mount(self) -> None:
        source = self.query_one("#source", PickList)
        source.set_rows([(sid, _(label)) for sid, label in SOURCES])
        source.border_title = _("Import from")
        self.query_one("#files", PickList).border_title = _("Files in the directory")
        self.query_one("#passphrase-row").display = False
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
        source, home = self.source, self.ctx.home
        if directory is None or not directory.is_dir():
            entries: list[FileEntry] = []
        elif source == "pbf":
            entries = await asyncio.to_thread(packed_entries, directory, "PBF")
        else:
            entries = await asyncio.to_thread(sqlite_entries, directory, home, source)
        self.entries = entries
        files = self.query_one("#files", PickList)
        keep = files.choice
        files.set_rows([(str(e.path), entry_line(e)) for e in entries], keep=keep)
        if not entries:
            self.say(_("No such file in this directory."))
        elif not self.busy_reason:
            self.say("")
        self._show_passphrase()

    def chosen_entry(self) -> FileEntry | None:
        choice = self.query_one("#files", PickList).choice
        return next((e for e in self.entries if str(e.path) == choice), None)

    def _show_passphrase(self) -> None:
        entry = self.chosen_entry()
        self.query_one("#passphrase-row").display = bool(entry and entry.encrypted)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "source":
            self.relist()
        elif event.option_list.id == "files":
            self._show_passphrase()
            self._propose_base_number()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "directory":
            self.relist()
        elif event.input.id == "number":
            self.check_number()

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

    # -- the work

    def prepare(self) -> Job:
        entry = self.chosen_entry()
        if entry is None:
            raise BadInput(_("Choose a file to import."), _("Check the directory and what to import."))
        if entry.problem:
            raise BadInput(_("{file} cannot be read: {problem}").format(file=entry.path.name, problem=entry.problem),
                           _("Choose another file."))
        number = self.number()
        connection = self.plan.connection
        home, source, path = self.ctx.home, self.source, entry.path
        to_profile: str | None = None
        if not connection.is_embedded:
            if source != "pbf":
                raise BadInput(
                    _("Export copies and cut files become embedded dossiers."),
                    _("Choose 'Local (embedded)' on the first screen to import them."),
                )
            if not connection.profile:
                raise BadInput(
                    _("Importing into SQL Server needs a saved connection profile."),
                    _("Save this connection as a profile (msde server add), then choose it."),
                )
            to_profile = connection.profile
        passphrase = self.query_one("#passphrase", Input).value if entry.encrypted else None
        if entry.encrypted and not passphrase:
            raise BadInput(_("This packed file is encrypted."), _("Type its passphrase."))
        password = self.server_password()
        options = {"file": str(path), "number": number, "to": to_profile or "embedded", "source": source}

        def job(progress: Progress) -> list[Outcome]:
            with audited(home, "import", [], options) as logged:
                if source == "pbf":
                    record = _packs().import_package(path, home, number=number, to_profile=to_profile,
                                                  passphrase=passphrase, password=password, progress=progress)
                elif source == "copy":
                    record = _copies().import_export_copy(path, home, number=number)
                else:
                    record = _packs().import_cut_file(path, home, number=number)
                logged.dossiers = [record.code]
                logged.files = [str(record.path(home)) if record.is_embedded else record.location]
            return [Outcome(True, _("{file}: imported as {code} ({company}); every row was checked.").format(
                file=one_line(path.name), code=record.code, company=one_line(record.company)
            ))]

        return job

    def finished(self, outcomes: list[Outcome], error: MsdeError | None) -> None:
        super().finished(outcomes, error)
        if error is None:  # the number is taken now: propose the next free one
            self.query_one("#number", Input).value = self.ctx.catalog().first_free_number()
            self.relist()


# --------------------------------------------------------------------------- import (partial)


class ApplyScreen(PackStep):
    TITLE = N_("Import (partial)")
    HELP = N_(
        "Choose the packed transfer file (PTF) found in the directory, then the dossier to bring "
        "up to date (the one the PTF was made from is proposed). The changes are applied in one "
        "transaction and checked; nothing changes when the PTF belongs to another dossier, or "
        "when the dossier is not in the state the PTF follows (apply the earlier PTFs first). "
        "An encrypted PTF asks for its passphrase."
    )

    def compose_form(self) -> Iterable[Widget]:
        yield PickList(id="files")
        yield PickList(id="dossier")
        yield from self.passphrase_rows(twice=False)

    def on_mount(self) -> None:
        self.dossiers = self.connection_dossiers()
        files = self.query_one("#files", PickList)
        files.border_title = _("Transfer files (*.ptf) in the directory")
        dossier = self.query_one("#dossier", PickList)
        dossier.border_title = _("Dossier to update")
        dossier.set_rows([(d.number, _dossier_line(d)) for d in self.dossiers])
        self.query_one("#passphrase-row").display = False
        files.focus()
        self.relist()

    @work(exclusive=True, group="pack-list", exit_on_error=False)
    async def relist(self) -> None:
        raw = self.query_one("#directory", Input).value.strip()
        directory = Path(raw).expanduser() if raw else None
        entries = await asyncio.to_thread(packed_entries, directory, "PTF") if directory and directory.is_dir() else []
        self.entries = entries
        files = self.query_one("#files", PickList)
        files.set_rows([(str(e.path), entry_line(e)) for e in entries], keep=files.choice)
        self.say("" if entries else _("No transfer file (.ptf) in this directory."))
        self._follow_file()

    def chosen_entry(self) -> FileEntry | None:
        choice = self.query_one("#files", PickList).choice
        return next((e for e in self.entries if str(e.path) == choice), None)

    def _follow_file(self) -> None:
        entry = self.chosen_entry()
        self.query_one("#passphrase-row").display = bool(entry and entry.encrypted)
        if entry is None or not entry.guid:
            self.query_one("#dossier", PickList).clear_choice()
            return
        # only a dossier of the PTF's line whose last PBF/PTF is this PTF's base (never one
        # whose base does not match: the user chooses then)
        shown = {d.number for d in self.dossiers}
        matches = [d for d in _packs().apply_candidates(self.ctx.catalog(), entry.guid, entry.base)
                   if d.number in shown]
        if len(matches) == 1:
            self.query_one("#dossier", PickList).choose(matches[0].number)
        else:
            self.query_one("#dossier", PickList).clear_choice()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "files":
            self._follow_file()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "directory":
            self.relist()

    def prepare(self) -> Job:
        entry = self.chosen_entry()
        if entry is None:
            raise BadInput(_("Choose a transfer file (.ptf)."), _("Check the directory."))
        if entry.problem:
            raise BadInput(_("{file} cannot be read: {problem}").format(file=entry.path.name, problem=entry.problem),
                           _("Choose another file."))
        number = self.query_one("#dossier", PickList).choice
        if number is None:
            raise BadInput(_("Choose the dossier to update."))
        passphrase = self.query_one("#passphrase", Input).value if entry.encrypted else None
        if entry.encrypted and not passphrase:
            raise BadInput(_("This packed file is encrypted."), _("Type its passphrase."))
        home, path, password = self.ctx.home, entry.path, self.server_password()
        code = self.ctx.catalog().get(number).code

        def job(progress: Progress) -> list[Outcome]:
            with audited(home, "apply", [code], {"file": str(path)}) as logged:
                result = _packs().apply_package(path, home, dossier_ref=number, passphrase=passphrase,
                                             password=password, progress=progress)
                target = result.dossier
                logged.files = [str(target.path(home)) if target.is_embedded else target.location]
            return [Outcome(True, _("{code} is up to date with {file}: {rows} rows written, {deleted} deleted.").format(
                code=target.code, file=path.name, rows=result.upserted, deleted=result.deleted
            ))]

        return job


# --------------------------------------------------------------------------- registration


def _step(cls: type[PackStep]) -> Callable[[Any, WizardPlan, StepPosition], PackStep]:
    def factory(ctx: Any, plan: WizardPlan, pos: StepPosition) -> PackStep:
        return cls(ctx, plan, pos)

    return factory


def register() -> None:
    """Offer Export, Export partial, Import and Import partial (on every connection)."""
    common: dict[str, Any] = {"asks_verify": False, "asks_directory": False}
    registry.register(registry.Operation(
        id="export",
        label=N_("Export (complete)"),
        steps=(_step(ExportScreen),),  # type: ignore[arg-type]
        help=N_("A complete copy E<name> of dossiers, or with 'Backup files' a PBF of each."),
        **common,
    ))
    registry.register(registry.Operation(
        id="export_partial",
        label=N_("Export (partial)"),
        steps=(_step(PartialExportScreen),),  # type: ignore[arg-type]
        help=N_("A PTF of what changed since the last PBF/PTF (the first time: a PBF)."),
        **common,
    ))
    registry.register(registry.Operation(
        id="import",
        label=N_("Import (complete)"),
        steps=(_step(ImportScreen),),  # type: ignore[arg-type]
        help=N_("A PBF, an export copy or a cut file becomes a new dossier of the list."),
        **common,
    ))
    registry.register(registry.Operation(
        id="apply",
        label=N_("Import (partial)"),
        steps=(_step(ApplyScreen),),  # type: ignore[arg-type]
        help=N_("Bring a dossier up to date with a PTF."),
        **common,
    ))
