"""Step 3 (restore, verify): tick backups found in the directory. For a restore, each ticked
backup gets a target dossier number: the first free one is proposed, any other can be typed
(a number already taken means replacing that dossier, confirmed on the summary)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from textual import work
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from msde_tui.engine import naming
from msde_tui.engine.backends.base import BackupInfo
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BadInput, MsdeError
from msde_tui.engine.plans import RestoreItem, WizardPlan
from msde_tui.engine.textsafe import one_line
from msde_tui.i18n import N_, _
from msde_tui.screens.connection import describe_error
from msde_tui.screens.filtered import FilteredTicks, FilteredTickStep
from msde_tui.screens.widgets import TickList, clip, human_size


def basename(path: str) -> str:
    return path.replace("\\", "/").rstrip("/").split("/")[-1]


def short_of(info: BackupInfo) -> str:
    """The short name a restored dossier gets: from the backup's code, else its database name."""
    if info.code:
        try:
            return naming.parse_code(info.code).short
        except BadInput:
            pass
    parsed = naming.parse_database_name(info.database)
    if parsed is not None:
        return parsed.short
    try:
        return naming.parse_code(info.database).short
    except BadInput:
        pass
    letters = "".join(c for c in info.database.upper() if c.isalnum())[:12]
    return letters or "RESTORED"


def propose_numbers(
    ticked: list[str], typed: dict[str, str], taken: set[str]
) -> dict[str, str]:
    """Target numbers for the ticked backups: the typed ones, else the first free ones in order."""
    used = set(taken) | {n for f, n in typed.items() if f in ticked}
    numbers: dict[str, str] = {}
    for source in ticked:
        if source in typed:
            numbers[source] = typed[source]
            continue
        number = naming.first_free_number(used)
        numbers[source] = number
        used.add(number)
    return numbers


class BackupsScreen(FilteredTickStep):
    TITLE = N_("Backups")
    HELP = N_(
        "The backups found in the directory, newest first: date, database, size, the version "
        "of the server that made it and whether it carries checksums. Space ticks, 'a' ticks "
        "all, typing filters."
    )
    HELP_RESTORE = N_(
        "Restore: each ticked backup becomes the dossier number shown "
        "under the list; the first free number is proposed. Type another number to choose it; "
        "a number already in the dossier list replaces that dossier (you will have to type its "
        "name on the summary, and a safety copy is taken first)."
    )

    def help_text(self) -> str:
        text = super().help_text()
        if self.plan.operation == "restore":  # the number field is there for a restore only
            text += "\n\n" + _(self.HELP_RESTORE)
        return text

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.infos: list[BackupInfo] = []
        self.state = FilteredTicks(i.source for i in self.plan.restore_items)
        self.typed: dict[str, str] = {}
        # backups whose number field was cleared (or holds no valid number): no number yet,
        # never the silent default
        self.unset: set[str] = set()
        self.catalog: Catalog = self.ctx.catalog()
        # number -> dossier, with the server's unlisted dossier databases once loaded
        self.known: dict[str, Dossier] = {d.number: d for d in self.catalog.dossiers()}
        self.restoring = self.plan.operation == "restore"
        for item in self.plan.restore_items:
            if item.number:
                self.typed[item.source] = item.number

    def compose_body(self) -> Iterable[Widget]:
        yield Static(
            _("Backups in {directory}:").format(directory=self.plan.directory),
            id="list-title",
            markup=False,
        )
        yield from self.compose_filtered_list()
        yield Static("", id="file", markup=False)
        yield Static("", id="count", markup=False)
        with Horizontal(id="target-row"):
            yield Label(_("Restore as number:"), id="target-label")
            yield Input("", id="target", compact=True, max_length=3, type="integer")
            yield Static("", id="target-info", markup=False)

    def on_mount(self) -> None:
        self.query_one("#target-row").display = self.restoring
        self.query_one("#ticks", TickList).focus()
        self.busy_reason = _("Reading the backups...")
        self.say(self.busy_reason)
        self.load()

    @work(exclusive=True, group="load", exit_on_error=False)
    async def load(self) -> None:
        try:
            found = await self.ctx.backups_in(self.plan.connection, self.plan.directory)
            if self.restoring:
                self.known = await self.ctx.known_dossiers(self.plan.connection)
        except Exception as exc:  # noqa: BLE001
            self.busy_reason = None
            self.say_error(describe_error(exc))
            return
        self.busy_reason = None
        self.infos = sorted(
            found,
            key=lambda i: i.created_at.timestamp() if i.created_at else float("-inf"),
            reverse=True,
        )
        self.state.ticked &= {i.file for i in self.infos}
        self.say("" if self.infos else _("No backup found in this directory."))
        self.rebuild()

    # -- the list

    def _line(self, info: BackupInfo) -> str:
        when = info.created_at.strftime("%Y-%m-%d %H:%M") if info.created_at else "?"
        checks = _("checksums") if info.has_checksums else _("NO checksums")
        version = f"v{info.version_major}" if info.version_major else "v?"
        name = info.code or info.database
        return f"{when} {clip(name, 16):<16} {human_size(info.size_bytes):>9} {version:<4} {checks}"

    def entries(self) -> Iterable[tuple[str, str]]:
        return [(self._line(i), i.file) for i in self.infos]

    def ticked_sources(self) -> list[str]:
        return [i.file for i in self.infos if i.file in self.state.ticked]

    def numbers(self) -> dict[str, str]:
        return propose_numbers(self.ticked_sources(), self.typed, set(self.known))

    def ticks_changed(self) -> None:
        self.query_one("#count", Static).update(
            _("{ticked} of {total} ticked. Space ticks, a ticks all, typing filters.").format(
                ticked=len(self.state.ticked), total=len(self.infos)
            )
        )
        self._show_target()

    def _highlighted_info(self) -> BackupInfo | None:
        ticks = self.query_one("#ticks", TickList)
        if ticks.highlighted is None or ticks.option_count == 0:
            return None
        value = ticks.get_option_at_index(ticks.highlighted).value
        return next((i for i in self.infos if i.file == value), None)

    def _show_target(self) -> None:
        info = self._highlighted_info()
        self.query_one("#file", Static).update(
            _("File: {file}").format(file=info.file) if info is not None else ""
        )
        if not self.restoring:
            return
        field = self.query_one("#target", Input)
        text = self.query_one("#target-info", Static)
        if info is None or info.file not in self.state.ticked:
            field.value = ""
            field.disabled = info is None or info.file not in self.state.ticked
            text.update(_("(tick it first)"))
            return
        field.disabled = False
        if info.file in self.unset:
            if not field.has_focus:
                field.value = ""
            text.update(_("No number yet: type one."))
            return
        number = self.numbers()[info.file]
        if field.value != number and not field.has_focus:
            field.value = number
        text.update(self._target_text(number, short_of(info)))

    def _target_text(self, number: str, short: str) -> str:
        existing = self.known.get(number)
        if existing is not None:
            return _("REPLACES {code} {company}").format(code=existing.code, company=one_line(existing.company))
        return _("new dossier {code}").format(code=f"{number}{short}")

    # -- events

    def on_selection_list_selection_highlighted(self, event: TickList.SelectionHighlighted) -> None:
        self._show_target()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "target":
            info = self._highlighted_info()
            if info is None or info.file not in self.state.ticked:
                return
            raw = event.value.strip()
            if not raw:
                self.typed.pop(info.file, None)
                self.unset.add(info.file)
                self.query_one("#target-info", Static).update(_("No number yet: type one."))
                return
            try:
                number = naming.check_number(raw)
            except MsdeError as exc:
                self.typed.pop(info.file, None)
                self.unset.add(info.file)
                self.query_one("#target-info", Static).update(exc.message)
                return
            self.unset.discard(info.file)
            self.typed[info.file] = number
            self.query_one("#target-info", Static).update(self._target_text(number, short_of(info)))

    def _point_at(self, source: str) -> None:
        """Highlight that backup and put the cursor in its number field."""
        ticks = self.query_one("#ticks", TickList)
        for index in range(ticks.option_count):
            if ticks.get_option_at_index(index).value == source:
                ticks.highlighted = index
                break
        self._show_target()
        self.query_one("#target", Input).focus()

    # -- next

    def answers(self) -> WizardPlan:
        if not self.infos:  # still reading: the ticks the plan had
            return self.plan
        infos = {i.file: i for i in self.infos}
        return replace(self.plan, restore_items=tuple(
            RestoreItem(source=s, number=self.typed.get(s, ""), short=short_of(infos[s]))
            for s in self.ticked_sources()
        ))

    def go_next(self) -> None:
        sources = self.ticked_sources()
        if not sources:
            self.say(_("Tick at least one backup (Space ticks, a ticks all)."), error=True)
            return
        infos = {i.file: i for i in self.infos}
        if not self.restoring:
            self.dismiss(
                replace(
                    self.plan,
                    restore_items=tuple(
                        RestoreItem(source=s, number="", short=short_of(infos[s])) for s in sources
                    ),
                )
            )
            return
        missing = [s for s in sources if s in self.unset]
        if missing:
            self.say(
                _("{file} has no number yet.").format(file=missing[0].replace("\\", "/").rsplit("/", 1)[-1])
                + " " + _("Type the dossier number it becomes (e.g. 007)."),
                error=True,
            )
            self._point_at(missing[0])
            return
        numbers = self.numbers()
        seen: dict[str, str] = {}
        for source in sources:
            number = numbers[source]
            if number in seen:
                self.say(
                    _("Two backups would both become number {number}.").format(number=number)
                    + " " + _("Give each ticked backup its own number."),
                    error=True,
                )
                return
            seen[number] = source
        items: list[RestoreItem] = []
        for source in sources:
            info = infos[source]
            number = numbers[source]
            existing = self.known.get(number)
            short = existing.short if existing is not None else short_of(info)
            company = existing.company if existing is not None else ""
            items.append(
                RestoreItem(
                    source=source,
                    number=number,
                    short=short,
                    company=company,
                    replace=existing is not None,
                    data_dir=self.plan.data_dir or None,
                )
            )
        self.dismiss(replace(self.plan, restore_items=tuple(items)))
