"""Wizard screens of the document's archiving, cut and tax-audit windows (embedded dossiers).

Each operation's screen is a form after the operation screen (which asks the directory): it
shows the document's choices and Enter returns the operation's plan (``engine.plans``) and
changes nothing; the summary says what will happen (and asks the dossier codes typed before
data is changed or removed), then the work runs as a detached job (``engine.lifeops``).

- Archive (Fichier/Archivage/Exporter): every closed year of every dossier, the years ended
  at least 7 years ago ticked; 'a' (the document's "Sélectionner") ticks them all.
- Archive import (Fichier/Archivage/Importer): the archived years of the PAF files found in
  the directory, the dossier they go back into (by default the one each came from; a dossier
  of another line is refused in words, ``identity.check_line``), and "delete the archive file
  afterwards".
- Cut (Découpe exercice): the dossiers with at least N fiscal years (N adjustable), the first
  year to keep, and the reference clean-up box.
- Tax-audit transfer (Transfert administration): one dossier, the years asked, simplified,
  with attachments, FEC files, and where the copy goes (an embedded file, or a database on a
  saved SQL Server connection profile, with its password).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label, Static
from textual.widgets.selection_list import Selection

from msde_tui.engine import identity
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BadInput, MsdeError
from msde_tui.engine.plans import (
    ArchivePlan,
    AuditPlan,
    Connection,
    CutPlan,
    UnarchivePlan,
    WizardPlan,
)
from msde_tui.engine.textsafe import one_line
from msde_tui.i18n import N_, _
from msde_tui.screens import registry
from msde_tui.screens.base import FormStep
from msde_tui.screens.steps import StepPosition
from msde_tui.screens.widgets import SpaceCheckbox, TickList, clip

EMBEDDED = "embedded"


def embedded_dossiers(home: Path) -> list[tuple[Dossier, Path]]:
    """The embedded dossiers of the list whose file exists."""
    catalog = Catalog(home)
    found = []
    for dossier in catalog.dossiers():
        if dossier.is_embedded and dossier.path(home).is_file():
            found.append((dossier, dossier.path(home)))
    return found


class WorkScreen(FormStep):
    """A form: Enter checks the choices and returns the plan (``build``); nothing runs here.

    ``self.earlier`` is the plan this form returned before (the user came back): every field
    shows its earlier answer.
    """

    CSS_PATH = ["base.tcss", "lifecycle_screens.tcss"]

    def compose_body(self) -> Iterable[Widget]:
        yield from self.compose_form()

    def compose_form(self) -> Iterable[Widget]:
        return []



def _dossier_line(dossier: Dossier) -> str:
    from msde_tui.screens.dossiers import cut_label

    note = cut_label(dossier)
    if note:  # which dossier and which cut it came from
        return f"{dossier.code:<10} {clip(one_line(dossier.company), 18)} ({note})"
    return f"{dossier.code:<10} {clip(one_line(dossier.company), 44)}"


# --------------------------------------------------------------------------- archive


class ArchiveScreen(WorkScreen):
    PLAN_TYPE = ArchivePlan
    TITLE = N_("Archive fiscal years")
    HELP = N_(
        "Every closed fiscal year of every dossier is listed; the years that ended at least 7 "
        "years ago are ticked. Space ticks or unticks one year, 'a' ticks all (Select). Enter "
        "shows the summary; once confirmed, one archive file (PAF) per dossier is written in the "
        "directory and verified, then each archived year's entries are replaced by one balance "
        "entry. The years stay in the dossier; "
        "Archive import puts the details back."
    )

    def compose_form(self) -> Iterable[Widget]:
        yield Static(_("Fiscal years to archive (space ticks, a ticks all):"), markup=False)
        yield TickList(id="years")

    def on_mount(self) -> None:
        from msde_tui.engine.accounting import ledger
        from msde_tui.engine.lifecycle.years import archivable, default_years

        ticks = self.query_one("#years", TickList)
        today = date.today()
        earlier = dict(self.earlier.years) if self.earlier is not None else None
        for dossier, path in embedded_dossiers(self.ctx.home):
            try:
                years = ledger.years_of(path)
            except MsdeError:  # not an accounting dossier (or unreadable): not offered
                continue
            proposed = {y.code for y in default_years(years, today)}
            if earlier is not None:
                proposed = set(earlier.get(dossier.code, ()))
            for year in archivable(years):
                label = f"{dossier.code:<10} {year.code:<6} {year.start:%d/%m/%Y} - {year.end:%d/%m/%Y}"
                ticks.add_option(Selection(Text(label), f"{dossier.code}|{year.code}", year.code in proposed))
        if ticks.option_count == 0:
            self.say(_("No closed fiscal year to archive."))
        else:
            ticks.highlighted = 0
        ticks.focus()

    def build(self) -> object:
        chosen: dict[str, list[str]] = {}
        for value in self.query_one("#years", TickList).selected:
            code, year = str(value).split("|", 1)
            chosen.setdefault(code, []).append(year)
        if not chosen:
            raise BadInput(_("Tick at least one fiscal year (space ticks, a ticks all)."))
        return ArchivePlan(self.plan.directory, tuple((c, tuple(y)) for c, y in sorted(chosen.items())))


# --------------------------------------------------------------------------- archive import


class UnarchiveScreen(WorkScreen):
    PLAN_TYPE = UnarchivePlan
    TITLE = N_("Archive import")
    HELP = N_(
        "The archived fiscal years of the PAF files found in the directory are listed, each with "
        "the dossier it came from (->). Tick the years to bring back (space ticks, a ticks all). "
        "Below, choose the dossier for which to recover them (up and down): by default each "
        "archive goes back into the dossier it came from; a dossier the archive does not belong "
        "to is refused and left untouched. Tick the box to delete an archive file once all its "
        "years are back."
    )

    def compose_form(self) -> Iterable[Widget]:
        from msde_tui.screens.pack_common import PickList

        yield Static(_("Archived fiscal years (space ticks, a ticks all):"), markup=False)
        yield TickList(id="years")
        yield Label(_("Into the dossier:"), id="target-label")
        yield PickList(id="target")
        delete = bool(self.earlier is not None and self.earlier.delete)
        yield SpaceCheckbox(_("Delete the archive file afterwards"), delete, id="delete")

    def on_mount(self) -> None:
        from msde_tui.engine.lifecycle.paf import read_paf_info
        from msde_tui.screens.pack_common import PickList

        self.pafs: dict[str, tuple[str, str]] = {}  # PAF -> (the GUID it carries, its dossier's code)
        rows = [("", _("the dossier each archive came from (->)"))]
        rows += [(d.code, _dossier_line(d)) for d, _path in embedded_dossiers(self.ctx.home)]
        picks = self.query_one("#target", PickList)
        picks.set_rows(rows, keep=self.earlier.dossier if self.earlier is not None else "")
        ticks = self.query_one("#years", TickList)
        directory = Path(self.plan.directory)
        try:
            catalog = identity.settle_all(self.ctx.home)
        except MsdeError as exc:  # an invalid dossier list: said in words, nothing listed
            self.say(str(exc))
            return
        earlier = {(p, y) for p, years in (self.earlier.items if self.earlier else ()) for y in years}
        for paf in sorted(directory.glob("*.paf")) if directory.is_dir() else []:
            try:
                info = read_paf_info(paf)
            except MsdeError:
                continue
            self.pafs[str(paf)] = (info.guid, info.code)
            owner = identity.owner_in(catalog, info.guid)
            into = f"-> {owner.code}" if owner else _("(not in the list)")
            for year in info.years:
                label = f"{paf.name:<30} {year['code']:<8} {into}"
                ticks.add_option(Selection(Text(label), f"{paf}|{year['code']}", (str(paf), year["code"]) in earlier))
        if ticks.option_count == 0:
            self.say(_("No archive file (.paf) in this directory."))
        else:
            ticks.highlighted = 0
        ticks.focus()

    def build(self) -> object:
        chosen: dict[str, list[str]] = {}
        for value in self.query_one("#years", TickList).selected:
            paf, year = str(value).rsplit("|", 1)
            chosen.setdefault(paf, []).append(year)
        if not chosen:
            raise BadInput(_("Tick at least one archived fiscal year."))
        from msde_tui.screens.pack_common import PickList

        target = self.query_one("#target", PickList).choice or ""
        if target:  # the engine's own refusal, before anything is planned (it refuses again)
            dossier = Catalog(self.ctx.home).get(target)
            for paf in chosen:
                guid, code = self.pafs.get(paf, ("", ""))
                identity.check_line(dossier, guid, Path(paf).name, code)
        delete = self.query_one("#delete", SpaceCheckbox).value
        return UnarchivePlan(tuple((p, tuple(y)) for p, y in sorted(chosen.items())), delete=delete,
                             dossier=target)


# --------------------------------------------------------------------------- cut


class CutScreen(WorkScreen):
    PLAN_TYPE = CutPlan
    TITLE = N_("Fiscal-year cut")
    HELP = N_(
        "The dossiers having at least the given number of fiscal years are listed (change the "
        "number to see more or fewer). Tick one dossier and type the first fiscal year to keep: "
        "the earlier years move into a new dossier <code>_CUTnnn, verified before anything is "
        "removed. Tick the box to delete the third parties that no longer have any history."
    )

    def compose_form(self) -> Iterable[Widget]:
        from msde_tui.engine.lifecycle import cut

        with Horizontal(classes="field-row"):
            yield Label(_("At least ... years"), classes="field-label")
            yield Input(str(cut.DEFAULT_MIN_YEARS), id="min-years", restrict=r"\d*", max_length=3, compact=True)
        yield TickList(id="dossiers", tick_all=False)  # one dossier is cut at a time
        with Horizontal(classes="field-row"):
            yield Label(_("First year to keep"), classes="field-label")
            # "e.g. 2020": a hint, never read as a value typed (without colours a placeholder looks
            # like text in the field)
            example = _("e.g. {example}").format(example=date.today().year - cut.DEFAULT_MIN_YEARS + 1)
            earlier: CutPlan | None = self.earlier
            yield Input(earlier.keep_from if earlier else "", id="keep-from", placeholder=example, max_length=10,
                        compact=True)
        yield SpaceCheckbox(_("Delete third parties without history"), bool(earlier and earlier.clean_references),
                            id="clean")

    def on_mount(self) -> None:
        self.refill()
        self.query_one("#dossiers", TickList).focus()

    def refill(self) -> None:
        from msde_tui.engine.lifecycle import cut

        text = self.query_one("#min-years", Input).value
        minimum = int(text) if text.isdigit() and int(text) > 0 else cut.DEFAULT_MIN_YEARS
        ticks = self.query_one("#dossiers", TickList)
        ticked = set(ticks.selected)
        if not ticks.option_count and self.earlier is not None:
            ticked = {self.earlier.dossier}
        ticks.clear_options()
        for candidate in cut.candidates(Catalog(self.ctx.home), minimum):
            d = candidate.dossier
            # the years first: at 60 columns the company's name is what gets clipped
            rest = _dossier_line(d)[len(f"{d.code:<10} "):]
            label = (
                f"{d.code:<10} {len(candidate.years):>3} "
                f"{candidate.years[0].code}-{candidate.years[-1].code}  {rest}"
            )
            ticks.add_option(Selection(Text(label), d.code, d.code in ticked))
        if ticks.option_count == 0:
            self.say(_("No dossier has {n} fiscal years or more.").format(n=minimum))
        else:
            ticks.highlighted = 0
            self.say("")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "min-years":
            self.refill()

    def build(self) -> object:
        chosen = list(self.query_one("#dossiers", TickList).selected)
        if len(chosen) != 1:
            raise BadInput(_("Tick exactly one dossier to cut."))
        keep_from = self.query_one("#keep-from", Input).value.strip()
        if not keep_from:
            raise BadInput(_("Type the first fiscal year to keep (e.g. 2020)."))
        clean = self.query_one("#clean", SpaceCheckbox).value
        from msde_tui.engine.lifecycle.cut import check_cut

        check_cut(self.ctx.home, str(chosen[0]), keep_from)  # the run's own refusals, said here
        return CutPlan(str(chosen[0]), keep_from, clean_references=clean)


# --------------------------------------------------------------------------- tax-audit transfer


class AuditScreen(WorkScreen):
    FIELD_HINTS = {
        "fec-id": N_("FEC identifier: with no SIREN, the one the administration gave."),
        "paf": N_("Archive (PAF): for archived years, the PAF file or its directory."),
    }

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        hint = self.FIELD_HINTS.get(event.widget.id or "")
        self.query_one("#field-hint", Static).update(_(hint) if hint else "")

    PLAN_TYPE = AuditPlan
    TITLE = N_("Tax-audit transfer")
    HELP = N_(
        "Tick one dossier and type the fiscal years the tax administration asks for (e.g. "
        "2022,2023). The copy Admin<code> holds only those years, as an embedded file in the "
        "directory. Simplified keeps the real entries only "
        "(no simulations); FEC writes one FEC file per year in the directory, with its "
        "description. A FEC is a French format named after the SIREN: for a company without "
        "one, type the identifier the administration uses. An open year or entries never "
        "validated only give a provisional FEC, when ticked. An archived year's entries come "
        "from its PAF: give the file or its directory. The copy is never restored by this tool."
    )

    HELP_COPY_TO = N_(
        "'Copy to' chooses where the copy goes: the embedded file, or a database "
        "AdminPW0001SOC on a SQL Server connection profile (its password is never saved)."
    )

    def help_text(self) -> str:
        text = super().help_text()
        if self.query_one("#destination").display:  # only when a profile offers the choice
            text += "\n\n" + _(self.HELP_COPY_TO)
        return text

    def compose_form(self) -> Iterable[Widget]:
        from msde_tui.screens.pack_screens import PickList

        earlier: AuditPlan | None = self.earlier
        yield TickList(id="dossiers", tick_all=False)  # one dossier at a time
        with Horizontal(classes="field-row"):
            yield Label(_("Fiscal years asked"), classes="field-label")
            yield Input(",".join(earlier.years) if earlier else "", id="years", placeholder=_("e.g. {example}").format(example="2022,2023"),
                        compact=True)
        yield SpaceCheckbox(_("Simplified (real entries only)"), bool(earlier and earlier.simplified),
                            id="simplified")
        yield SpaceCheckbox(_("With attachments"), value=earlier.attachments if earlier else True, id="attachments")
        yield SpaceCheckbox(_("FEC files (one per fiscal year)"), bool(earlier and earlier.fec), id="fec")
        yield SpaceCheckbox(_("FEC in ISO-8859-15 (else UTF-8)"),
                            bool(earlier and earlier.encoding != "utf-8"), id="latin9")
        yield SpaceCheckbox(_("Provisional FEC (open year, entries not validated)"),
                            bool(earlier and earlier.provisional), id="provisional")
        with Horizontal(classes="field-row"):
            yield Label(_("FEC identifier"), classes="field-label")
            yield Input(earlier.fec_id if earlier else "", id="fec-id", compact=True)
        with Horizontal(classes="field-row"):
            yield Label(_("Archive (PAF)"), classes="field-label")
            yield Input(earlier.paf if earlier else "", id="paf", compact=True)
        # what the focused field wants, whole (a hint inside a short field would be cut)
        yield Static("", id="field-hint", markup=False)
        yield Label(_("Copy to:"), id="destination-label")
        yield PickList(id="destination")
        with Horizontal(classes="field-row", id="password-row"):
            yield Label(_("SQL Server password"), classes="field-label")
            yield Input(earlier.password if earlier else "", id="password", password=True,
                        placeholder=_("never saved"), compact=True)

    def on_mount(self) -> None:
        from msde_tui.engine import naming
        from msde_tui.screens.context import load_profiles
        from msde_tui.screens.pack_screens import PickList

        ticks = self.query_one("#dossiers", TickList)
        for dossier, _path in embedded_dossiers(self.ctx.home):
            # cut dossiers too: they hold the oldest years, the ones an auditor asks for
            if not naming.is_audit_copy(Path(dossier.location).stem):
                chosen = self.earlier is not None and self.earlier.dossier == dossier.code
                ticks.add_option(Selection(Text(_dossier_line(dossier)), dossier.code, chosen))
        if ticks.option_count:
            ticks.highlighted = 0
        rows = [(EMBEDDED, _("Embedded file Admin<code>.sqlite in the directory"))]
        rows += [(p.name, _("SQL Server {profile}: database Admin<name>").format(profile=p.name))
                 for p in load_profiles(self.ctx.home)]
        picks = self.query_one("#destination", PickList)
        picks.set_rows(rows, keep=self.earlier.to if self.earlier is not None else None)
        picks.styles.height = min(len(rows), 3)
        for widget in (picks, self.query_one("#destination-label")):
            widget.display = len(rows) > 1  # no saved profile: the embedded file only
        self._show()
        ticks.focus()

    def _destination(self) -> str:
        from msde_tui.screens.pack_screens import PickList

        return self.query_one("#destination", PickList).choice or EMBEDDED

    def _show(self) -> None:
        self.query_one("#password-row").display = self._destination() != EMBEDDED

    def on_option_list_option_highlighted(self, event: Any) -> None:
        self._show()

    def build(self) -> object:
        chosen = list(self.query_one("#dossiers", TickList).selected)
        if len(chosen) != 1:
            raise BadInput(_("Tick exactly one dossier."))
        from msde_tui.engine.accounting import ledger

        years = ledger.parse_years(self.query_one("#years", Input).value)
        if not years:
            raise BadInput(_("Type the fiscal years asked for (e.g. 2022,2023)."))
        flags = {
            name: self.query_one(f"#{name}", SpaceCheckbox).value
            for name in ("simplified", "attachments", "fec", "latin9", "provisional")
        }
        fec_id = self.query_one("#fec-id", Input).value.strip() or None
        paf_text = self.query_one("#paf", Input).value.strip()
        paf = Path(paf_text).expanduser() if paf_text else None
        to = self._destination()
        password = self.query_one("#password", Input).value if to != EMBEDDED else ""
        if to != EMBEDDED and not password:
            raise BadInput(_("Type the password of SQL Server profile {profile}.").format(profile=to))
        from msde_tui.engine.lifecycle.tax_audit import check_audit

        dossier = Catalog(self.ctx.home).get(str(chosen[0]))  # the run's own refusals, said here
        check_audit(dossier.path(self.ctx.home), years, with_fec=flags["fec"], fec_id=fec_id,
                    provisional=flags["provisional"], paf=paf,
                    directory=Path(self.plan.directory) if to == EMBEDDED else None,
                    base=Path(dossier.location).stem)
        return AuditPlan(
            str(chosen[0]), tuple(years), self.plan.directory, to=to, simplified=flags["simplified"],
            attachments=flags["attachments"], fec=flags["fec"],
            encoding="iso-8859-15" if flags["latin9"] else "utf-8", fec_id=fec_id or "",
            provisional=flags["provisional"], paf=str(paf) if paf else "", password=password,
        )


# --------------------------------------------------------------------------- registration


def _step(cls: type[WorkScreen]) -> Callable[[Any, WizardPlan, StepPosition], WorkScreen]:
    def factory(ctx: Any, plan: WizardPlan, pos: StepPosition) -> WorkScreen:
        return cls(ctx, plan, pos)

    return factory


def _embedded(connection: Connection) -> bool:
    return isinstance(connection, Connection) and connection.is_embedded


def register() -> None:
    """Offer archive, archive import, cut and tax-audit transfer (embedded dossiers)."""
    then = (registry.summary_step, registry.progress_step)
    registry.register(registry.Operation(
        id="archive",
        label=N_("Archive fiscal years"),
        steps=(_step(ArchiveScreen), *then),  # type: ignore[arg-type]
        help=N_("Move old fiscal years' details into a PAF, keeping one balance entry per year."),
        asks_verify=False,
        directory_label=N_("Directory of the archives (PAF)"),
        writes_directory=True,
        available=_embedded,
    ))
    registry.register(registry.Operation(
        id="unarchive",
        label=N_("Archive import"),
        steps=(_step(UnarchiveScreen), *then),  # type: ignore[arg-type]
        help=N_("Put archived fiscal years back into the dossier they came from."),
        asks_verify=False,
        directory_label=N_("Directory of the archives (PAF)"),
        available=_embedded,
    ))
    registry.register(registry.Operation(
        id="cut",
        label=N_("Fiscal-year cut"),
        steps=(_step(CutScreen), *then),  # type: ignore[arg-type]
        help=N_("Move a dossier's oldest fiscal years into a new dossier <code>_CUTnnn."),
        asks_verify=False,
        asks_directory=False,
        available=_embedded,
    ))
    registry.register(registry.Operation(
        id="audit",
        label=N_("Tax-audit transfer"),
        steps=(_step(AuditScreen), *then),  # type: ignore[arg-type]
        help=N_("A copy of chosen fiscal years for the tax administration, with FEC files."),
        asks_verify=False,
        directory_label=N_("Directory of the tax-audit copy"),
        writes_directory=True,
        available=_embedded,
    ))
