"""The document's export windows as forms (Fichier/Export/Complet and Partiel).

- Export (complete): tick dossiers; either the export copy ``E`` + base name (an embedded file
  in the directory, or a database on a SQL Server profile) -> ``ExportCopyPlan``, or, with
  "Backup files (*.pbf)" ticked, one PBF per dossier (optional passphrase, typed twice) ->
  ``PackPlan``.
- Export (partial): a PTF per dossier with what changed since its last PBF/PTF -> ``PackPlan``
  with ``partial``; the first time there is nothing to follow, so the summary warns that a PBF is
  written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from textual import work
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList, Static

from msde_tui.engine.errors import BadInput, MsdeError
from msde_tui.engine.plans import ExportCopyPlan, PackPlan
from msde_tui.i18n import N_, _
from msde_tui.screens.context import load_profiles
from msde_tui.screens.pack_common import EMBEDDED, PackStep, PickList, fill_dossiers, ticked
from msde_tui.screens.widgets import SpaceCheckbox, TickList


class ExportScreen(PackStep):
    TITLE = N_("Export (complete)")
    HELP = N_(
        "Tick the dossiers to export (space ticks, a ticks all). Without 'Backup files', each "
        "dossier is copied completely into a new dossier named E + its name: an embedded file "
        "(E001SOC.sqlite) in the directory, or a database (EPW0001SOC) on a SQL Server connection "
        "profile chosen under 'Copy to'. With 'Backup files (*.pbf)' ticked, one packed backup "
        "file per dossier is written in the directory instead (001-SOC_date_time.pbf), read back "
        "and checked; a passphrase, typed twice, encrypts it (leave both empty for none). "
        "Packed files and embedded copies are written on this computer. Enter shows the summary; "
        "nothing is written before it."
    )

    def compose_form(self) -> Iterable[Widget]:
        yield TickList(id="dossiers")
        yield SpaceCheckbox(_("Backup files (*.pbf) instead of a copy"), isinstance(self.earlier, PackPlan),
                            id="pbf", compact=True)
        yield Label(_("Copy to:"), id="destination-label")
        yield PickList(id="destination")
        with Horizontal(classes="pack-row", id="password-row"):
            yield Label(_("SQL Server password"), classes="pack-label")
            earlier = self.earlier.password if isinstance(self.earlier, ExportCopyPlan) else ""
            yield Input(earlier, id="password", password=True, placeholder=_("never saved"), compact=True)
        yield from self.passphrase_rows(twice=True)

    @property
    def earlier(self) -> Any:
        op = self.plan.op
        return op if isinstance(op, ExportCopyPlan | PackPlan) and not getattr(op, "partial", False) else None

    def on_mount(self) -> None:
        ticks = self.query_one("#dossiers", TickList)
        self.dossiers = self.connection_dossiers()
        fill_dossiers(ticks, self.dossiers, getattr(self.earlier, "dossiers", ()))
        ticks.border_title = _("Dossiers to export")
        rows: list[tuple[str, str]] = []
        if self.plan.connection.is_embedded:
            rows.append((EMBEDDED, _("Embedded file E<code>.sqlite in the directory")))
            rows += [(p.name, _("SQL Server {profile}: database E<name>").format(profile=p.name))
                     for p in load_profiles(self.ctx.home)]
        elif self.plan.connection.profile:
            name = self.plan.connection.profile
            rows.append((name, _("SQL Server {profile}: database E<name>").format(profile=name)))
        keep = None
        if isinstance(self.earlier, ExportCopyPlan):
            keep = EMBEDDED if self.earlier.to == "embedded" else self.earlier.to
        self.query_one("#destination", PickList).set_rows(rows, keep=keep)
        self._show()
        if not self.dossiers:
            self.say(_("No dossier of this connection is in the dossier list."))
        ticks.focus()

    def _show(self) -> None:
        pbf = self.query_one("#pbf", SpaceCheckbox).value
        self.query_one("#destination-label").display = not pbf
        self.query_one("#destination").display = not pbf
        self.query_one("#passphrase-row").display = pbf
        self.query_one("#passphrase2-row").display = pbf
        destination = self.query_one("#destination", PickList).choice
        self.query_one("#password-row").display = (
            not pbf and destination not in (None, EMBEDDED) and self.plan.connection.is_embedded
        )

    def on_checkbox_changed(self, event: SpaceCheckbox.Changed) -> None:
        self._show()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show()

    def build(self) -> object:
        codes = ticked(self.query_one("#dossiers", TickList))
        directory = str(self.directory)
        if self.query_one("#pbf", SpaceCheckbox).value:
            return PackPlan(codes, directory, passphrase=self.passphrase(twice=True) or "",
                            password=self.server_password())
        destination = self.query_one("#destination", PickList).choice
        if destination is None:
            raise BadInput(_("Choose where the copy goes."), _("Tick 'Backup files' to write PBF files instead."))
        to = "embedded" if destination == EMBEDDED else destination
        if self.plan.connection.is_embedded:
            password = self.query_one("#password", Input).value if to != "embedded" else ""
            if to != "embedded" and not password:
                raise BadInput(
                    _("Type the password of SQL Server profile {profile}.").format(profile=to),
                    _("It is used for this copy only and never written anywhere."),
                )
        else:
            password = self.server_password()
        return ExportCopyPlan(codes, to=to, directory=directory if to == "embedded" else "", password=password)


class PartialExportScreen(PackStep):
    TITLE = N_("Export (partial)")
    HELP = N_(
        "Tick the dossiers (space ticks, a ticks all). Each gets a packed transfer file "
        "(001-SOC_date_time.ptf) in the directory holding only what changed since its last "
        "PBF or PTF. The first time there is nothing to follow: the whole dossier is exported "
        "as a packed backup file (PBF) - the summary says so before anything is written. A "
        "passphrase, typed twice, encrypts the file (leave both empty for none)."
    )

    @property
    def earlier(self) -> Any:
        op = self.plan.op
        return op if isinstance(op, PackPlan) and op.partial else None

    def compose_form(self) -> Iterable[Widget]:
        yield TickList(id="dossiers")
        yield Static("", id="state-info", markup=False)
        yield from self.passphrase_rows(twice=True)

    def on_mount(self) -> None:
        ticks = self.query_one("#dossiers", TickList)
        ticks.border_title = _("Dossiers")
        self.dossiers = self.connection_dossiers()
        fill_dossiers(ticks, self.dossiers, getattr(self.earlier, "dossiers", ()))
        if not self.dossiers:
            self.say(_("No dossier of this connection is in the dossier list."))
        ticks.focus()
        self.load_states()

    @work(exclusive=True, group="pack-state", exit_on_error=False)
    async def load_states(self) -> None:
        home, password = self.ctx.home, self.server_password() or None

        def read() -> dict[str, dict[str, Any] | None]:
            from msde_tui.engine.packs import packwrite

            states: dict[str, dict[str, Any] | None] = {}
            for dossier in self.dossiers:
                try:
                    states[dossier.code] = packwrite.previous_package(dossier, home, password=password)
                except MsdeError:
                    states[dossier.code] = None
            return states

        self.previous = await asyncio.to_thread(read)
        self._show_state()

    def _show_state(self) -> None:
        ticks = self.query_one("#dossiers", TickList)
        if ticks.highlighted is None or not self.dossiers:
            return
        code = str(ticks.get_option_at_index(ticks.highlighted).value)
        info = self.query_one("#state-info", Static)
        if code not in self.previous:
            info.update("")
            return
        state = self.previous[code]
        if state is None:
            info.update(_("No earlier PBF/PTF: the first partial export writes a PBF."))
        else:
            info.update(_("Follows {file} ({when}): a PTF is written.").format(
                file=state.get("file") or "?", when=str(state.get("created_at") or "?").replace("T", " ")
            ))

    def on_selection_list_selection_highlighted(self, event: TickList.SelectionHighlighted) -> None:
        self._show_state()

    def build(self) -> object:
        codes = ticked(self.query_one("#dossiers", TickList))
        return PackPlan(codes, str(self.directory), partial=True,
                        passphrase=self.passphrase(twice=True) or "", password=self.server_password())
