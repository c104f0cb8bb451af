"""integrity_check is not run twice on the same bytes, and never skipped for other bytes."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.backends.embedded import verify as embedded_verify
from msde_tui.engine.backends.embedded.checked import MEMO_FILE, IntegrityMemo
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.events import DossierResult, Step
from msde_tui.engine.plans import BackupOptions, BackupPlan, Connection, VerifyPlan
from msde_tui.engine.proof import proof_digest, proof_path
from msde_tui.engine.runs import runner


def run(events):  # type: ignore[no-untyped-def]
    return asyncio.run(runner.collect_async(events))


@pytest.mark.parametrize("way", ["in turn", "side by side"])
def test_same_bytes_checked_once_other_bytes_always(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    if way == "side by side":  # a large backup's check runs beside its SHA-256 read: not when known
        monkeypatch.setattr(embedded_verify, "PARALLEL_MIN", 0)
    create_demo(home, dossiers=2, years=1, lines=80, seed=9)
    out = tmp_path / "out"
    out.mkdir()
    checks: list[Path] = []
    real = embedded_verify.integrity_problems

    def counting(file: Path) -> list[str]:
        checks.append(file)
        return real(file)

    monkeypatch.setattr(embedded_verify, "integrity_problems", counting)
    plan = BackupPlan(Connection(), tuple(Catalog(home).dossiers()), str(out), BackupOptions(verify=True))
    first = run(runner.run_backup(plan, home=home))
    assert len(checks) == 2 and all(e.ok for e in first if isinstance(e, DossierResult))
    assert (home / MEMO_FILE).exists()
    # The unchanged dossiers are backed up into the same bytes: their checks are already done.
    second = run(runner.run_backup(plan, home=home))
    results = [e for e in second if isinstance(e, DossierResult)]
    assert len(checks) == 2 and all(r.ok and r.verified for r in results)
    assert any(isinstance(e, Step) and "already passed" in e.detail for e in second)
    # Damaged bytes under a rewritten, consistent proof: a new SHA-256, so the check runs and fails.
    backup = Path(results[0].files[0])
    data = bytearray(backup.read_bytes())
    for i in range(4096 * 3 + 8, 4096 * 3 + 600):
        data[i] = 0xAB
    backup.write_bytes(bytes(data))
    raw = json.loads(proof_path(backup).read_text())
    raw["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    raw["proof_sha256"] = proof_digest(raw)
    proof_path(backup).write_text(json.dumps(raw))
    verified = run(runner.run_verify(VerifyPlan(Connection(), (str(backup),)), home=home))
    result = next(e for e in verified if isinstance(e, DossierResult))
    assert not result.ok and "damaged" in result.message and len(checks) == 3


def test_memo_of_another_sqlite_or_damaged_is_ignored(home: Path) -> None:
    memo = IntegrityMemo(home)
    memo.add("a" * 64)
    memo.save()
    assert IntegrityMemo(home).known("a" * 64)
    raw = json.loads((home / MEMO_FILE).read_text())
    (home / MEMO_FILE).write_text(json.dumps({**raw, "sqlite_version": "0.0.1"}))
    assert not IntegrityMemo(home).known("a" * 64)
    (home / MEMO_FILE).write_text("{not json")
    assert not IntegrityMemo(home).known("a" * 64)
