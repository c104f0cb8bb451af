"""PBF/PTF benchmark against its baselines, side by side in one script.

    .venv/bin/python bench/bench_pack.py [--lines 1000000] [--years 10]

Measures on one demo dossier:
  export: PBF (msde) vs `sqlite3 DOSSIER .dump | zstd -3`          (time and size)
  import: PBF import (msde) vs `zstd -dc DUMP | sqlite3 NEW`       (time)
  PTF:    after changing 1 % of the entry lines (two patterns: the most recent lines, and
          lines spread at random), PTF size vs the PBF's
  peak RSS of the msde steps (each run in a child process).
Prints every ratio; goals from issue 5 are shown beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

STEP = r"""
import json, resource, sys, time
from pathlib import Path
from datetime import datetime
from msde_tui.engine.packs import packimport, packwrite
from msde_tui.engine.catalog import Catalog
home, out, what, arg = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
start = time.perf_counter()
if what == "export":
    r = packwrite.export_package(Catalog(home).get("001"), home, out, partial=arg == "partial",
                            now=datetime.now())
    result = {"file": str(r.path), "size": r.size, "kind": r.kind}
else:
    d = packimport.import_package(Path(arg), home, number="900")
    result = {"dossier": d.code}
result["seconds"] = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
result["cpu"] = usage.ru_utime + usage.ru_stime
result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


FLOOR = r"""
import sys, time
import adbc_driver_sqlite.dbapi as adbc
import pyarrow.parquet as pq
src, out = sys.argv[1], sys.argv[2]
start = time.perf_counter()
conn = adbc.connect("file:" + src + "?mode=ro")
cur = conn.cursor()
cur.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
tables = [r[0] for r in cur.fetchall()]
for i, name in enumerate(tables):
    cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": "32768"})
    cur.execute(f'SELECT * FROM "{name}"')
    reader = cur.fetch_record_batch()
    with pq.ParquetWriter(f"{out}/{i}.parquet", reader.schema, compression="zstd", compression_level=3) as w:
        for batch in reader:
            w.write_batch(batch)
cur.close()
conn.close()
print(time.perf_counter() - start)
"""


def run_step(home: Path, out: Path, what: str, arg: str) -> dict[str, float | str]:
    proc = subprocess.run([sys.executable, "-c", STEP, str(home), str(out), what, arg],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


CPU: dict[str, float] = {}


def timed_shell(command: str, name: str) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(["bash", "-c", command], check=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[name] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3, help="exports and baselines, alternated; medians")
    args = parser.parse_args()
    from msde_tui.engine.accounting.demo import create_demo

    root = Path(tempfile.mkdtemp(prefix="bench-pack-"))
    home, out = root / "home", root / "out"
    home.mkdir()
    out.mkdir()
    try:
        t = time.perf_counter()
        [dossier] = create_demo(home, dossiers=1, years=args.years, lines=args.lines)
        print(f"demo dossier: {args.lines:,} lines, built in {time.perf_counter() - t:.1f}s")
        src = home / dossier.location
        conn = sqlite3.connect(src)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        total_lines = conn.execute("SELECT COUNT(*) FROM entry_line").fetchone()[0]
        conn.close()
        dump = root / "dump.sql.zst"
        base_times, floor_times, pbfs = [], [], []
        for run in range(args.runs):  # alternated, so a busy moment hits both sides
            dump.unlink(missing_ok=True)
            base_times.append(timed_shell(f"sqlite3 '{src}' .dump | zstd -q -3 -o '{dump}'", "export"))
            run_out = out / f"run{run}"
            run_out.mkdir()
            pbfs.append(run_step(home, run_out, "export", "full"))
            floor_out = root / f"floor{run}"
            floor_out.mkdir()
            floor = subprocess.run([sys.executable, "-c", FLOOR, str(src), str(floor_out)],
                                   capture_output=True, text=True, check=True)
            floor_times.append(float(floor.stdout.strip()))
            shutil.rmtree(floor_out)
        base_export = statistics.median(base_times)
        base_size = dump.stat().st_size
        pbf = sorted(pbfs, key=lambda step: float(step["seconds"]))[len(pbfs) // 2]  # the median run
        restored = root / "restored.sqlite"
        base_import = timed_shell(f"zstd -dc '{dump}' | sqlite3 '{restored}'", "import")
        imp = run_step(home, out, "import", str(pbf["file"]))

        rows = []

        def ratio(name: str, mine: float, base: float, goal: str) -> None:
            rows.append((name, mine, base, mine / base if base else float("nan"), goal))

        ratio("export time (s)", float(pbf["seconds"]), base_export, "<= 0.8")
        ratio("export size (MB)", int(pbf["size"]) / 1e6, base_size / 1e6, "<= 0.6")
        ratio("import time (s)", float(imp["seconds"]), base_import, "<= 0.5")

        changed = max(1, total_lines // 100)
        conn = sqlite3.connect(src)
        conn.execute(
            "UPDATE entry_line SET label = COALESCE(label, '') || ' (corrigé)' WHERE id IN "
            "(SELECT id FROM entry_line ORDER BY id DESC LIMIT ?)", (changed,))
        conn.commit()
        conn.close()
        ptf_recent = run_step(home, out, "export", "partial")
        ids = random.Random(1).sample(range(1, total_lines + 1), changed)
        conn = sqlite3.connect(src)
        conn.executemany("UPDATE entry_line SET label = COALESCE(label, '') || ' (r)' WHERE id = ?",
                         [(i,) for i in ids])
        conn.commit()
        conn.close()
        ptf_random = run_step(home, out, "export", "partial")
        ratio("PTF size, 1 % most recent lines (MB)", int(ptf_recent["size"]) / 1e6, int(pbf["size"]) / 1e6, "<= 0.05")
        ratio("PTF size, 1 % random lines (MB)", int(ptf_random["size"]) / 1e6, int(pbf["size"]) / 1e6, "<= 0.05")
        ratio("PTF time, 1 % random (s) vs PBF", float(ptf_random["seconds"]), float(pbf["seconds"]), "-")
        rss = max(float(s["rss_mb"]) for s in (pbf, imp, ptf_recent, ptf_random))

        print(f"\n{datetime.now():%Y-%m-%d %H:%M}, {total_lines:,} entry lines, python {sys.version.split()[0]}")
        print(f"{'measure':40} {'msde':>10} {'baseline':>10} {'ratio':>7}  goal")
        for name, mine, base, r, goal in rows:
            print(f"{name:40} {mine:10.2f} {base:10.2f} {r:7.3f}  {goal}")
        print(f"{'peak RSS of the msde steps (MB)':40} {rss:10.0f} {'':>10} {'':>7}  <= 300")
        mine_runs = " ".join(f"{float(step['seconds']):.2f}" for step in pbfs)
        base_runs = " ".join(f"{t:.2f}" for t in base_times)
        print(f"export runs (s): msde {mine_runs}; baseline {base_runs}")
        floor = statistics.median(floor_times)
        print(f"reference: bare ADBC -> Parquet zstd-3, one thread, no digests/checks/verification: "
              f"{floor:.2f} s = {floor / base_export:.3f} x the baseline")
        for name, step in (("export", pbf), ("import", imp), ("PTF recent", ptf_recent), ("PTF random", ptf_random)):
            base_cpu = CPU.get(name)
            vs = f", baseline CPU {base_cpu:.2f} s" if base_cpu is not None else ""
            print(f"  {name}: wall {float(step['seconds']):.2f} s, CPU {float(step.get('cpu', 0)):.2f} s{vs}, "
                  f"peak RSS {float(step['rss_mb']):.0f} MB")
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"(bench process RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
