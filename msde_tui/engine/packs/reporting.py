"""How the packed-file and export-copy work reports: ``Step`` and ``Progress`` events through an
``Emit`` (engine/events.py), counted in rows.

A step that goes through tables (pack, import, apply, copy) announces each table with a ``Step``
of the same name (its detail: the table and its rows) and, after each batch, a ``Progress`` with
the rows done and to do over all the step's tables: ``percent`` is the share of the whole step,
so it never goes back from one table to the next.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa

from msde_tui.engine.events import Emit, Event, Progress, Step


def ignore(_event: Event) -> None:
    """The ``emit`` of work nobody watches."""
    return None


class RowProgress:
    """The events of one step of ``dossier``'s work that goes through ``total`` rows."""

    def __init__(self, emit: Emit, dossier: str, step: str, total: int) -> None:
        self.emit, self.dossier, self.step, self.total = emit, dossier, step, max(int(total), 0)
        self.done = 0
        self._percent = 0.0

    def table(self, name: str, rows: int | None = None) -> None:
        """A table begins (``rows``: how many it holds, when known)."""
        detail = name if rows is None else f"{name}: {rows:,} rows"
        self.emit(Step(self.dossier, self.step, detail))

    def add(self, rows: int) -> None:
        """``rows`` more rows done."""
        if rows <= 0:
            return
        self.done += rows
        total = max(self.total, self.done)  # a count taken before may be short: never past 100 %
        self._percent = max(self._percent, math.floor(1000 * self.done / total) / 10)  # 100 only when all done
        self.emit(Progress(self.dossier, percent=self._percent, rows_done=self.done, rows_total=total))

    def counted(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """``batches`` as they are, each one counted once it was taken."""
        for batch in batches:
            yield batch
            self.add(batch.num_rows)


@dataclass(frozen=True)
class Reporter:
    """Where a piece of work reports: ``emit``, the name its events carry, its main step."""

    emit: Emit = ignore
    dossier: str = ""
    step: str = "copy"

    def rows(self, total: int) -> RowProgress:
        return RowProgress(self.emit, self.dossier, self.step, total)

    def say(self, step: str, detail: str = "") -> None:
        self.emit(Step(self.dossier, step, detail))


__all__ = ["Reporter", "RowProgress", "ignore"]
