"""The archive's trial balances summed from the rows it reads equal SQLite's (ledger)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from msde_tui.engine.accounting import ledger
from msde_tui.engine.lifecycle.paf import PAF_SCHEMA
from msde_tui.engine.lifecycle.trialsums import TrialSums
from msde_tui.engine.tables.database import Database
from tests.dossier_files import demo_file


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_file(tmp_path_factory.mktemp("tpl"), years=3)


def summed(path: Path, batch_rows: int) -> tuple[dict, dict]:
    engine = ledger.open_engine(path)
    try:
        with engine.connect() as conn:
            sums = TrialSums()
            with Database.open_sqlite(path, readonly=True) as db:
                db.begin()
                for batch in db.read(PAF_SCHEMA.table("entry"), batch_rows=batch_rows):
                    sums.entries(batch)
                for batch in db.read(PAF_SCHEMA.table("entry_line"), batch_rows=batch_rows):
                    sums.lines(batch)
            return sums.balances(conn), ledger.trial_balances(conn)
    finally:
        engine.dispose()


def test_sums_from_the_rows_read_equal_sqlites(template: Path, tmp_path: Path) -> None:
    """SIMULATION entries left out, third parties kept on collective accounts only, a line
    whose entry does not exist counted nowhere (SQL's inner join), whatever the batch size."""
    path = tmp_path / "d.sqlite"
    shutil.copy(template, path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE entry SET kind = 'SIMULATION' WHERE id IN (SELECT id FROM entry ORDER BY id LIMIT 3)")
    conn.execute("INSERT INTO entry_line (id, entry_id, line_no, account_id, debit, credit) "
                 "SELECT max(id) + 1, 999999, 1, 1, 500, 0 FROM entry_line")  # foreign keys off here
    conn.commit()
    conn.close()
    for batch_rows in (97, 32_768):
        arrow, sql = summed(path, batch_rows)
        assert arrow == sql and len(sql) == 3
        assert sum(len(lines) for lines in sql.values()) > 50
