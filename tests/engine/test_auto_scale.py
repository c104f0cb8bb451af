"""The automatic run lists each backup directory once per run, whatever the number of dossiers,
and still sees (and rotates) the backups it writes itself."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.auto import targets
from msde_tui.engine.auto.policy import AutoConfig
from msde_tui.engine.auto.run import run_auto

DAY0 = datetime(2027, 3, 1, 2, 17, 0)


def test_one_listing_per_directory_and_rotation_sees_new_backups(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_demo(home, dossiers=6, years=1, lines=40, seed=3)
    target = tmp_path / "backups"
    config = AutoConfig().with_default(enabled=True, keep=1, every_days=1, max_movements=0,
                                       directory=str(target))
    calls: list[Path] = []
    real = targets.backup_names

    def counting(directory: Path) -> dict[str, list[str]]:
        calls.append(directory)
        return real(directory)

    monkeypatch.setattr(targets, "backup_names", counting)
    first = asyncio.run(run_auto(home, config=config, clock=lambda: DAY0))
    assert all(d.ok and d.action == "backup" for d in first.dossiers)
    # A day later every dossier is due again; keep=1 rotates the first backups away.
    calls.clear()
    later = asyncio.run(run_auto(home, config=config, clock=lambda: DAY0 + timedelta(days=1, hours=1)))
    assert all(d.ok and d.action == "backup" for d in later.dossiers), later.dossiers
    # one listing for the six decisions (then a few after the backups and the deletions)
    decisions = len(calls) - sum(1 for d in later.dossiers if d.deleted)
    assert decisions <= 2, calls
    for d in later.dossiers:
        names = sorted(p.name for p in target.glob(f"{d.code}_*.sqlite.bak"))
        assert len(names) == 1 and names[0] == Path(d.file or "").name, (d.code, names)
