"""The time of the automatic runs ("every N hours from HH:MM") as each scheduler receives it —
the exact OnCalendar line, crontab line and Task Scheduler trigger — and as
``msde auto --status`` says it, with the next run. Against the fake ``systemctl`` and
``crontab`` of tests/fake_schedulers.py."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest
import time_machine

from msde_tui.cli import main
from msde_tui.engine.auto import installed, schedule
from msde_tui.engine.auto.schedule import CRON_MARKER, Rhythm
from tests.fake_schedulers import CRONTAB, SYSTEMCTL
from tests.fake_schedulers import make_tool as _tool

pytestmark = pytest.mark.skipif(os.name == "nt", reason="shell-script stand-ins")
SIX_FROM_8 = Rhythm(6, 8, 17)


def test_systemd_timer_holds_the_typed_hours(home: Path, fakes: Path, tmp_path: Path) -> None:
    _tool(fakes, "systemctl", SYSTEMCTL)
    installed.install(home, SIX_FROM_8)
    timer = (tmp_path / "config" / "systemd" / "user" / "msde-auto.timer").read_text().splitlines()
    assert "OnCalendar=*-*-* 02,08,14,20:17:00" in timer
    assert "Description=Run msde auto every 6 hours from 08:17 (08:17, 14:17, 20:17, 02:17)" in timer


@pytest.mark.parametrize(("rhythm", "fields"), [
    (SIX_FROM_8, "17 2,8,14,20 * * *"), (Rhythm(24, 3, 30), "30 3 * * *"), (Rhythm(1, 0, 5), "5 * * * *"),
    (Rhythm(12, 13, 0), "0 1,13 * * *"), (Rhythm(2, 1, 45), "45 1,3,5,7,9,11,13,15,17,19,21,23 * * *"),
])
def test_crontab_line_holds_the_typed_hours(home: Path, fakes: Path, rhythm: Rhythm, fields: str) -> None:
    _tool(fakes, "crontab", CRONTAB)
    installed.install(home, rhythm)
    lines = [x for x in (fakes / "crontab.table").read_text().splitlines() if x.endswith(CRON_MARKER)]
    assert len(lines) == 1 and lines[0].startswith(fields + " ")


def test_task_scheduler_trigger_starts_at_the_first_run_and_repeats(home: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "auto", "--install", "taskscheduler", "--every", "6", "--at", "08:17"]) == 0
    text = json.loads(capsys.readouterr().out)["entries"]["msde-auto.xml"]
    root = ET.fromstring(text.replace('encoding="UTF-16"', 'encoding="UTF-8"'))
    ns = {"t": schedule.TASK_NS}
    trigger = root.find("t:Triggers/t:CalendarTrigger", ns)
    assert trigger is not None
    assert (trigger.findtext("t:StartBoundary", namespaces=ns) or "").endswith("T02:17:00")
    assert trigger.findtext("t:Repetition/t:Interval", namespaces=ns) == "PT6H"
    assert trigger.findtext("t:Repetition/t:Duration", namespaces=ns) == "P1D"


def test_cli_prints_the_line_and_refuses_a_wrong_rhythm(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["auto", "--install", "cron", "--every", "6h", "--at", "08:17"]) == 0
    assert capsys.readouterr().out.startswith("17 2,8,14,20 * * * ")
    assert main(["auto", "--install", "cron", "--every", "5"]) == 2
    err = capsys.readouterr().err
    assert "Every 5 hours is not a rhythm" in err and "1, 2, 3, 4, 6, 8, 12 or 24" in err
    assert "Traceback" not in err
    assert main(["auto", "--install", "cron", "--every", "6", "--at", "8h17"]) == 2
    assert "'8h17' is not a time" in capsys.readouterr().err


def test_status_says_the_rhythm_and_the_next_run(home: Path, fakes: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _tool(fakes, "crontab", CRONTAB)
    installed.install(home, SIX_FROM_8)
    with time_machine.travel(datetime(2026, 12, 7, 15, 0), tick=False):
        assert main(["auto", "--status"]) == 0
        out = " ".join(capsys.readouterr().out.split())
        assert "every 6 hours from 08:17 (08:17, 14:17, 20:17, 02:17)" in out
        assert "Next run: 2026-12-07 20:17." in out
        assert main(["--json", "auto", "--status"]) == 0
        said = json.loads(capsys.readouterr().out)
    assert said["next_run"] == "2026-12-07T20:17" and said["installed"] is True


def test_older_record_and_removal_keep_the_rhythm(home: Path, fakes: Path) -> None:
    _tool(fakes, "crontab", CRONTAB)
    record = home / "auto" / "schedule.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"kind": "cron", "every": "day", "hour": 3, "minute": 5, "log": "x"}))
    assert installed.state(home).rhythm == Rhythm(24, 3, 5)  # written before "hours" existed
    installed.install(home, SIX_FROM_8)
    assert installed.remove(home) is True
    found = installed.state(home)
    assert not found.installed and found.rhythm == SIX_FROM_8
