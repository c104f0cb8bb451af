"""The CLI's lists at 80 and 60 columns: no value is cut, a long one wraps or folds whole
(``cli.common.listing``): ``msde list`` shows a long dossier file name in full."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.catalog import Catalog

LONG = "Lambert_Fils_archive_of_the_years_before_the_merger.sqlite"
COMPANY = "Lambert & Fils (avant la fusion de 2019)"


def _msde(home: Path, columns: int, *argv: str) -> str:
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1", "LANGUAGE": "fr"}
    return subprocess.run(
        [sys.executable, "-c", "from msde_tui.cli import entry; entry()", "--home", str(home), *argv],
        capture_output=True, text=True, env=env, check=True, timeout=120,
    ).stdout


def _column(out: str, header: str, next_header: str) -> list[str]:
    """The cells of one column, line by line (its header's place to the next header's)."""
    lines = out.splitlines()
    start, end = lines[0].index(header), lines[0].index(next_header)
    return [line[start:end].strip() for line in lines[1:]]


@pytest.mark.parametrize("columns", [80, 60])
def test_the_dossier_list_shows_a_long_location_whole(home: Path, tmp_path: Path, columns: int) -> None:
    other = tmp_path / "other"
    create_demo(other, dossiers=1, years=2, lines=10)  # a dossier of its own (its own identity)
    shutil.copy(Catalog(other).dossiers()[0].path(other), home / LONG)
    _msde(home, 80, "add", "--short", "LAM", "--company", COMPANY, "--file", LONG)
    out = _msde(home, columns, "list")
    assert max(len(line) for line in out.splitlines()) <= columns, out
    assert "…" not in out, out
    assert "".join(_column(out, "Emplacement", "Statut")) == LONG, out  # folded, every letter there
    assert " ".join(" ".join(_column(out, "Société", "Type")).split()) == COMPANY, out
