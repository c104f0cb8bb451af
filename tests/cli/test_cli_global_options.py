"""Global options (--json, --home, --lang, --debug) work before or after the command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine.accounting.demo import create_demo


@pytest.fixture
def demo_home(home: Path) -> Path:
    create_demo(home, dossiers=2, years=3, lines=300, seed=1)
    return home


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_after_the_command_is_the_global_json(demo_home: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, before, _ = _run(capsys, ["--json", "list"])
    assert code == 0
    code, after, err = _run(capsys, ["list", "--json"])
    assert code == 0, err
    assert json.loads(after) == json.loads(before)
    code, out, err = _run(capsys, ["check", "001", "--json"])
    assert code == 0, err
    assert json.loads(out) == {"dossier": "001SOC", "healthy": True, "problems": []}


def test_list_json_shows_the_fiscal_years(demo_home: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(p.name for p in demo_home.iterdir())
    code, out, _ = _run(capsys, ["list", "--json"])
    assert code == 0
    listed = json.loads(out)["dossiers"]
    assert [(d["code"], d["fiscal_years"]) for d in listed] == [("001SOC", 3), ("002BRA", 3)]
    assert sorted(p.name for p in demo_home.iterdir()) == files  # no -wal/-shm left behind
    (demo_home / "002BRA.sqlite").unlink()  # a listed dossier whose file is gone: no crash
    code, out, _ = _run(capsys, ["list", "--json"])
    assert code == 0
    assert [d["fiscal_years"] for d in json.loads(out)["dossiers"]] == [3, None]


def test_home_after_the_command(tmp_path: Path, demo_home: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other"
    create_demo(other, dossiers=1, years=2, lines=200, seed=2)
    code, out, _ = _run(capsys, ["list", "--home", str(other), "--json"])
    assert code == 0
    assert [d["code"] for d in json.loads(out)["dossiers"]] == ["001SOC"]
    code, out, _ = _run(capsys, ["list", f"--home={other}", "--json"])
    assert code == 0 and len(json.loads(out)["dossiers"]) == 1


def test_an_argument_after_double_dash_is_not_taken(demo_home: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, ["rename", "001", "--company", "X", "--", "--json"])
    assert code == 2  # '--json' is an extra argument of rename, not the global option


def test_debug_shows_the_traceback_and_only_then(demo_home: Path) -> None:
    command = [sys.executable, "-c", "import sys; from msde_tui.cli import main; sys.exit(main())"]
    plain = subprocess.run([*command, "check", "999"], capture_output=True, text=True, timeout=60)
    assert plain.returncode == 2
    assert "No dossier '999'" in plain.stderr and "Traceback" not in plain.stderr
    debug = subprocess.run([*command, "check", "999", "--debug"], capture_output=True,
                           text=True, timeout=60)
    assert debug.returncode == 2
    assert "No dossier '999'" in debug.stderr and "Traceback" in debug.stderr


def test_engine_log_records_print_no_traceback_without_debug() -> None:
    """An unexpected failure logged by the engine (log.exception) stays off stderr by default."""
    import subprocess
    import sys

    code = (
        "import logging, msde_tui.engine.runs.runner\n"
        "try:\n    raise RuntimeError('boom')\n"
        "except RuntimeError:\n"
        "    logging.getLogger('msde_tui.engine.runs.runner').exception('failed')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0
    assert "Traceback" not in result.stderr and "boom" not in result.stderr
