"""Keys sent in a burst (a slow SSH link delivers them so) do what the same keys do slowly."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.plans import Connection, WizardPlan
from msde_tui.screens.dossiers import DossiersScreen
from msde_tui.screens.registry import StepPosition
from msde_tui.screens.widgets import TickList
from tests.tui.app_support import StepHost, burst, wait_for, wait_text


@pytest.fixture
def three_home(home: Path) -> Path:
    create_demo(home, dossiers=3, years=2, lines=50)
    return home


async def test_burst_ticks_every_row_on_the_dossier_list(three_home: Path) -> None:
    plan = WizardPlan(connection=Connection(), operation="backup", directory=str(three_home / "b"))
    app = StepHost.make(three_home, lambda ctx: DossiersScreen(ctx, plan, StepPosition(3, 5)))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "0 of 3 ticked")
        await burst(pilot, "space", "down", "space", "down", "space")
        await wait_text(pilot, "3 of 3 ticked")
        ticks = app.screen.query_one("#ticks", TickList)
        assert len(ticks.selected) == 3


async def test_burst_on_the_cut_list_and_a_year_typed_then_enter(home: Path) -> None:
    from msde_tui.screens.lifecycle_screens import CutScreen

    create_demo(home, dossiers=3, years=8, lines=50)
    keep = str(date.today().year - 4)
    plan = WizardPlan(operation="cut")
    app = StepHost.make(home, lambda ctx: CutScreen(ctx, plan, StepPosition(3, 5)))
    async with app.run_test(size=(80, 24)) as pilot:
        ticks = app.screen.query_one("#dossiers", TickList)
        await wait_for(pilot, lambda: ticks.option_count == 3)
        await burst(pilot, "space", "down", "space", "down", "space")
        await wait_for(pilot, lambda: len(ticks.selected) == 3)
        await pilot.pause()
        assert sorted(ticks.selected) == ["001SOC", "002BRA", "003GAR"]
        await burst(pilot, "space", "up", "space")  # 001SOC alone stays ticked
        await wait_for(pilot, lambda: ticks.selected == ["001SOC"])
        # the year typed and Enter in one burst: Enter goes on with the year typed before it
        await burst(pilot, "tab", *keep, "enter")
        await wait_for(pilot, lambda: bool(app.results))
    op = app.results[-1].op  # type: ignore[attr-defined]
    assert (op.dossier, op.keep_from) == ("001SOC", keep)


async def test_burst_typed_into_the_filter_then_back_to_the_list(three_home: Path) -> None:
    plan = WizardPlan(connection=Connection(), operation="backup", directory=str(three_home / "b"))
    app = StepHost.make(three_home, lambda ctx: DossiersScreen(ctx, plan, StepPosition(3, 5)))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "0 of 3 ticked")
        # "b", "r" go to the filter box (the first one moves the cursor there), Down comes back
        # to the list, Space ticks the one row left, Enter goes on: as if typed slowly
        await burst(pilot, "b", "r", "a", "down", "space", "enter")
        await wait_for(pilot, lambda: bool(app.results))
    chosen = app.results[-1].dossiers  # type: ignore[attr-defined]
    assert [d.code for d in chosen] == ["002BRA"]
