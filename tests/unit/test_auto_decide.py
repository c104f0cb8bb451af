"""Pure parts of automatic backups: the decision, the rotation plan, the run lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from msde_tui.engine.auto.decide import decide, plan_rotation, predicted_rotation
from msde_tui.engine.auto.lock import RunLock
from msde_tui.engine.auto.policy import Policy
from msde_tui.engine.auto.records import BackupRecord, last_verified
from msde_tui.engine.errors import Busy

POLICY = Policy(enabled=True, keep=3, every_days=1, max_movements=100)
T0 = datetime(2026, 11, 28, 2, 0, 5)


def rec(name: str, when: datetime | None, movements: int | None = 500, verified: bool = True,
        modified: datetime | None = None) -> BackupRecord:
    return BackupRecord(name, when, movements, verified, modified_at=modified or when)


def test_off() -> None:
    d = decide("001SOC", Policy(enabled=False), None, 10, T0)
    assert d.action == "off"


def test_no_verified_backup_yet() -> None:
    d = decide("001SOC", POLICY, None, 10, T0)
    assert (d.action, d.reason) == ("backup", "no verified backup yet")


def test_days_trigger_uses_calendar_days() -> None:
    last = rec("a", T0)
    # the next night's run starts a few seconds "earlier" in the day: still one day later
    d = decide("001SOC", POLICY, last, 512, T0 + timedelta(days=1) - timedelta(seconds=10))
    assert d.action == "backup"
    assert d.text == "001SOC: backup — 1 day since last verified backup ≥ 1"
    d = decide("001SOC", POLICY, last, 500, T0 + timedelta(days=3))
    assert d.text == "001SOC: backup — 3 days since last verified backup ≥ 1"


def test_skip_explains_both_triggers() -> None:
    d = decide("002SOC", POLICY, rec("a", T0, 500), 512, T0 + timedelta(hours=5))
    assert d.text == "002SOC: skip — 12 movements < 100 and 0 days < 1"
    assert (d.days, d.new_movements) == (0, 12)


def test_movement_trigger_same_day() -> None:
    d = decide("001SOC", POLICY, rec("a", T0, 500), 600, T0 + timedelta(minutes=1))
    assert d.action == "backup"
    assert d.reason == "100 movements since last verified backup ≥ 100"


def test_both_triggers_reached() -> None:
    d = decide("001SOC", POLICY, rec("a", T0, 500), 700, T0 + timedelta(days=2))
    assert d.action == "backup"
    assert "200 movements" in d.reason and "2 days" in d.reason


def test_removed_movements_count_as_changes() -> None:  # archive / cut shrink the entry table
    d = decide("001SOC", POLICY, rec("a", T0, 500), 380, T0)
    assert d.action == "backup" and d.new_movements == 120


def test_one_trigger_off() -> None:
    days_only = Policy(enabled=True, every_days=7, max_movements=0)
    assert decide("X", days_only, rec("a", T0, 0), 10_000, T0 + timedelta(days=6)).action == "skip"
    assert decide("X", days_only, rec("a", T0, 0), 0, T0 + timedelta(days=7)).action == "backup"
    moves_only = Policy(enabled=True, every_days=0, max_movements=50)
    assert decide("X", moves_only, rec("a", T0, 0), 49, T0 + timedelta(days=400)).action == "skip"
    assert decide("X", moves_only, rec("a", T0, 0), 50, T0).action == "backup"
    both_off = Policy(enabled=True, every_days=0, max_movements=0)
    assert decide("X", both_off, rec("a", T0, 0), 0, T0).action == "backup"


def test_unknown_counter_falls_back_on_days() -> None:
    d = decide("X", POLICY, rec("a", T0, None), 10, T0)
    assert d.text == "X: skip — movement counter unknown and 0 days < 1"


def test_aware_times_are_compared_in_local_time() -> None:
    last = rec("a", T0.astimezone())  # aware, same instant
    assert decide("X", POLICY, last, 500, T0).days == 0


def test_last_verified_ignores_unproven_backups() -> None:
    good = rec("a", T0)
    newer_unproven = rec("b", T0 + timedelta(days=1), verified=False)
    assert last_verified([good, newer_unproven]) is good
    assert last_verified([newer_unproven]) is None


def days(n: int) -> datetime:
    return T0 + timedelta(days=n)


def test_rotation_keeps_n_newest_verified() -> None:
    records = [rec(f"b{i}", days(i)) for i in range(5)]
    doomed = plan_rotation(records, 3, now=days(5))
    assert sorted(r.file for r in doomed) == ["b0", "b1"]


def test_rotation_never_deletes_the_newest_verified() -> None:
    records = [rec("b0", days(0)), rec("b1", days(1)), rec("broken", days(2), verified=False)]
    doomed = plan_rotation(records, 1, now=days(3))
    assert [r.file for r in doomed] == ["b0"]
    assert plan_rotation([rec("only", days(0))], 1, now=days(9)) == []
    assert plan_rotation([rec("x", days(0), verified=False)], 1, now=days(9)) == []


def test_rotation_cleans_old_leftovers_only() -> None:
    now = days(3)
    old_leftover = rec("old", days(1), verified=False, modified=days(1))
    fresh_leftover = rec("fresh", days(1), verified=False, modified=now - timedelta(minutes=5))
    newer_unproven = rec("newer", days(4), verified=False, modified=days(1))
    records = [rec("b2", days(2)), old_leftover, fresh_leftover, newer_unproven]
    assert [r.file for r in plan_rotation(records, 3, now=now)] == ["old"]


def test_predicted_rotation_counts_the_coming_backup() -> None:
    records = [rec(f"b{i}", days(i)) for i in range(3)]
    assert [r.file for r in predicted_rotation(records, 3, now=days(3))] == ["b0"]
    assert predicted_rotation(records[:2], 3, now=days(3)) == []


def test_lock_refuses_a_second_holder(tmp_path: Path) -> None:
    lock_path = tmp_path / "auto" / "auto.lock"
    with RunLock(lock_path):
        with pytest.raises(Busy) as info:
            RunLock(lock_path).acquire()
        assert "in progress" in info.value.message and "pid" in info.value.message
        assert info.value.exit_code == 1
    with RunLock(lock_path):  # released: can be taken again
        pass


def test_lock_held_by_another_process(tmp_path: Path) -> None:
    lock_path = tmp_path / "auto.lock"
    script = textwrap.dedent(f"""
        import sys, time
        from msde_tui.engine.auto.lock import RunLock
        with RunLock({str(lock_path)!r}):
            print("held", flush=True)
            sys.stdin.readline()
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with pytest.raises(Busy) as info:
            RunLock(lock_path).acquire()
        assert f"pid {child.pid}" in info.value.message
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=20)
    with RunLock(lock_path):
        pass


def test_lock_freed_when_holder_dies(tmp_path: Path) -> None:
    lock_path = tmp_path / "auto.lock"
    script = (f"from msde_tui.engine.auto.lock import RunLock\nRunLock({str(lock_path)!r}).acquire()\n"
              "import os\nos._exit(9)\n")
    assert subprocess.run([sys.executable, "-c", script], timeout=30).returncode == 9
    with RunLock(lock_path):  # the stale file does not block
        pass


def test_backup_names_recognised() -> None:
    from msde_tui.engine.auto.records import EMBEDDED_BACKUP_RE, stamp_of

    assert stamp_of("001SOC_20261128_120631.sqlite.bak") == datetime(2026, 11, 28, 12, 6, 31)
    assert stamp_of("001SOC_20261128_120631_2.sqlite.bak") == datetime(2026, 11, 28, 12, 6, 31)
    assert stamp_of("001SOC_20261332_120631.sqlite.bak") is None  # no 13th month
    assert stamp_of("001SOC_20261128_250631.sqlite.bak") is None
    assert EMBEDDED_BACKUP_RE.match("001SOC_20261128_120631_2.sqlite.bak")
    for other in (".001SOC_20261128_120631.sqlite.bak.partial", "001SOC_20261128_120631.sqlite.bak.json",
                  "001SOC.sqlite", "notes.txt", "001SOC_20261128.sqlite.bak"):
        assert not EMBEDDED_BACKUP_RE.match(other)
