"""What `msde auto --install KIND` prints on stdout is the entry itself, valid for its tool."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine.auto import schedule


def test_printed_task_xml_saved_as_is_is_well_formed(home: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["auto", "--install", "taskscheduler"]) == 0
    out, err = capsys.readouterr()
    saved = tmp_path / "task.xml"
    saved.write_text(out, encoding="utf-8")  # what `msde auto --install taskscheduler > task.xml` gives
    root = ET.fromstring(saved.read_bytes())
    assert root.tag == f"{{{schedule.TASK_NS}}}Task"
    assert "schtasks /Create" in err and "MSDE_PASSWORD" in err  # the notes go to stderr


@pytest.mark.parametrize("kind", ["systemd", "cron"])
def test_printed_entries_are_comments_or_entries(home: Path, kind: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["auto", "--install", kind]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    if kind == "cron":  # one crontab line, the rest crontab comments
        entries = [line for line in lines if not line.startswith("#")]
        assert len(entries) == 1 and len(entries[0].split(None, 5)) == 6
    else:
        assert "[Timer]" in out and "[Service]" in out
