"""Demo generator speed: ``build_dossier`` vs a plain SQLAlchemy Core insert of the same rows.

    .venv/bin/python bench/bench_demo.py [--lines 2000000] [--years 10] [--baseline-lines N]

1. ``build_dossier`` creates a dossier of ``--lines`` entry lines (timed, wall and CPU).
2. Baseline, same script, same rows: the entries and lines of that dossier (up to
   ``--baseline-lines`` lines, default all) are read into memory, then inserted into a fresh
   dossier with SQLAlchemy Core (``conn.execute(table.insert(), rows)``, one transaction,
   default WAL settings). Only the insert is timed: the baseline does not even generate data.
3. ``check_dossier`` on the generated dossier (timed).
Prints lines/s of both and the ratio. Goal: >= 200,000 lines/s for 2,000,000 lines.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from msde_tui.engine import schema  # noqa: E402
from msde_tui.engine.check import check_dossier  # noqa: E402
from msde_tui.engine.demo import build_dossier  # noqa: E402
from msde_tui.engine.embedded import create_dossier, sa_engine  # noqa: E402


def _timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--baseline-lines", type=int, default=0, help="0 = all the lines")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        path = Path(tmp) / "001SOC.sqlite"
        _, wall, cpu = _timed(lambda: build_dossier(
            path, code="001SOC", company="Bench", years=args.years, lines=args.lines, seed=1))
        conn = sqlite3.connect(path)
        lines = conn.execute("SELECT COUNT(*) FROM entry_line").fetchone()[0]
        entries = conn.execute("SELECT COUNT(*) FROM entry").fetchone()[0]
        size = path.stat().st_size
        rate = lines / wall
        print(f"build_dossier: {lines:,} lines, {entries:,} entries, {size / 1e6:.0f} MB "
              f"in {wall:.2f} s wall ({cpu:.2f} s CPU) = {rate:,.0f} lines/s")

        limit = args.baseline_lines or lines
        cols_e = [c.name for c in schema.entry.columns]
        cols_l = [c.name for c in schema.entry_line.columns]
        line_rows = [dict(zip(cols_l, r, strict=True)) for r in conn.execute(
            "SELECT * FROM entry_line ORDER BY id LIMIT ?", (limit,))]
        last_entry = line_rows[-1]["entry_id"] if line_rows else 0
        entry_rows = [dict(zip(cols_e, r, strict=True)) for r in conn.execute(
            "SELECT * FROM entry WHERE id <= ? ORDER BY id", (last_entry,))]
        small = {t.name: [dict(zip([c.name for c in t.columns], r, strict=True))
                          for r in conn.execute(f"SELECT * FROM {t.name}")]
                 for t in (schema.fiscal_year, schema.account, schema.third_party,
                           schema.journal, schema.vat_code)}
        conn.close()
        # Core's Date type wants date objects: convert outside the timed part
        from datetime import date
        for row in entry_rows:
            for key in ("entry_date", "document_date", "valid_date"):
                if row[key]:
                    row[key] = date.fromisoformat(row[key])
        for row in line_rows:
            if row["letter_date"]:
                row["letter_date"] = date.fromisoformat(row["letter_date"])
        for row in small["fiscal_year"]:
            row["start_date"] = date.fromisoformat(row["start_date"])
            row["end_date"] = date.fromisoformat(row["end_date"])

        other = Path(tmp) / "002REF.sqlite"
        create_dossier(other, code="002REF", name="REF", company="Baseline")
        engine = sa_engine(other)

        def baseline() -> None:
            with engine.begin() as sa_conn:
                for name, rows in small.items():
                    sa_conn.execute(schema.metadata.tables[name].insert(), rows)
                sa_conn.execute(schema.entry.insert(), entry_rows)
                sa_conn.execute(schema.entry_line.insert(), line_rows)

        _, b_wall, b_cpu = _timed(baseline)
        engine.dispose()
        b_rate = len(line_rows) / b_wall
        print(f"baseline (SQLAlchemy Core insert of the same rows): {len(line_rows):,} lines, "
              f"{len(entry_rows):,} entries in {b_wall:.2f} s wall ({b_cpu:.2f} s CPU) = "
              f"{b_rate:,.0f} lines/s")
        print(f"ratio: build_dossier is {rate / b_rate:.1f}x the baseline's rate "
              f"(goal >= 200,000 lines/s: {'met' if rate >= 200_000 else 'NOT met'})")

        conn = sqlite3.connect(path)
        problems, c_wall, c_cpu = _timed(lambda: check_dossier(conn))
        conn.close()
        print(f"check_dossier: {len(problems)} problem(s) in {c_wall:.2f} s wall "
              f"({c_cpu:.2f} s CPU)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
