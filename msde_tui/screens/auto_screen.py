"""The "Automatic backups" options screen: the document's Options tab ("Opérationnelle",
backups kept, delay in days, maximum of new movements, directory) and the last run's outcome
per dossier. Next saves the global policy into config.toml; the scheduler runs ``msde auto``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual import events, work
from textual.containers import Horizontal
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, Static

from msde_tui.engine.auto import policy as policy_engine
from msde_tui.engine.errors import BadInput, MsdeError
from msde_tui.engine.paths import dir_problem
from msde_tui.engine.plans import Connection, WizardPlan
from msde_tui.engine.words import shown
from msde_tui.i18n import N_, _
from msde_tui.screens import registry
from msde_tui.screens.base import StepScreen
from msde_tui.screens.dialogs import ConfirmScreen
from msde_tui.screens.operation import directory_refusal
from msde_tui.screens.steps import StepPosition
from msde_tui.screens.widgets import SpaceCheckbox

if TYPE_CHECKING:
    from msde_tui.engine.auto.installed import ScheduleState
    from msde_tui.engine.auto.schedule import Rhythm

HOURS_LABEL = N_("Run every ... hours")
NUMBER_FIELDS = (
    ("keep", N_("Backups kept")),
    ("every_days", N_("Every ... days")),
    ("max_movements", N_("Or after ... movements")),
)


def parse_rhythm(values: dict[str, str]) -> Rhythm:
    """When the scheduler runs, from the form's texts (``BadInput`` in words names the field)."""
    from msde_tui.engine.auto.schedule import Rhythm, parse_time

    hours = values.get("every_hours", "").strip()
    if not _hours_ok(values):
        raise BadInput(_("'{label}' must be 1, 2, 3, 4, 6, 8, 12 or 24 (24 = once a day).").format(
            label=_(HOURS_LABEL)), _("These divide a day: every day then has the same run times."))
    at = values.get("at", "").strip()
    try:
        hour, minute = parse_time(at)
    except BadInput:
        raise BadInput(_("'{text}' is not a time of day.").format(text=at),
                       _("Type the time as HH:MM, e.g. 02:17.")) from None
    return Rhythm(hours=int(hours), hour=hour, minute=minute)


def parse_form(values: dict[str, str], enabled: bool, current: policy_engine.AutoConfig,
               home: Path) -> policy_engine.AutoConfig:
    """The new configuration from the form's texts (``BadInput`` names the wrong field)."""
    changes: dict[str, object] = {"enabled": enabled}
    for name, label in NUMBER_FIELDS:
        text = values.get(name, "").strip()
        if not text.isdigit():
            raise BadInput(_("'{label}' must be a whole number.").format(label=_(label)),
                           _("Type digits only; 0 turns a trigger off."))
        changes[name] = int(text)
    directory = values.get("directory", "").strip()
    if directory:
        path = Path(directory).expanduser()
        if not path.is_absolute():
            raise BadInput(_("The directory must be a full path."), _("E.g. /srv/msde-backups"))
        directory = str(path)
    changes["directory"] = "" if directory == str(Path(home) / "backups") else directory
    return current.with_default(**changes)


class AutoScreen(StepScreen):
    TITLE = N_("Automatic backups")
    CSS_PATH = ["base.tcss", "auto_screen.tcss"]
    HELP = N_(
        "Tick 'Operational' (space) to turn automatic backups on. A backup of a dossier is taken when"
        " the delay in days has passed or the number of new movements is reached, whichever comes "
        "first (0 turns a trigger off); the oldest is removed once more than 'Backups kept' verified "
        "backups exist. The system scheduler (SQL Server Express has no Agent) starts 'msde auto' at "
        "the time typed in 'from (HH:MM)', then every N hours ('Run every ... hours': 1, 2, 3, 4, 6, "
        "8, 12, or 24 for once a day); each run backs up only the dossiers that are due. Enter saves "
        "and, with 'Operational' ticked, installs or replaces that schedule once you agree. Per-"
        "dossier settings: msde auto policy set --dossier CODE ..."
    )

    def __init__(self, ctx: object, plan: WizardPlan, position: StepPosition) -> None:
        self.last_rows: list[dict[str, object]] = []
        super().__init__(ctx, plan, position)  # type: ignore[arg-type]
        self.config = policy_engine.AutoConfig()
        self.load_error: MsdeError | None = None
        self.declined = False  # the user said no to installing the schedule
        self.installing = False  # the scheduler is being changed: Back waits for it
        from msde_tui.engine.auto import installed

        self.schedule = installed.state(self.ctx.home)
        try:
            self.config = policy_engine.load(self.ctx.home)
        except MsdeError as exc:
            self.load_error = exc

    def compose_body(self) -> Iterable[Widget]:
        p = self.config.default
        yield SpaceCheckbox(_("Operational"), value=p.enabled, id="enabled")
        for name, label in NUMBER_FIELDS:
            with Horizontal(classes="field-row"):
                yield Label(_(label), classes="field-label")
                yield Input(str(getattr(p, name)), id=name, restrict=r"\d*", max_length=7)
        with Horizontal(classes="field-row"):
            yield Label(_("Directory"), classes="field-label")
            yield Input(str(p.target_dir(self.ctx.home)), id="directory")
        rhythm = self.schedule.rhythm
        with Horizontal(classes="field-row"):
            yield Label(_(HOURS_LABEL), classes="field-label")
            yield Input(str(rhythm.hours), id="every_hours", restrict=r"\d*", max_length=2, classes="short")
            yield Label(_("from (HH:MM)"), classes="field-between")
            yield Input(rhythm.at, id="at", restrict=r"[0-9:]*", max_length=5, classes="short")
        yield Static(describe_times(rhythm), id="run-times", markup=False)
        yield Static("", id="schedule", markup=False)
        yield Static(_("Last run"), classes="section")
        yield DataTable(id="last-run", cursor_type="row", zebra_stripes=False)

    def on_mount(self) -> None:
        from msde_tui.engine.auto import report as auto_report  # late: only this screen reads it

        self.show_schedule()
        last = auto_report.load_last_run(self.ctx.home)
        self.last_rows = [] if last is None else list(last.get("dossiers", []))
        if last is None:
            self.say(_("No automatic backup run was recorded yet."))
        self.fill_last_run()
        self.call_after_refresh(self.fill_last_run)  # the table's true width, once laid out
        if self.load_error is not None:
            self.say_error(self.load_error)

    def fill_last_run(self) -> None:
        """The last run, one row per dossier; the reason (and when it was last verified) wraps
        in the room the other columns leave, so nothing runs past the edge at any width."""
        table = self.query_one("#last-run", DataTable)
        room = table.size.width or self.app.size.width - 6  # before layout: padding and gutter aside
        rows = [
            (str(row.get("code", "")), shown(str(row.get("action", ""))),
             _("OK") if row.get("ok", True) else _("FAILED"),
             " ".join(filter(None, (
                 shown(str(row.get("message") or row.get("reason") or "")),
                 _("Last verified: {when}.").format(when=row.get("last_verified_at") or "-")))))
            for row in self.last_rows
        ]
        headers = (_("Dossier"), _("Done"), _("Result"))
        widths = [max([cell_len(h)] + [cell_len(r[i]) for r in rows]) + 1 for i, h in enumerate(headers)]
        why = max(10, room - sum(widths) - 2 * table.cell_padding * (len(widths) + 1))
        if (room, len(rows)) == getattr(self, "_filled", None):
            return
        self._filled = (room, len(rows))
        table.clear(columns=True)
        for header, width in zip(headers, widths, strict=True):
            table.add_column(header, width=width)
        table.add_column(_("Why"), width=why)
        for row in rows:
            table.add_row(*row[:3], Text(row[3]), height=None)

    def on_resize(self, event: events.Resize) -> None:
        self.fill_last_run()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The page scrolls to the row the arrows reached (the table itself never scrolls)."""
        table = event.data_table
        rows = table.ordered_rows
        top = table.header_height + sum(row.height for row in rows[: event.cursor_row])
        height = rows[event.cursor_row].height if event.cursor_row < len(rows) else 1
        self.query_one("#body").scroll_to_region(
            Region(0, table.virtual_region.y + top, 1, height), animate=False, immediate=True)

    def on_input_changed(self, event: Input.Changed) -> None:
        """The run times as they are typed, or what is wrong with them (nothing is lost)."""
        if event.input.id not in ("every_hours", "at"):
            return
        try:
            text = describe_times(parse_rhythm(self.form_values()))
        except BadInput as exc:
            text = exc.message
        self.query_one("#run-times", Static).update(text)

    def form_values(self) -> dict[str, str]:
        names = [n for n, _label in NUMBER_FIELDS] + ["directory", "every_hours", "at"]
        return {n: self.query_one(f"#{n}", Input).value for n in names}

    def show_schedule(self) -> None:
        """What the system scheduler holds: the same as ``msde auto --status``."""
        self.query_one("#schedule", Static).update(describe_schedule(self.schedule))

    def go_next(self) -> None:
        if self.load_error is not None:
            self.say_error(self.load_error)  # never overwrite a config file we could not read
            return
        enabled = self.query_one("#enabled", SpaceCheckbox).value
        values = self.form_values()
        try:
            rhythm = parse_rhythm(values)
        except BadInput as exc:
            self.say_error(exc)
            wrong = "at" if _hours_ok(values) else "every_hours"
            self.query_one(f"#{wrong}", Input).focus()
            return
        try:
            config = parse_form(self.form_values(), enabled, self.config, self.ctx.home)
            target = config.default.target_dir(self.ctx.home)
            problem = usable_directory(target)
            if problem is not None:
                self.say_error(problem)
                self.query_one("#directory", Input).focus()
                return
            policy_engine.save(config, self.ctx.home)
        except MsdeError as exc:
            self.say_error(exc)
            return
        except OSError as exc:
            self.say(_("Cannot save the policy: {error}").format(error=exc), error=True)
            return
        self.config = config
        changed = rhythm != self.schedule.rhythm
        if enabled and (not self.schedule.installed or changed) and not self.declined:
            self.busy_reason = _("Looking for this machine's scheduler... (F2 goes back)")
            self.say(self.busy_reason)  # at once: the look may take a moment
            self.install_schedule(rhythm)
        elif not enabled and self.schedule.installed:
            self.busy_reason = _("Removing the schedule...")
            self.remove_schedule(rhythm)
        else:
            if changed:
                self.keep_rhythm(rhythm)
            self.dismiss(replace(self.plan))

    def action_back(self) -> None:
        """Back works while the scheduler is looked for (that look is dropped); only while
        the schedule is being written does it wait (never half-installed)."""
        if self.busy_reason and not self.installing:
            self.workers.cancel_group(self, "schedule")
            self.busy_reason = None
        super().action_back()  # Back(plan): what was typed comes back with the screen, unsaved

    def keep_rhythm(self, rhythm: Rhythm) -> None:
        """Remember the typed time without installing it (shown again next time)."""
        from msde_tui.engine.auto import installed

        try:
            installed.remember(self.ctx.home, rhythm)
        except OSError:
            return  # only a convenience: the policy itself is saved
        self.schedule = replace(self.schedule, rhythm=rhythm)

    @work(exclusive=True, group="schedule", exit_on_error=False)
    async def install_schedule(self, rhythm: Rhythm) -> None:
        from msde_tui.engine.auto import installed
        from msde_tui.engine.auto.schedule import KIND_WORDS, describe_rhythm

        kind = self.schedule.kind if self.schedule.installed else await asyncio.to_thread(installed.machine_kind)
        if self.schedule.installed:
            question = _("Replace the installed schedule: a {kind}, {rhythm}?")
        else:
            question = _("Install the schedule that runs the automatic backups: a {kind}, {rhythm}?")
        question = question.format(kind=_(KIND_WORDS.get(kind, kind)), rhythm=describe_rhythm(rhythm))
        self.busy_reason = None
        self.say("")
        # Enter = no: an Enter typed before the question appeared (the look above can take a
        # moment) must not be taken for consent to install something on the machine.
        if not await self.app.push_screen_wait(ConfirmScreen(question, default=False)):
            self.declined = True
            if not self.schedule.installed:
                self.keep_rhythm(rhythm)
            self.say(_("Saved. No schedule installed: the backups will not run by themselves. "
                       "Enter leaves."))
            return
        self.busy_reason = _("Installing the schedule...")
        self.installing = True
        self.say(self.busy_reason)
        try:
            self.schedule = await asyncio.to_thread(installed.install, self.ctx.home, rhythm, kind)
        except MsdeError as exc:
            self.say_error(exc)
            return
        except OSError as exc:
            self.say(_("Cannot install the schedule: {error}").format(error=exc), error=True)
            return
        finally:
            self.busy_reason = None
            self.installing = False
        self.show_schedule()
        self.say(_("Saved and scheduled. Enter leaves."))

    @work(exclusive=True, group="schedule", exit_on_error=False)
    async def remove_schedule(self, rhythm: Rhythm) -> None:
        from msde_tui.engine.auto import installed

        self.say(self.busy_reason or "")
        try:
            await asyncio.to_thread(installed.remove, self.ctx.home)
            await asyncio.to_thread(installed.remember, self.ctx.home, rhythm)
            self.schedule = await asyncio.to_thread(installed.state, self.ctx.home)
        except MsdeError as exc:
            self.busy_reason = None
            self.say_error(exc)
            return
        self.busy_reason = None
        self.show_schedule()
        self.say(_("Saved; the schedule is removed. Enter leaves."))


def describe_times(rhythm: Rhythm) -> str:
    """The typed rhythm in words, and when it would run next."""
    from msde_tui.engine.auto import installed
    from msde_tui.engine.auto.schedule import describe_rhythm

    when = installed.next_run(rhythm).strftime("%Y-%m-%d %H:%M")
    return _("Runs {rhythm}; next run {when}.").format(rhythm=describe_rhythm(rhythm), when=when)


def _hours_ok(values: dict[str, str]) -> bool:
    from msde_tui.engine.auto.schedule import INTERVALS

    text = values.get("every_hours", "").strip()
    return text.isdigit() and int(text) in INTERVALS


def describe_schedule(found: ScheduleState) -> str:
    from msde_tui.engine.auto.schedule import KIND_WORDS, describe_rhythm

    if not found.installed:
        return _("Schedule: none installed; the automatic backups do not run.")
    when = found.next_run.strftime("%Y-%m-%d %H:%M") if found.next_run else "-"
    return _("Schedule: {kind}, {rhythm}. Next run: {when}. Log: {log}").format(
        kind=_(KIND_WORDS.get(found.kind, found.kind)), rhythm=describe_rhythm(found.rhythm),
        when=when, log=found.log)


def usable_directory(target: Path) -> BadInput | None:
    """Create the backups' directory if need be; the refusal when it cannot take files."""
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return BadInput(_("Cannot create {path}: {reason}").format(path=target, reason=exc.strerror or exc),
                        _("Choose another directory."))
    problem = dir_problem(target)
    return None if problem is None else directory_refusal(problem)


def _auto_step(ctx: object, plan: WizardPlan, pos: StepPosition) -> AutoScreen:
    return AutoScreen(ctx, plan, pos)


def register() -> None:
    """Offer "Automatic backups" on the operation screen (embedded connection)."""
    registry.register(registry.Operation(
        id="auto",
        label=N_("Automatic backups"),
        steps=(_auto_step,),  # type: ignore[arg-type]
        help=N_("Options of the automatic backups (run by the system scheduler) and the last run."),
        asks_verify=False,
        asks_directory=False,
        available=lambda connection: isinstance(connection, Connection) and connection.is_embedded,
    ))
