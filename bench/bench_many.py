"""Backup + verify of many dossiers against a ``cp`` + ``sha256sum`` loop over the same files.

    .venv/bin/python bench/bench_many.py [--dossiers 200] [--lines 20000] [--size-mb 0] [--rounds 3]
                                         [--also OTHER_TREE]

Builds DOSSIERS demo dossiers (``--size-mb N`` pads each with attachments to N MB: the
"5 x 100 MB" case), then alternates, ROUNDS times: the baseline (a shell loop ``cp FILE D/ &&
sha256sum D/FILE`` over every dossier file) and ``msde backup <every dossier> --dir D`` (verify
on, the machine's default concurrency) run as a child process, start-up included, as a user
runs it. Prints both medians, the throughput ratio (baseline time / msde time) beside its goal
(>= 0.6x for many small dossiers, >= 0.8x for a few large ones), msde's CPU seconds and peak
RSS. ``--also TREE`` runs the msde of another source tree in every round as well (before/after
on the same files, in the same minutes).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.catalog import Catalog

MSDE = [sys.executable, "-c", "import sys; from msde_tui.cli import entry; sys.argv[0] = 'msde'; "
        "sys.exit(entry())"]


def pad(path: Path, size_mb: int) -> None:
    """Grow a dossier to ``size_mb`` with attachments (incompressible, like scans)."""
    with sqlite3.connect(path) as conn:
        entry_id = conn.execute("SELECT MIN(id) FROM entry").fetchone()[0]
        blob = os.urandom(256 * 1024)
        while path.stat().st_size < size_mb * 2**20:
            conn.executemany(
                "INSERT INTO attachment (entry_id, file_name, mime_type, content) VALUES (?, ?, ?, ?)",
                [(entry_id, "scan.pdf", "application/pdf", blob) for _ in range(64)],
            )
            conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def clean(out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()


def baseline(files: list[Path], out: Path) -> float:
    script = 'for f in "$@"; do cp "$f" "$0"/ && sha256sum "$0/${f##*/}" > /dev/null || exit 1; done'
    began = time.perf_counter()
    subprocess.run(["sh", "-c", script, str(out), *map(str, files)], check=True)
    return time.perf_counter() - began


def ours(home: Path, numbers: list[str], out: Path, tree: Path = ROOT) -> tuple[float, int, float]:
    """(wall seconds, peak RSS MB so far, CPU seconds of every thread) of one ``msde backup``
    run from the source tree ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run([*MSDE, "--home", str(home), "backup", *numbers, "--dir", str(out)],
                          env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"msde backup failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    backups = list(out.glob("*.sqlite.bak"))
    if len(backups) != len(numbers):
        raise SystemExit(f"{len(backups)} backups for {len(numbers)} dossiers")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, after.ru_maxrss // 1024, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=200)
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--size-mb", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--goal", type=float, default=None)
    parser.add_argument("--also", type=Path, default=None,
                        help="another source tree (e.g. a worktree of an older commit): its msde "
                             "runs in every round too, cold, for a before/after in the same script")
    args = parser.parse_args()
    goal = args.goal if args.goal is not None else (0.8 if args.size_mb >= 50 else 0.6)
    root = Path(tempfile.mkdtemp(prefix="msde-bench-many-"))
    try:
        home, out = root / "home", root / "out"
        home.mkdir()
        create_demo(home, dossiers=args.dossiers, lines=args.lines, years=3 if args.size_mb else 10)
        dossiers = Catalog(home).dossiers()
        files = [d.path(home) for d in dossiers]
        if args.size_mb:
            for path in files:
                pad(path, args.size_mb)
        for path in files:  # a dossier at rest: no WAL left beside it
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
        total = sum(p.stat().st_size for p in files)
        numbers = [d.number for d in dossiers]
        print(f"{len(files)} dossiers, {total / 1e6:.0f} MB, {args.rounds} rounds, "
              f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}", flush=True)
        memo = home / "integrity_checked.json"
        base_times, our_times, warm_times, cpus, rss = [], [], [], [], 0
        also_times: list[tuple[float, float]] = []
        for _ in range(args.rounds):
            clean(out)
            base_times.append(baseline(files, out))
            clean(out)
            memo.unlink(missing_ok=True)  # cold: every integrity_check runs
            elapsed, rss, cpu = ours(home, numbers, out)
            our_times.append(elapsed)
            cpus.append(cpu)
            clean(out)
            warm, rss2, _cpu = ours(home, numbers, out)  # the next night: nothing changed
            warm_times.append(warm)
            rss = max(rss, rss2)
            print(f"  round: cp+sha256sum {base_times[-1]:.2f} s, msde {elapsed:.2f} s "
                  f"({cpu:.2f} s CPU), msde again (unchanged dossiers) {warm:.2f} s, "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)
            if args.also is not None:
                clean(out)
                memo.unlink(missing_ok=True)
                other, _rss, other_cpu = ours(home, numbers, out, args.also.resolve())
                also_times.append((other, other_cpu))
                print(f"         msde of {args.also}: {other:.2f} s ({other_cpu:.2f} s CPU)", flush=True)
        b, o, w = (statistics.median(x) for x in (base_times, our_times, warm_times))
        print(f"cp + sha256sum loop:        {b:6.2f} s  {total / 1e6 / b:7.1f} MB/s")
        print(f"msde backup (+ verify):     {o:6.2f} s  {total / 1e6 / o:7.1f} MB/s  "
              f"({statistics.median(cpus):.2f} s CPU over {os.cpu_count()} cores)")
        print(f"  the same, dossiers unchanged since the last run: {w:6.2f} s "
              f"(ratio {b / w:.2f}x; integrity_check already done for those bytes)")
        ok = "met" if b / o >= goal else "NOT met"
        print(f"ratio (throughput msde / baseline): {b / o:.2f}x  (goal >= {goal}x: {ok}; "
              f"msde at the goal: <= {b / goal:.2f} s)")
        if also_times:
            a = statistics.median(t for t, _c in also_times)
            print(f"msde of {args.also}: {a:6.2f} s ({statistics.median(c for _t, c in also_times):.2f} s "
                  f"CPU), ratio {b / a:.2f}x")
        print(f"peak RSS of msde: {rss} MB  (goal <= 300 MB: {'met' if rss <= 300 else 'NOT met'})")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
