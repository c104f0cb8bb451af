"""``msde check`` on many dossiers (``--all``, ``--where``, several named): every dossier
checked, a damaged or missing one reported without stopping the others, exit 1 when any
dossier has problems or could not be checked."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine.accounting.demo import create_demo


@pytest.fixture
def office(home: Path) -> Path:
    """Three demo dossiers: 002's books unbalanced (one line's debit raised), 003's file gone."""
    create_demo(home, dossiers=3, years=2, lines=200, seed=3)
    conn = sqlite3.connect(home / "002BRA.sqlite")
    with conn:
        conn.execute("UPDATE entry_line SET debit = debit + 1 WHERE id = (SELECT MIN(id) FROM entry_line "
                     "WHERE debit > 0)")
    conn.close()
    (home / "003GAR.sqlite").unlink()
    return home


def test_check_all_reports_every_dossier_and_fails(office: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(office), "check", "--all"]) == 1
    out = capsys.readouterr().out
    assert "001SOC: no problem found." in out, out
    assert "002BRA: " in out and "problem(s):" in out, out
    assert "003GAR: not checked: " in out, out  # the missing file, in plain words
    assert "3 dossier(s) checked: 1 without problem, 2 with problems or not checked." in out, out


def test_check_where_and_several_named(office: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(office), "check", "--where", "001-001"]) == 0
    assert "1 dossier(s) checked: 1 without problem" in capsys.readouterr().out
    assert main(["--home", str(office), "--json", "check", "001", "002"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["healthy"] is False
    assert [(d["dossier"], d["healthy"], bool(d["problems"])) for d in report["dossiers"]] == [
        ("001SOC", True, False), ("002BRA", False, True)]
    # JSON speaks English whatever the language, as every command's results do
    assert main(["--home", str(office), "--lang", "fr", "--json", "check", "--all"]) == 1
    missing = json.loads(capsys.readouterr().out)["dossiers"][2]
    assert missing["dossier"] == "003GAR" and missing["healthy"] is False
    assert missing["error"].endswith("003GAR.sqlite does not exist."), missing


def test_one_named_dossier_keeps_its_answer(office: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One dossier named: the same answer as before (its JSON, its error and exit code)."""
    assert main(["--home", str(office), "--json", "check", "001"]) == 0
    assert json.loads(capsys.readouterr().out) == {"dossier": "001SOC", "healthy": True, "problems": []}
    assert main(["--home", str(office), "check", "003"]) != 0  # the missing file is the command's error
    assert "003GAR" in capsys.readouterr().err


def test_check_speaks_french(office: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(office), "--lang", "fr", "check", "--all"]) == 1
    out = capsys.readouterr().out
    assert "001SOC : aucun problème trouvé." in out and "003GAR : non contrôlé : " in out, out
    assert "3 dossier(s) contrôlé(s) : 1 sans problème, 2 avec problèmes ou non contrôlé(s)." in out, out


def test_a_filter_that_matches_nothing_is_no_error(office: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(office), "check", "--where", "500-599"]) == 0
    assert "No dossier matches --where 500-599: nothing to check." in capsys.readouterr().out
