"""A wizard step whose list is a TickList under a filter box; ticks survive the filter.

Space ticks, ``a`` ticks all, typing a letter in the list moves it to the filter box; Down
in the filter box goes back to the list. A subclass says what the list holds (``entries``:
shown line and value) and what to refresh when the ticks change (``ticks_changed``); it
calls ``rebuild`` once its entries are read.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import events
from textual.widget import Widget
from textual.widgets import Input
from textual.widgets.selection_list import Selection

from msde_tui.i18n import _
from msde_tui.screens.base import StepScreen
from msde_tui.screens.widgets import TickList


class FilteredTicks:
    """The ticked values and the filter of a TickList; rebuilding the list keeps the ticks."""

    def __init__(self, ticked: Iterable[str]) -> None:
        self.ticked: set[str] = set(ticked)
        self.filter = ""

    def matches(self, text: str) -> bool:
        return all(word in text.lower() for word in self.filter.lower().split())


class FilteredTickStep(StepScreen):
    """The filter box (``#filter``) and the list (``#ticks``) of a step, kept in step."""

    state: FilteredTicks

    def compose_filtered_list(self) -> Iterable[Widget]:
        yield Input(
            placeholder=_("Filter (type to filter)"), id="filter", compact=True, select_on_focus=False
        )
        yield TickList(id="ticks")

    def entries(self) -> Iterable[tuple[str, str]]:
        """Every (shown line, value) of the list, filter not applied."""
        raise NotImplementedError

    def ticks_changed(self) -> None:
        """Called after the ticks or the shown lines changed (counts, details)."""

    def line_room(self) -> int:
        """The characters a line of the list has at the terminal's present width."""
        return self.query_one("#ticks", TickList).line_room()

    def on_tick_list_refit(self, event: TickList.Refit) -> None:
        self.rebuild()  # the lines again, to the new width

    def rebuild(self) -> None:
        ticks = self.query_one("#ticks", TickList)
        highlighted = ticks.highlighted
        ticks.clear_options()
        shown = [
            Selection(Text(line), value, value in self.state.ticked)
            for line, value in self.entries()
            if self.state.matches(line)
        ]
        ticks.add_options(shown)
        if shown:
            ticks.highlighted = min(highlighted or 0, len(shown) - 1)
        self.ticks_changed()

    def _sync_ticks(self) -> None:
        ticks = self.query_one("#ticks", TickList)
        visible = {ticks.get_option_at_index(i).value for i in range(ticks.option_count)}
        self.state.ticked = (self.state.ticked - visible) | set(ticks.selected)
        self.ticks_changed()

    def on_selection_list_selection_toggled(self, event: TickList.SelectionToggled) -> None:
        self._sync_ticks()

    def on_selection_list_selected_changed(self, event: TickList.SelectedChanged) -> None:
        self._sync_ticks()

    def on_tick_list_filter_typed(self, event: TickList.FilterTyped) -> None:
        field = self.query_one("#filter", Input)
        field.value += event.character
        field.focus()
        field.cursor_position = len(field.value)

    def on_key(self, event: events.Key) -> None:
        # Down in the filter box goes back to the list (Tab does too), where Space ticks.
        if event.key == "down" and self.focused is self.query_one("#filter", Input):
            event.stop()
            self.query_one("#ticks", TickList).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.state.filter = event.value
            self.rebuild()
