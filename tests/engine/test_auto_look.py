"""What the automatic run reads to decide (issue 16: decide from the movement counter and the
last backup's proof, not the dossier): an unchanged dossier is not opened again, any write —
committed to the main file or still in its -wal — is seen, a file replaced under the same size
and times is seen, and only the newest proofs are read down to the first verified one."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.auto import records, targets
from msde_tui.engine.auto.policy import AutoConfig
from msde_tui.engine.auto.records import VerifiedCache, file_state
from msde_tui.engine.auto.report import RunReport
from msde_tui.engine.auto.run import run_auto
from msde_tui.engine.catalog import Dossier

DAY0 = datetime(2027, 3, 1, 2, 17, 0)


@pytest.fixture
def demo(home: Path) -> list[Dossier]:
    return create_demo(home, dossiers=3, years=1, lines=60, seed=11)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(DAY0, tick=True) as traveller:
        yield traveller


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The dossiers whose movement counter was read by opening them."""
    seen: list[Path] = []
    real = targets.EmbeddedTarget._count

    def counting(path: Path) -> int:
        seen.append(Path(path))
        return real(path)

    monkeypatch.setattr(targets.EmbeddedTarget, "_count", staticmethod(counting))
    return seen


def config_for(target: Path) -> AutoConfig:
    return AutoConfig().with_default(enabled=True, keep=3, every_days=1, max_movements=5,
                                     directory=str(target))


def run(home: Path, config: AutoConfig, **kw: object) -> RunReport:
    return asyncio.run(run_auto(home, config=config, **kw))  # type: ignore[arg-type]


def add_entries(path: Path, n: int, *, keep_open: bool = False) -> sqlite3.Connection | None:
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO entry SELECT id + 1000000, fiscal_year_id, journal_id, number + 1000000, "
                 "entry_date, label, document_ref, document_date, kind, origin, valid_date FROM entry "
                 f"ORDER BY id LIMIT {int(n)}")
    conn.commit()
    if keep_open:
        return conn
    conn.close()
    return None


def test_an_unchanged_dossier_is_not_opened_and_a_changed_one_is(
    home: Path, demo: list[Dossier], tmp_path: Path, clock: time_machine.Traveller,
    opened: list[Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(records, "QUIET_NS", 0)  # the files are seconds old here; see the next test
    config = config_for(tmp_path / "b")
    assert all(d.action == "backup" and d.ok for d in run(home, config).dossiers)
    assert len(opened) == 3
    opened.clear()
    clock.move_to(DAY0 + timedelta(hours=1))
    assert [d.action for d in run(home, config).dossiers] == ["skip"] * 3
    assert opened == []  # nothing changed: the counts remembered with the files' state
    add_entries(demo[1].path(home), 7)  # committed and checkpointed into the file
    decided = {d.code: d for d in run(home, config, dry_run=True).dossiers}
    assert opened == [demo[1].path(home)]
    assert decided[demo[1].code].action == "backup" and "7 movements" in decided[demo[1].code].reason
    assert decided[demo[0].code].action == decided[demo[2].code].action == "skip"


def test_a_write_still_in_the_wal_is_seen(home: Path, demo: list[Dossier], tmp_path: Path,
                                          clock: time_machine.Traveller, opened: list[Path],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "QUIET_NS", 0)
    config = config_for(tmp_path / "b")
    run(home, config)
    clock.move_to(DAY0 + timedelta(hours=1))
    run(home, config)
    path = demo[0].path(home)
    main_before = path.stat()
    conn = add_entries(path, 6, keep_open=True)  # the accounting program still has it open
    try:
        assert Path(f"{path}-wal").exists() and path.stat().st_mtime_ns == main_before.st_mtime_ns
        opened.clear()
        decided = {d.code: d for d in run(home, config, dry_run=True).dossiers}
    finally:
        assert conn is not None
        conn.close()
    assert opened == [path]
    assert decided[demo[0].code].action == "backup" and "6 movements" in decided[demo[0].code].reason


def test_a_dossier_written_just_before_it_was_counted_is_counted_again(
    home: Path, demo: list[Dossier], tmp_path: Path, opened: list[Path]
) -> None:
    # QUIET_NS as shipped and the real clock: the demo files were written a moment ago, so a
    # write in the same tick of the file clock could hide behind equal times: not trusted
    config = config_for(tmp_path / "b")
    run(home, config)
    opened.clear()
    run(home, config, dry_run=True)
    assert sorted(opened) == sorted(d.path(home) for d in demo)


def test_a_file_replaced_under_the_same_size_and_times_is_seen(tmp_path: Path) -> None:
    first, second = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    first.write_bytes(b"x" * 4096)
    second.write_bytes(b"y" * 4096)
    stamp = first.stat()
    os.utime(second, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    state = file_state(first)
    assert state is not None and state[2:4] == [4096, stamp.st_mtime_ns]
    os.replace(second, first)  # a restored copy: same size and modification time
    assert file_state(first) != state
    assert file_state(tmp_path / "absent.sqlite") is None


def test_only_the_newest_proofs_are_read_down_to_the_first_verified(
    home: Path, demo: list[Dossier], tmp_path: Path, clock: time_machine.Traveller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = config_for(tmp_path / "b")
    for day in range(3):
        clock.move_to(DAY0 + timedelta(days=day))
        run(home, config)
    names = sorted(p.name for p in (tmp_path / "b").glob(f"{demo[0].code}_*.sqlite.bak"))
    assert len(names) == 3
    read: list[str] = []
    real = targets.read_embedded_record

    def reading(path: Path, *a: object, **k: object) -> object:
        read.append(Path(path).name)
        return real(path, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(targets, "read_embedded_record", reading)
    target = targets.EmbeddedTarget(home, demo[0], tmp_path / "b", VerifiedCache(home))
    last, _count = target.look()
    assert last is not None and Path(last.file).name == names[-1] and read == [names[-1]]
    # the newest is damaged: it does not count, the one before it is the last verified
    newest = tmp_path / "b" / names[-1]
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0x01
    newest.write_bytes(bytes(data))
    read.clear()
    last, _count = targets.EmbeddedTarget(home, demo[0], tmp_path / "b", VerifiedCache(home)).look()
    assert last is not None and Path(last.file).name == names[-2] and read == [names[-1], names[-2]]
    every = asyncio.run(target.backups())
    assert last == max((r for r in every if r.verified), key=lambda r: r.sort_key())  # as before
