"""The schedule "Operational" installs and unticking removes, against a fake ``systemctl`` and a
fake ``crontab`` on PATH (they record their calls and keep the table in a file)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine.auto import installed, schedule
from tests.fake_schedulers import CRONTAB, SYSTEMCTL
from tests.fake_schedulers import calls as _calls
from tests.fake_schedulers import make_tool as _tool

pytestmark = pytest.mark.skipif(os.name == "nt", reason="shell-script stand-ins")


def test_systemd_install_state_remove(home: Path, fakes: Path, tmp_path: Path) -> None:
    _tool(fakes, "systemctl", SYSTEMCTL)
    _tool(fakes, "crontab", CRONTAB)
    assert installed.machine_kind() == "systemd"
    found = installed.install(home, schedule.Rhythm(24, 3, 5))
    assert found.installed and found.kind == "systemd"
    assert _calls(fakes, "systemctl")[-2:] == ["--user daemon-reload", "--user enable --now msde-auto.timer"]
    units = tmp_path / "config" / "systemd" / "user"
    service = (units / "msde-auto.service").read_text()
    assert f"StandardOutput=append:{installed.log_path(home)}" in service
    assert "OnCalendar=*-*-* 03:05:00" in (units / "msde-auto.timer").read_text()
    assert found.log == str(installed.log_path(home))
    assert found.next_run is not None and (found.next_run.hour, found.next_run.minute) == (3, 5)
    assert _calls(fakes, "crontab") == []  # systemd runs: cron is left alone
    assert installed.remove(home) is True
    assert "--user disable --now msde-auto.timer" in _calls(fakes, "systemctl")
    assert not (units / "msde-auto.timer").exists() and not (units / "msde-auto.service").exists()
    assert not installed.state(home).installed


def test_systemd_refusal_is_said(home: Path, fakes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from msde_tui.engine.errors import MsdeError

    _tool(fakes, "systemctl", SYSTEMCTL)
    monkeypatch.setenv("FAKE_SYSTEMCTL_RC", "0")
    assert installed.machine_kind() == "systemd"
    monkeypatch.setenv("FAKE_SYSTEMCTL_RC", "1")
    with pytest.raises(MsdeError, match="systemctl --user daemon-reload"):
        installed.install(home, kind="systemd")


def test_cron_where_systemd_does_not_run(home: Path, fakes: Path) -> None:
    _tool(fakes, "crontab", CRONTAB)
    table = fakes / "crontab.table"
    table.write_text("0 1 * * * /usr/bin/true # mine\n")
    assert installed.machine_kind() == "cron"  # no systemctl on PATH
    found = installed.install(home)
    assert found.installed and found.kind == "cron"
    lines = table.read_text().splitlines()
    assert lines[0] == "0 1 * * * /usr/bin/true # mine"
    assert lines[1].startswith("17 * * * * ") and lines[1].endswith(schedule.CRON_MARKER)
    assert f">> {installed.log_path(home)} 2>&1" in lines[1]
    assert installed.remove(home) is True
    assert table.read_text() == "0 1 * * * /usr/bin/true # mine\n"  # the other line kept
    assert not installed.state(home).installed


def test_state_is_checked_against_the_scheduler(home: Path, fakes: Path) -> None:
    _tool(fakes, "crontab", CRONTAB)
    installed.install(home)
    (fakes / "crontab.table").write_text("")  # removed by hand with crontab -e
    assert not installed.state(home).installed


def test_next_run_hourly_and_daily() -> None:
    now = datetime(2026, 12, 7, 6, 40)
    assert installed.next_run(schedule.Rhythm(1, 0, 17), now) == datetime(2026, 12, 7, 7, 17)
    assert installed.next_run(schedule.Rhythm(1, 0, 50), now) == datetime(2026, 12, 7, 6, 50)
    assert installed.next_run(schedule.Rhythm(24, 2, 17), now) == datetime(2026, 12, 8, 2, 17)
    assert installed.next_run(schedule.Rhythm(6, 8, 17), now) == datetime(2026, 12, 7, 8, 17)
    assert installed.next_run(schedule.Rhythm(6, 8, 17), datetime(2026, 12, 7, 20, 17)) == datetime(2026, 12, 8, 2, 17)
    assert installed.next_run(schedule.Rhythm(12, 23, 0), datetime(2026, 12, 31, 23, 30)) == datetime(2027, 1, 1, 11, 0)


def test_cli_status_says_what_is_installed(home: Path, fakes: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _tool(fakes, "crontab", CRONTAB)
    assert main(["auto", "--status"]) == 1
    assert "No schedule is installed" in capsys.readouterr().out
    installed.install(home)
    assert main(["auto", "--status"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "crontab line" in out and "every hour at minute 17" in out
    assert "Next run:" in out and str(installed.log_path(home)) in out
    assert main(["--json", "auto", "--status"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["installed"] is True and data["kind"] == "cron" and data["log"] == str(installed.log_path(home))
