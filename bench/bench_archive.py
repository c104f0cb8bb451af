"""Archive 7 of 10 fiscal years of a 1,000,000-line dossier, against a PBF export of the same
dossier in the same run (issue 16: goal <= 2x). Runs alternate (PBF export, archive, each on a
fresh copy of the dossier); the median of each and their ratio are printed beside the goal, with
the load average, the CPU seconds and each operation's own peak RSS (goal <= 300 MB).

The demo dossier is built in a process of its own, and each operation runs in a fresh process
(as ``msde pack`` or ``msde archive`` would), timed from its call to its return: the peak RSS
of that process is the operation's, imports included, the demo build's not. Append the figures
to bench/RESULTS.md.

    .venv/bin/python bench/bench_archive.py [--lines 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

RATIO_GOAL = 2.0
RSS_GOAL = 300  # MB


def _build(model: Path, lines: int, years: int, first: int) -> None:
    from msde_tui.engine.accounting import demo

    t0 = time.perf_counter()
    guid = demo.build_dossier(model, code="001SOC", company="Bench", years=years, lines=lines, first_year=first)
    model.with_suffix(".guid").write_text(guid)
    print(f"demo dossier: {lines} lines in {time.perf_counter() - t0:.1f} s, {model.stat().st_size / 1e6:.0f} MB",
          flush=True)


def _operation(op: str, path: Path, out: Path, guid: str, years: list[str]) -> None:
    """One operation in this (fresh) process; its figures as one JSON line on stdout."""
    from msde_tui.engine.accounting import ledger
    from msde_tui.engine.catalog import Catalog, Dossier
    from msde_tui.engine.lifecycle import archive
    from msde_tui.engine.packs import packwrite

    home = path.parent
    dossier = Catalog(home).add(Dossier(number="001", short="SOC", company="Bench", location=path.name, guid=guid))
    wall, cpu = time.perf_counter(), time.process_time()
    if op == "export":
        result = packwrite.export_package(dossier, home, out)
        size, lines = result.size, 0
    else:
        done = archive.archive_dossier(path, years, out)
        size, lines = done.size, sum(y.lines for y in done.years)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if op == "archive":
        engine = ledger.open_engine(path)
        with engine.connect() as conn:
            statuses = [y.status for y in ledger.fiscal_years(conn)]
        engine.dispose()
        assert statuses.count("ARCHIVED") == len(years), statuses
    print(json.dumps({"wall": wall, "cpu": cpu, "rss": peak, "size": size, "lines": lines}))


def _child(*args: str) -> dict[str, float]:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{args[0]} failed:\n{proc.stderr[-4000:]}")
    if args[0] == "build":
        print(proc.stdout, end="")
        return {}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--archive-years", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    first = date.today().year - args.years + 1
    years = [str(first + i) for i in range(args.archive_years)]
    if args.child:
        op, *rest = args.child
        if op == "build":
            _build(Path(rest[0]), args.lines, args.years, first)
        else:
            _operation(op, Path(rest[0]), Path(rest[1]), rest[2], years)
        return
    work = Path(tempfile.mkdtemp(prefix="msde-bench-archive-"))
    try:
        model = work / "model.sqlite"
        _child("build", str(model), "--lines", str(args.lines), "--years", str(args.years))
        guid = model.with_suffix(".guid").read_text()
        figures: dict[str, list[dict[str, float]]] = {"export": [], "archive": []}
        for run in range(args.runs):
            said = []
            for op in ("export", "archive"):
                home, out = work / f"home-{op}", work / f"out-{op}"
                home.mkdir()
                out.mkdir()
                path = home / "001SOC.sqlite"
                shutil.copy(model, path)
                done = _child(op, str(path), str(out), guid, "--years", str(args.years),
                              "--archive-years", str(args.archive_years))
                figures[op].append(done)
                said.append(f"{'PBF export' if op == 'export' else 'archive'} {done['wall']:.2f} s "
                            f"(CPU {done['cpu']:.2f} s, {done['size'] / 1e6:.1f} MB, RSS {done['rss']:.0f} MB)")
                shutil.rmtree(home)
                shutil.rmtree(out)
            lines = int(figures["archive"][-1]["lines"])
            ratio = figures["archive"][-1]["wall"] / figures["export"][-1]["wall"]
            print(f"run {run + 1}: {said[0]}; {said[1]} for {len(years)} years, {lines} lines; "
                  f"ratio {ratio:.2f}x; load {os.getloadavg()[0]:.1f}", flush=True)
        med = {op: {k: statistics.median(f[k] for f in runs) for k in ("wall", "cpu")} for op, runs in figures.items()}
        peak = {op: max(f["rss"] for f in runs) for op, runs in figures.items()}
        ratio = med["archive"]["wall"] / med["export"]["wall"]
        print(f"median of {args.runs}: PBF export {med['export']['wall']:.2f} s (CPU {med['export']['cpu']:.2f} s), "
              f"archive {med['archive']['wall']:.2f} s (CPU {med['archive']['cpu']:.2f} s); "
              f"load {os.getloadavg()[0]:.1f}")
        print(f"ratio archive / PBF export: {ratio:.2f}x (goal <= {RATIO_GOAL:g}x: "
              f"{'met' if ratio <= RATIO_GOAL else 'NOT met'})")
        worst = max(peak.values())
        print(f"peak RSS of each operation's own process: PBF export {peak['export']:.0f} MB, archive "
              f"{peak['archive']:.0f} MB (goal <= {RSS_GOAL} MB: {'met' if worst <= RSS_GOAL else 'NOT met'})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
