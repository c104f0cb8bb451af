"""``msde jobs`` at 80, 70 and 60 columns: the job id (what ``msde jobs show`` takes) is never cut,
nor anything else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from msde_tui.engine.plans import WizardPlan
from msde_tui.engine.runs import jobs

FILES = [f"001SOC_20261207-08{minute:02d}54.sqlite.bak" for minute in range(6)]


@pytest.mark.parametrize("columns", [80, 70, 60])
def test_jobs_list_keeps_the_id_whole_and_wraps_the_dossiers(home: Path, columns: int) -> None:
    directory = jobs.jobs_dir(home) / "20261207-084154-abcd"
    directory.mkdir(parents=True)
    spec = {"id": directory.name, "operation": "verify", "created_at": "2026-12-07T08:41:54",
            "subjects": FILES, "plan": jobs.plan_to_dict(WizardPlan(operation="verify", directory="/b"))}
    (directory / jobs.SPEC).write_text(json.dumps(spec))
    (directory / jobs.EVENTS).touch()
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}
    out = subprocess.run(
        [sys.executable, "-c", "from msde_tui.cli import entry; entry()", "--home", str(home), "jobs"],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    assert max(len(line) for line in out.splitlines()) <= columns
    assert "20261207-084154-abcd" in out, out  # whole, on one line
    assert "…" not in out, out  # nothing cut
    # the start on one line: date and time, else the clock, else nothing (the id is the start)
    started = {80: "2026-12-07 08:41:54", 70: " 08:41:54 "}.get(columns)
    assert (started in out) if started else ("Started" not in out), out
    folded = "".join(line.split()[-1] for line in out.splitlines()[1:] if line.strip())
    assert all(name in folded for name in FILES), out  # every name, folded if need be
