"""Embedded backend on real SQLite files: backup while in use, verify, restore, cancel."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from msde_tui.engine.accounting import demo
from msde_tui.engine.backends import open_backend
from msde_tui.engine.backends.embedded import snapshot as embedded_snapshot
from msde_tui.engine.backends.embedded import verify as embedded_verify
from msde_tui.engine.backends.embedded.backend import EmbeddedBackend
from msde_tui.engine.catalog import LOCK_FILE, Catalog, Dossier
from msde_tui.engine.errors import BackupInvalid, BadInput, Busy, WrongDossier
from msde_tui.engine.events import DossierResult, Event, Progress
from msde_tui.engine.plans import BackupOptions, Connection, RestoreItem
from msde_tui.engine.proof import proof_path, read_proof
from msde_tui.engine.runs import threads
from tests.dossier_files import dump_all as dump


def make_dossier(home: Path, number: str = "001", short: str = "SOC", *, pad_mb: int = 0,
                 seed: int = 1) -> Dossier:
    path = home / f"{number}{short}.sqlite"
    guid = demo.build_dossier(path, code=f"{number}{short}", company=f"Company {short}", years=2,
                              lines=200, seed=seed)
    if pad_mb:
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE pad (id INTEGER PRIMARY KEY, b BLOB)")
            for _ in range(pad_mb):
                conn.execute("INSERT INTO pad (b) VALUES (?)", (os.urandom(1024 * 1024),))
        conn.close()
    dossier = Dossier(number, short, f"Company {short}", location=path.name, guid=guid)
    return Catalog(home).add(dossier)


async def events_of(agen) -> list[Event]:  # type: ignore[no-untyped-def]
    return [e async for e in agen]


def result_of(events: list[Event]) -> DossierResult:
    results = [e for e in events if isinstance(e, DossierResult)]
    assert len(results) == 1, events
    return results[0]


async def backup_one(home: Path, dossier: Dossier, directory: Path, verify: bool = True) -> DossierResult:
    backend = EmbeddedBackend(home)
    return result_of(await events_of(backend.backup(dossier, str(directory), BackupOptions(verify=verify))))


async def verify_file(home: Path, file: Path) -> DossierResult:
    return result_of(await events_of(EmbeddedBackend(home).verify(str(file))))


async def fails_with(agen, error: type[Exception]) -> Exception:  # type: ignore[no-untyped-def]
    with pytest.raises(error) as info:
        await events_of(agen)
    return info.value


# --------------------------------------------------------------------------- backup


@pytest.fixture(params=["in memory", "backup API"])
def copy_way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a backup is copied: small verified dossiers in memory (serialize), others page
    by page with SQLite's online backup API."""
    calls: list[str] = []
    real = embedded_snapshot.serialize_copy

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append("serialize")
        return real(*args, **kwargs)

    monkeypatch.setattr(embedded_snapshot, "serialize_copy", spy)
    if request.param == "backup API":
        monkeypatch.setattr(embedded_snapshot, "SERIALIZE_MAX", 0)
    yield request.param
    assert bool(calls) == (request.param == "in memory"), calls  # the way named was the way taken


async def test_backup_writes_file_and_proof_then_verifies(home: Path, tmp_path: Path, copy_way: str) -> None:
    dossier = make_dossier(home)
    out = tmp_path / "out"
    out.mkdir()
    result = await backup_one(home, dossier, out)
    assert result.ok and result.verified
    backup = Path(result.files[0])
    assert backup.name.startswith("001SOC_") and backup.name.endswith(".sqlite.bak")
    proof = read_proof(backup)
    assert proof.size == backup.stat().st_size
    assert proof.guid == dossier.guid and proof.code == "001SOC"
    with sqlite3.connect(home / dossier.location) as conn:
        assert proof.movements == conn.execute("SELECT COUNT(*) FROM entry").fetchone()[0] > 0
    conn.close()
    # Self-contained: no WAL beside it, header says rollback journal.
    assert sorted(p.name for p in out.iterdir()) == sorted([backup.name, proof_path(backup).name])
    assert backup.read_bytes()[18:20] == b"\x01\x01"
    assert dump(backup) == dump(home / dossier.location)
    # The proof's SHA-256 (hashed from memory on the in-memory way) is that of the bytes on disk.
    assert proof.sha256 == hashlib.sha256(backup.read_bytes()).hexdigest()
    with sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert sorted(p.name for p in out.iterdir()) == sorted([backup.name, proof_path(backup).name])


@pytest.mark.posix_only  # names the synced files through /proc
async def test_a_backup_and_its_proof_are_named_only_once_synced(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, copy_way: str) -> None:
    events: list[tuple[str, ...]] = []
    guard = threading.Lock()
    real_fsync, real_link = os.fsync, os.link

    def fsync(fd: int) -> None:
        target = os.path.realpath(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)
        with guard:  # recorded once done (the copy's sync may run in a thread of its own)
            events.append(("fsync", target))

    def link(src: str | Path, dst: str | Path, **kwargs: object) -> None:
        with guard:
            events.append(("link", os.path.realpath(src), os.path.realpath(dst)))
        real_link(src, dst, **kwargs)  # type: ignore[arg-type] - the caller passes os.link's own keywords

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    result = await backup_one(home, make_dossier(home), tmp_path)
    backup = Path(result.files[0])
    links = [e for e in events if e[0] == "link"]
    assert [e[2] for e in links] == [os.path.realpath(backup), os.path.realpath(proof_path(backup))]
    for event in links:  # each file's bytes are on disk before it has its name
        assert events.index(("fsync", event[1])) < events.index(event)
    assert ("fsync", os.path.realpath(tmp_path)) in events[events.index(links[-1]):]  # then the names


async def test_an_unverified_backup_is_never_copied_in_memory(home: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # The in-memory copy writes zeros for a page SQLite cannot read; only the integrity check
    # of a verification finds that, so a backup without one takes the backup API.
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("copied in memory without a verification")

    monkeypatch.setattr(embedded_snapshot, "serialize_copy", refuse)
    dossier = make_dossier(home)
    result = await backup_one(home, dossier, tmp_path, verify=False)
    assert result.ok and not result.verified
    assert dump(Path(result.files[0])) == dump(home / dossier.location)


async def test_backup_while_a_writer_holds_an_open_transaction(home: Path, tmp_path: Path,
                                                                  copy_way: str) -> None:
    dossier = make_dossier(home)
    path = home / dossier.location
    before = dump(path)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE account SET label = 'uncommitted' WHERE id IN (SELECT id FROM account LIMIT 3)")
    writer.execute("DELETE FROM entry_line WHERE id IN (SELECT id FROM entry_line LIMIT 5)")
    try:
        result = await backup_one(home, dossier, tmp_path)
    finally:
        writer.execute("COMMIT")
        writer.close()
    assert result.ok and result.verified
    assert dump(Path(result.files[0])) == before  # the committed state, not the open transaction
    assert dump(path) != before


async def test_backup_while_another_connection_keeps_writing(home: Path, tmp_path: Path, copy_way: str) -> None:
    dossier = make_dossier(home, pad_mb=4)
    path = home / dossier.location
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE pairs (n INTEGER, side TEXT)")
    conn.close()
    stop = threading.Event()
    written = [0]

    def write() -> None:
        w = sqlite3.connect(path, isolation_level=None, timeout=10)
        n = 0
        while not stop.is_set():
            w.execute("BEGIN IMMEDIATE")
            w.execute("INSERT INTO pairs VALUES (?, 'a')", (n,))
            w.execute("INSERT INTO pairs VALUES (?, 'b')", (n,))
            w.execute("COMMIT")
            n += 1
            written[0] = n
        w.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        while written[0] < 5:
            await asyncio.sleep(0.01)
        events = await events_of(
            EmbeddedBackend(home).backup(dossier, str(tmp_path), BackupOptions(verify=True)))
    finally:
        stop.set()
        thread.join()
    result = result_of(events)
    assert result.ok and result.verified, result
    rows = dump(Path(result.files[0]))["pairs"]
    assert len(rows) >= 10 and len(rows) % 2 == 0  # only whole transactions
    assert sorted(rows) == sorted([(n, s) for n in range(len(rows) // 2) for s in "ab"])
    assert written[0] * 2 >= len(rows)


async def test_backup_refuses_missing_directory_and_missing_file(home: Path, tmp_path: Path) -> None:
    dossier = make_dossier(home)
    backend = EmbeddedBackend(home)
    err = await fails_with(backend.backup(dossier, str(tmp_path / "nope"), BackupOptions()), BadInput)
    assert "does not exist" in str(err)
    (home / dossier.location).unlink()
    err = await fails_with(backend.backup(dossier, str(tmp_path), BackupOptions()), BadInput)
    assert "missing" in str(err)
    assert list(tmp_path.glob("*.bak*")) == []


async def test_cancel_mid_backup_leaves_no_file_and_no_proof(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dossier = make_dossier(home, pad_mb=6)
    original = dossier_bytes = (home / dossier.location).read_bytes()
    slow = threads.Work.progress

    def slow_progress(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        slow(self, *args, **kwargs)
        time.sleep(0.05)  # the copy takes long enough to be cancelled in the middle

    monkeypatch.setattr(threads.Work, "progress", slow_progress)
    out = tmp_path / "out"
    out.mkdir()
    seen: list[Event] = []

    async def consume() -> None:
        async for event in EmbeddedBackend(home).backup(dossier, str(out), BackupOptions()):
            seen.append(event)

    task = asyncio.create_task(consume())
    while not any(isinstance(e, Progress) for e in seen):
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not any(isinstance(e, DossierResult) for e in seen)
    assert list(out.iterdir()) == []  # no partial, no final file, no proof
    assert (home / dossier.location).read_bytes() == original == dossier_bytes


# --------------------------------------------------------------------------- verify


@pytest.fixture(params=["in turn", "side by side"])
def verify_way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a backup is verified: integrity_check after the SHA-256 read, or (large
    backups) in a second thread while the SHA-256 is read."""
    if request.param == "side by side":
        monkeypatch.setattr(embedded_verify, "PARALLEL_MIN", 0)
    return str(request.param)


async def test_flipped_byte_is_detected(home: Path, tmp_path: Path, verify_way: str) -> None:
    dossier = make_dossier(home)
    backup = Path((await backup_one(home, dossier, tmp_path)).files[0])
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0x01
    backup.write_bytes(bytes(data))
    err = await fails_with(EmbeddedBackend(home).verify(str(backup)), BackupInvalid)
    assert "damaged" in err.message and "SHA-256" in err.message


async def test_truncated_backup_is_refused(home: Path, tmp_path: Path) -> None:
    dossier = make_dossier(home)
    backup = Path((await backup_one(home, dossier, tmp_path)).files[0])
    with open(backup, "r+b") as handle:
        handle.truncate(backup.stat().st_size - 4096)
    err = await fails_with(EmbeddedBackend(home).verify(str(backup)), BackupInvalid)
    assert "truncated" in err.message


async def test_missing_or_corrupt_proof_is_refused(home: Path, tmp_path: Path) -> None:
    dossier = make_dossier(home)
    backup = Path((await backup_one(home, dossier, tmp_path)).files[0])
    proof = proof_path(backup)
    saved = proof.read_text()
    proof.write_text(saved[: len(saved) // 2])
    err = await fails_with(EmbeddedBackend(home).verify(str(backup)), BackupInvalid)
    assert "proof" in err.message
    proof.unlink()
    err = await fails_with(EmbeddedBackend(home).verify(str(backup)), BackupInvalid)
    assert "missing" in err.message
    proof.write_text(saved)
    assert (await verify_file(home, backup)).verified


async def test_proof_of_another_dossier_is_refused(home: Path, tmp_path: Path) -> None:
    a = make_dossier(home, "001", "SOC", seed=1)
    b = make_dossier(home, "002", "BRA", seed=2)
    backup_a = Path((await backup_one(home, a, tmp_path)).files[0])
    backup_b = Path((await backup_one(home, b, tmp_path)).files[0])
    shutil.copy(proof_path(backup_b), proof_path(backup_a))
    err = await fails_with(EmbeddedBackend(home).verify(str(backup_a)), Exception)
    assert isinstance(err, BackupInvalid | WrongDossier)
    assert "another" in err.message or "damaged" in err.message


async def test_integrity_problem_with_matching_proof_is_refused(home: Path, tmp_path: Path, verify_way: str) -> None:
    """A proof rewritten to match a damaged file still fails on integrity_check."""
    dossier = make_dossier(home)
    backup = Path((await backup_one(home, dossier, tmp_path)).files[0])
    data = bytearray(backup.read_bytes())
    page = 4096
    for i in range(page * 3 + 8, page * 3 + 600):  # scribble over a b-tree page
        data[i] = 0xAB
    backup.write_bytes(bytes(data))
    import hashlib

    from msde_tui.engine.proof import proof_digest

    raw = json.loads(proof_path(backup).read_text())
    raw["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    raw["proof_sha256"] = proof_digest(raw)  # a consistent, rewritten proof
    proof_path(backup).write_text(json.dumps(raw))
    err = await fails_with(EmbeddedBackend(home).verify(str(backup)), BackupInvalid)
    assert "damaged" in err.message and "integrity check" in err.message


# --------------------------------------------------------------------------- restore


async def test_restore_replace_brings_back_every_row_and_keeps_a_safety_copy(
    home: Path, tmp_path: Path
) -> None:
    dossier = make_dossier(home)
    path = home / dossier.location
    at_backup = dump(path)
    backup = Path((await backup_one(home, dossier, tmp_path)).files[0])
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM entry_line WHERE entry_id IN (SELECT id FROM entry WHERE id % 3 = 0)")
        conn.execute("UPDATE account SET label = label || ' (changed)'")
    conn.close()
    changed = dump(path)
    assert changed != at_backup

    item = RestoreItem(str(backup), "001", "SOC", replace=True)
    result = result_of(await events_of(EmbeddedBackend(home).restore(item)))
    assert result.ok and result.verified, result
    assert dump(path) == at_backup
    safety = [Path(p) for p in result.details["safety_copies"]]  # type: ignore[union-attr]
    assert len(safety) == 1 and safety[0].parent == home / "safety"
    assert (await verify_file(home, safety[0])).verified
    assert dump(safety[0]) == changed
    record = Catalog(home).get("001")
    assert record.status == "restored" and record.guid == dossier.guid
    assert not [p for p in home.iterdir() if p.name.startswith(".")]  # no temporary file left
    # The safety copy is listed with the backups and undoes the restore.
    infos = await EmbeddedBackend(home).backups_in(str(home / "safety"))
    assert [Path(i.file) for i in infos] == safety and infos[0].has_checksums
    undo = RestoreItem(str(safety[0]), "001", "SOC", replace=True)
    assert result_of(await events_of(EmbeddedBackend(home).restore(undo))).ok
    assert dump(path) == changed
    assert len(list((home / "safety").glob("*.sqlite"))) == 2
    # The restored dossier is a normal WAL dossier again.
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


async def test_restore_over_a_taken_number_without_replace_is_refused(home: Path, tmp_path: Path) -> None:
    dossier = make_dossier(home)
    backup = Path((await backup_one(home, dossier, tmp_path)).files[0])
    before = (home / dossier.location).read_bytes()
    err = await fails_with(
        EmbeddedBackend(home).restore(RestoreItem(str(backup), "001", "SOC")), BadInput)
    assert "already taken" in err.message and "002" in err.hint
    assert (home / dossier.location).read_bytes() == before
    assert not (home / "safety").exists()


async def test_restore_as_new_number_adds_the_dossier(home: Path, tmp_path: Path) -> None:
    dossier = make_dossier(home)
    backup = Path((await backup_one(home, dossier, tmp_path)).files[0])
    item = RestoreItem(str(backup), "7", "", company="Copy SA")
    result = result_of(await events_of(EmbeddedBackend(home).restore(item)))
    assert result.ok and result.details["dossier"] == "007SOC"
    record = Catalog(home).get("007SOC")
    assert record.company == "Copy SA" and record.location == "007SOC.sqlite"
    copy, original = dump(home / "007SOC.sqlite"), dump(home / dossier.location)
    assert copy.pop("dossier_info") != original.pop("dossier_info")  # its own GUID and code 007SOC
    assert copy == original
    assert record.guid and record.guid != dossier.guid and record.origin == dossier.guid


async def test_restore_of_a_damaged_backup_changes_nothing(home: Path, tmp_path: Path) -> None:
    dossier = make_dossier(home)
    backup = Path((await backup_one(home, dossier, tmp_path)).files[0])
    data = bytearray(backup.read_bytes())
    data[-100] ^= 0xFF
    backup.write_bytes(bytes(data))
    before = (home / dossier.location).read_bytes()
    await fails_with(
        EmbeddedBackend(home).restore(RestoreItem(str(backup), "001", "SOC", replace=True)), BackupInvalid)
    assert (home / dossier.location).read_bytes() == before
    assert sorted(p.name for p in home.iterdir() if p.name != LOCK_FILE) == ["001SOC.sqlite", "dossiers.json"]


async def test_restore_refuses_a_dossier_open_elsewhere(home: Path, tmp_path: Path) -> None:
    dossier = make_dossier(home)
    backup = Path((await backup_one(home, dossier, tmp_path)).files[0])
    other = sqlite3.connect(home / dossier.location)
    other.execute("SELECT COUNT(*) FROM entry").fetchone()
    try:
        err = await fails_with(
            EmbeddedBackend(home).restore(RestoreItem(str(backup), "001", "SOC", replace=True)),
            Busy,
        )
    finally:
        other.close()
    assert "open in another program" in err.message


async def test_cancel_mid_restore_leaves_the_dossier_unchanged(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dossier = make_dossier(home, pad_mb=6)
    backup = Path((await backup_one(home, dossier, tmp_path)).files[0])
    with sqlite3.connect(home / dossier.location) as conn:
        conn.execute("DELETE FROM pad WHERE id = 1")
    conn.close()
    before = (home / dossier.location).read_bytes()
    catalog_before = (home / "dossiers.json").read_text()
    slow = threads.Work.progress

    def slow_progress(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        slow(self, *args, **kwargs)
        time.sleep(0.03)

    monkeypatch.setattr(threads.Work, "progress", slow_progress)
    seen: list[Event] = []

    async def consume() -> None:
        item = RestoreItem(str(backup), "001", "SOC", replace=True)
        async for event in EmbeddedBackend(home).restore(item):
            seen.append(event)

    task = asyncio.create_task(consume())
    while not any(getattr(e, "step", "") == "copy" for e in seen):
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (home / dossier.location).read_bytes() == before
    assert (home / "dossiers.json").read_text() == catalog_before
    assert sorted(p.name for p in home.iterdir() if p.name != LOCK_FILE) == ["001SOC.sqlite", "dossiers.json"]


# --------------------------------------------------------------------------- browsing


async def test_facts_databases_dirs_and_backups_in(home: Path, tmp_path: Path) -> None:
    dossier = make_dossier(home)
    backend = open_backend(Connection(), home=home)
    assert isinstance(backend, EmbeddedBackend)
    facts = await backend.facts()
    assert facts.edition == "embedded" and facts.default_backup_path == str(home / "backups")
    assert [d.name for d in await backend.databases()] == ["001SOC.sqlite"]
    out = tmp_path / "out"
    out.mkdir()
    backup = Path((await backup_one(home, dossier, out)).files[0])
    (out / "sub").mkdir()
    (out / "stray.sqlite.bak").write_bytes(b"x" * 10)
    listing = await backend.list_dir(str(out))
    assert listing[0].name == "sub" and listing[0].is_dir
    assert {e.name for e in listing[1:]} == {backup.name, proof_path(backup).name, "stray.sqlite.bak"}
    exists, free = await backend.check_dir(str(out))
    assert exists and free and free > 0
    assert (await backend.check_dir(str(out / "nope")))[0] is False
    infos = {Path(i.file).name: i for i in await backend.backups_in(str(out))}
    assert infos[backup.name].has_checksums and infos[backup.name].guid == dossier.guid
    assert infos[backup.name].code == "001SOC"
    assert infos["stray.sqlite.bak"].has_checksums is False
    with pytest.raises(BadInput):
        await backend.list_dir(str(tmp_path / "nope"))


def test_open_backend_kinds(home: Path) -> None:
    with pytest.raises(BadInput):
        open_backend(Connection(kind="oracle"), home=home)
    server = open_backend(Connection(kind="mssql", host="127.0.0.1", user="sa"), home=home)
    assert type(server).__name__ == "MssqlBackend"
