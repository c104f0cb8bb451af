"""A table that fits its columns to the room it has (``FitTable``), in a module of its own so
that the first screen does not load Textual's DataTable (tests/unit/test_layers.py)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import DataTable


class FitTable(DataTable[Any]):
    """A DataTable that says when its width changed (``Refit``): its screen then fits the
    columns to the room (``fit_widths``) and fills them again, so a wide terminal shows long
    values whole and a narrow one cuts them with "…" instead of scrolling them out of sight."""

    _fitted_width = -1

    class Refit(Message):
        def __init__(self, table: FitTable) -> None:
            super().__init__()
            self.table = table

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._fitted_width:
            self._fitted_width = event.size.width
            self.post_message(self.Refit(self))


def set_columns(table: DataTable[Any], columns: Sequence[tuple[str, str | None, int]]) -> None:
    """Clear ``table``'s columns and add these ``(label, key, width)``. A label longer than its
    column wraps at its words (a word longer than the column folds) over as many header lines
    as the longest needs: the name of a column is never cut, whatever the room."""
    table.clear(columns=True)
    labels = [textwrap.wrap(label, max(width, 1), break_long_words=True) or [""]
              for label, _key, width in columns]
    table.header_height = max([1, *(len(lines) for lines in labels)])
    for (_label, key, width), lines in zip(columns, labels, strict=True):
        table.add_column(Text("\n".join(lines)), key=key, width=width)
