"""Default concurrency follows the machine; an explicit number is kept; never more than jobs."""

from __future__ import annotations

import pytest

from msde_tui.engine.runs import concurrency


def test_embedded_default_is_two_per_core_within_bounds() -> None:
    assert concurrency.embedded_concurrency(1) == 2
    assert concurrency.embedded_concurrency(2) == 4
    assert concurrency.embedded_concurrency(64) == concurrency.EMBEDDED_MAX


def test_server_default_respects_express_cap() -> None:
    assert concurrency.server_concurrency(None) == concurrency.SERVER_DEFAULT
    assert concurrency.server_concurrency(1) == 1
    assert concurrency.server_concurrency(32) == 4  # Express: 4 cores at most


def test_resolve_auto_follows_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(concurrency, "machine_cores", lambda: 3)
    assert concurrency.resolve(0, embedded=True, jobs=200) == 6
    assert concurrency.resolve(0, embedded=True, jobs=2) == 2  # never more than the jobs
    assert concurrency.resolve(5, embedded=True, jobs=200) == 5  # the user's number wins
    assert concurrency.resolve(0, embedded=False, jobs=200) == concurrency.SERVER_DEFAULT


def test_machine_cores_is_positive() -> None:
    assert concurrency.machine_cores() >= 1
