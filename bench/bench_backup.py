"""Embedded backup + verify throughput against ``cp`` + ``sha256sum`` of the same file.

    .venv/bin/python bench/bench_backup.py [SIZE_MB] [ROUNDS]

Builds a demo dossier (real accounting rows) padded with attachments to SIZE_MB (default 256),
then alternates, ROUNDS times (default 3): the baseline ``cp FILE DIR/ && sha256sum DIR/FILE``
and ``run_backup`` with verification (online backup API copy, fsync, SHA-256, proof, then
verify = re-read + SHA-256 + ``PRAGMA integrity_check`` + identity). Prints the medians and
the throughput ratio (baseline time / backup time; goal >= 0.5).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from msde_tui.engine.accounting import demo
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.events import DossierResult
from msde_tui.engine.plans import BackupOptions, BackupPlan, Connection
from msde_tui.engine.runs import runner as operations


def build(home: Path, size_mb: int) -> Dossier:
    path = home / "001SOC.sqlite"
    guid = demo.build_dossier(path, code="001SOC", company="Bench SA", years=3, lines=20000, seed=1)
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
    return Catalog(home).add(Dossier("001", "SOC", "Bench SA", location=path.name, guid=guid))


def baseline(source: Path, out: Path) -> float:
    target = out / source.name
    began = time.perf_counter()
    subprocess.run(["cp", str(source), str(target)], check=True)
    subprocess.run(["sha256sum", str(target)], check=True, capture_output=True)
    elapsed = time.perf_counter() - began
    target.unlink()
    return elapsed


def ours(home: Path, dossier: Dossier, out: Path) -> float:
    (home / "integrity_checked.json").unlink(missing_ok=True)  # cold: integrity_check runs every round
    plan = BackupPlan(Connection(), (dossier,), str(out), BackupOptions(verify=True))
    began = time.perf_counter()
    events = asyncio.run(operations.collect_async(operations.run_backup(plan, home=home)))
    elapsed = time.perf_counter() - began
    result = next(e for e in events if isinstance(e, DossierResult))
    assert result.ok and result.verified, result
    for name in result.files:
        Path(name).unlink()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description="One large embedded dossier: backup + verify vs cp + sha256sum.")
    parser.add_argument("size_mb", nargs="?", type=int, default=256, help="dossier size (MB)")
    parser.add_argument("rounds", nargs="?", type=int, default=3, help="alternated rounds; medians")
    args = parser.parse_args()
    size_mb, rounds = args.size_mb, args.rounds
    root = Path(tempfile.mkdtemp(prefix="msde-bench-backup-"))
    try:
        home, out = root / "home", root / "out"
        home.mkdir()
        out.mkdir()
        dossier = build(home, size_mb)
        source = home / dossier.location
        size = source.stat().st_size
        print(f"dossier {size / 1e6:.1f} MB, {rounds} rounds", flush=True)
        base_times, our_times = [], []
        for _ in range(rounds):
            base_times.append(baseline(source, out))
            our_times.append(ours(home, dossier, out))
        b, o = statistics.median(base_times), statistics.median(our_times)
        print(f"cp + sha256sum:            {b:6.2f} s  {size / 1e6 / b:7.1f} MB/s")
        print(f"backup + verify (msde):    {o:6.2f} s  {size / 1e6 / o:7.1f} MB/s")
        print(f"ratio (throughput msde / baseline): {b / o:.2f}x  (goal >= 0.5x)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
