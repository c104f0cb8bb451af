"""``msde-tui``: the wizard. Until the wizard lands it shows the dossier list."""

from __future__ import annotations

import argparse
import os

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header

from msde_tui.engine.catalog import Catalog
from msde_tui.engine.paths import data_dir


class MsdeApp(App[None]):
    TITLE = "msde-tui"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", id="quit")]

    def __init__(self, home: str | None = None) -> None:
        super().__init__()
        self.home = data_dir(home)

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(cursor_type="row", id="dossiers")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Number", "Code", "Company", "Backend")
        for d in Catalog(self.home).dossiers():
            table.add_row(d.number, d.code, d.company, d.backend)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="msde-tui")
    parser.add_argument("--home", help="Data directory (default: MSDE_HOME or the user data dir).")
    parser.add_argument("--lang", choices=("fr", "en"), help="Language.")
    args = parser.parse_args(argv)
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    MsdeApp(home=args.home).run()
