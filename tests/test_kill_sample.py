"""A few trials of the kill harness (bench/kill_harness.py) in CI.

``msde archive`` and ``msde import`` run in a subprocess that is SIGKILLed part-way; the data
directory must then be exactly as before or exactly as after (dossier list + row hashes of
every table), every leftover must be refused by ``msde verify`` or be complete, and from
"before" the same command must succeed when run again.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(os.name == "nt", reason="SIGKILL")


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_load("corruption_sweep")  # the harness verifies leftovers with the sweep's in-process runner
harness = _load("kill_harness")


def test_killed_archive_and_import_leave_before_or_after(tmp_path: Path) -> None:
    ops = harness.prepare(tmp_path / "prep", lines=600, years=9, only=("archive", "import"), runs=1)
    startup = harness.startup_seconds(tmp_path)
    results = []
    for name, op in ops.items():
        low = startup * 0.9
        high = max(low + 0.2, op.seconds * 0.98)
        for i, fraction in enumerate((0.5, 0.93)):
            results.append(harness.trial(op, tmp_path / f"{name}-{i}", low + (high - low) * fraction))
    assert [(r.operation, r.outcome, r.problems) for r in results
            if r.outcome == "BETWEEN" or r.problems] == []
    assert all(r.recovered for r in results if r.outcome == "before" and r.killed)
    assert sum(r.killed for r in results) >= 2  # the kills did land during the runs
