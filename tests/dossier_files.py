"""Helpers for tests on embedded dossier files: rows, trial balances, integrity problems."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from msde_tui.engine.accounting import demo, ledger
from msde_tui.engine.accounting.check import check_dossier

# Every accounting table of a dossier, in foreign-key order (dossier_info apart).
ACCOUNTING_TABLES = ("fiscal_year", "account", "third_party", "journal", "vat_code", "entry",
                     "entry_line", "attachment")


def dump(path: Path) -> dict[str, list[tuple]]:
    """Every row of dossier_info and the accounting tables, by id."""
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
                for t in ("dossier_info", *ACCOUNTING_TABLES)}
    finally:
        conn.close()


def dump_all(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table (any SQLite file), in rowid order; opened read-only."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {n: conn.execute(f'SELECT * FROM "{n}" ORDER BY rowid').fetchall() for n in names}
    finally:
        conn.close()


def balances(path: Path) -> dict[str, list[tuple]]:
    """The trial balance of every fiscal year (ledger.all_trial_balances)."""
    engine = ledger.open_engine(path)
    try:
        with engine.connect() as conn:
            return ledger.all_trial_balances(conn)
    finally:
        engine.dispose()


def statuses(path: Path) -> list[str]:
    """Each fiscal year's status (OPEN, CLOSED, ARCHIVED...), oldest first."""
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT status FROM fiscal_year ORDER BY start_date")]
    finally:
        conn.close()


def problems(path: Path) -> list:
    """What check_dossier finds wrong (empty: healthy)."""
    conn = sqlite3.connect(path)
    try:
        return list(check_dossier(conn))
    finally:
        conn.close()


def demo_file(directory: Path, *, years: int) -> Path:
    """``directory/001SOC.sqlite``: a demo dossier of ``years`` years from 2015, 2400 lines."""
    path = directory / "001SOC.sqlite"
    demo.build_dossier(path, code="001SOC", company="Soc", years=years, lines=2400, first_year=2015)
    return path


def masked(path: Path) -> Path:
    """A copy of the dossier file at ``path`` whose own identity (``dossier_info`` GUID and code)
    is blanked: a copy that became another dossier has its own (docs/OPERATIONS.md "Dossier
    identity"), every other byte of its rows must still equal the original's."""
    import tempfile

    target = Path(tempfile.mkdtemp(prefix="msde-masked-")) / Path(path).name
    source = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)
        dest.execute("PRAGMA journal_mode=DELETE")
        with contextlib.suppress(sqlite3.OperationalError):  # no dossier_info: nothing to blank
            with dest:
                dest.execute("UPDATE dossier_info SET guid = '-', code = '-'")
    finally:
        dest.close()
        source.close()
    return target
