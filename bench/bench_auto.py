"""The automatic run's decision time over many dossiers, few of which changed.

    .venv/bin/python bench/bench_auto.py [--dossiers 500] [--changed 10] [--rounds 5]

Builds DOSSIERS small demo dossiers, takes their first verified backups with a real automatic
run (policy: on, keep 3, every day, 100 movements), runs it once more (nothing due: the
verified-hash cache is saved as in an hourly run), then adds 150 entries to CHANGED dossiers
and times ``run_auto(dry_run=True)`` an hour later, ROUNDS times: every dossier is decided
(movement counter + the newest backups' proofs) but nothing is written. The real runs keep
the movement counts of the dossiers they read (``<home>/auto/movements.json``), so an
unchanged dossier is not opened; ``--cold`` forgets them before each round. Prints the median decision
time for the whole list, the share of the unchanged ones, beside the goal (<= 1 s for 490
unchanged), and checks the decisions (CHANGED due, the others not).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.auto.policy import AutoConfig, Policy
from msde_tui.engine.auto.run import run_auto
from msde_tui.engine.catalog import Catalog


def add_entries(path: Path, count: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO entry SELECT id + 10000000, fiscal_year_id, journal_id, number + 10000000, "
            "entry_date, label, document_ref, document_date, kind, origin, valid_date FROM entry "
            f"ORDER BY id LIMIT {int(count)}"
        )
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=500)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one more round")
    parser.add_argument("--cold", action="store_true",
                        help="forget the movement counts kept by the real runs before each round "
                             "(every dossier is opened, as on the first run after an upgrade)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="msde-bench-auto-"))
    try:
        home = root / "home"
        home.mkdir()
        began = time.perf_counter()
        create_demo(home, dossiers=args.dossiers, lines=args.lines, years=2)
        config = AutoConfig(default=Policy(enabled=True, keep=3, every_days=1, max_movements=100,
                                           directory=str(root / "backups")))
        t0 = datetime.now().replace(microsecond=0)
        first = asyncio.run(run_auto(home, config=config, clock=lambda: t0))
        assert all(d.ok for d in first.dossiers), [d for d in first.dossiers if not d.ok][:3]
        asyncio.run(run_auto(home, config=config, clock=lambda: t0 + timedelta(minutes=30)))
        dossiers = Catalog(home).dossiers()
        changed = {d.code for d in dossiers[:: max(1, len(dossiers) // args.changed)][: args.changed]}
        for d in dossiers:
            if d.code in changed:
                add_entries(d.path(home), 150)
        print(f"{len(dossiers)} dossiers ({len(changed)} changed), set up in "
              f"{time.perf_counter() - began:.0f} s; {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
        times = []
        for _ in range(args.rounds):
            if args.cold:
                (home / "auto" / "movements.json").unlink(missing_ok=True)
            start = time.perf_counter()
            report = asyncio.run(run_auto(home, config=config, dry_run=True,
                                          clock=lambda: t0 + timedelta(hours=1)))
            times.append(time.perf_counter() - start)
            due = {d.code for d in report.dossiers if d.action == "backup"}
            assert due == changed, (sorted(due)[:5], sorted(changed)[:5])
            print(f"  round: {times[-1]:.3f} s", flush=True)
        if args.profile:
            import cProfile
            import pstats

            from msde_tui.engine.auto.records import VerifiedCache
            from msde_tui.engine.auto.targets import default_target

            profile = cProfile.Profile()  # the per-dossier work, in this thread (not to_thread)
            profile.enable()
            cache = VerifiedCache(home)
            for d in dossiers:
                target = default_target(home, d, config.effective(d.code), cache)
                target.look()  # type: ignore[attr-defined]  # what the decision reads
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(20)
        total = statistics.median(times)
        unchanged = len(dossiers) - len(changed)
        share = total * unchanged / len(dossiers)
        print(f"decision time, all {len(dossiers)} dossiers: {total:.3f} s (median of {args.rounds})")
        print(f"decision time for the {unchanged} unchanged: {share:.3f} s  "
              f"(goal <= 1 s: {'met' if share <= 1 else 'NOT met'})")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"peak RSS: {rss} MB (goal <= 300 MB: {'met' if rss <= 300 else 'NOT met'})")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
