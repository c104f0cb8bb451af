"""Types both sides of the OS layer return (no OS-specific code here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConsoleProfile:
    """What the console the wizard runs in can show.

    ``ascii_borders``: box-drawing glyphs are drawn badly (conhost's raster and Lucida fonts,
    the Linux VT): borders and bars in ASCII. ``colors_off``: the console shows no colour at
    all (``TERM=dumb``, a Windows console without virtual-terminal processing): Textual's
    ``NO_COLOR`` mode. ``name``: what was recognised, for the help screen and the docs.
    """

    name: str
    ascii_borders: bool
    colors_off: bool = False


@dataclass(frozen=True)
class TaskState:
    """What the OS scheduler says about the msde task: registered or not, and its own words."""

    registered: bool
    details: str = ""

