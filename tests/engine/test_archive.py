"""Archive (PAF) and archive import: balances kept, rows back exactly, nothing lost on a kill."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
import zipfile
from datetime import date
from pathlib import Path

import pytest

from msde_tui.engine import auditlog
from msde_tui.engine.accounting import demo, ledger
from msde_tui.engine.errors import BackupInvalid, BadInput, DossierDamaged, WrongDossier
from msde_tui.engine.events import Event, Step
from msde_tui.engine.lifecycle import archive, unarchive
from msde_tui.engine.lifecycle.paf import verify_paf
from msde_tui.engine.lifecycle.years import archivable, default_years
from tests.dossier_files import balances, demo_file, dump, problems


def nets(lines: list[tuple]) -> dict:
    return {(a, t): d - c for a, t, d, c in lines if d != c}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_file(tmp_path_factory.mktemp("tpl"), years=6)


@pytest.fixture
def dossier(template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "001SOC.sqlite"
    shutil.copy(template, path)
    return path


@pytest.fixture
def out(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def test_archive_keeps_balances_and_import_restores_every_row(dossier: Path, out: Path) -> None:
    original = dump(dossier)
    before = balances(dossier)
    assert problems(dossier) == []
    events: list[Event] = []
    result = archive.archive_dossier(dossier, ["2015", "2017"], out, emit=events.append)
    steps = [e.step for e in events if isinstance(e, Step)]
    assert steps == ["read", "write", "verify", "replace", "check", "commit", "done"]
    assert {e.dossier for e in events} == {"001SOC"}  # named for the dossier, by its code
    assert result.verified and result.paf.parent == out and result.paf.suffix == ".paf"
    after = balances(dossier)
    for code in before:
        if code in ("2015", "2017"):
            assert nets(after[code]) == nets(before[code])
        else:
            assert after[code] == before[code], code  # kept years: identical, sums included
    assert problems(dossier) == []
    state = dump(dossier)
    years = {r[1]: r for r in state["fiscal_year"]}
    assert years["2015"][4] == "ARCHIVED" and years["2017"][4] == "ARCHIVED"
    assert years["2016"][4] == "CLOSED"
    od_journal = next(r[0] for r in state["journal"] if r[1] == "OD")
    for archived in result.years:
        entries = [e for e in state["entry"] if e[1] == archived.year_id]
        assert len(entries) == 1
        (od,) = entries
        assert od[0] == archived.balance_entry_id and od[2] == od_journal
        assert od[4] == f"{archived.code}-12-31" and od[8:10] == ("REAL", "ARCHIVE_BALANCE")
        used = [e[3] for e in original["entry"] if e[1] == archived.year_id and e[2] == od_journal]
        assert od[3] == max(used) + 1  # next free number, nothing renumbered
        lines = [ln for ln in state["entry_line"] if ln[1] == od[0]]
        assert sum(ln[7] - ln[8] for ln in lines) == 0
        assert len(lines) == archived.balance_lines
        accounts = {r[0]: r[1] for r in state["account"]}
        keys = [(accounts[ln[3]], ln[4]) for ln in lines]
        assert len(keys) == len(set(keys))
        assert all(t is not None for a, t in keys if a in ("400", "440"))
        assert any(a.startswith(("6", "7")) for a, _ in keys)  # the year's movements
    # every other row untouched, no id reused
    kept_entries = [e for e in original["entry"] if e[1] not in (1, 3)]
    assert [e for e in state["entry"] if e[8:10] != ("REAL", "ARCHIVE_BALANCE")] == kept_entries
    assert min(e[0] for e in state["entry"] if e[9] == "ARCHIVE_BALANCE") > max(
        e[0] for e in original["entry"]
    )

    back = unarchive.unarchive(dossier, result.paf, delete=True)
    assert back.years == ("2015", "2017") and back.paf_deleted and not result.paf.exists()
    assert dump(dossier) == original
    assert problems(dossier) == []


def test_paf_is_verified_and_a_flipped_byte_is_caught(dossier: Path, out: Path) -> None:
    result = archive.archive_dossier(dossier, ["2015"], out)
    info = verify_paf(result.paf)
    assert info.code == "001SOC" and [y["code"] for y in info.years] == ["2015"]
    damaged = out / "damaged.paf"
    data = bytearray(result.paf.read_bytes())
    with zipfile.ZipFile(result.paf) as zf:
        member = next(i for i in zf.infolist() if "entry_line" in i.filename)
        offset = member.header_offset + 30 + len(member.filename) + len(member.extra) + member.compress_size // 2
    data[offset] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(BackupInvalid):
        verify_paf(damaged)
    archived = dump(dossier)
    with pytest.raises(BackupInvalid):
        unarchive.unarchive(dossier, damaged)
    assert dump(dossier) == archived
    (out / "nonsense.paf").write_bytes(b"not a zip at all")
    with pytest.raises(BackupInvalid):
        unarchive.unarchive(dossier, out / "nonsense.paf")


def test_import_only_into_the_dossier_it_came_from(dossier: Path, out: Path, tmp_path: Path) -> None:
    other = tmp_path / "002BRA.sqlite"
    demo.build_dossier(other, code="002BRA", company="Bra", years=6, lines=1200, first_year=2015)
    result = archive.archive_dossier(dossier, ["2015"], out)
    untouched = dump(other)
    with pytest.raises(WrongDossier, match="001SOC"):
        unarchive.unarchive(other, result.paf)
    assert dump(other) == untouched
    unarchive.unarchive(dossier, result.paf)
    with pytest.raises(BadInput, match="not archived"):
        unarchive.unarchive(dossier, result.paf)  # already imported: nothing to do


def test_selection_rules(dossier: Path, out: Path) -> None:
    engine = ledger.open_engine(dossier)
    with engine.connect() as conn:
        years = ledger.fiscal_years(conn)
    engine.dispose()
    chosen = default_years(years, date(2024, 6, 1))
    assert [y.code for y in chosen] == ["2015", "2016"]  # ended at least 7 years before
    assert [y.code for y in archivable(years)] == ["2015", "2016", "2017", "2018", "2019"]
    with pytest.raises(BadInput, match="open"):
        archive.archive_dossier(dossier, ["2020"], out)
    archive.archive_dossier(dossier, ["2016"], out)
    with pytest.raises(BadInput, match="already archived"):
        archive.archive_dossier(dossier, ["2016"], out)
    with pytest.raises(BadInput, match="2031"):
        archive.archive_dossier(dossier, ["2031"], out)


def test_partial_import_then_the_rest(dossier: Path, out: Path) -> None:
    original = dump(dossier)
    result = archive.archive_dossier(dossier, ["2015", "2016"], out)
    first = unarchive.unarchive(dossier, result.paf, years=["2016"], delete=True)
    assert first.years == ("2016",) and not first.paf_deleted  # 2015 still needs it
    assert problems(dossier) == []
    second = unarchive.unarchive(dossier, result.paf, delete=True)
    assert second.years == ("2015",) and second.paf_deleted
    assert dump(dossier) == original


def test_a_year_whose_entries_do_not_balance_is_not_archived(dossier: Path, out: Path) -> None:
    """Its balance entry could not sum to zero: refused in words once the PAF is written, before
    it is published; the dossier and the directory stay as they were."""
    conn = sqlite3.connect(dossier)
    conn.execute("UPDATE entry_line SET debit = debit + 1 WHERE id = (SELECT MIN(l.id) FROM entry_line l "
                 "JOIN entry e ON e.id = l.entry_id JOIN fiscal_year y ON y.id = e.fiscal_year_id "
                 "WHERE y.code = '2015' AND e.kind = 'REAL' AND l.debit > 0)")
    conn.commit()
    conn.close()
    original = dump(dossier)
    with pytest.raises(DossierDamaged, match="fiscal year 2015 do not balance"):
        archive.archive_dossier(dossier, ["2015", "2016"], out)
    assert dump(dossier) == original
    assert list(out.iterdir()) == []  # no PAF, no staging directory left


def test_failure_inside_the_transaction_changes_nothing(dossier: Path, out: Path) -> None:
    original = dump(dossier)

    def boom(event: object) -> None:
        if isinstance(event, Step) and event.step == "check":
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        archive.archive_dossier(dossier, ["2015"], out, emit=boom)
    assert dump(dossier) == original
    # the PAF was written and verified, but the years were not archived: it is removed, so that
    # no file that verifies claims an archive never made (issue "a hostile world", class 4)
    assert sorted(p.name for p in out.iterdir()) == []


def sqlite_schema(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").fetchall()
    finally:
        conn.close()


def integrity(path: Path) -> tuple[list[tuple], list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchall(), conn.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        conn.close()


def test_archiving_most_lines_rebuilds_the_line_indexes_and_import_restores_every_row(
    dossier: Path, out: Path
) -> None:
    """Five of six years: more lines deleted than kept, so the entry_line indexes are dropped
    around the delete and created again (balance._indexes_rebuilt); the file is sound, its
    schema the same statement for statement, balances kept, and the import gives every row back."""
    original, schema_before, before = dump(dossier), sqlite_schema(dossier), balances(dossier)
    years = ["2015", "2016", "2017", "2018", "2019"]
    ids = {r[0] for r in original["fiscal_year"] if r[1] in years}
    gone = {r[0] for r in original["entry"] if r[1] in ids}
    archived_lines = sum(1 for r in original["entry_line"] if r[1] in gone)
    assert archived_lines > len(original["entry_line"]) - archived_lines  # the rebuilding path
    result = archive.archive_dossier(dossier, years, out)
    assert integrity(dossier) == ([("ok",)], [])
    assert sqlite_schema(dossier) == schema_before  # the indexes are back, as they were declared
    after = balances(dossier)
    assert {c: nets(after[c]) for c in years} == {c: nets(before[c]) for c in years}
    assert after["2020"] == before["2020"]
    assert problems(dossier) == []
    unarchive.unarchive(dossier, result.paf)
    assert dump(dossier) == original
    assert integrity(dossier) == ([("ok",)], []) and sqlite_schema(dossier) == schema_before


def test_the_paf_check_digests_the_rows_decoded_from_the_bytes_stored(
    dossier: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows the writer decodes back from each chunk it stored are the ones compared with the
    dossier's (not decoded a second time): rows lost in that decoding fail the archive, which
    changes nothing; without the writer's decoding the check decodes the file itself."""
    from msde_tui.packfmt.writer import PackWriter, TableWriter

    original = dump(dossier)
    real = TableWriter._decoded

    def lossy(self: TableWriter, group: object) -> None:
        real(self, group.slice(1))  # type: ignore[attr-defined]

    monkeypatch.setattr(TableWriter, "_decoded", lossy)
    with pytest.raises(BackupInvalid, match="rows read back differ|holds .* rows"):
        archive.archive_dossier(dossier, ["2015"], out)
    assert dump(dossier) == original and list(out.iterdir()) == []
    monkeypatch.undo()

    def undecoded(self: PackWriter, name: str, *_args: object) -> None:
        return None  # nothing decoded when stored: finish's check must decode the chunks

    monkeypatch.setattr(PackWriter, "decode_chunk", undecoded)
    result = archive.archive_dossier(dossier, ["2015"], out)
    assert verify_paf(result.paf).code == "001SOC"
    unarchive.unarchive(dossier, result.paf)
    assert dump(dossier) == original


def test_the_paf_holds_every_row_though_the_details_are_deleted_while_it_is_written(
    dossier: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WAL dossier: the details are deleted (not committed) while the PAF is written from a
    read-only snapshot taken before; here the lines are read only once the delete is done, and
    the PAF still holds every row (the import gives the dossier back as it was)."""
    import threading

    from msde_tui.engine.lifecycle import balance
    from msde_tui.engine.lifecycle.trialsums import TrialSums

    conn = sqlite3.connect(dossier)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    original = dump(dossier)
    deleted = threading.Event()
    real_delete, real_lines = balance.delete_years, TrialSums.lines

    def delete(*args: object, **kwargs: object) -> None:
        real_delete(*args, **kwargs)  # type: ignore[arg-type]
        deleted.set()

    def lines(self: TrialSums, batch: object) -> None:
        assert deleted.wait(30)
        real_lines(self, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(balance, "delete_years", delete)
    monkeypatch.setattr(TrialSums, "lines", lines)
    result = archive.archive_dossier(dossier, ["2015", "2016", "2017"], out)
    assert deleted.is_set() and sum(y.lines for y in result.years) > 0
    monkeypatch.undo()
    unarchive.unarchive(dossier, result.paf)
    assert dump(dossier) == original


@pytest.mark.parametrize("where", ["delete", "read"])
def test_a_failure_on_either_side_of_the_write_changes_nothing_and_leaves_no_paf(
    dossier: Path, out: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The delete fails while the PAF is written, or the PAF's reading fails after the delete:
    the transaction is rolled back and no file (nor staging directory) is left."""
    from msde_tui.engine.lifecycle import balance
    from msde_tui.engine.lifecycle.trialsums import TrialSums

    original = dump(dossier)

    def full(*_args: object, **_kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    def damaged(*_args: object, **_kwargs: object) -> None:
        raise DossierDamaged("A line cannot be read.")

    if where == "delete":
        monkeypatch.setattr(balance, "delete_years", full)
    else:
        monkeypatch.setattr(TrialSums, "lines", damaged)
    with pytest.raises(Exception, match="full|cannot be read"):
        archive.archive_dossier(dossier, ["2015", "2016"], out)
    assert dump(dossier) == original and list(out.iterdir()) == []
    assert integrity(dossier) == ([("ok",)], [])


def test_a_dossier_not_in_wal_mode_is_archived_and_restored(dossier: Path, out: Path) -> None:
    """Rollback journal: the details are deleted only once the PAF is published."""
    conn = sqlite3.connect(dossier)
    assert conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
    conn.close()
    original, before = dump(dossier), balances(dossier)
    result = archive.archive_dossier(dossier, ["2015", "2016", "2017", "2018"], out)
    after = balances(dossier)
    assert after["2019"] == before["2019"] and nets(after["2016"]) == nets(before["2016"])
    assert integrity(dossier) == ([("ok",)], [])
    unarchive.unarchive(dossier, result.paf)
    assert dump(dossier) == original


@pytest.mark.parametrize("wrong", ["a kept line deleted", "a balance entry in a kept year"])
def test_the_check_reads_the_changed_dossier_and_refuses_a_wrong_change(
    dossier: Path, out: Path, monkeypatch: pytest.MonkeyPatch, wrong: str
) -> None:
    """The "after" of the check is read from the dossier once changed: a delete that also took
    a kept year's line, or a balance entry put in a kept year, is refused and rolled back, and
    the PAF already published is removed."""
    from msde_tui.engine.lifecycle import balance

    original = dump(dossier)
    real_delete, real_insert = balance.delete_years, balance.insert_balances

    def delete(conn: object, years: list, **kwargs: object) -> None:
        real_delete(conn, years, **kwargs)  # type: ignore[arg-type]
        conn.exec_driver_sql(  # type: ignore[attr-defined]
            "DELETE FROM entry_line WHERE id = (SELECT min(l.id) FROM entry_line l JOIN entry e ON e.id = l.entry_id "
            "JOIN fiscal_year y ON y.id = e.fiscal_year_id WHERE y.code = '2018' AND e.kind = 'REAL')")

    def insert(conn: object, years: list, od: dict, *args: object) -> None:
        kept = next(r[0] for r in original["fiscal_year"] if r[1] == "2018")
        year = years[0]
        moved = type(year)(**{**year.__dict__, "id": kept})
        real_insert(conn, [moved, *years[1:]], {kept: od[year.id], **od}, *args)  # type: ignore[arg-type]

    if wrong == "a kept line deleted":
        monkeypatch.setattr(balance, "delete_years", delete)
    else:
        monkeypatch.setattr(balance, "insert_balances", insert)
    with pytest.raises(DossierDamaged, match="trial balance of fiscal year"):
        archive.archive_dossier(dossier, ["2015", "2016"], out)
    assert dump(dossier) == original and list(out.iterdir()) == []


def test_a_second_interruption_while_waiting_for_the_writer_still_removes_its_paf(
    dossier: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check fails once the PAF is published (read back while the balance entries are
    checked), and a second Ctrl-C arrives while the archive waits for its writer: the dossier is
    rolled back and the published PAF removed all the same (it would claim an archive never made)."""
    original = dump(dossier)
    real_check = archive._check_after

    def check_after(*args: object, **kwargs: object) -> None:
        while not any(p.suffix == ".paf" for p in out.iterdir()):  # the writer publishes meanwhile
            time.sleep(0.01)
        real_check(*args, **kwargs)  # type: ignore[arg-type]
        raise DossierDamaged("The trial balance of fiscal year 2019 changed.")

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(archive, "_check_after", check_after)
    monkeypatch.setattr(archive, "wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        archive.archive_dossier(dossier, ["2015", "2016"], out)
    assert dump(dossier) == original and list(out.iterdir()) == []


def test_cancelled_while_the_paf_is_written_changes_nothing(dossier: Path, out: Path) -> None:
    """Cancelling (``emit`` raises at a Progress, as the job registry does) while the PAF's rows
    are written in its thread, the delete done meanwhile: rolled back, no file left."""
    from msde_tui.engine.errors import Cancelled
    from msde_tui.engine.events import Progress

    original, schema_before = dump(dossier), sqlite_schema(dossier)
    seen: list[str] = []

    def cancel(event: Event) -> None:
        if isinstance(event, Step):
            seen.append(event.step)
        if isinstance(event, Progress) and seen[-1] == "write" and event.percent > 0:
            raise Cancelled("Cancelled; nothing half-done was kept.")

    with pytest.raises(Cancelled):
        archive.archive_dossier(dossier, ["2015", "2016", "2017", "2018"], out, emit=cancel)
    assert dump(dossier) == original and list(out.iterdir()) == []
    assert integrity(dossier) == ([("ok",)], []) and sqlite_schema(dossier) == schema_before


KILLER = """
import os, signal, sys
from pathlib import Path
from msde_tui.engine.lifecycle import archive, unarchive
from msde_tui.engine.events import Step
op, at, dossier, arg = sys.argv[1:5]
def on_event(event):
    if isinstance(event, Step) and event.step == at:
        os.kill(os.getpid(), signal.SIGKILL)
if op == "archive":
    archive.archive_dossier(Path(dossier), ["2015", "2016"], Path(arg), emit=on_event)
else:
    unarchive.unarchive(Path(dossier), Path(arg), emit=on_event)
"""


def run_killed(*args: str) -> None:
    proc = subprocess.run([sys.executable, "-c", KILLER, *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr


@pytest.mark.slow  # a process killed at each step
@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_kill_at_any_step_leaves_before_or_after(dossier: Path, out: Path, tmp_path: Path) -> None:
    original = dump(dossier)
    for at in ("verify", "check"):  # PAF written / years replaced, before COMMIT
        run_killed("archive", at, str(dossier), str(out))
        assert dump(dossier) == original, at
        assert problems(dossier) == []
    run_killed("archive", "done", str(dossier), str(out))  # killed right after COMMIT
    archived = dump(dossier)
    assert {r[1]: r[4] for r in archived["fiscal_year"]}["2016"] == "ARCHIVED"
    assert problems(dossier) == []
    paf = max(out.glob("*.paf"), key=lambda p: p.stat().st_mtime_ns)
    for at in ("check",):  # rows back, OD gone, before COMMIT
        run_killed("unarchive", at, str(dossier), str(paf))
        assert dump(dossier) == archived, at
    run_killed("unarchive", "done", str(dossier), str(paf))
    assert dump(dossier) == original


def test_cli_archive_several_dossiers_then_unarchive(home: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from msde_tui.cli import main

    demo.create_demo(home, dossiers=2, years=9, lines=900)
    originals = {p.name: dump(p) for p in home.glob("*.sqlite")}
    out = tmp_path / "paf"
    out.mkdir()
    capsys.readouterr()
    assert main(["--json", "archive", "001", "002", "--dir", str(out), "--dry-run"]) == 0
    planned = json.loads(capsys.readouterr().out)["results"]
    expected = [str(date.today().year - 8)]  # 9 years: only the oldest ended 7+ years ago
    assert [r["years"] for r in planned] == [expected, expected] and not list(out.iterdir())
    assert main(["--json", "archive", "001", "002", "--dir", str(out), "--all"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert all(r["ok"] and r["verified"] for r in results)
    assert [len(r["years"]) for r in results] == [8, 8]  # every closed year; the open one stays
    pafs = sorted(out.glob("*.paf"))
    assert [p.name[:7] for p in pafs] == ["001-SOC", "002-BRA"]
    assert main(["unarchive", str(pafs[1]), "--dossier", "001"]) == 1
    assert "002BRA" in capsys.readouterr().err
    assert main(["--json", "archive", "009", "--dir", str(out)]) == 2  # unknown dossier: bad input
    assert json.loads(capsys.readouterr().out)["results"][0]["ok"] is False
    for paf in pafs:
        assert main(["--json", "unarchive", str(paf), "--delete"]) == 0
        assert json.loads(capsys.readouterr().out)["paf_deleted"] is True
        logged = auditlog.read(home)[-1]  # the files as they are now: the dossier, not the deleted PAF
        assert logged["operation"] == "unarchive" and str(paf) not in logged["files"]
        assert [Path(f).name for f in logged["files"]] == [f"{paf.name[:3]}{paf.name[4:7]}.sqlite"]
    assert {p.name: dump(p) for p in home.glob("*.sqlite")} == originals
    assert main(["archive", "001", "--dir", str(tmp_path / "nowhere")]) == 2
