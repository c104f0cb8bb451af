"""Archive, archive import, cut and tax-audit wizard forms at 80x24, their plans run for real.

A form returns a plan and changes nothing; ``run_until_done`` runs the plan through the engine's
runner (as the job does), then shows the form again with it, as Back from the summary does.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from types import SimpleNamespace

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input

from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.events import DossierResult
from msde_tui.engine.plans import WizardPlan
from msde_tui.engine.runs import registry as runner
from msde_tui.engine.runs.runner import collect_async
from msde_tui.screens import lifecycle_screens as ls
from msde_tui.screens import registry
from msde_tui.screens.context import WizardContext
from msde_tui.screens.registry import StepPosition
from msde_tui.screens.widgets import TickList
from tests.dossier_files import statuses
from tests.tui.app_support import screen_text, wait_for


class Host(App[None]):
    def __init__(self, home: Path, screen: type[ls.WorkScreen], plan: WizardPlan) -> None:
        super().__init__()
        self.home, self.screen_class, self.plan = home, screen, plan
        self.results: list[WizardPlan | None] = []

    def get_css_variables(self) -> dict[str, str]:
        return {**super().get_css_variables(), "msde-border": "round"}

    def on_mount(self) -> None:
        self.show(self.plan)

    def show(self, plan: WizardPlan) -> None:
        screen = self.screen_class(WizardContext(home=self.home), plan, StepPosition(3, 5))
        self.push_screen(screen, self.results.append)


async def run_until_done(app: Host, pilot: Pilot) -> str:
    """Enter on the form: the refusal shown inline, or the plan's results (then the form again)."""
    screen, count = app.screen, len(app.results)
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(app.results) > count or "ERROR" in screen_text(app))
    if len(app.results) == count:
        return str(app.screen.query_one("#message").render())
    plan = app.results[-1]
    assert plan is not None and plan.op is not None
    events = await collect_async(runner.run(plan.op, app.home))
    app.show(plan)
    await wait_for(pilot, lambda: app.screen is not screen and isinstance(app.screen, type(screen)))
    await pilot.pause(0.2)
    return "\n".join(f"{'OK' if e.ok else 'FAILED'} {e.dossier}: {e.message}" for e in events
                     if isinstance(e, DossierResult))


async def test_archive_then_import_through_the_screens(home: Path, tmp_path: Path) -> None:
    create_demo(home, dossiers=2, years=9, lines=600)
    out = tmp_path / "paf"
    out.mkdir()
    app = Host(home, ls.ArchiveScreen, WizardPlan(operation="archive", directory=str(out)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        ticks = app.screen.query_one("#years", TickList)
        assert ticks.option_count == 16 and len(ticks.selected) == 2  # 8 closed years x 2; oldest ticked
        text = await run_until_done(app, pilot)
        assert "archived in" in text and "FAILED" not in text
        assert app.screen.query_one("#years", TickList).option_count == 14  # the two archived years are no longer offered
    assert app.results and app.results[0] is not None
    assert len(list(out.glob("*.paf"))) == 2
    assert statuses(home / "001SOC.sqlite")[0] == "ARCHIVED"

    # the tax-audit screen takes the archived year's entries from the PAF's directory
    archived = str(date.today().year - 8)
    admin = tmp_path / "admin"
    admin.mkdir()
    app = Host(home, ls.AuditScreen, WizardPlan(operation="audit", directory=str(admin)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("space")  # 001SOC
        app.screen.query_one("#years", Input).value = archived
        app.screen.query_one("#fec", ls.SpaceCheckbox).value = True
        app.screen.query_one("#fec-id", Input).value = "X1"
        text = await run_until_done(app, pilot)
        assert "archived" in text and "PAF" in text  # refused in words without the PAF
        app.screen.query_one("#paf", Input).value = str(out)
        app.screen.query_one("#dossiers", TickList).focus()
        text = await run_until_done(app, pilot)
        assert f"FEC X1FEC{archived}1231.txt" in text
    fec_lines = (admin / f"X1FEC{archived}1231.txt").read_text(encoding="utf-8").splitlines()
    assert len(fec_lines) > 20  # the year's entries, not its one balance entry

    app = Host(home, ls.UnarchiveScreen, WizardPlan(operation="unarchive", directory=str(out)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        ticks = app.screen.query_one("#years", TickList)
        assert ticks.option_count == 2
        await pilot.press("a")  # tick all
        await pilot.press("tab", "tab")  # past the dossier to recover them for (each its own)
        await pilot.press("space")  # delete the PAF afterwards
        text = await run_until_done(app, pilot)
        assert "back from" in text
    assert statuses(home / "001SOC.sqlite")[0] == "CLOSED"
    assert not list(out.glob("*.paf"))
    # one line per run (the refusal without the PAF was said on the form: no run)
    assert logged(home) == [("archive", "ok"), ("audit", "ok"), ("unarchive", "ok")]


async def test_cut_and_audit_through_the_screens(home: Path, tmp_path: Path) -> None:
    create_demo(home, dossiers=1, years=8, lines=600)
    keep = str(date.today().year - 4)
    app = Host(home, ls.CutScreen, WizardPlan(operation="cut"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        ticks = app.screen.query_one("#dossiers", TickList)
        assert ticks.option_count == 1
        app.screen.query_one("#min-years", Input).value = "9"
        await pilot.pause()
        assert ticks.option_count == 0
        app.screen.query_one("#min-years", Input).value = "8"
        await pilot.pause()
        ticks.focus()
        await pilot.press("space")
        app.screen.query_one("#keep-from", Input).value = keep
        ticks.focus()
        text = await run_until_done(app, pilot)
        assert "001SOC_CUT001" in text
    assert [d.status for d in Catalog(home).dossiers()] == ["active", "cut"]

    out = tmp_path / "admin"
    out.mkdir()
    app = Host(home, ls.AuditScreen, WizardPlan(operation="audit", directory=str(out)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        ticks = app.screen.query_one("#dossiers", TickList)
        lines = [str(ticks.get_option_at_index(i).prompt) for i in range(ticks.option_count)]
        assert ticks.option_count == 2 and "(cut 001 of 001SOC)" in lines[1]  # the cut is offered
        await pilot.press("space")
        app.screen.query_one("#years", Input).value = keep
        app.screen.query_one("#fec", ls.SpaceCheckbox).value = True
        app.screen.query_one("#fec-id", Input).value = "BE0403170701"  # Belgian: no SIREN
        ticks.focus()
        text = await run_until_done(app, pilot)
        assert "Admin001SOC.sqlite" in text and "never restores" in text
    assert (out / "Admin001SOC.sqlite").exists()
    assert sorted(p.name for p in out.glob("*FEC*.txt")) == [f"BE0403170701FEC{keep}1231.txt",
                                                          f"BE0403170701FEC{keep}1231_DESCRIPTION.txt"]
    # the oldest years are in the cut dossier: the auditor gets them from there
    old_year = str(int(keep) - 2)
    app = Host(home, ls.AuditScreen, WizardPlan(operation="audit", directory=str(out)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        ticks = app.screen.query_one("#dossiers", TickList)
        ticks.focus()
        await pilot.press("down", "space")
        app.screen.query_one("#years", Input).value = old_year
        ticks.focus()
        text = await run_until_done(app, pilot)
        assert "Admin001SOC_CUT001.sqlite" in text, text
    conn = sqlite3.connect(out / "Admin001SOC_CUT001.sqlite")
    try:
        years = [r[0][:4] for r in conn.execute("SELECT start_date FROM fiscal_year")]
    finally:
        conn.close()
    assert years == [old_year]
    assert logged(home) == [("cut", "ok"), ("audit", "ok"), ("audit", "ok")]
    # the cut screen lists the cut dossier saying which dossier and which cut it came from
    app = Host(home, ls.CutScreen, WizardPlan(operation="cut"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.query_one("#min-years", Input).value = "2"
        await pilot.pause()
        ticks = app.screen.query_one("#dossiers", TickList)
        lines = [str(ticks.get_option_at_index(i).prompt) for i in range(ticks.option_count)]
        assert any("002SOC" in line and "(cut 001 of 001SOC)" in line for line in lines), lines


def test_operations_are_registered() -> None:
    ls.register()
    ids = {op.id for op in registry.operations()}
    assert {"archive", "unarchive", "cut", "audit"} <= ids


def logged(home: Path) -> list[tuple[str, str]]:
    from msde_tui.engine import auditlog

    return [(r["operation"], r["result"]) for r in auditlog.read(home)]


async def test_a_refused_cut_stays_on_the_screen_to_be_corrected(home: Path) -> None:
    create_demo(home, dossiers=1, years=8, lines=600)
    app = Host(home, ls.CutScreen, WizardPlan(operation="cut"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        ticks = app.screen.query_one("#dossiers", TickList)
        app.screen.query_one("#min-years", Input).value = "8"
        await pilot.pause()
        ticks.focus()
        await pilot.press("space")
        app.screen.query_one("#keep-from", Input).value = "1990"  # no such year: the engine refuses
        text = await run_until_done(app, pilot)
        assert "1990" in text and "ERROR" in text  # on the form: nothing ran (issue #14)
        assert logged(home) == []
        app.screen.query_one("#keep-from", Input).value = str(date.today().year - 4)
        ticks.focus()
        text = await run_until_done(app, pilot)  # the corrected plan
        assert "001SOC_CUT001" in text
    assert [d.status for d in Catalog(home).dossiers()] == ["active", "cut"]
    assert logged(home) == [("cut", "ok")]


async def test_empty_year_fields_show_an_example_so_they_are_seen_without_colours(home: Path) -> None:
    create_demo(home, dossiers=1, years=8, lines=300)
    app = Host(home, ls.CutScreen, WizardPlan(operation="cut"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        hint = app.screen.query_one("#keep-from", Input).placeholder
        assert hint.startswith("e.g. ") and hint[5:].isdigit()  # a hint, not a value


async def test_audit_to_a_sql_server_profile_through_the_screen(  # type: ignore[no-untyped-def]
    tds_server, home: Path, tmp_path: Path
) -> None:
    from msde_tui.engine.backends.mssql import profiles
    from msde_tui.screens.pack_screens import PickList

    create_demo(home, dossiers=1, years=3, lines=300)
    profiles.add(profiles.Profile(name="double", host=tds_server.host, port=tds_server.port,
                                  user=tds_server.user), home)
    out = tmp_path / "fec"
    out.mkdir()
    year = str(date.today().year - 1)
    app = Host(home, ls.AuditScreen, WizardPlan(operation="audit", directory=str(out)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not app.screen.query_one("#password-row").display  # embedded first: no password
        await pilot.press("space")
        app.screen.query_one("#years", Input).value = year
        app.screen.query_one("#simplified", ls.SpaceCheckbox).value = True
        app.screen.query_one("#fec", ls.SpaceCheckbox).value = True
        app.screen.query_one("#fec-id", Input).value = "BE0403170701"
        picks = app.screen.query_one("#destination", PickList)
        picks.focus()
        await pilot.press("down")
        await pilot.pause()
        assert picks.choice == "double" and app.screen.query_one("#password-row").display
        text = await run_until_done(app, pilot)
        assert "password" in text and not app.results  # refused until the password is typed
        app.screen.query_one("#password", Input).value = tds_server.password
        picks.focus()
        text = await run_until_done(app, pilot)
        assert "AdminPW0001SOC on double written and verified" in text
    with tds_server.connect(database="AdminPW0001SOC") as conn:
        cur = conn.cursor()
        cur.execute("SELECT code FROM fiscal_year")
        assert cur.fetchall() == [(year,)]
        cur.execute("SELECT DISTINCT kind FROM entry")
        assert cur.fetchall() == [("REAL",)]
    assert len(list(out.glob("*FEC????????.txt"))) == 1 and not list(out.glob("*.sqlite"))
    assert logged(home) == [("audit", "ok")]


def test_cut_label_says_which_dossier_and_cut_in_both_languages() -> None:
    from msde_tui import i18n
    from msde_tui.engine.catalog import Dossier
    from msde_tui.screens.dossiers import DossiersScreen, cut_label

    cut = Dossier("004", "SOC", "Société Lambert & Fils SRL", location="001SOC_CUT002.sqlite",
                  status="cut")
    assert cut_label(cut) == "cut 002 of 001SOC"
    assert cut_label(Dossier("001", "SOC", "S", location="001SOC.sqlite")) == ""
    assert "(cut 002 of 001SOC)" in DossiersScreen._line(SimpleNamespace(last_full={}, line_room=lambda: 80), cut, 1024)  # type: ignore[arg-type]
    i18n.setup("fr")
    assert cut_label(cut) == "découpe 002 de 001SOC"
