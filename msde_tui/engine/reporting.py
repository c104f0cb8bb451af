"""How synchronous engine work reports its progress: ``Step`` and ``Progress`` events through
an ``Emit`` (engine/events.py), counted in rows.

Archive, archive import, cut and the tax-audit transfer (engine/lifecycle), pack, import, apply
and export copy (engine/packs) run in a worker thread (``runs.registry.in_thread``) and report
through one ``Reporter``, every event named for the work's subject (a dossier's code, or the
file name of what is imported):

- ``step(name, detail, rows=)``: a ``Step``; with ``rows``, the step counts that many rows and
  a ``Progress`` at 0 % (or 100 % for no rows) goes with it;
- ``tables(name, rows)``: a step that goes through tables counts ``rows`` over all of them;
  ``table(name, rows)`` announces each table with a ``Step`` of that name (detail: the table);
- ``rows(count)``, ``counted(batches)``: rows done in the current step.

A ``Progress`` carries ``rows_done`` of ``rows_total`` and the share of the whole step as
``percent`` (so it never goes back from one table to the next), rounded down: 100 only once
every row is done. It is sent once the percent moved a whole point, or reached 100: a screen
needs no more.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

from msde_tui.engine.events import Emit, Event, Progress, Step


def ignore(_event: Event) -> None:
    """The ``emit`` of work nobody watches."""
    return None


class Batch(Protocol):
    """Anything counted in rows (a ``pyarrow.RecordBatch``)."""

    @property
    def num_rows(self) -> int: ...


B = TypeVar("B", bound=Batch)


class Reporter:
    """The ``Step`` and ``Progress`` events of one piece of work, all named ``subject``."""

    def __init__(self, emit: Emit | None = None, subject: str = "") -> None:
        self.emit: Emit = emit or ignore
        self.subject = subject
        self.current = ""  # the step in progress
        self.total: int | None = None  # the rows it counts (None: it does not count rows)
        self.done = 0
        self.shown: float | None = None  # the last percent sent in this step

    def step(self, name: str, detail: str = "", *, rows: int | None = None) -> None:
        """A new step; ``rows``: how many rows it will move (its progress counts them)."""
        self._begin(name, rows)
        self.emit(Step(self.subject, name, detail))
        if rows is not None:
            self._progress(force=True)

    def tables(self, name: str, rows: int) -> None:
        """A new step that moves ``rows`` rows over tables, each announced by ``table``."""
        self._begin(name, rows)

    def table(self, name: str, rows: int | None = None) -> None:
        """A table of the current step begins (``rows``: how many it holds, when known)."""
        detail = name if rows is None else f"{name}: {rows:,} rows"
        self.emit(Step(self.subject, self.current, detail))

    def rows(self, count: int) -> None:
        """``count`` more rows of the current step were moved."""
        if count <= 0 or self.total is None:
            return
        self.done += count
        self._progress()

    def counted(self, batches: Iterable[B]) -> Iterator[B]:
        """``batches`` as they are, each one counted once it was taken."""
        for batch in batches:
            yield batch
            self.rows(batch.num_rows)

    def _begin(self, name: str, rows: int | None) -> None:
        self.current, self.done, self.shown = name, 0, None
        self.total = None if rows is None else max(int(rows), 0)

    def _progress(self, *, force: bool = False) -> None:
        assert self.total is not None
        total = max(self.total, self.done)  # a count taken before may be short: never past 100 %
        percent = 100.0 if total == 0 else (1000 * self.done // total) / 10  # 100 only when all done
        if not force and self.shown is not None and (
            percent <= self.shown or (percent < self.shown + 1.0 and percent < 100.0)
        ):
            return  # never backwards, and one event per percent is enough for a screen
        self.shown = percent
        self.emit(Progress(self.subject, percent=percent, rows_done=self.done, rows_total=total))


__all__ = ["Batch", "Reporter", "ignore"]
