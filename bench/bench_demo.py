"""Demo generator speed: ``build_dossier`` and ``msde demo`` vs baselines, side by side.

    .venv/bin/python bench/bench_demo.py [--lines 2000000] [--years 10] [--rounds 1]
        [--baseline-lines N] [--previous REV] [--no-cli]

1. ``build_dossier`` creates a dossier of ``--lines`` entry lines: wall and CPU time, and the
   per-step breakdown it reports (``timings=``). Repeated ``--rounds`` times (best kept), with
   the load average printed, since the machine is shared.
2. The real CLI path, ``msde --home TMP demo --dossiers 1 --lines N`` in a child process
   (Python start-up and imports included; CPU from the child's rusage).
3. ``--previous REV``: the generator as it was at git revision REV (``git show``), same
   arguments, same script: the before/after ratio.
4. Baseline: the entries and lines of the generated dossier (up to ``--baseline-lines``,
   default all) read into memory, then inserted into a fresh dossier with SQLAlchemy Core
   (``conn.execute(table.insert(), rows)``, one transaction). Only the insert is timed: the
   baseline does not even generate data.
5. ``check_dossier`` on the generated dossier (timed, per check).
Goal: >= 200,000 lines/s (wall) for 2,000,000 lines.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from msde_tui.engine.accounting import (
    check,  # noqa: E402
    schema,  # noqa: E402
)
from msde_tui.engine.accounting.demo import build_dossier  # noqa: E402
from msde_tui.engine.backends.embedded.dossier import create_dossier, sa_engine  # noqa: E402

GOAL = 200_000


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def _count(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        lines = conn.execute("SELECT COUNT(*) FROM entry_line").fetchone()[0]
        entries = conn.execute("SELECT COUNT(*) FROM entry").fetchone()[0]
    finally:
        conn.close()
    return lines, entries


def _previous_demo(rev: str) -> ModuleType:
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:msde_tui/engine/accounting/demo.py"],
                            check=True, capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader(f"demo_{rev}", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, f"demo.py@{rev}", "exec"), module.__dict__)  # noqa: S102 - our own file
    return module


def bench_build(tmp: Path, args: argparse.Namespace) -> tuple[Path, float]:
    best: tuple[float, float, dict[str, float], Path] | None = None
    for round_no in range(1, args.rounds + 1):
        path = tmp / f"build{round_no}" / "001SOC.sqlite"
        path.parent.mkdir()
        steps: dict[str, float] = {}
        print(f"build_dossier round {round_no} ({_load()})")

        def build(path: Path = path, steps: dict[str, float] = steps) -> str:
            return build_dossier(path, code="001SOC", company="Bench", years=args.years,
                                 lines=args.lines, seed=1, timings=steps)

        _, wall, cpu = _timed(build)
        lines, entries = _count(path)
        print(f"  {lines:,} lines, {entries:,} entries, {path.stat().st_size / 1e6:.0f} MB "
              f"in {wall:.2f} s wall ({cpu:.2f} s CPU) = {lines / wall:,.0f} lines/s wall, "
              f"{lines / cpu:,.0f} lines/s of CPU")
        if best is None or wall < best[0]:
            best = (wall, cpu, steps, path)
    assert best is not None
    wall, cpu, steps, path = best
    print("  where the time goes (best round, wall seconds per step, all years):")
    for step, seconds in sorted(steps.items(), key=lambda kv: -kv[1]):
        print(f"    {seconds:6.2f} s  {seconds / wall:5.1%}  {step}")
    lines, _ = _count(path)
    rate = lines / wall
    print(f"build_dossier best: {lines:,} lines in {wall:.2f} s wall ({cpu:.2f} s CPU) = "
          f"{rate:,.0f} lines/s (goal >= {GOAL:,}: {'met' if rate >= GOAL else 'NOT met'})")
    return path, rate


def bench_cli(tmp: Path, args: argparse.Namespace) -> None:
    home = tmp / "cli-home"
    script = Path(sys.executable).with_name("msde")
    command = [str(script)] if script.exists() else [
        sys.executable, "-c", "import sys; from msde_tui.cli import main; sys.exit(main())"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"msde demo ({_load()})")
    start = time.perf_counter()
    subprocess.run([*command, "--home", str(home), "demo", "--dossiers", "1", "--years",
                    str(args.years), "--lines", str(args.lines)], check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines, _ = _count(home / "001SOC.sqlite")
    print(f"msde demo --dossiers 1 --lines {args.lines}: {lines:,} lines in {wall:.2f} s wall "
          f"({cpu:.2f} s CPU, start-up included) = {lines / wall:,.0f} lines/s")


def bench_previous(tmp: Path, args: argparse.Namespace, new_rate: float) -> None:
    module = _previous_demo(args.previous)
    path = tmp / "previous" / "001SOC.sqlite"
    path.parent.mkdir()
    print(f"previous generator ({args.previous}) ({_load()})")
    _, wall, cpu = _timed(lambda: module.build_dossier(
        path, code="001SOC", company="Bench", years=args.years, lines=args.lines, seed=1))
    lines, entries = _count(path)
    rate = lines / wall
    print(f"previous build_dossier: {lines:,} lines, {entries:,} entries in {wall:.2f} s wall "
          f"({cpu:.2f} s CPU) = {rate:,.0f} lines/s; now {new_rate / rate:.1f}x faster")


def bench_baseline(tmp: Path, path: Path, args: argparse.Namespace, rate: float) -> None:
    conn = sqlite3.connect(path)
    total = conn.execute("SELECT COUNT(*) FROM entry_line").fetchone()[0]
    limit = args.baseline_lines or total
    cols_e = [c.name for c in schema.entry.columns]
    cols_l = [c.name for c in schema.entry_line.columns]
    line_rows = [dict(zip(cols_l, r, strict=True)) for r in conn.execute(
        "SELECT * FROM entry_line ORDER BY id LIMIT ?", (limit,))]
    last_entry = line_rows[-1]["entry_id"] if line_rows else 0
    entry_rows = [dict(zip(cols_e, r, strict=True)) for r in conn.execute(
        "SELECT * FROM entry WHERE id <= ? ORDER BY id", (last_entry,))]
    small = {t.name: [dict(zip([c.name for c in t.columns], r, strict=True))
                      for r in conn.execute(f"SELECT * FROM {t.name}")]  # noqa: S608
             for t in (schema.fiscal_year, schema.account, schema.third_party,
                       schema.journal, schema.vat_code)}
    conn.close()
    # Core's Date type wants date objects: convert outside the timed part
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

    other = tmp / "002REF.sqlite"
    create_dossier(other, code="002REF", name="REF", company="Baseline")
    engine = sa_engine(other)

    def baseline() -> None:
        with engine.begin() as sa_conn:
            for name, rows in small.items():
                sa_conn.execute(schema.metadata.tables[name].insert(), rows)
            sa_conn.execute(schema.entry.insert(), entry_rows)
            sa_conn.execute(schema.entry_line.insert(), line_rows)

    print(f"baseline ({_load()})")
    _, b_wall, b_cpu = _timed(baseline)
    engine.dispose()
    b_rate = len(line_rows) / b_wall
    print(f"baseline (SQLAlchemy Core insert of the same rows): {len(line_rows):,} lines, "
          f"{len(entry_rows):,} entries in {b_wall:.2f} s wall ({b_cpu:.2f} s CPU) = "
          f"{b_rate:,.0f} lines/s")
    print(f"ratio: build_dossier is {rate / b_rate:.1f}x the baseline's rate")


def bench_check(path: Path) -> None:
    conn = sqlite3.connect(path)
    print(f"check_dossier ({_load()})")
    try:
        problems, wall, cpu = _timed(lambda: check.check_dossier(conn))
        print(f"check_dossier: {len(problems)} problem(s) in {wall:.2f} s wall ({cpu:.2f} s CPU)")
        with check._runner(conn) as run:
            for step in (check._bad_amounts, check._unbalanced, check._empty_entries,
                         check._outside_year, check._dangling, check._numbering,
                         check._opening):
                _, s_wall, s_cpu = _timed(lambda: step(run))  # noqa: B023 - called at once
                print(f"    {s_wall:6.2f} s wall ({s_cpu:.2f} s CPU)  {step.__name__}")
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1, help="build_dossier runs (best kept)")
    parser.add_argument("--baseline-lines", type=int, default=0, help="0 = all the lines")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-cli", action="store_true")
    parser.add_argument("--no-check", action="store_true")
    parser.add_argument("--previous", metavar="REV", help="also run demo.py as of git REV")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp_name:
        tmp = Path(tmp_name)
        path, rate = bench_build(tmp, args)
        if not args.no_cli:
            bench_cli(tmp, args)
        if args.previous:
            bench_previous(tmp, args, rate)
        if not args.no_baseline:
            bench_baseline(tmp, path, args, rate)
        if not args.no_check:
            bench_check(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
