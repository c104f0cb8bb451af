from __future__ import annotations

import sqlite3
from pathlib import Path

from msde_tui.engine import schema
from msde_tui.engine.demo import build_dossier


def _dump(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        return {
            t.name: conn.execute(f"SELECT * FROM {t.name} ORDER BY 1").fetchall()
            for t in schema.TABLES
        }
    finally:
        conn.close()


def test_same_seed_same_rows_other_seed_other_rows(tmp_path: Path) -> None:
    a = build_dossier(tmp_path / "a.sqlite", code="001SOC", company="A", years=3, lines=600,
                      seed=7, first_year=2020)
    b = build_dossier(tmp_path / "b.sqlite", code="001SOC", company="A", years=3, lines=600,
                      seed=7, first_year=2020)
    c = build_dossier(tmp_path / "c.sqlite", code="001SOC", company="A", years=3, lines=600,
                      seed=8, first_year=2020)
    assert a == b != c
    rows_a, rows_b, rows_c = (_dump(tmp_path / f"{x}.sqlite") for x in "abc")
    assert rows_a == rows_b
    assert rows_a["entry_line"] != rows_c["entry_line"]
    assert 500 <= len(rows_a["entry_line"]) <= 800
