from __future__ import annotations

import json
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine import auditlog


def test_one_line_per_operation_without_secrets(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with auditlog.audited(home, "backup", ["001SOC"], {"dir": "/b", "password": "hunter2"}) as rec:
        rec.files.append("/b/001SOC.bak")
    with pytest.raises(ValueError):
        with auditlog.audited(home, "restore", ["002ABC"], {"db": {"passphrase": "s3cret"}}):
            raise ValueError("disk on fire")
    raw = (home / auditlog.LOG_FILE).read_text()
    assert "hunter2" not in raw and "s3cret" not in raw
    first, second = (json.loads(line) for line in raw.splitlines())
    assert first["operation"] == "backup" and first["result"] == "ok"
    assert first["files"] == ["/b/001SOC.bak"] and first["options"] == {"dir": "/b"}
    assert {"time", "user", "host", "duration_s"} <= first.keys()
    assert second["result"] == "failed" and second["message"] == "disk on fire"

    assert main(["--json", "log"]) == 0
    shown = json.loads(capsys.readouterr().out)["log"]
    assert [line["operation"] for line in shown] == ["backup", "restore"]
    assert main(["log"]) == 0
    assert "restore" in capsys.readouterr().out


def test_bad_lines_are_skipped(home: Path) -> None:
    (home / auditlog.LOG_FILE).write_text('{"operation": "a"}\nnot json\n{"operation": "b"}\n')
    assert [line["operation"] for line in auditlog.read(home)] == ["a", "b"]
    assert [line["operation"] for line in auditlog.read(home, limit=1)] == ["b"]
