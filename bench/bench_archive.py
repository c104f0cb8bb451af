"""Archive 7 of 10 fiscal years of a 1,000,000-line dossier, against a PBF export of the same
dossier in the same run (issue 6: goal <= 2x). Prints the ratio; append it to bench/RESULTS.md.

    .venv/bin/python bench/bench_archive.py [--lines 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
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
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="msde-bench-archive-"))
    try:
        home = work / "home"
        home.mkdir()
        out = work / "out"
        out.mkdir()
        path = home / "001SOC.sqlite"
        first = date.today().year - args.years + 1
        t0 = time.perf_counter()
        guid = demo.build_dossier(path, code="001SOC", company="Bench", years=args.years,
                                  lines=args.lines, first_year=first)
        print(f"demo dossier: {args.lines} lines in {time.perf_counter() - t0:.1f} s, "
              f"{path.stat().st_size / 1e6:.0f} MB")
        dossier = Catalog(home).add(Dossier(number="001", short="SOC", company="Bench",
                                            location=path.name, guid=guid))
        t0 = time.perf_counter()
        result = packwrite.export_package(dossier, home, out)
        pbf = time.perf_counter() - t0
        print(f"PBF export: {pbf:.2f} s ({result.size / 1e6:.1f} MB)")
        years = [str(first + i) for i in range(args.archive_years)]
        t0 = time.perf_counter()
        done = archive.archive_dossier(path, years, out)
        took = time.perf_counter() - t0
        lines = sum(y.lines for y in done.years)
        print(f"archive {len(years)} years ({lines} lines, write + verify + replace + checks): "
              f"{took:.2f} s ({done.size / 1e6:.1f} MB PAF)")
        print(f"ratio archive / PBF export: {took / pbf:.2f}x (goal <= 2x)")
        engine = ledger.open_engine(path)
        with engine.connect() as conn:
            statuses = [y.status for y in ledger.fiscal_years(conn)]
        engine.dispose()
        assert statuses.count("ARCHIVED") == args.archive_years
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
