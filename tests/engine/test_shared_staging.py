"""Dossiers backed up into one directory at the same time share one private staging directory,
made when the first starts and removed when the last ends; a failed copy removes its own files
from it and leaves the others' alone."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from msde_tui.engine.backends.embedded import files as embedded_files
from msde_tui.engine.backends.embedded import snapshot as embedded_snapshot
from msde_tui.engine.backends.embedded.files import SharedStaging
from msde_tui.engine.plans import BackupOptions, BackupPlan, Connection
from msde_tui.engine.proof import proof_path
from msde_tui.engine.runs import runner
from tests.engine.test_embedded_backend import make_dossier


def test_copies_made_at_once_share_one_staging_directory(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dossiers = [make_dossier(home, f"00{i}", short, seed=i) for i, short in enumerate(("SOC", "BRA", "GAR"), 1)]
    out = tmp_path / "out"
    out.mkdir()
    made: list[Path] = []
    real_staging_dir = embedded_files.staging_dir

    def counted(directory: Path) -> Path:
        made.append(real_staging_dir(directory))
        return made[-1]

    together = threading.Barrier(len(dossiers))
    real_copy = embedded_snapshot.serialize_copy

    def copy_together(*args, **kwargs):  # type: ignore[no-untyped-def]
        together.wait(timeout=30)  # every dossier is inside its copy at the same moment
        return real_copy(*args, **kwargs)

    monkeypatch.setattr(embedded_files, "staging_dir", counted)
    monkeypatch.setattr(embedded_snapshot, "serialize_copy", copy_together)
    plan = BackupPlan(Connection(), tuple(dossiers), str(out), BackupOptions(verify=True),
                      concurrency=len(dossiers))
    results = [e for e in runner.collect(runner.run_backup(plan, home=home))
               if isinstance(e, runner.DossierResult)]
    assert [r.ok and r.verified for r in results] == [True] * len(dossiers), results
    assert len(made) == 1 and made[0].parent == out
    backups = sorted(out.glob("*.sqlite.bak"))
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [p.name for p in backups] + [proof_path(p).name for p in backups])  # the staging is gone
    assert len(backups) == len(dossiers)


def test_the_staging_directory_lives_while_one_copy_uses_it(tmp_path: Path) -> None:
    shared = SharedStaging()
    with shared.use(tmp_path) as first:
        (first / "a.partial").write_bytes(b"left by a failed copy")
        with shared.use(tmp_path) as second:
            assert second == first
        assert first.is_dir()  # the first user still writes there
    assert not first.exists()  # removed with what a failed copy left in it
    with shared.use(tmp_path) as again:
        assert again != first and again.is_dir()
    assert list(tmp_path.iterdir()) == []


def test_a_failed_copy_removes_its_files_and_leaves_the_others(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good, bad = make_dossier(home, "001", "SOC", seed=1), make_dossier(home, "002", "BRA", seed=2)
    out = tmp_path / "out"
    out.mkdir()
    together = threading.Barrier(2)
    staged: list[list[str]] = []
    real_copy = embedded_snapshot.serialize_copy

    def copy(work, label, src, partial, *args, **kwargs):  # type: ignore[no-untyped-def]
        copied = real_copy(work, label, src, partial, *args, **kwargs)
        together.wait(timeout=30)
        if label == bad.code:
            staged.append(sorted(p.name for p in partial.parent.iterdir()))
            raise OSError(5, "Input/output error")
        waited = time.monotonic() + 30  # until the bad copy has failed and cleaned up after itself
        while [p.name for p in partial.parent.iterdir()] != [partial.name] and time.monotonic() < waited:
            time.sleep(0.01)
        assert [p.name for p in partial.parent.iterdir()] == [partial.name]  # this one's is still there
        return copied

    monkeypatch.setattr(embedded_snapshot, "serialize_copy", copy)
    plan = BackupPlan(Connection(), (good, bad), str(out), BackupOptions(verify=True), concurrency=2)
    events = runner.collect(runner.run_backup(plan, home=home))
    results = {e.dossier: e for e in events if isinstance(e, runner.DossierResult)}
    assert results[good.code].ok and results[good.code].verified
    assert not results[bad.code].ok
    assert len(staged[0]) == 2  # both copies were in the one staging directory
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 2 and all(n.startswith(good.code) for n in names), names
