"""Step 5: the work, as a detached job. One row per dossier (state in words, a character bar,
percent, MB/s, elapsed, ETA), a log pane with the server's messages, F8 cancels (asks first),
and at the end a result per dossier with its files, F6 saves a report.

The job runs in its own process (``engine.jobs``); this screen only reads its events file a
few times per second, so closing the terminal loses nothing and re-attaching shows it all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual import events, work
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable, RichLog, Static

from msde_tui import units
from msde_tui.engine import events as ev
from msde_tui.engine.errors import MsdeError
from msde_tui.engine.plans import WizardPlan
from msde_tui.engine.runs import jobs
from msde_tui.engine.words import shown
from msde_tui.i18n import N_, _
from msde_tui.screens import registry
from msde_tui.screens.base import StepScreen, connection_label, operation_label
from msde_tui.screens.context import WizardContext
from msde_tui.screens.dialogs import ConfirmScreen, SaveScreen
from msde_tui.screens.fit_table import FitTable, set_columns
from msde_tui.screens.steps import StepPosition
from msde_tui.screens.widgets import clip_middle, human_seconds, table_room, text_bar

POLL_S = 0.3  # redraw at most ~3 times a second, however many messages arrive
BAR_WIDTH = 14
WAITING, RUNNING, OK, FAILED, CANCELLED = "WAITING", "RUNNING", "OK", "FAILED", "CANCELLED"
SKIPPED = "SKIPPED"  # left alone on purpose (events.SKIPPED): not done, not failed
INTERRUPTED = "INTERRUPTED"


def wizard_hint(result: ev.DossierResult) -> str:
    """What to do after a failed result, in the wizard's words when the error had its own
    (``MsdeError.wizard_hint``, kept in the result's details), else the engine's hint."""
    own = result.details.get("wizard_hint") if isinstance(result.details, dict) else None
    return own if isinstance(own, str) and own else result.hint


def state_word(state: str) -> str:
    return {
        WAITING: _("WAITING"),
        RUNNING: _("RUNNING"),
        OK: _("OK"),
        FAILED: _("FAILED"),
        CANCELLED: _("CANCELLED"),
        INTERRUPTED: _("INTERRUPTED"),
        SKIPPED: _("SKIPPED"),
    }[state]


PHASE_WORDS = {
    "backup": N_("copying"),
    "copy": N_("copying"),
    "verify": N_("verifying"),
    "read": N_("reading"),
    "safety copy": N_("safety copy"),
    "restore": N_("restoring"),
}


def phase_word(step: str) -> str:
    """What a running row is doing, in words (the state column)."""
    word = PHASE_WORDS.get(step)
    return _(word) if word else _("RUNNING")


def speed_text(mb_per_s: float | None) -> str:
    """MB/s in at most 6 characters (its column): ``12.5``, ``1,506`` (no tenths from 100)."""
    if mb_per_s is None:
        return ""
    return units.decimal(mb_per_s, 1 if mb_per_s < 100 else 0)


@dataclass
class Row:
    subject: str
    state: str = WAITING
    step: str = ""
    percent: float | None = None
    mb_per_s: float | None = None
    eta_s: float | None = None
    started: float | None = None
    step_started: float | None = None
    ended: float | None = None
    result: ev.DossierResult | None = None
    dirty: bool = True
    statements: list[str] = field(default_factory=list)
    phases: tuple[str, ...] = ()  # the steps the job announced (Started)
    phase: int = -1  # index of the current one
    raw_step: str = ""  # the engine's name of the current step (``step`` is it in words)
    sub: int = 0  # how many steps of the same phase came before (copy, then its checksum)
    overall: float | None = None  # the whole job of this row, in percent: never goes back
    rows_done: int | None = None  # a step counted in rows: its rows done and to do, all its tables
    rows_total: int | None = None

    def advance(self, step: str) -> None:
        """A new step began: a later phase, or one more part of the current one."""
        self.raw_step = step
        index = self.phases.index(step) if step in self.phases else -1
        if index > self.phase:
            self.phase, self.sub = index, 0
        elif self.phase >= 0:
            self.sub += 1

    def measure(self) -> None:
        """``overall`` from the step's percent: each phase an equal share; within a phase, each
        further part takes a quarter of what is left (how many parts come is not announced)."""
        if self.percent is None:
            return
        fraction = max(0.0, min(1.0, self.percent / 100.0))
        if self.phases and self.phase >= 0:
            low, high = 1 - 0.25**self.sub, 1 - 0.25 ** (self.sub + 1)
            if self.rows_total is not None:  # counted in rows: the percent is the whole step's
                low, high = 0.0, 1.0
            value = 100.0 * (self.phase + low + (high - low) * fraction) / len(self.phases)
        else:
            value = 100.0 * fraction
        self.overall = value if self.overall is None else max(self.overall, value)

    def elapsed(self, now: float) -> float | None:
        if self.started is None:
            return None
        return (self.ended or now) - self.started

    def eta(self, now: float) -> float | None:
        if self.state != RUNNING:
            return None
        if self.eta_s is not None:
            return self.eta_s
        if self.percent and self.step_started is not None and 0 < self.percent < 100:
            spent = now - self.step_started
            return spent * (100 - self.percent) / self.percent
        return None


class JobView:
    """The job's events folded into rows and log lines (no Textual: testable alone)."""

    def __init__(self, subjects: Iterable[str]) -> None:
        self.rows: dict[str, Row] = {s: Row(s) for s in subjects}
        self.log: list[str] = []
        self.statements: list[str] = []
        self.messages: list[str] = []

    def row_for(self, subject: str) -> Row:
        if subject in self.rows:
            return self.rows[subject]
        for key, row in self.rows.items():
            if subject.replace("\\", "/").endswith("/" + key) or key.endswith(subject):
                return row
        self.rows[subject] = Row(subject)
        return self.rows[subject]

    def apply(self, at: float, event: ev.Event) -> None:
        if isinstance(event, ev.DossierResult) and event.details.get(ev.RUN_SUMMARY):
            return  # the run's own summary: not a dossier (its dossiers have their rows)
        row = self.row_for(event.dossier)
        row.dirty = True
        stamp = datetime.fromtimestamp(at).strftime("%H:%M:%S") if at else "--:--:--"
        if row.started is None and not isinstance(event, ev.DossierResult):
            row.started = at
            row.step_started = at
        if isinstance(event, ev.Started):
            row.state = RUNNING
            row.phases = tuple(event.steps)
            row.started = at
            row.step_started = at
            self.log.append(f"{stamp} {row.subject}: " + _("started"))
        elif isinstance(event, ev.Step):
            row.state = RUNNING
            row.step = shown(event.step)
            if not (event.step == row.raw_step and row.rows_total is not None):  # else: its next table
                row.advance(event.step)
                row.step_started = at
                row.percent = None
                row.eta_s = None
                row.rows_done = row.rows_total = None
            detail = f" ({shown(event.detail)})" if event.detail else ""
            self.log.append(f"{stamp} {row.subject}: {shown(event.step)}{detail}")
        elif isinstance(event, ev.Progress):
            row.state = RUNNING
            if event.rows_done is not None:
                row.rows_done, row.rows_total = event.rows_done, event.rows_total
            if event.percent is not None:
                row.percent = event.percent
            elif event.rows_done is not None and event.rows_total:
                row.percent = 100.0 * event.rows_done / event.rows_total
            elif event.bytes_done is not None and event.bytes_total:
                row.percent = 100.0 * event.bytes_done / event.bytes_total
            if event.mb_per_s is not None:
                row.mb_per_s = event.mb_per_s
            elif event.bytes_done and row.step_started is not None and at > row.step_started:
                row.mb_per_s = event.bytes_done / 1024**2 / (at - row.step_started)
            row.eta_s = event.eta_s
            row.measure()
        elif isinstance(event, ev.ServerMessage):
            number = f"[{event.number}] " if event.number is not None else ""
            line = f"{stamp} {row.subject}: {number}{shown(event.text)}"
            self.log.append(line)
            self.messages.append(line)
        elif isinstance(event, ev.Statement):
            row.statements.append(event.text)
            self.statements.append(f"-- {row.subject}\n{event.text}")
            self.log.append(f"{stamp} {row.subject}: " + _("runs:") + f" {event.text}")
        elif isinstance(event, ev.DossierResult):
            row.result = event
            row.ended = at
            if row.started is None:
                row.started = at - event.seconds if event.seconds else at
            row.state = OK if event.ok else FAILED
            if event.ok and event.details.get(ev.SKIPPED):
                row.state = SKIPPED  # no bar at 100 %: nothing was done
            elif event.ok:
                row.percent = row.overall = 100.0
            word = state_word(row.state) + (" (" + _("verified") + ")" if event.verified else "")
            text = f"{stamp} {row.subject}: {word}"
            if event.message:
                text += f" - {shown(event.message)}"
            hint = wizard_hint(event)
            if hint:
                text += f" {shown(hint)}"
            self.log.append(text)

    def finish(self, result: dict[str, object] | None, job_state: str = jobs.FAILED) -> None:
        """Rows the events did not close get their state from result.json."""
        per = (result or {}).get("dossiers") or {}
        cancelled = (result or {}).get("state") == jobs.CANCELLED
        interrupted = result is None and job_state == jobs.INTERRUPTED
        for subject, row in self.rows.items():
            if row.state in (OK, FAILED, SKIPPED):
                continue
            data = per.get(subject) if isinstance(per, dict) else None
            if isinstance(data, dict) and data.get("ok"):
                row.state = OK
            elif interrupted:
                row.state = INTERRUPTED
            else:
                row.state = CANCELLED if cancelled else FAILED
            row.dirty = True

    def counts(self) -> tuple[int, int]:
        """Dossiers done and not done (the skipped ones are neither: ``skipped``)."""
        ok = sum(1 for r in self.rows.values() if r.state == OK)
        return ok, len(self.rows) - ok - self.skipped()

    def skipped(self) -> int:
        return sum(1 for r in self.rows.values() if r.state == SKIPPED)


class ProgressScreen(StepScreen):
    TITLE = N_("Progress")
    HELP = N_(
        "The work runs as a background job: it goes on if this terminal or the SSH/RDP session "
        "closes, and msde-tui (or 'msde jobs') shows it again later. One row per dossier: "
        "state in words, progress, speed, time spent and time left. The log shows the "
        "server's messages. F8 cancels (after a question; the current step stops safely). "
        "At the end each dossier shows OK or FAILED with the reason, the files written are "
        "listed in the log, and F6 saves a report. Enter then starts a new operation."
    )
    BINDINGS = [
        Binding("f8", "cancel_job", N_("Cancel job"), id="cancel_job", key_display="F8"),
        Binding("f6", "save_report", N_("Save report"), id="save_report", key_display="F6"),
    ]

    def __init__(
        self,
        ctx: WizardContext,
        *,
        plan: WizardPlan,
        position: StepPosition,
        job: jobs.JobInfo | None = None,
    ) -> None:
        super().__init__(ctx, plan, position)
        self.job = job
        self.view = JobView(jobs.plan_subjects(plan) if job is None else job.subjects)
        self.tail: jobs.EventTail | None = None
        self._finished = False
        self.ascii_only = bool(getattr(ctx, "ascii_only", False))
        self._log_written = 0
        self._fitted: list[tuple[str, int]] = []  # (column key, width) shown
        self.bar_width = BAR_WIDTH
        self._last_state_check = 0.0

    def compose_body(self) -> Iterable[Widget]:
        yield Static("", id="job-title", markup=False)
        yield FitTable(id="rows", cursor_type="row", show_cursor=False, zebra_stripes=False,
                       cell_padding=0)  # columns one wider than their header instead
        # min_width: RichLog wraps at max(its width, min_width) (78 by default), so at 80
        # columns a wrapped line lost its last characters under the border.
        yield RichLog(id="log", max_lines=2000, wrap=True, markup=False, highlight=False, min_width=20)
        yield Static("", id="result", markup=False)

    def on_mount(self) -> None:
        self.ascii_only = bool(getattr(self.app, "ascii_borders", self.ascii_only))
        self._fit_columns()
        self.call_after_refresh(self._fit_columns)  # the table's true width, once laid out
        if self.job is None:
            try:
                self.job = jobs.start_job(self.plan, home=self.ctx.home)
            except MsdeError as exc:
                self.say_error(exc)
                self.finished = True
                return
            except OSError as exc:
                self.say(_("The job could not start: {reason}").format(reason=exc), error=True)
                self.finished = True
                return
        self.busy_reason = _(
            "The job is running. F8 cancels it; Ctrl+Q leaves it running in the background."
        )
        self.query_one("#job-title", Static).update(
            _("Job {id}: runs in the background (F5 lists the jobs).").format(id=self.job.id)
        )
        self.tail = jobs.EventTail(self.job.events_file)
        self.refresh_bindings()  # F8 cancels now that there is a job
        self.poll()
        if not self.finished:
            self.follow()

    @work(exclusive=True, group="tail", exit_on_error=False)
    async def follow(self) -> None:
        """Read the events file a few times per second until the job ends."""
        while not self.finished:
            await asyncio.sleep(POLL_S)
            self.poll()

    # -- the table: the columns that fit the room there is

    def _column_specs(self) -> list[tuple[str, str, int]]:
        """(header, key, width) of every column, in the order they are shown."""
        return [
            (_("Dossier"), "subject", 11), (_("State"), "state", 11),
            (_("Progress"), "bar", BAR_WIDTH), ("%", "pct", 4), (_("MB/s"), "speed", 6),
            (_("Time"), "elapsed", 7), (_("Left"), "eta", 7),
        ]

    def fitted_columns(self, room: int) -> list[tuple[str, str, int]]:
        """The columns that fit in ``room`` cells, each as wide as its header and its values:
        speed, then time spent, then time left go first when there is not room for all; the
        bar takes what is left (at least 6 cells, else it goes too). The dossier's column then
        widens to its longest name with the room left over, the bar giving up to half its
        width before a name is cut (a cut name keeps its end: ``clip_middle``)."""
        specs = {key: (label, key, max(width, len(label)) + 1) for label, key, width in self._column_specs()}
        order = ["subject", "state", "bar", "pct", "speed", "elapsed", "eta"]
        for dropped in ([], ["speed"], ["speed", "elapsed"], ["speed", "elapsed", "eta"],
                        ["speed", "elapsed", "eta", "bar"]):
            keys = [k for k in order if k not in dropped]
            fixed = sum(specs[k][2] for k in keys if k != "bar")
            if "bar" not in keys:
                return [specs[k] for k in keys]
            bar_room = room - fixed
            label = specs["bar"][0]
            if bar_room >= max(7, len(label) + 1):
                bar = min(bar_room, max(BAR_WIDTH, len(label)) + 1)
                subject = specs["subject"][2]
                longest = max([subject - 1, *(cell_len(s) for s in self.view.rows)]) + 1
                grow = min(longest - subject, room - fixed - bar)  # the room left over
                give = min(longest - subject - grow, bar - max(len(label) + 1, BAR_WIDTH // 2 + 1))
                if give > 0:  # then some of the bar's
                    bar, grow = bar - give, grow + give
                widths = {"bar": bar, "subject": subject + max(grow, 0)}
                return [(specs[k][0], k, widths.get(k, specs[k][2])) for k in keys]
        return [specs[k] for k in ("subject", "state", "pct")]

    def on_fit_table_refit(self, event: FitTable.Refit) -> None:
        self._fit_columns()

    def _fit_columns(self) -> None:
        table = self.query_one("#rows", DataTable)
        # inside the border, a scrollbar's room kept aside when the rows outgrow the table
        room = table_room(table) if table.size.width else self.app.size.width - 4
        columns = self.fitted_columns(room)
        if [(key, width) for _label, key, width in columns] == getattr(self, "_fitted", None):
            return
        self._fitted = [(key, width) for _label, key, width in columns]
        self.bar_width = next((width - 1 for _label, key, width in columns if key == "bar"), 0)
        set_columns(table, columns)  # a header is never cut
        for subject, row in self.view.rows.items():
            self._add_row(subject)
            row.dirty = True
        if getattr(self, "tail", None) is not None:
            self._redraw(time.time())

    def on_resize(self, event: events.Resize) -> None:
        self._fit_columns()

    def _add_row(self, subject: str) -> None:
        table = self.query_one("#rows", DataTable)
        keys = [key for key, _width in self._fitted]
        width = dict(self._fitted)["subject"] - 1
        cells = [Text(clip_middle(subject, width)) if k == "subject" else state_word(WAITING) if k == "state" else ""
                 for k in keys]
        table.add_row(*cells, key=subject)

    # -- tailing

    def poll(self) -> None:
        if self.finished or self.job is None or self.tail is None:
            return
        now = time.time()
        for at, event in self.tail.read():
            known = event.dossier in self.view.rows
            self.view.apply(at, event)
            if not known and event.dossier in self.view.rows:
                self._add_row(event.dossier)
        state = None
        if now - self._last_state_check >= 1.0 or any(
            r.state in (OK, FAILED) for r in self.view.rows.values()
        ):
            self._last_state_check = now
            job = jobs.load_job(self.ctx.home, self.job.id)
            self.job = job
            state = job.state
        self._redraw(now)
        if state is not None and state != jobs.RUNNING:
            for at, event in self.tail.read():  # the last lines written before result.json
                self.view.apply(at, event)
            self.view.finish(self.job.result, self.job.state)
            self._redraw(now)
            self._show_result()

    def _redraw(self, now: float) -> None:
        table = self.query_one("#rows", DataTable)
        for subject, row in self.view.rows.items():
            if not row.dirty and row.state != RUNNING:
                continue
            row.dirty = False
            shown = row.overall
            fraction = None if shown is None else shown / 100.0
            bar = "" if row.state in (WAITING, SKIPPED) else text_bar(fraction, self.bar_width, ascii_only=self.ascii_only)
            values = {
                "state": phase_word(row.raw_step) if row.state == RUNNING and row.raw_step else state_word(row.state),
                "bar": bar,
                "pct": "" if shown is None else f"{int(shown)}",
                "speed": speed_text(row.mb_per_s),
                "elapsed": human_seconds(row.elapsed(now)) if row.started else "",
                "eta": human_seconds(row.eta(now)) if row.state == RUNNING else "",
            }
            shown_keys = {key for key, _width in self._fitted}
            for column, value in values.items():
                if column in shown_keys:
                    table.update_cell(subject, column, Text(value))
        log = self.query_one("#log", RichLog)
        for line in self.view.log[self._log_written :]:
            log.write(Text(line))
        self._log_written = len(self.view.log)

    def _show_result(self) -> None:
        self.finished = True
        self.busy_reason = None
        assert self.job is not None
        ok, failed = self.view.counts()
        word = {
            jobs.OK: _("OK"),
            jobs.FAILED: _("FAILED"),
            jobs.CANCELLED: _("CANCELLED"),
            jobs.INTERRUPTED: _("INTERRUPTED"),
        }.get(self.job.state, self.job.state)
        skipped = self.view.skipped()
        if skipped:
            lines = [_("Result: {word}. {ok} OK, {skipped} skipped, {failed} not OK.").format(
                word=word, ok=ok, skipped=skipped, failed=failed)]
        else:
            lines = [_("Result: {word}. {ok} OK, {failed} not OK.").format(word=word, ok=ok, failed=failed)]
        if self.job.state == jobs.INTERRUPTED:
            lines.append(
                _("The job's process ended without a result (machine restarted or killed). "
                  "Check the dossiers; details in {dir}.").format(dir=self.job.directory)
            )
        error = (self.job.result or {}).get("error")
        if isinstance(error, dict) and error.get("message"):
            lines.append(str(error.get("message")) + " " + str(error.get("hint") or ""))
        lines.append(_("F6 saves a report. Enter: new operation."))
        self.query_one("#result", Static).update("\n".join(lines))
        log = self.query_one("#log", RichLog)
        for row in self.view.rows.values():
            if row.result and row.result.files:
                log.write(Text(f"{row.subject}: " + _("files:") + " " + ", ".join(row.result.files)))
        # the result's lines take room from the log: its last line stays in view once laid out
        self.call_after_refresh(lambda: log.scroll_end(animate=False, immediate=True, x_axis=False))
        jobs.mark_seen(self.job)
        self.say("")

    # -- keys

    @property
    def finished(self) -> bool:
        return self._finished

    @finished.setter
    def finished(self, value: bool) -> None:
        self._finished = value
        if self.is_mounted:
            self.refresh_bindings()  # F8 leaves the footer once nothing runs

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_job" and (self.finished or self.job is None):
            return False
        return super().check_action(action, parameters)

    def action_cancel_job(self) -> None:
        if self.finished or self.job is None:
            self.say(_("Nothing is running."))
            return

        def answered(yes: bool | None) -> None:
            if yes and self.job is not None:
                try:
                    jobs.request_cancel(self.ctx.home, self.job.id)
                except MsdeError as exc:
                    self.say_error(exc)
                    return
                self.say(_("Cancelling: the current step stops safely, nothing half-done is kept."))

        self.app.push_screen(
            ConfirmScreen(_("Cancel the job? Dossiers already done stay done."), default=False),
            answered,
        )

    def action_save_report(self) -> None:
        if self.job is None:
            return
        path = self.ctx.home / "reports" / f"report-{self.job.id}.txt"

        def saved(written: Path | None) -> None:
            if written is not None:
                self.say(_("Report saved to {path}").format(path=written))

        self.app.push_screen(SaveScreen(_("Save the report"), self.report_text(), path), saved)

    def report_text(self) -> str:
        assert self.job is not None
        out = [
            "msde-tui " + _("report"),
            _("Job: {id}").format(id=self.job.id),
            _("Operation: {op}").format(op=operation_label(self.plan)),
            _("Connection: {value}").format(value=connection_label(self.plan.connection)),
            _("Directory: {value}").format(value=getattr(self.plan.op, "directory", "") or self.plan.directory),
            _("Started: {when}").format(when=self.job.created_at),
            _("State: {state}").format(state=self.job.state.upper()),
            "",
        ]
        for row in self.view.rows.values():
            line = f"{row.subject}: {state_word(row.state)}"
            if row.result is not None:
                if row.result.verified:
                    line += " (" + _("verified") + ")"
                if row.result.message:
                    line += f" - {row.result.message}"
                if wizard_hint(row.result):
                    line += f" {wizard_hint(row.result)}"
                for file in row.result.files:
                    line += "\n    " + file
            out.append(line)
        if self.view.statements:
            out += ["", _("Statements run:"), *self.view.statements]
        out += ["", _("Log:"), *self.view.log, ""]
        return "\n".join(out)

    def action_back(self) -> None:
        if not self.finished:
            self.say(self.busy_reason or "")
            return
        self.dismiss(self.plan)

    def go_next(self) -> None:
        if not self.finished:
            self.say(self.busy_reason or "")
            return
        self.dismiss(self.plan)


__all__ = ["JobView", "ProgressScreen", "registry"]
