"""Access dossiers over the three real files (JET3 nwind.mdb, JET4 date.mdb, ACE12 sample.accdb).

Covered: recognised by header (not extension) with format and size; ``msde add --file``;
backup = byte-for-byte copy + proof with every table's rows, verified by reading them back;
a flipped byte, a truncated copy and a damaged table under a rewritten proof are refused; a
lock file refuses the backup unless forced; restore over the listed file (verified safety copy
first) and as a new number; automatic backups with the three settings (travelling clock).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from msde_tui.cli import main
from msde_tui.engine.auto.policy import AutoConfig
from msde_tui.engine.auto.records import local_now
from msde_tui.engine.auto.run import run_auto
from msde_tui.engine.backends.access import fileformat, proofs
from msde_tui.engine.backends.access.backend import check_backup
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BackupInvalid
from msde_tui.engine.events import DossierResult
from msde_tui.engine.plans import (
    BackupOptions,
    BackupPlan,
    Connection,
    RestoreItem,
    RestorePlan,
    VerifyPlan,
)
from msde_tui.engine.proof import proof_path
from msde_tui.engine.runs import runner as operations
from tests.access_fixtures import FIXTURES, copy_fixture, needs_access

pytestmark = needs_access
NAMES = list(FIXTURES)


def _add(home: Path, file: Path, number: str = "001", short: str = "NW") -> Dossier:
    return Catalog(home).add(Dossier(number=number, short=short, company="Office",
                                     backend="access", location=str(file)))


def _result(events: list[object]) -> DossierResult:
    results = [e for e in events if isinstance(e, DossierResult)]
    assert len(results) == 1
    return results[0]


def _backup(home: Path, dossier: Dossier, target: Path, **options: bool) -> DossierResult:
    plan = BackupPlan(Connection(), (dossier,), str(target), BackupOptions(**options))
    return _result(operations.collect(operations.run_backup(plan, home=home)))


def _verify(home: Path, file: Path) -> DossierResult:
    plan = VerifyPlan(Connection(), (str(file),))
    return _result(operations.collect(operations.run_verify(plan, home=home)))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- recognise, add


@pytest.mark.parametrize("name", NAMES)
def test_recognised_by_header_not_by_extension(name: str, tmp_path: Path) -> None:
    disguised = copy_fixture(name, tmp_path, "ledger.dat")
    found = fileformat.open_access(disguised)
    assert found.format == FIXTURES[name][0]
    assert found.size == disguised.stat().st_size
    fake = tmp_path / "fake.mdb"
    fake.write_bytes(b"SQLite format 3\x00" + bytes(100))
    assert fileformat.sniff(fake) is None


@pytest.mark.parametrize("name", NAMES)
def test_cli_add_shows_format_and_size(name: str, home: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    file = copy_fixture(name, tmp_path / "office")
    assert main(["--home", str(home), "add", "--short", "ACC", "--company", "Office", "--file", str(file)]) == 0
    out = capsys.readouterr().out
    fmt = FIXTURES[name][0]
    assert f"Access {fmt} file" in out and "never writes Access files" in out
    assert fileformat.human_size(file.stat().st_size) in out
    listed = Catalog(home).get("001")
    assert (listed.backend, listed.location) == ("access", str(file.resolve()))
    assert main(["--home", str(home), "--json", "list"]) == 0
    assert '"backend": "access"' in capsys.readouterr().out


def test_cli_add_refuses_a_file_that_is_neither(home: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "notes.mdb"
    other.write_text("not a database")
    assert main(["--home", str(home), "add", "--short", "X", "--company", "X", "--file", str(other)]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("command", [["check", "001"], ["pack", "001", "--dir", "."], ["export", "001"],
                                     ["cut", "001", "--keep-from", "2020"],
                                     ["audit", "001", "--years", "2020", "--dir", "."]])
def test_operations_on_accounting_tables_refuse_an_access_dossier_plainly(
    command: list[str], home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _add(home, copy_fixture("sample.accdb", tmp_path / "office"))
    assert main(["--home", str(home), *command]) == 2
    err = capsys.readouterr().err
    assert "001NW is an Access dossier" in err and "msde convert" in err and "Traceback" not in err


# --------------------------------------------------------------------------- backup, verify


@pytest.mark.parametrize("name", NAMES)
def test_backup_is_an_exact_copy_with_every_table_read_back(name: str, home: Path, tmp_path: Path) -> None:
    file = copy_fixture(name, tmp_path / "office")
    dossier = _add(home, file)
    result = _backup(home, dossier, tmp_path)
    assert result.ok and result.verified, result.message
    backup = Path(result.files[0])
    assert backup.read_bytes() == file.read_bytes()
    assert backup.suffix == (".accdb" if name.endswith(".accdb") else ".mdb")
    proof = proofs.read(backup)
    fmt, tables = FIXTURES[name]
    assert proof.access_format == fmt and proof.sha256 == _sha(file) and proof.size == file.stat().st_size
    assert {t: f.rows for t, f in proof.tables.items()} == tables
    assert proof.movements == sum(tables.values())
    again = _verify(home, backup)
    assert again.ok and again.verified and again.details["tables"] == tables


def test_flipped_byte_and_truncated_copy_are_refused(home: Path, tmp_path: Path) -> None:
    dossier = _add(home, copy_fixture("nwind.mdb", tmp_path / "office"))
    backup = Path(_backup(home, dossier, tmp_path).files[0])
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0x01
    backup.write_bytes(bytes(data))
    flipped = _verify(home, backup)
    assert not flipped.ok and "SHA-256" in flipped.message
    backup.write_bytes(bytes(data[: len(data) // 3]))
    truncated = _verify(home, backup)
    assert not truncated.ok and "truncated" in truncated.message


def test_a_damaged_table_is_caught_by_reading_rows_even_under_a_rewritten_proof(home: Path, tmp_path: Path) -> None:
    dossier = _add(home, copy_fixture("nwind.mdb", tmp_path / "office"))
    backup = Path(_backup(home, dossier, tmp_path).files[0])
    data = backup.read_bytes()
    damaged = data.replace(b"LILA-Supermercado", b"XILA-Supermercado")  # one letter, every copy
    assert len(damaged) == len(data) and damaged != data
    backup.write_bytes(damaged)
    # A proof rewritten to the damaged file's size and hash: only reading the rows can tell.
    raw = json.loads(proof_path(backup).read_text(encoding="utf-8"))
    old = proofs.AccessProof(
        file=raw["file"], sha256=_sha(backup), size=len(damaged), access_format=raw["access_format"],
        code=raw["code"], created_at=datetime.fromisoformat(raw["created_at"]), source=raw["source"],
        tables={n: proofs.TableFacts(t["rows"], t["sha256"]) for n, t in raw["tables"].items()},
    )
    proofs.write(backup, old)
    with pytest.raises(BackupInvalid, match="Table .* of .* reads back .* rows that differ"):
        check_backup(backup)


def test_a_truncated_copy_under_a_rewritten_proof_stops_the_reader_at_once(home: Path, tmp_path: Path) -> None:
    """mdbtools 1.0 loops on a truncated file (hundreds of MB of "beyond EOF" on stderr, memory
    without end): the reader is stopped at its first fatal message and the backup refused."""
    dossier = _add(home, copy_fixture("nwind.mdb", tmp_path / "office"))
    backup = Path(_backup(home, dossier, tmp_path).files[0])
    cut = backup.read_bytes()[:1_500_000]
    backup.write_bytes(cut)
    raw = proofs.read(backup)  # still intact: it describes the whole file
    proofs.write(backup, replace(raw, sha256=_sha(backup), size=len(cut)))
    with pytest.raises(BackupInvalid, match="cannot be read back: .*beyond EOF"):
        check_backup(backup)


def test_a_directory_without_room_is_refused_before_copying(home: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil
    from collections import namedtuple

    from msde_tui.engine.backends.access import backend

    dossier = _add(home, copy_fixture("nwind.mdb", tmp_path / "office"))
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(backend.shutil, "disk_usage", lambda _p: usage(10**9, 10**9 - 4096, 4096))
    (tmp_path / "out").mkdir()
    result = _backup(home, dossier, tmp_path / "out")
    monkeypatch.setattr(backend.shutil, "disk_usage", shutil.disk_usage)
    assert not result.ok and result.details["error"] == "DiskFull" and "has 4.0 KB free" in result.message
    assert list((tmp_path / "out").iterdir()) == []


def test_lock_file_refuses_the_backup_unless_forced(home: Path, tmp_path: Path) -> None:
    file = copy_fixture("sample.accdb", tmp_path / "office")
    dossier = _add(home, file)
    (file.parent / "sample.laccdb").write_bytes(b"")
    refused = _backup(home, dossier, tmp_path / "out")
    assert not refused.ok and refused.details["error"] == "AccessFileInUse"
    assert "open in Access" in refused.message and "--force" in refused.hint
    (tmp_path / "out").mkdir()
    assert not list((tmp_path / "out").iterdir())
    forced = _backup(home, dossier, tmp_path / "out", force=True)
    assert forced.ok and forced.details["forced"] and "may be inconsistent" in forced.message


# --------------------------------------------------------------------------- restore


def _restore(home: Path, source: Path, number: str, short: str = "", *, replace: bool = False) -> DossierResult:
    plan = RestorePlan(Connection(), (RestoreItem(str(source), number, short, replace=replace),))
    return _result(operations.collect(operations.run_restore(plan, home=home)))


def test_restore_over_the_listed_file_keeps_a_verified_safety_copy(home: Path, tmp_path: Path) -> None:
    file = copy_fixture("nwind.mdb", tmp_path / "office")
    dossier = _add(home, file)
    backup = Path(_backup(home, dossier, tmp_path).files[0])
    original = file.read_bytes()
    changed = original.replace(b"LILA-Supermercado", b"LILA-Hipermercado", 1)
    file.write_bytes(changed)  # the office's day of work (an Access file still)
    refused = _restore(home, backup, "001")
    assert not refused.ok and file.read_bytes() == changed
    result = _restore(home, backup, "001", replace=True)
    assert result.ok, result.message
    assert file.read_bytes() == original
    safety = Path(result.details["safety_copies"][0])  # type: ignore[index]
    assert safety.parent == home / "safety" and safety.read_bytes() == changed
    check_backup(safety)
    assert Catalog(home).get("001").status == "restored"


def test_restore_as_a_new_number_lists_a_new_access_dossier(home: Path, tmp_path: Path) -> None:
    file = copy_fixture("sample.accdb", tmp_path / "office")
    backup = Path(_backup(home, _add(home, file, short="ASSET"), tmp_path).files[0])
    result = _restore(home, backup, "005")
    assert result.ok, result.message
    new = Catalog(home).get("005")
    assert (new.code, new.backend, new.status, new.company) == ("005ASSET", "access", "restored", "Office")
    assert Path(new.location) == home / "005ASSET.accdb"
    assert Path(new.location).read_bytes() == file.read_bytes()


def test_an_embedded_backup_never_replaces_an_access_dossier(home: Path, tmp_path: Path) -> None:
    from msde_tui.engine.accounting.demo import create_demo

    (demo,) = create_demo(home, dossiers=1, years=1, lines=20)
    (tmp_path / "emb").mkdir()
    embedded = Path(_backup(home, demo, tmp_path / "emb").files[0])
    file = copy_fixture("date.mdb", tmp_path / "office")
    before = file.read_bytes()
    _add(home, file, number="002", short="DT")
    result = _restore(home, embedded, "002", "DT", replace=True)
    assert not result.ok and "Number 002 is the Access dossier 002DT" in result.message
    assert file.read_bytes() == before and Catalog(home).get("002").backend == "access"


def test_a_damaged_backup_is_never_restored(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = copy_fixture("date.mdb", tmp_path / "office")
    backup = Path(_backup(home, _add(home, file, short="DT"), tmp_path).files[0])
    data = bytearray(backup.read_bytes())
    data[4096] ^= 0xFF
    backup.write_bytes(bytes(data))
    assert main(["--home", str(home), "restore", str(backup), "--number", "002"]) == 1
    assert "SHA-256" in capsys.readouterr().out
    assert Catalog(home).find("002") is None and not (home / "002DT.mdb").exists()


# --------------------------------------------------------------------------- automatic backups


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(datetime(2027, 3, 1, 2, 17, 0), tick=True) as traveller:
        yield traveller


def test_automatic_backups_with_the_three_settings(home: Path, tmp_path: Path,
                                                   clock: time_machine.Traveller) -> None:
    office = tmp_path / "office"
    file = copy_fixture("date.mdb", office, "compta.mdb")  # 6 rows
    _add(home, file)
    target = tmp_path / "auto"
    config = AutoConfig().with_default(enabled=True, keep=2, every_days=2, max_movements=100,
                                       directory=str(target))

    def run() -> dict[str, object]:
        report = asyncio.run(run_auto(home, config=config, clock=local_now))
        (outcome,) = report.dossiers
        return {"action": outcome.action, "reason": outcome.reason, "ok": outcome.ok,
                "deleted": list(outcome.deleted)}

    def backups() -> list[str]:
        return sorted(p.name for p in target.glob("001NW_*.mdb"))

    first = run()
    assert first["action"] == "backup" and first["ok"] and "no verified backup" in str(first["reason"])
    clock.shift(timedelta(days=1))
    assert run()["action"] == "skip"  # 1 day < 2, 0 movements < 100
    clock.shift(timedelta(days=1))
    by_delay = run()
    assert by_delay["action"] == "backup" and "2 days" in str(by_delay["reason"])
    assert len(backups()) == 2
    copy_fixture("nwind.mdb", office, "compta.mdb")  # the office typed 4026 more rows
    clock.shift(timedelta(hours=1))
    by_rows = run()
    assert by_rows["action"] == "backup" and "4026 movements" in str(by_rows["reason"])
    assert len(by_rows["deleted"]) == 1 and len(backups()) == 2  # keep = 2
    newest = target / backups()[-1]
    assert proofs.read(newest).movements == sum(FIXTURES["nwind.mdb"][1].values())
    assert newest.read_bytes() == file.read_bytes()
