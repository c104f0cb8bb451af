"""How archive, archive import, cut and the tax-audit transfer report their progress.

They are synchronous (``runs.registry.in_thread`` runs them in a worker thread) and report
through the one ``events.Emit`` callback, with the events an async operation yields, already
named for what they work on (the dossier's code, or the PAF's file name for an archive import):

- ``Step`` when a step begins (``read``, ``write``, ``verify``, ``copy``...);
- ``Progress`` within a step that moves rows: ``rows_done`` of ``rows_total`` and the step's
  ``percent``, which never go backwards inside a step (as a backup's bytes do).
"""

from __future__ import annotations

from msde_tui.engine.events import Emit, Progress, Step


class Reporter:
    """The ``Step`` and ``Progress`` events of one piece of work, all carrying ``label``."""

    def __init__(self, emit: Emit | None, label: str) -> None:
        self.emit = emit
        self.label = label
        self.total: int | None = None
        self.done = 0
        self.shown: float | None = None  # the last percent sent in this step

    def step(self, name: str, detail: str = "", *, rows: int | None = None) -> None:
        """A new step; ``rows``: how many rows it will move (its progress counts them)."""
        self.total, self.done, self.shown = rows, 0, None
        if self.emit is not None:
            self.emit(Step(self.label, name, detail))
            if rows is not None:
                self._progress(force=True)

    def rows(self, count: int) -> None:
        """``count`` more rows of the current step were moved."""
        self.done += count
        self._progress()

    def _progress(self, *, force: bool = False) -> None:
        if self.emit is None or self.total is None:
            return
        total = max(self.total, 0)
        percent = 100.0 if total == 0 else min(100.0, round(100.0 * self.done / total, 1))
        if not force and self.shown is not None and (
            percent <= self.shown or (percent < self.shown + 1.0 and percent < 100.0)
        ):
            return  # never backwards, and one event per percent is enough for a screen
        self.shown = percent
        self.emit(Progress(self.label, percent=percent, rows_done=min(self.done, total), rows_total=total))
