"""Step 3 (backup): tick the dossiers. Space ticks, ``a`` ticks all, typing filters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from rich.cells import cell_len
from textual import work
from textual.widget import Widget
from textual.widgets import Static

from msde_tui.engine import naming
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.plans import WizardPlan
from msde_tui.engine.textsafe import one_line
from msde_tui.i18n import N_, _
from msde_tui.screens.base import connection_label
from msde_tui.screens.connection import describe_error
from msde_tui.screens.filtered import FilteredTicks, FilteredTickStep
from msde_tui.screens.widgets import TickList, clip, human_size, pad


def cut_label(dossier: Dossier) -> str:
    """``cut 001 of 001SOC`` (translated) for a cut dossier, else ``""``."""
    origin = naming.cut_origin(dossier.location) if dossier.is_embedded else None
    if origin is None:
        return ""
    return _("cut {seq} of {dossier}").format(seq=f"{origin[1]:03d}", dossier=origin[0])


def dossier_key(dossier: Dossier) -> str:
    return f"{dossier.backend}:{dossier.profile or ''}:{dossier.location}"


class DossiersScreen(FilteredTickStep):
    TITLE = N_("Dossiers")
    HELP = N_(
        "Tick the dossiers to back up: Space ticks or unticks the highlighted one, 'a' ticks "
        "all (or none when all are ticked), typing a letter or digit filters the list (the "
        "filter box is above; Tab moves between it and the list). Ticks stay when the filter "
        "changes. Enter goes on to the summary."
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.available: list[tuple[Dossier, int | None]] = []
        self.last_full: dict[str, float | None] = {}  # SQL Server: database -> days since
        self.state = FilteredTicks(dossier_key(d) for d in self.plan.dossiers)

    def compose_body(self) -> Iterable[Widget]:
        yield Static(
            _("Dossiers on {where}:").format(where=connection_label(self.plan.connection)),
            id="list-title",
            markup=False,
        )
        yield from self.compose_filtered_list()
        yield Static("", id="count", markup=False)

    def on_mount(self) -> None:
        self.query_one("#ticks", TickList).focus()
        self.busy_reason = _("Reading the dossiers...")
        self.say(self.busy_reason)
        self.load()

    @work(exclusive=True, group="load", exit_on_error=False)
    async def load(self) -> None:
        try:
            self.available = await self.ctx.dossiers_of(self.plan.connection)
        except Exception as exc:  # noqa: BLE001 - plain words, never a traceback
            self.busy_reason = None
            self.say_error(describe_error(exc))
            return
        if not self.plan.connection.is_embedded:
            self.last_full = await self._last_full()
        self.busy_reason = None
        keys = {dossier_key(d) for d, _size in self.available}
        self.state.ticked &= keys
        self.say("" if self.available else _("No dossier found on this connection."))
        self.rebuild()

    async def _last_full(self) -> dict[str, float | None]:
        """Days since each database's last full backup, whoever made it (msdb's history);
        empty when the login may not read it (the list shows without)."""
        backend = await self.ctx.backend(self.plan.connection)
        read = getattr(backend, "backup_history", None)
        if read is None:
            return {}
        try:
            states = await read()
        except Exception:  # noqa: BLE001 - a missing right on msdb never hides the list
            return {}
        now = datetime.now()
        return {s.database: s.age_days(now) for s in states}

    def _line(self, dossier: Dossier, size: int | None) -> str:
        """Code, company (a cut's origin after it), size, and on SQL Server the last full
        backup's age; the company takes the room the list has."""
        company = one_line(dossier.company or dossier.location)
        note = cut_label(dossier)
        size_text = human_size(size) if size is not None else _("missing")
        age = None
        if (dossier.location or "") in self.last_full:
            days = self.last_full[dossier.location or ""]
            if days is None:
                age = _("never backed up")
            elif days < 1:
                age = _("full {hours} h ago").format(hours=int(days * 24))
            else:
                age = _("full {days} d ago").format(days=int(days))
        room = self.line_room() - 12 - 1 - 1 - 9 - (len(age) + 1 if age is not None else 0)
        width = max(room, 12)
        if note:  # which dossier and which cut it came from: the note is never cut
            company = f"{clip(company, max(width - cell_len(note) - 3, 8))} ({note})"
        line = f"{dossier.code:<12} {pad(clip(company, width), width)} {size_text:>9}"
        return line if age is None else f"{line} {age}"

    def entries(self) -> Iterable[tuple[str, str]]:
        return [(self._line(d, s), dossier_key(d)) for d, s in self.available]

    def ticks_changed(self) -> None:
        total = len(self.available)
        self.query_one("#count", Static).update(
            _("{ticked} of {total} ticked. Space ticks, a ticks all, typing filters.").format(
                ticked=len(self.state.ticked), total=total
            )
        )

    def answers(self) -> WizardPlan:
        if not self.available:  # still reading: the ticks the plan had
            return self.plan
        chosen = tuple(d for d, _s in self.available if dossier_key(d) in self.state.ticked)
        return replace(self.plan, dossiers=chosen)

    def go_next(self) -> None:
        chosen = tuple(d for d, _s in self.available if dossier_key(d) in self.state.ticked)
        if not chosen:
            self.say(_("Tick at least one dossier (Space ticks, a ticks all)."), error=True)
            return
        self.dismiss(replace(self.plan, dossiers=chosen))
