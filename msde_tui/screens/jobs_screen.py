"""Jobs in the background: offered at start (running ones, and results nobody has seen yet)
and on F5 from any step. Enter opens a job's progress (re-attach) or its result."""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from msde_tui.engine.runs import jobs
from msde_tui.i18n import N_, _
from msde_tui.screens.fit_table import FitTable, set_columns
from msde_tui.screens.widgets import WizardFooter, clip, fit_widths, table_room, translate_bindings


def state_word(state: str) -> str:
    return {
        jobs.RUNNING: _("RUNNING"),
        jobs.OK: _("OK"),
        jobs.FAILED: _("FAILED"),
        jobs.CANCELLED: _("CANCELLED"),
        jobs.INTERRUPTED: _("INTERRUPTED"),
    }.get(state, state.upper())


def _subjects_in_words(operation: str) -> str:
    """A job without named subjects (the automatic run): what it works on, in words."""
    from msde_tui.engine.runs import registry as runner

    scope = runner.scope(operation)
    return _(scope) if scope else ""


def operation_word(operation: str) -> str:
    from msde_tui.screens import registry

    return _(registry.get(operation).label) if operation else "?"


_CLOCK = "HH:MM"  # the start time when the date has no room

class JobsScreen(Screen[str | None]):
    """Dismisses with the id of the job to open, or None to go on with the wizard."""

    BINDINGS = [
        Binding("enter", "open", N_("Open"), id="jobs_open", key_display="Enter", priority=True),
        Binding("f2,ctrl+b,ctrl+n", "close", N_("Continue"), id="jobs_close", key_display="F2"),
        Binding("f5", "refresh", N_("Refresh"), id="jobs_refresh", key_display="F5"),
        Binding("f1", "help", N_("Help"), id="jobs_help", key_display="F1"),
    ]
    HELP = N_(
        "The wizard's jobs run on their own, in the background: they go on when the terminal "
        "closes. Each row is one job: its number, when it started, the operation, its state "
        "(RUNNING, OK, FAILED, CANCELLED, INTERRUPTED) and its dossiers. The arrows move; Enter "
        "opens the highlighted job: the progress of a running one (F8 there cancels it), the "
        "result of one that ended. F5 reads the list again; F2 leaves it. 'msde jobs' shows "
        "the same list from the command line."
    )

    def __init__(self, home: Path, *, at_start: bool) -> None:
        super().__init__()
        translate_bindings(self)
        self.home = home
        self.at_start = at_start
        self.shown: list[jobs.JobInfo] = []

    def compose(self) -> ComposeResult:
        yield Static(_("Jobs in the background"), id="step-title")
        intro = (
            _("These jobs run (or ran) on their own. Enter opens one; F2 goes on to the wizard.")
            if self.at_start
            else _("Enter opens a job; F2 goes back.")
        )
        yield Static(intro, id="choices")
        yield FitTable(cursor_type="row", id="jobs", zebra_stripes=False)
        yield Static("", id="message")
        yield WizardFooter()

    def on_mount(self) -> None:
        self.action_refresh()
        self.query_one(DataTable).focus()

    def on_fit_table_refit(self, event: FitTable.Refit) -> None:
        self._fill()

    def action_refresh(self) -> None:
        self.shown = jobs.jobs_to_show(self.home) if self.at_start else jobs.list_jobs(self.home)
        self._fill()
        if not self.shown:
            self.query_one("#message", Static).update(_("No jobs."))

    def _fill(self) -> None:
        """The jobs, each column fitted to the table's width: the id (what 'msde jobs show'
        takes) whole, the operation and the dossiers cut with "…" if need be, no column's name
        cut inside a word. The start time shows its clock alone when the date has no room, and
        goes when even that has none: the id is the job's start (date-time-suffix)."""
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        headers = [_("Job"), _("Started"), _("Operation"), _("State"), _("Dossiers")]
        rows = [
            [job.id, job.created_at.replace("T", " ")[5:16], operation_word(job.operation),
             state_word(job.state), ", ".join(job.subjects) or _subjects_in_words(job.operation)]
            for job in self.shown
        ]
        natural = [max([cell_len(h), *(cell_len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
        word = [max(cell_len(w) for w in h.split()) for h in headers]  # a column's name wraps at its words
        least = [natural[0], min(natural[1], max(word[1], len(_CLOCK))), min(natural[2], max(word[2], 6)),
                 natural[3], min(natural[4], max(word[4], 4))]
        lines = len(rows) + 2  # 2: the header
        room = table_room(table, lines) - 2 * table.cell_padding * len(headers)
        dated = sum(least) <= room
        if not dated:  # the id is the job's start: the time goes first
            del headers[1], natural[1], least[1]
            for row in rows:
                del row[1]
            room = table_room(table, lines) - 2 * table.cell_padding * len(headers)
        widths = fit_widths(room, natural, least)
        if dated and widths[1] < natural[1]:  # no room for the date: the clock
            for job, row in zip(self.shown, rows, strict=True):
                row[1] = job.created_at[11:16]
        set_columns(table, [(header, None, width) for header, width in zip(headers, widths, strict=True)])
        for job, row in zip(self.shown, rows, strict=True):
            table.add_row(*(Text(clip(v, w)) for v, w in zip(row, widths, strict=True)), key=job.id)
        if rows and cursor:
            table.move_cursor(row=min(cursor, len(rows) - 1))

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if not self.shown or table.cursor_row is None:
            self.dismiss(None)
            return
        row = min(table.cursor_row, len(self.shown) - 1)
        self.dismiss(self.shown[row].id)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_help(self) -> None:
        from msde_tui.screens.dialogs import HelpScreen

        self.app.push_screen(HelpScreen(_("Jobs in the background"), _(self.HELP)))
