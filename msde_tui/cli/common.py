"""Shared CLI plumbing: the global state (--home, --json), output and error printing."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from msde_tui import i18n
from msde_tui.engine import naming
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import MsdeError
from msde_tui.engine.paths import data_dir
from msde_tui.engine.textsafe import escape_json_controls, printable
from msde_tui.engine.words import shown
from msde_tui.i18n import N_, _


class SafeConsole(Console):
    """A Rich console that escapes control characters in every string it renders (table cells
    included): names read from data never drive the terminal (engine/textsafe.py)."""

    def render_str(self, text: str, **kwargs: Any) -> Text:  # type: ignore[override]  # same call, keywords passed through
        return super().render_str(printable(text), **kwargs)


console = SafeConsole()
err_console = SafeConsole(stderr=True)


@dataclass
class State:
    home: Path
    json: bool = False
    lang: str | None = None

    # exit code of the last command, for commands that report failure without raising
    last_exit_code: ClassVar[int] = 0

    def catalog(self) -> Catalog:
        return Catalog(self.home)


ALL_HELP = N_("Every dossier of the list.")
WHERE_HELP = N_("Dossiers matching a filter: a number range (001-099), profile=NAME, changed "
                "(since the last backup); terms of different kinds must all hold.")


def listing(*headers: str) -> Table:
    """A table of the CLI's lists (dossiers, log, profiles, cut candidates): no box, and no value
    ever cut: a long one wraps at its words, and a word longer than its column (a file name, a
    path) folds onto the next lines, whole, instead of ending with "…"."""
    table = Table(box=None)
    for header in headers:
        table.add_column(header, overflow="fold")
    return table


def setup_state(*, home: str | None, json_output: bool, lang: str | None) -> State:
    State.last_exit_code = 0
    i18n.setup(lang)
    return State(home=data_dir(home), json=json_output, lang=lang)


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


def emit(st: State, payload: dict[str, Any], human: str | None = None) -> None:
    """Print a result: JSON with --json, else the human text (if any)."""
    if st.json:
        sys.stdout.write(escape_json_controls(json.dumps(payload, indent=2, ensure_ascii=False, default=str)) + "\n")
    elif human is not None:
        console.print(human, highlight=False, markup=False, soft_wrap=True)


def set_exit(code: int) -> None:
    """Make ``msde`` exit with ``code`` once the command returns (e.g. 1 = some dossier failed)."""
    State.last_exit_code = max(State.last_exit_code, code)


def fail(exc: MsdeError) -> int:
    err_console.print(_("Error: {message}").format(message=shown(exc.message)),
                      highlight=False, markup=False, soft_wrap=True)
    if exc.hint:
        err_console.print(_("What to do: {hint}").format(hint=shown(exc.hint)),
                          highlight=False, markup=False, soft_wrap=True)
    return exc.exit_code


# The operations' names that are not step names too (those are in engine/words.py).
OPERATION_WORDS = {"export_copy": N_("export copy"), "export_partial": N_("partial export"),
                   "convert": N_("convert"), "auto_run": N_("auto run")}


def operation_word(operation: str) -> str:
    """An operation's name (``backup``, ``export_copy``...) in the user's language."""
    key = operation.replace(" ", "_")  # also as a title writes it ("auto run")
    return _(OPERATION_WORDS[key]) if key in OPERATION_WORDS else shown(operation)


def cut_from(d: Dossier) -> dict[str, Any] | None:
    """Which dossier and which cut a cut dossier came from (its file name keeps it), for
    ``msde list`` and ``msde cut --list``: ``{"dossier": "001SOC", "cut": 1}``, else None."""
    origin = naming.cut_origin(d.location) if d.is_embedded else None
    return {"dossier": origin[0], "cut": origin[1]} if origin else None


def cut_note(d: Dossier) -> str:
    """``cut 001 of 001SOC`` for a cut dossier, else ``""``."""
    origin = cut_from(d)
    return _("cut {seq} of {dossier}").format(seq=f"{origin['cut']:03d}", dossier=origin["dossier"]) if origin else ""
