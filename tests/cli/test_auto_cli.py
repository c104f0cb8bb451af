"""`msde auto` from the command line: policy editing, dry-run output, lock refusal, --install."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.auto import policy, schedule
from msde_tui.engine.auto.lock import RunLock
from tests.fake_schedulers import CRONTAB, SYSTEMCTL, calls, make_tool


def test_policy_set_show_unset(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["auto", "policy", "set", "--enable", "--keep", "3", "--every-days", "1",
                 "--max-movements", "100"]) == 0
    assert main(["auto", "policy", "set", "--dossier", "2soc", "--keep", "9"]) == 2  # not a code
    assert main(["auto", "policy", "set", "--dossier", "002SOC", "--keep", "9"]) == 0
    capsys.readouterr()
    assert main(["--json", "auto", "policy", "show", "002SOC"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["effective"]["keep"] == 9 and shown["effective"]["enabled"] is True
    assert shown["file"] == str(home / "config" / "config.toml")
    assert main(["auto", "policy", "unset", "--dossier", "002SOC"]) == 0
    assert policy.load(home).overrides == {}
    assert main(["auto", "policy", "set", "--keep", "0"]) == 2
    err = capsys.readouterr().err
    assert "between 1 and 999" in err and "Traceback" not in err
    assert main(["auto", "policy", "set", "--dir", "relative/dir"]) == 2
    assert main(["auto", "policy", "set"]) == 2
    assert policy.load(home).default.keep == 3


def test_dry_run_prints_decisions_and_changes_nothing(home: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    create_demo(home, dossiers=2, years=1, lines=40, seed=3)
    target = tmp_path / "b"
    assert main(["auto", "policy", "set", "--enable", "--dir", str(target)]) == 0
    assert main(["auto", "policy", "set", "--dossier", "002", "--disable"]) == 0
    before = sorted(p.name for p in home.rglob("*"))
    capsys.readouterr()
    assert main(["auto", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Dry run" in out
    assert "001SOC: backup: no verified backup yet" in out
    assert "002BRA: off: automatic backups are off for this dossier" in out
    assert sorted(p.name for p in home.rglob("*")) == before
    assert not target.exists()


def test_off_message(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_demo(home, dossiers=1, years=1, lines=10)
    assert main(["auto", "--dry-run"]) == 0
    assert "msde auto policy set --enable" in capsys.readouterr().out


def test_second_run_exits_1_busy(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with RunLock.for_home(home):
        assert main(["auto"]) == 1
    err = capsys.readouterr().err
    assert "Another 'msde auto' run is in progress" in err and "Traceback" not in err


def test_status_without_runs(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["auto", "status"]) == 0
    assert "No automatic backup run" in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["systemd", "cron", "taskscheduler"])
def test_install_prints_entries(home: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "auto", "--install", kind]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["kind"] == kind and payload["written"] == []
    text = "\n".join(payload["entries"].values())
    assert str(home) in text  # MSDE_HOME is carried into the entry
    assert schedule.msde_command()[0] in text or kind == "taskscheduler"


def test_install_taskscheduler_write(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["auto", "--install", "taskscheduler", "--write", "--every", "day", "--at", "03:30"]) == 0
    out = capsys.readouterr().out
    path = home / "auto" / "msde-auto.xml"
    root = ET.fromstring(path.read_bytes())
    assert root.tag.endswith("Task")
    assert "schtasks /Create" in out and str(path) in out


def test_install_systemd_write(home: Path, tmp_path: Path, fakes: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI installs the way the wizard does: units written, timer enabled, and recorded so
    that ``msde auto --status`` reports it (it used to say nothing was installed)."""
    make_tool(fakes, "systemctl", SYSTEMCTL)
    assert main(["auto", "--install", "systemd", "--write"]) == 0
    unit_dir = tmp_path / "config" / "systemd" / "user"
    assert (unit_dir / "msde-auto.service").exists() and (unit_dir / "msde-auto.timer").exists()
    assert "--user enable --now msde-auto.timer" in calls(fakes, "systemctl")
    capsys.readouterr()
    assert main(["auto", "--status"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "scheduled (systemd user timer)" in out and "Next run:" in out


def test_install_cron_write_is_what_status_reports(home: Path, fakes: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    make_tool(fakes, "crontab", CRONTAB)
    assert main(["auto", "--install", "cron", "--every", "6", "--at", "01:30", "--write"]) == 0
    assert "# msde-auto" in (fakes / "crontab.table").read_text()
    capsys.readouterr()
    assert main(["auto", "--status", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["installed"] and found["kind"] == "cron"
    assert found["rhythm"] == schedule.Rhythm.parse("6", "01:30").describe()


def test_install_bad_usage(home: Path) -> None:
    assert main(["auto", "--install", "launchd"]) == 2
    assert main(["auto", "--write"]) == 2
    assert main(["auto", "--install", "cron", "--every", "day", "--at", "25:00"]) == 2


def test_help_mentions_express_has_no_agent(capsys: pytest.CaptureFixture[str]) -> None:
    main(["auto", "--help"])
    assert "no SQL Server Agent" in " ".join(capsys.readouterr().out.split())
