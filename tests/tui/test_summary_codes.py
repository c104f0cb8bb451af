"""The summary's code boxes: the title says what to type before Enter starts, and keys typed
before the summary is ready (a fast typist, a paste) reach the boxes in order."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input

from msde_tui.engine.plans import CutPlan, WizardPlan
from msde_tui.engine.runs import registry as runner
from msde_tui.engine.runs.registry import Description, Line
from msde_tui.screens.steps import StepPosition
from msde_tui.screens.summary import SummaryScreen
from tests.tui.app_support import StepHost, screen_text, wait_for, wait_screen, wait_text

PLAN = WizardPlan(operation="cut", op=CutPlan("001", "2020"))


READY = threading.Event()  # set by a test: the engine has read what the summary shows


def slow_description(codes: tuple[str, ...]):  # type: ignore[no-untyped-def]
    READY.clear()

    def describe(plan: object, home: Path) -> Description:
        READY.wait(30)  # the engine reads the dossiers: the summary is painted before it is ready
        return Description(tuple(Line(c, "move the years before 2020 out") for c in codes), "", (), codes)

    return describe


@pytest.fixture
def two_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "describe", slow_description(("001SOC", "002BRA")))
    monkeypatch.setattr(runner, "subjects", lambda plan: ("001SOC", "002BRA"))


def boxes(app: object) -> list[str]:
    return [box.value for box in app.screen.query(".confirm").results(Input)]  # type: ignore[attr-defined]


@pytest.mark.usefixtures("two_codes")
async def test_keys_typed_at_first_paint_fill_each_box_and_start(home: Path) -> None:
    app = StepHost.make(home, lambda ctx: SummaryScreen(ctx, PLAN, StepPosition(4, 5)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_screen(pilot, SummaryScreen)
        assert screen.summary is None  # not ready yet: the keys come now, without pauses
        await pilot.press(*"001soc", "tab", *"002bra", "enter")
        READY.set()
        await wait_for(pilot, lambda: app.results)
        assert app.results == [PLAN]  # both codes typed right: the work starts


@pytest.mark.usefixtures("two_codes")
async def test_a_burst_of_keys_before_the_summary_is_ready_is_not_merged(home: Path) -> None:
    app = StepHost.make(home, lambda ctx: SummaryScreen(ctx, PLAN, StepPosition(4, 5)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_screen(pilot, SummaryScreen)
        assert screen.summary is None
        for key in [*"001SOC", "tab", *"002BR"]:  # all queued at once, as a paste or a fast typist
            app.post_message(events.Key(key, None if key == "tab" else key))
        await pilot.pause(0.2)
        READY.set()
        await wait_for(pilot, lambda: screen.summary is not None and boxes(app) == ["001SOC", "002BR"])
        assert screen.focused is screen.query_one("#confirm-1", Input)
        await pilot.press("enter")  # a code is incomplete: nothing starts, the screen says why
        await wait_text(pilot, "type each code in its box first")
        assert app.results == []


@pytest.mark.usefixtures("two_codes")
async def test_the_title_says_what_to_type_before_enter_starts(home: Path) -> None:
    app = StepHost.make(home, lambda ctx: SummaryScreen(ctx, PLAN, StepPosition(4, 5)))
    READY.set()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "Type 001SOC, 002BRA below, one per box (Tab: next box), then Enter starts.")
        assert screen_text(app).count("Enter starts") == 1


async def test_the_title_says_enter_starts_where_nothing_is_to_type(home: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "describe", slow_description(()))
    monkeypatch.setattr(runner, "subjects", lambda plan: ("001SOC",))
    app = StepHost.make(home, lambda ctx: SummaryScreen(ctx, PLAN, StepPosition(4, 5)))
    READY.set()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "1 item(s). Enter starts.")
    READY.clear()
    app = StepHost.make(home, lambda ctx: SummaryScreen(ctx, PLAN, StepPosition(4, 5)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_screen(pilot, SummaryScreen)
        assert screen.summary is None
        await pilot.press("enter")  # before it is ready: kept, then it starts
        READY.set()
        await wait_for(pilot, lambda: app.results)
        assert app.results == [PLAN]


@pytest.mark.usefixtures("two_codes")
async def test_enter_right_after_the_last_letter_sees_that_letter(home: Path) -> None:
    app = StepHost.make(home, lambda ctx: SummaryScreen(ctx, PLAN, StepPosition(4, 5)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_screen(pilot, SummaryScreen)
        READY.set()
        await wait_for(pilot, lambda: screen.summary is not None)
        await pilot.press(*"001SOC", "tab", *"002BR")
        for key in ("A", "enter"):  # in one read, as a paste or a fast typist sends them
            app.post_message(events.Key(key, "\r" if key == "enter" else key))
        await wait_for(pilot, lambda: app.results)
        assert app.results == [PLAN]
