"""Archive 7 of 10 fiscal years of a 1,000,000-line dossier, against a PBF export of the same
dossier in the same run (issue 16: goal <= 2x). Runs alternate (PBF export, archive, on a fresh
copy each time); the median of each and their ratio are printed beside the goal, with the load
average and the peak RSS. Append the figures to bench/RESULTS.md.

    .venv/bin/python bench/bench_archive.py [--lines 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from msde_tui.engine.accounting import demo, ledger
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.lifecycle import archive
from msde_tui.engine.packs import packwrite


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--archive-years", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="msde-bench-archive-"))
    try:
        model = work / "model.sqlite"
        first = date.today().year - args.years + 1
        t0 = time.perf_counter()
        guid = demo.build_dossier(model, code="001SOC", company="Bench", years=args.years,
                                  lines=args.lines, first_year=first)
        print(f"demo dossier: {args.lines} lines in {time.perf_counter() - t0:.1f} s, "
              f"{model.stat().st_size / 1e6:.0f} MB")
        years = [str(first + i) for i in range(args.archive_years)]
        exports: list[float] = []
        archives: list[float] = []
        for run in range(args.runs):
            home = work / f"home{run}"
            home.mkdir()
            out = work / f"out{run}"
            out.mkdir()
            path = home / "001SOC.sqlite"
            shutil.copy(model, path)
            dossier = Catalog(home).add(Dossier(number="001", short="SOC", company="Bench",
                                                location=path.name, guid=guid))
            t0 = time.perf_counter()
            result = packwrite.export_package(dossier, home, out)
            exports.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            done = archive.archive_dossier(path, years, out)
            archives.append(time.perf_counter() - t0)
            lines = sum(y.lines for y in done.years)
            print(f"run {run + 1}: PBF export {exports[-1]:.2f} s ({result.size / 1e6:.1f} MB), archive "
                  f"{len(years)} years ({lines} lines, write + verify + replace + checks) {archives[-1]:.2f} s "
                  f"({done.size / 1e6:.1f} MB PAF), ratio {archives[-1] / exports[-1]:.2f}x; "
                  f"load {os.getloadavg()[0]:.1f}")
            engine = ledger.open_engine(path)
            with engine.connect() as conn:
                statuses = [y.status for y in ledger.fiscal_years(conn)]
            engine.dispose()
            assert statuses.count("ARCHIVED") == args.archive_years
            shutil.rmtree(home)
            shutil.rmtree(out)
        pbf, arc = statistics.median(exports), statistics.median(archives)
        print(f"median of {args.runs}: PBF export {pbf:.2f} s, archive {arc:.2f} s")
        print(f"ratio archive / PBF export: {arc / pbf:.2f}x (goal <= 2x)")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this process, the demo build included: {peak:.0f} MB (goal <= 300 MB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
