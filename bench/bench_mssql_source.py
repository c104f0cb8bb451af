"""SQL Server as a source: msde's PBF export from a SQL Server dossier against the driver's
bare fetch of the same rows, both through the TDS double (tests/tdsdouble, real pymssql).

    .venv/bin/python bench/bench_mssql_source.py [--lines 100000] [--runs 3]

The double runs in a child process (its own interpreter, so it does not share a GIL with the
client being measured). Its database is a copy of a demo dossier. Alternated, RUNS times:
- bare: ``pymssql`` ``cursor.execute("SELECT <columns> FROM <table> ORDER BY <key>")`` +
  ``fetchall()`` over every table — what any reader of those rows pays to the double;
- msde: ``packwrite.export_package`` of the SQL Server dossier (reads those same SELECTs in
  batches of 32,768 rows with ``fetchmany``, converts to Arrow, row digests, Parquet, the
  package's read-back verification).
Prints rows/s of both and the throughput ratio beside the goal (>= 0.7x).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pymssql

from msde_tui.engine.accounting.demo import build_dossier
from msde_tui.engine.backends.mssql import profiles
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.packs import packwrite
from msde_tui.engine.tables.database import Database

USER, PASSWORD = "sa", "Passw0rd!"
DOUBLE = r"""
import sys
from pathlib import Path
from tests.tdsdouble.server import TdsServer
server = TdsServer(Path(sys.argv[1]), logins={"sa": "Passw0rd!"}).start()
server.create_database("PW0005SOC", sqlite_file=Path(sys.argv[2]))
print(server.port, flush=True)
sys.stdin.read()  # until the parent closes it
server.stop()
"""


def q(name: str) -> str:
    return "[" + name.replace("]", "]]") + "]"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="msde-bench-mssql-"))
    child = None
    try:
        home, out = root / "home", root / "out"
        home.mkdir()
        out.mkdir()
        source = root / "src.sqlite"
        build_dossier(source, code="005SOC", company="Bench SA", years=3, lines=args.lines, seed=1)
        with Database.open_sqlite(source) as lite:
            tables = lite.reflect().tables
        child = subprocess.Popen([sys.executable, "-c", DOUBLE, str(root / "mssql"), str(source)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
        assert child.stdout is not None
        port = int(child.stdout.readline())
        profiles.add(profiles.Profile(name="double", host="127.0.0.1", port=port, user=USER), home)
        os.environ["MSDE_PASSWORD"] = PASSWORD
        dossier = Catalog(home).add(Dossier("005", "SOC", "Bench SA", backend="mssql",
                                            location="PW0005SOC", profile="double"))
        selects = []
        for t in tables:
            order = f" ORDER BY {', '.join(q(k) for k in t.key)}" if t.key else ""
            selects.append(f"SELECT {', '.join(q(c) for c in t.column_names)} FROM {q(t.name)}{order}")

        def bare() -> tuple[float, int]:
            began = time.perf_counter()
            conn = pymssql.connect(server="127.0.0.1", port=port, user=USER, password=PASSWORD,
                                   database="PW0005SOC")
            rows = 0
            try:
                cursor = conn.cursor()
                for sql in selects:
                    cursor.execute(sql)
                    rows += len(cursor.fetchall())
            finally:
                conn.close()
            return time.perf_counter() - began, rows

        def ours() -> tuple[float, int]:
            began = time.perf_counter()
            result = packwrite.export_package(dossier, home, out)
            elapsed = time.perf_counter() - began
            result.path.unlink()
            return elapsed, sum(t.get("rows", 0) for t in result.tables.values())

        bare_t, our_t, rows = [], [], 0
        for _ in range(args.runs):
            b, rows = bare()
            o, our_rows = ours()
            assert our_rows == rows, (our_rows, rows)
            bare_t.append(b)
            our_t.append(o)
            print(f"  run: bare fetch {b:.2f} s, msde PBF export {o:.2f} s", flush=True)
        b, o = statistics.median(bare_t), statistics.median(our_t)
        print(f"{rows:,} rows in {len(tables)} tables; load {os.getloadavg()[0]:.2f}")
        print(f"pymssql fetchall (bare):  {b:6.2f} s  {rows / b:10,.0f} rows/s")
        print(f"msde PBF export:          {o:6.2f} s  {rows / o:10,.0f} rows/s")
        ok = "met" if b / o >= 0.7 else "NOT met"
        print(f"ratio (rows/s msde / bare): {b / o:.2f}x  (goal >= 0.7x: {ok})")
    finally:
        if child is not None:
            if child.stdin is not None:
                child.stdin.close()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
