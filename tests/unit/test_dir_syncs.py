"""Directory syncs shared by the dossiers published at the same moment (group commit)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from msde_tui.engine.backends.embedded import files
from msde_tui.engine.backends.embedded.files import DirSyncs


def test_each_caller_returns_after_a_sync_that_started_after_its_call(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syncs: list[tuple[float, float]] = []  # (started, ended) of each real directory sync

    def slow_sync(_directory: Path) -> None:
        started = time.monotonic()
        time.sleep(0.02)
        syncs.append((started, time.monotonic()))

    monkeypatch.setattr(files, "fsync_dir", slow_sync)
    shared = DirSyncs()
    calls: list[tuple[float, float]] = []  # (asked, returned) of each caller
    guard = threading.Lock()

    def publish() -> None:
        for _ in range(5):
            asked = time.monotonic()
            shared.sync(tmp_path)
            with guard:
                calls.append((asked, time.monotonic()))

    threads = [threading.Thread(target=publish) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 40
    for asked, returned in calls:  # its names were created before it asked: a later sync covers them
        assert any(asked <= started and ended <= returned for started, ended in syncs), (asked, returned)
    assert len(syncs) < len(calls)  # shared: fewer syncs than callers
    assert all(a[1] <= b[0] for a, b in zip(syncs, syncs[1:], strict=False))  # one at a time


def test_a_failed_sync_is_not_taken_for_a_done_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[int] = []

    def failing_once(_directory: Path) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise KeyboardInterrupt  # whatever stops the first sync half-way
    monkeypatch.setattr(files, "fsync_dir", failing_once)
    shared = DirSyncs()
    with pytest.raises(KeyboardInterrupt):
        shared.sync(tmp_path)
    shared.sync(tmp_path)  # the next caller runs a sync of its own
    assert len(attempts) == 2
