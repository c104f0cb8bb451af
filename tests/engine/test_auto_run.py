"""`msde auto` on real embedded demo dossiers, with the real backup engine and a travelling clock.

The clock is moved with time-machine (the backup engine stamps file names and proofs with the
real clock, so the whole process travels, not only the decision).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.auto import policy, targets
from msde_tui.engine.auto import report as auto_report
from msde_tui.engine.auto.lock import RunLock
from msde_tui.engine.auto.policy import AutoConfig
from msde_tui.engine.auto.records import local_now
from msde_tui.engine.auto.report import DossierOutcome, RunReport
from msde_tui.engine.auto.run import run_auto
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import Busy, DiskFull
from msde_tui.engine.events import DossierResult, Event, Started
from msde_tui.engine.plans import BackupPlan

pytest.importorskip("msde_tui.engine.runs.runner", reason="the backup engine (run_backup) is not there yet")

DAY0 = datetime(2027, 3, 1, 2, 17, 0)


@pytest.fixture
def demo(home: Path) -> list[Dossier]:
    return create_demo(home, dossiers=2, years=1, lines=60, seed=7)


@pytest.fixture
def target(tmp_path: Path) -> Path:
    return tmp_path / "backups"


def config_for(target: Path, **changes: object) -> AutoConfig:
    base = dict(enabled=True, keep=3, every_days=1, max_movements=100, directory=str(target))
    base.update(changes)
    return AutoConfig().with_default(**base)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(DAY0, tick=True) as traveller:
        yield traveller


def run(home: Path, config: AutoConfig, **kw: object) -> RunReport:
    return asyncio.run(run_auto(home, config=config, clock=local_now, **kw))  # type: ignore[arg-type]


def by_code(report: RunReport) -> dict[str, DossierOutcome]:
    return {d.code: d for d in report.dossiers}


def backups_of(target: Path, code: str) -> list[str]:
    return sorted(p.name for p in target.glob(f"{code}_*.sqlite.bak"))


def add_entries(home: Path, dossier: Dossier, n: int) -> None:
    conn = sqlite3.connect(dossier.path(home))
    try:
        fy, journal, number, when = conn.execute(
            "SELECT fiscal_year_id, journal_id, number, entry_date FROM entry ORDER BY id LIMIT 1"
        ).fetchone()
        top = conn.execute("SELECT MAX(number) FROM entry WHERE journal_id = ?", (journal,)).fetchone()[0]
        conn.executemany(
            "INSERT INTO entry (fiscal_year_id, journal_id, number, entry_date, label, kind, origin)"
            " VALUES (?, ?, ?, ?, ?, 'REAL', 'NORMAL')",
            [(fy, journal, top + i + 1, when, f"added {i}") for i in range(n)],
        )
        conn.commit()
    finally:
        conn.close()


def test_done_when_four_days_keep_three(home: Path, demo: list[Dossier], target: Path,
                                        clock: time_machine.Traveller) -> None:
    """keep 3, every 1 day or 100 movements: four runs a day apart leave the three newest."""
    config = config_for(target)
    made: list[str] = []
    for day in range(4):
        clock.move_to(DAY0 + timedelta(days=day))
        report = run(home, config)
        assert report.ok, [d.text for d in report.dossiers]
        outcome = by_code(report)[demo[0].code]
        assert outcome.action == "backup" and outcome.verified and outcome.file
        made.append(Path(outcome.file).name)
        reason = "no verified backup yet" if day == 0 else "1 day since last verified backup ≥ 1"
        assert outcome.reason == reason
    for dossier in demo:
        kept = backups_of(target, dossier.code)
        assert len(kept) == 3
        for name in kept:  # every one kept is verified
            record = targets.read_embedded_record(target / name)
            assert record.verified, record.note
    assert backups_of(target, demo[0].code) == sorted(made[1:])
    assert not (target / made[0]).exists()
    assert not Path(f"{target / made[0]}.json").exists()  # its proof went with it


def test_skip_then_movements_trigger_same_day(home: Path, demo: list[Dossier], target: Path,
                                              clock: time_machine.Traveller) -> None:
    config = config_for(target)
    run(home, config)
    clock.move_to(DAY0 + timedelta(hours=3))
    add_entries(home, demo[0], 99)
    report = run(home, config)
    first, second = (by_code(report)[d.code] for d in demo)
    assert (first.action, first.reason) == ("skip", "99 movements < 100 and 0 days < 1")
    assert (second.action, second.reason) == ("skip", "0 movements < 100 and 0 days < 1")
    add_entries(home, demo[0], 1)
    clock.move_to(DAY0 + timedelta(hours=4))
    report = run(home, config)
    first, second = (by_code(report)[d.code] for d in demo)
    assert first.action == "backup" and first.ok and first.verified
    assert first.reason == "100 movements since last verified backup ≥ 100"
    assert second.action == "skip"
    assert len(backups_of(target, demo[0].code)) == 2
    assert len(backups_of(target, demo[1].code)) == 1
    # the new backup's proof carries the new counter: the next run skips again
    clock.move_to(DAY0 + timedelta(hours=5))
    assert by_code(run(home, config))[demo[0].code].action == "skip"


def test_both_triggers(home: Path, demo: list[Dossier], target: Path,
                       clock: time_machine.Traveller) -> None:
    config = config_for(target)
    run(home, config)
    add_entries(home, demo[0], 150)
    clock.move_to(DAY0 + timedelta(days=2))
    outcome = by_code(run(home, config))[demo[0].code]
    assert outcome.reason == ("150 movements since last verified backup ≥ 100 and "
                              "2 days since last verified backup ≥ 1")


def test_rotation_at_n_and_overrides(home: Path, demo: list[Dossier], target: Path,
                                     clock: time_machine.Traveller) -> None:
    config = config_for(target, keep=2).with_override(demo[1].code, keep=4)
    for day in range(5):
        clock.move_to(DAY0 + timedelta(days=day))
        assert run(home, config).ok
    assert len(backups_of(target, demo[0].code)) == 2
    assert len(backups_of(target, demo[1].code)) == 4


def test_off_and_per_dossier_directory(home: Path, demo: list[Dossier], target: Path,
                                       tmp_path: Path, clock: time_machine.Traveller) -> None:
    other = tmp_path / "elsewhere"
    config = config_for(target).with_override(demo[0].code, enabled=False)
    config = config.with_override(demo[1].code, directory=str(other))
    report = run(home, config)
    assert by_code(report)[demo[0].code].action == "off"
    assert backups_of(target, demo[0].code) == []
    assert len(backups_of(other, demo[1].code)) == 1


async def _failing_runner(plan: BackupPlan) -> AsyncIterator[Event]:
    for dossier in plan.dossiers:
        yield Started(dossier.code, "backup", ("backup", "verify"))
    raise DiskFull("No space left on the backup disk.", "Free some space.")


def snapshot(*roots: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for root in roots:
        if root.exists():
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    files[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def test_failed_backup_deletes_nothing(home: Path, demo: list[Dossier], target: Path,
                                       clock: time_machine.Traveller) -> None:
    config = config_for(target)
    for day in range(3):
        clock.move_to(DAY0 + timedelta(days=day))
        run(home, config)
    before = snapshot(target)
    assert len(before) == 2 * 3 * 2  # 2 dossiers x 3 backups x (file + proof)
    clock.move_to(DAY0 + timedelta(days=3))
    report = run(home, config, backup_runner=_failing_runner)
    assert not report.ok
    for outcome in report.dossiers:
        assert outcome.action == "backup" and not outcome.ok and outcome.deleted == []
        assert "No space left" in outcome.message
    assert snapshot(target) == before
    last = auto_report.load_last_run(home)
    assert last is not None and last["ok"] is False


def test_unverified_backup_never_counts(home: Path, demo: list[Dossier], target: Path,
                                        clock: time_machine.Traveller) -> None:
    """A file without a valid proof (interrupted run) is ignored, then cleaned by a good run."""
    config = config_for(target)
    run(home, config)
    good = backups_of(target, demo[0].code)[0]
    # an interrupted run a day later: the file is there, its proof is not
    clock.move_to(DAY0 + timedelta(days=1))
    stray = target / f"{demo[0].code}_{(DAY0 + timedelta(days=1)).strftime('%Y%m%d_%H%M%S')}.sqlite.bak"
    stray.write_bytes((target / good).read_bytes())
    stamp = (DAY0 + timedelta(days=1)).timestamp()
    os.utime(stray, (stamp, stamp))  # file times come from the real clock: set them
    fresh = stray.with_name(stray.name.replace("_021700.", "_021800."))
    fresh.write_bytes(b"still being written")
    recent = (DAY0 + timedelta(days=1, hours=1, minutes=55)).timestamp()
    os.utime(fresh, (recent, recent))
    clock.move_to(DAY0 + timedelta(days=1, hours=2))
    report = run(home, config)
    outcome = by_code(report)[demo[0].code]
    assert outcome.reason == "1 day since last verified backup ≥ 1"  # decided from `good`
    assert not stray.exists()  # older than the new verified backup, untouched for > 1 h
    assert outcome.deleted == [str(stray)]
    assert (target / good).exists()
    assert fresh.exists()  # written 5 minutes ago: maybe a backup in progress, never touched


def test_dry_run_changes_nothing(home: Path, demo: list[Dossier], target: Path,
                                 clock: time_machine.Traveller) -> None:
    config = config_for(target)
    policy.save(config, home)
    for day in range(3):
        clock.move_to(DAY0 + timedelta(days=day))
        run(home, config)
    clock.move_to(DAY0 + timedelta(days=5))
    before = snapshot(home, target)
    report = run(home, config, dry_run=True)
    assert snapshot(home, target) == before
    outcome = by_code(report)[demo[0].code]
    assert outcome.action == "backup" and outcome.reason == "3 days since last verified backup ≥ 1"
    assert len(outcome.would_delete) == 1 and outcome.file is None and outcome.deleted == []
    assert report.dry_run


def test_second_run_refused_while_lock_held(home: Path, demo: list[Dossier], target: Path) -> None:
    config = config_for(target)
    with RunLock.for_home(home):
        with pytest.raises(Busy):
            run(home, config)
    assert backups_of(target, demo[0].code) == []
    assert run(home, config).ok  # free again


def test_last_run_record(home: Path, demo: list[Dossier], target: Path,
                         clock: time_machine.Traveller) -> None:
    config = config_for(target)
    run(home, config)
    clock.move_to(DAY0 + timedelta(hours=1))
    run(home, config)
    last = auto_report.load_last_run(home)
    assert last is not None and last["ok"] is True
    rows = {d["code"]: d for d in last["dossiers"]}
    assert rows[demo[0].code]["action"] == "skip"
    assert rows[demo[0].code]["last_verified_file"].endswith(".sqlite.bak")
    assert json.loads(auto_report.last_run_file(home).read_text())["dossiers"]


def test_missing_dossier_file_is_reported_and_others_go_on(home: Path, demo: list[Dossier],
                                                           target: Path) -> None:
    demo[0].path(home).unlink()
    report = run(home, config_for(target))
    first, second = (by_code(report)[d.code] for d in demo)
    assert first.action == "error" and not first.ok and "missing" in first.message
    assert second.action == "backup" and second.ok
    assert not report.ok


def test_failed_result_from_engine_deletes_nothing(home: Path, demo: list[Dossier], target: Path,
                                                   clock: time_machine.Traveller) -> None:
    """The engine reports a backup it could not verify: rotation does not run."""
    config = config_for(target, keep=1)
    run(home, config)
    before = snapshot(target)

    async def unverified(plan: BackupPlan) -> AsyncIterator[Event]:
        for dossier in plan.dossiers:
            yield DossierResult(dossier.code, ok=True, verified=False, files=("x",))

    clock.move_to(DAY0 + timedelta(days=1))
    report = run(home, config, backup_runner=unverified)
    assert all(not d.ok and d.deleted == [] for d in report.dossiers)
    assert snapshot(target) == before


def test_tampered_backup_is_not_verified(home: Path, demo: list[Dossier], target: Path,
                                         clock: time_machine.Traveller) -> None:
    """A flipped byte (same size) makes a backup not count: the next run backs up again."""
    config = config_for(target)
    run(home, config)
    damaged = target / backups_of(target, demo[0].code)[0]
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    record = targets.read_embedded_record(damaged, demo[0])
    assert not record.verified and "SHA-256" in record.note
    clock.move_to(DAY0 + timedelta(hours=2))
    report = run(home, config)
    first, second = (by_code(report)[d.code] for d in demo)
    assert (first.action, first.reason) == ("backup", "no verified backup yet")
    assert second.action == "skip"
    assert damaged.exists()  # it has a proof: never deleted as a leftover, never counted


def test_proof_of_another_dossier_does_not_count(home: Path, demo: list[Dossier], target: Path) -> None:
    config = config_for(target)
    run(home, config)
    mine = target / backups_of(target, demo[0].code)[0]
    other = replace(demo[0], guid="00000000-0000-4000-8000-000000000000")
    record = targets.read_embedded_record(mine, other)
    assert not record.verified and "another dossier" in record.note
    assert targets.read_embedded_record(mine, demo[0]).verified


def test_verified_cache_avoids_rehashing(home: Path, demo: list[Dossier], target: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_for(target)
    run(home, config)  # hashes the new backups once and remembers them
    calls: list[Path] = []
    real = targets.proof.sha256_file

    def counting(path: Path, *a: object, **k: object) -> tuple[str, int]:
        calls.append(Path(path))
        return real(path)

    monkeypatch.setattr(targets.proof, "sha256_file", counting)
    assert all(d.action == "skip" for d in run(home, config).dossiers)
    assert calls == []


def test_two_runs_in_the_same_second_both_count(home: Path, demo: list[Dossier], target: Path) -> None:
    """The engine names a same-second backup ..._2.sqlite.bak; rotation still sees it."""
    config = config_for(target, every_days=0, max_movements=0, keep=2)  # every run backs up
    with time_machine.travel(DAY0, tick=False):
        for _ in range(3):
            assert run(home, config).ok
    names = backups_of(target, demo[0].code)
    assert len(names) == 2 and any("_2.sqlite.bak" in n or "_3.sqlite.bak" in n for n in names)


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX resource limits")
def test_real_write_failure_deletes_nothing(home: Path, demo: list[Dossier], target: Path,
                                            clock: time_machine.Traveller) -> None:
    """The OS refuses to write the new backup (file size limit, works even as root)."""
    import resource
    import signal

    config = config_for(target, keep=1)
    run(home, config)
    before = snapshot(target)
    clock.move_to(DAY0 + timedelta(days=1))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, hard))  # smaller than any backup
    try:
        report = run(home, config)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)
    for outcome in report.dossiers:
        assert outcome.action == "backup" and not outcome.ok and outcome.deleted == [], outcome
    assert snapshot(target) == before  # keep 1: the old one would have gone on success
    assert not report.ok
