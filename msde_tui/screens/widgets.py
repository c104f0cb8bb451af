"""Small widgets that say their state in characters, not colour (NO_COLOR, 16 colours, conhost)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
from rich.segment import Segment, Segments
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.dom import DOMNode
from textual.geometry import Size
from textual.message import Message
from textual.scrollbar import ScrollBarRender
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Checkbox, Footer, OptionList, SelectionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from msde_tui import units
from msde_tui.i18n import N_, _


class AsciiScrollBarRender(ScrollBarRender):
    """Scrollbars for ``--ascii``: the thumb is ``#`` on a blank track, no block glyphs.

    Textual's own renderer draws the thumb's ends with eighth blocks (``▁▂▃``...), which
    consoles without those glyphs show as garbage; ``MsdeApp`` sets this one as
    ``ScrollBar.renderer`` while it runs in ASCII mode.
    """

    VERTICAL_BARS = [" "] * 8  # same granularity, no partial glyphs
    HORIZONTAL_BARS = [" "] * 8
    THUMB = "#"

    @classmethod
    def render_bar(cls, *args: Any, **kwargs: Any) -> Segments:
        rendered = super().render_bar(*args, **kwargs)
        return Segments(
            [
                Segment(cls.THUMB * len(segment.text), segment.style, segment.control)
                if segment.style is not None
                and (segment.style.meta or {}).get("@mouse.down") == "grab"
                else segment
                for segment in rendered.segments
            ],
            new_lines=rendered.new_lines,
        )


def clip(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells of the terminal, ending with "…" when it was longer
    (a wide character, CJK or emoji, takes two cells)."""
    if cell_len(text) <= width:
        return text
    return _head(text, max(0, width - 1)) + "…"


def clip_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, "…" in its middle when it was longer: a file
    name keeps its distinguishing end (``001SOC_2…_084154.bak``: the timestamp) in sight."""
    if cell_len(text) <= width:
        return text
    if width < 4:
        return clip(text, width)
    head = (width - 1) // 4
    return _head(text, head) + "…" + _tail(text, width - 1 - head)


def pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` cells (``str.ljust`` counts characters)."""
    return text + " " * max(0, width - cell_len(text))


def _head(text: str, cells: int) -> str:
    """The start of ``text`` that fits in ``cells`` (a wide character that would straddle the
    end is left out, not cut)."""
    kept, used = 0, 0
    while kept < len(text) and used + cell_len(text[kept]) <= cells:
        used += cell_len(text[kept])
        kept += 1
    return text[:kept]


def _tail(text: str, cells: int) -> str:
    """The end of ``text`` that fits in ``cells``."""
    kept, used = len(text), 0
    while kept and used + cell_len(text[kept - 1]) <= cells:
        kept -= 1
        used += cell_len(text[kept])
    return text[kept:]


def fit_widths(room: int, natural: Sequence[int], least: Sequence[int], gap: int = 0) -> list[int]:
    """Column widths that fit ``room`` cells (``gap`` between columns): each column its
    ``natural`` width (its longest value), the widest ones shrunk first, never below ``least``."""
    widths = list(natural)
    excess = sum(widths) + gap * max(0, len(widths) - 1) - room
    while excess > 0:
        shrinkable = [i for i, w in enumerate(widths) if w > least[i]]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return widths


def table_room(table: Widget, lines: int | None = None) -> int:
    """The characters a table (or list) has for its cells: inside its border and padding, a
    vertical scrollbar's width kept aside (it comes when the rows outgrow the height), unless
    the caller knows its ``lines`` (rows and header) fit the height: then that room is used too."""
    fits = lines is not None and 0 < lines <= table.content_region.height
    return max(0, table.content_region.width - (0 if fits else table.styles.scrollbar_size_vertical))


# Key names the footer shows in words, in the user's language (French: "Entrée").
KEY_WORDS = (N_("Enter"), N_("BkSp"))


def translate_bindings(node: DOMNode) -> None:
    """Translate the descriptions of a node's bindings into the current language.

    Binding descriptions are written in English (marked with ``N_``) at class level; they are
    translated per instance so that the language can change between runs in one process.
    """
    bindings = node._bindings
    for key, items in list(bindings.key_to_bindings.items()):
        bindings.key_to_bindings[key] = [
            dataclasses.replace(
                item,
                description=_(item.description) if item.description else item.description,
                tooltip=_(item.tooltip) if item.tooltip else item.tooltip,
                key_display=_(item.key_display) if item.key_display in KEY_WORDS else item.key_display,
            )
            for item in items
        ]


class WizardFooter(Footer):
    """Textual's footer, with its keys in the screen's first frame, rebuilt only when they change.

    Textual's footer is empty until the screen's first bindings update, so the keys appeared
    a frame (~0.1 s) after the rest of a step; here it is composed with the bindings known
    when it is mounted (the screen's and the app's: a step's keys; the focused widget's own
    are hidden ones). Textual then rebuilds it (new key widgets, each styled three times) at
    every bindings update: the screen resumed, the focus moved... always with the same keys
    here, so only a change rebuilds it.
    """

    _shown: tuple[Any, ...] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)  # one space between keys: more of them fit at 80 columns
        super().__init__(*args, **kwargs)

    def compose(self) -> ComposeResult:
        self._bindings_ready = True  # Textual's flag: compose with the bindings known now
        self._shown = self._keys_shown()
        yield from super().compose()

    def _keys_shown(self) -> tuple[Any, ...]:
        """What ``Footer.compose`` draws from: the shown bindings, their state, the options."""
        keys = tuple(
            (binding, enabled, tooltip, self.app.get_key_display(binding))
            for (_node, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show
        )
        palette = self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE
        return keys, self.compact, palette

    async def recompose(self) -> None:
        if not self.is_attached:
            return await super().recompose()
        if self._keys_shown() != self._shown:
            await super().recompose()  # compose() notes what it shows


class TickList(SelectionList[Any]):
    """A SelectionList drawing ``[x]`` / ``[ ]``; ``a`` ticks all (or none); typing filters."""

    BINDINGS = [
        Binding("a", "tick_all", N_("Tick all"), id="tick_all"),
    ]

    def __init__(self, *args: Any, tick_all: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        translate_bindings(self)
        self.tick_all = tick_all  # False: a list where one row only may be ticked offers no 'a'

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "tick_all" and not self.tick_all:
            return False
        return True

    class FilterTyped(Message):
        """A printable key was typed in the list: the screen moves it to its filter box."""

        def __init__(self, character: str) -> None:
            super().__init__()
            self.character = character

    _wanted: frozenset[Any] | None = None  # ticks to give once the list is filled

    def tick_only(self, values: Any) -> None:
        """Tick these rows and no other; when the list is not filled yet, once it is."""
        wanted = frozenset(values)
        if not self.option_count:
            self._wanted = wanted
            return
        self._wanted = None
        for index in range(self.option_count):
            value = self.get_option_at_index(index).value
            if (value in wanted) != (value in self._selected):
                self.toggle(value)

    def add_options(self, items: Any) -> Any:
        result = super().add_options(items)
        if self._wanted is not None and self.option_count:
            self.tick_only(self._wanted)
        return result

    class Refit(Message):
        """The list's width changed: its screen may write its lines again to the new width."""

    _fitted_width = -1

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._fitted_width:
            self._fitted_width = event.size.width
            self.post_message(self.Refit())

    def line_room(self) -> int:
        """The characters a line has: inside the border, beside the ``[x]`` and a scrollbar."""
        return table_room(self) - self._get_left_gutter_width()

    def action_tick_all(self) -> None:
        values = [self.get_option_at_index(i).value for i in range(self.option_count)]
        if values and all(v in self.selected for v in values):
            self.deselect_all()
        else:
            self.select_all()

    def action_select(self) -> None:
        # Space ticks the row highlighted now. Textual's SelectionList ticks the row highlighted
        # when its OptionSelected message is handled, later: Space then Down in one burst
        # ticked the next row.
        if self.highlighted is not None and not self.get_option_at_index(self.highlighted).disabled:
            self.toggle(self.get_option_at_index(self.highlighted))

    def _get_left_gutter_width(self) -> int:
        return 4

    def render_line(self, y: int) -> Strip:
        line = OptionList.render_line(self, y)
        _, scroll_y = self.scroll_offset
        index = scroll_y + y
        try:
            selection = self.get_option_at_index(index)
        except OptionDoesNotExist:
            return line
        mark = "[x] " if selection.value in self._selected else "[ ] "
        style = next(iter(line)).style if line.cell_length else self.rich_style
        return Strip([Segment(mark, style), *line])

    async def _on_key(self, event: events.Key) -> None:
        char = event.character
        if char and char.isprintable() and char not in (" ", "a") and len(char) == 1:
            event.stop()
            event.prevent_default()
            self.post_message(self.FilterTyped(char))


class SpaceCheckbox(Checkbox):
    """A checkbox toggled by space only (Enter is Next in the wizard); shows [x] / [ ]."""

    DEFAULT_CSS = """
    SpaceCheckbox {
        width: 1fr;
        text-wrap: wrap;
        text-overflow: fold;
    }
    """

    @property
    def _button(self) -> Content:
        return Content("[x]" if self.value else "[ ]")

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        # A label longer than the room wraps (widgets.tcss: text-wrap) on as many lines as it
        # needs, instead of being cut at the edge.
        label = Text(f"{self._button.plain} {self.label.plain}")
        return max(1, len(label.wrap(self.app.console, max(1, width))))


class ChoiceList(OptionList):
    """A single choice drawn as ``(*)`` / ``( )``; the highlighted option is the choice."""

    def __init__(self, choices: list[tuple[str, str]], *, selected: str, **kwargs: Any) -> None:
        self._choices = choices
        self._selected_id = selected
        super().__init__(*self._choice_options(), **kwargs)

    def _choice_options(self) -> list[Option]:
        return [
            Option(Text(("(*) " if cid == self._selected_id else "( ) ") + label), id=cid)
            for cid, label in self._choices
        ]

    def on_mount(self) -> None:
        self.highlighted = self._index_of(self._selected_id)
        self.call_after_refresh(self._settle)

    def _settle(self) -> None:
        self.highlighted = self._index_of(self._selected_id)
        self._ready = True

    def _index_of(self, cid: str) -> int:
        return next((i for i, (other, _l) in enumerate(self._choices) if other == cid), 0)

    @property
    def choice(self) -> str:
        return self._selected_id

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if not getattr(self, "_ready", False) or event.option_index >= len(self._choices):
            return
        cid = self._choices[event.option_index][0]
        if cid != self._selected_id:
            self._selected_id = cid
            for index, (other, label) in enumerate(self._choices):
                mark = "(*) " if other == cid else "( ) "
                self.replace_option_prompt_at_index(index, Text(mark + label))
            self.post_message(self.Chosen(self, cid))

    class Chosen(Message):
        def __init__(self, choice_list: ChoiceList, choice: str) -> None:
            super().__init__()
            self.choice_list = choice_list
            self.choice = choice


def text_bar(fraction: float | None, width: int, *, ascii_only: bool) -> str:
    """A progress bar in characters: ``[#####.....]`` or with block glyphs."""
    inner = max(1, width - 2)
    if fraction is None:
        return "[" + ("?" * inner if ascii_only else "·" * inner) + "]"
    fraction = min(1.0, max(0.0, fraction))
    done = int(round(fraction * inner))
    full, empty = ("#", ".") if ascii_only else ("█", "░")
    return "[" + full * done + empty * (inner - done) + "]"


def human_size(size: int | None) -> str:
    """A size in the user's writing (``units.size``: 672.0 KB, 672,0 Ko)."""
    return units.size(size)


def human_seconds(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "--:--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
