"""A backup job names its phase and its progress never goes back; cancelled while verifying,
it leaves no backup that looks valid (the file and its proof are gone)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from msde_tui.engine import events as ev
from msde_tui.engine.backends.embedded import snapshot as embedded_snapshot
from msde_tui.engine.backends.embedded.backend import EmbeddedBackend
from msde_tui.engine.events import DossierResult, Event, Step
from msde_tui.engine.plans import BackupOptions
from msde_tui.engine.runs import threads
from msde_tui.i18n import setup
from msde_tui.screens.progress import OK, JobView, phase_word
from tests.engine.test_embedded_backend import backup_one, make_dossier


async def test_cancel_while_verifying_leaves_no_valid_looking_backup(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dossier = make_dossier(home, pad_mb=6)
    slow = threads.Work.progress

    def slow_progress(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        slow(self, *args, **kwargs)
        time.sleep(0.05)  # long enough to be cancelled in the middle of the verification

    monkeypatch.setattr(threads.Work, "progress", slow_progress)
    out = tmp_path / "out"
    out.mkdir()
    seen: list[Event] = []

    async def consume() -> None:
        async for event in EmbeddedBackend(home).backup(dossier, str(out), BackupOptions(verify=True)):
            seen.append(event)

    task = asyncio.create_task(consume())
    while not any(isinstance(e, Step) and e.step == "verify" for e in seen):
        await asyncio.sleep(0.005)
    assert any(p.name.endswith(".bak") for p in out.iterdir())  # published, proof written, not verified
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not any(isinstance(e, DossierResult) for e in seen)
    assert list(out.iterdir()) == []  # neither the unverified file nor its proof


@pytest.mark.parametrize("way", ["in memory", "backup API"])
async def test_real_backup_progress_never_goes_back_and_names_phases(home: Path, tmp_path: Path, way: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if way == "backup API":
        monkeypatch.setattr(embedded_snapshot, "SERIALIZE_MAX", 0)
    dossier = make_dossier(home, pad_mb=3)
    seen: list[Event] = []
    original = threads.Work.put

    def keep(self, event):  # type: ignore[no-untyped-def]
        seen.append(event)
        original(self, event)

    monkeypatch.setattr(threads.Work, "put", keep)
    monkeypatch.setattr(threads, "PROGRESS_EVERY_S", 0.0)
    result = await backup_one(home, dossier, tmp_path)
    assert result.ok and result.verified
    view = JobView([dossier.code])
    view.apply(1.0, ev.Started(dossier.code, "backup", ("backup", "verify")))
    shown: list[float] = []
    words: list[str] = []
    for event in seen:
        if not isinstance(event, Event) or isinstance(event, DossierResult):
            continue
        view.apply(2.0, event)
        row = view.rows[dossier.code]
        if row.overall is not None:
            shown.append(row.overall)
        words.append(phase_word(row.step))
    steps = [e.step for e in seen if isinstance(e, Step)]
    # copy + checksum (one step when hashed in memory while copying), read + integrity
    assert steps.count("backup") >= (2 if way == "backup API" else 1) and steps.count("verify") >= 2
    raw = [e.percent for e in seen if isinstance(e, ev.Progress) and e.percent is not None]
    assert any(b < a for a, b in zip(raw, raw[1:], strict=False))  # each step starts again from 0 ...
    assert shown == sorted(shown) and len(shown) > 3  # ... the row's progress does not
    assert shown[-1] < 100.0
    assert "copying" in words and "verifying" in words
    view.apply(3.0, result)
    assert view.rows[dossier.code].state == OK and view.rows[dossier.code].overall == 100.0


def test_phase_words_in_french() -> None:
    setup("fr")
    try:
        assert (phase_word("backup"), phase_word("verify")) == ("copie", "vérification")
    finally:
        setup("en")
