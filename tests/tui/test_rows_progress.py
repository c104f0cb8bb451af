"""What the wizard's progress row and the CLI's Rich bar make of a step counted in rows (a pack
of a dossier whose big table comes in several batches): percent and rows, never going back."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from msde_tui.cli.backup import _LiveDisplay
from msde_tui.engine import events as ev
from msde_tui.engine.plans import PackPlan
from msde_tui.screens.progress import JobView
from tests.engine.test_pack_events import BIG, make, run


def test_the_screen_and_the_cli_follow_a_pack_in_rows(home: Path, tmp_path: Path) -> None:
    dossier = make(home)
    events = run(PackPlan((dossier.code,), str(tmp_path)), home)
    view = JobView([dossier.code])
    display = _LiveDisplay(Console(file=io.StringIO(), force_terminal=True, width=120), "pack", 1)
    overall, shown, details = [], [], []
    with display:
        for at, event in enumerate(events):
            view.apply(float(at), event)
            display.show(event)
            if isinstance(event, ev.Progress):
                overall.append(view.rows[dossier.code].overall)
                task = display.progress.tasks[-1]
                shown.append(task.completed)
                details.append(task.fields["detail"])
    assert overall == sorted(overall) and shown == sorted(shown), (overall, shown)  # never back
    assert shown[-1] == 100.0 and overall[-1] == 50.0  # pack done: half of (pack, verify)
    assert details[-1] == f"{BIG + 3:,}/{BIG + 3:,} rows"
    assert any(f"big: {BIG:,} rows" in line for line in view.log)  # each table in the log
    assert view.rows[dossier.code].percent == 100.0  # the result


@pytest.mark.parametrize("step", ["pack", "import"])
def test_a_further_table_of_the_same_step_keeps_the_bar(step: str) -> None:
    """A Step of the step being counted (its next table) keeps the row's percent and rows."""
    view = JobView(["x"])
    view.apply(1.0, ev.Started("x", step, (step, "verify")))
    view.apply(2.0, ev.Step("x", step, "a: 10 rows"))
    view.apply(3.0, ev.Progress("x", percent=50.0, rows_done=10, rows_total=20))
    view.apply(4.0, ev.Step("x", step, "b: 10 rows"))
    row = view.rows["x"]
    assert (row.percent, row.rows_done, row.overall) == (50.0, 10, 25.0)
    view.apply(5.0, ev.Step("x", "verify"))
    assert row.percent is None and row.rows_done is None and row.overall == 25.0  # a new step: its own count
