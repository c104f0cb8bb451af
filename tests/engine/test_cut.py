"""Fiscal-year cut: two healthy dossiers whose union is the original; nothing lost on a kill."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BadInput, DossierDamaged
from msde_tui.engine.events import Step
from msde_tui.engine.lifecycle import archive, cut
from tests.dossier_files import balances, demo_file, dump, problems

DETAIL = ("fiscal_year", "entry", "entry_line", "attachment")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_file(tmp_path_factory.mktemp("tpl"), years=8)


@pytest.fixture
def listed(template: Path, home: Path) -> Path:
    """The template as dossier 001SOC of the list in ``home``."""
    path = home / "001SOC.sqlite"
    shutil.copy(template, path)
    (guid,) = sqlite3.connect(path).execute("SELECT guid FROM dossier_info").fetchone()
    Catalog(home).add(Dossier(number="001", short="SOC", company="Soc", location=path.name, guid=guid))
    return path


def test_cut_gives_two_healthy_dossiers_whose_union_is_the_original(listed: Path, home: Path) -> None:
    original = dump(listed)
    before = balances(listed)
    assert problems(listed) == []
    result = cut.cut(home, "001", "2018")
    assert result.cut_code == "001SOC_CUT001" and result.verified
    assert result.cut_path == home / "001SOC_CUT001.sqlite"
    assert result.years == ("2015", "2016", "2017") and result.kept_years[0] == "2018"
    kept, moved = dump(listed), dump(result.cut_path)
    assert problems(listed) == [] and problems(result.cut_path) == []
    for table in DETAIL:  # a partition of the original rows, ids kept
        assert sorted(kept[table] + moved[table]) == original[table], table
        assert not set(kept[table]) & set(moved[table])
    for table in ("account", "third_party", "journal", "vat_code"):
        assert kept[table] == original[table]  # no clean-up asked
        assert set(moved[table]) <= set(original[table]) and moved[table]
    used_accounts = {r[3] for r in moved["entry_line"]}
    assert used_accounts <= {r[0] for r in moved["account"]}
    assert [r[1] for r in moved["fiscal_year"]] == ["2015", "2016", "2017"]
    info = moved["dossier_info"][0]
    assert info[1] != original["dossier_info"][0][1] and info[2] == "001SOC_CUT001"
    assert kept["dossier_info"] == original["dossier_info"]
    after = balances(listed)
    assert {k: after[k] for k in result.kept_years} == {k: before[k] for k in result.kept_years}
    assert balances(result.cut_path) == {k: before[k] for k in result.years}
    record = Catalog(home).get(result.catalog_number)
    assert record.status == "cut" and record.location == "001SOC_CUT001.sqlite"
    assert record.guid == info[1] and record.short == "SOC" and record.number == "002"

    again = cut.cut(home, "001", "2020")  # a dossier can be cut again
    assert again.cut_code == "001SOC_CUT002" and again.years == ("2018", "2019")
    assert problems(listed) == [] and problems(again.cut_path) == []
    assert [r[1] for r in dump(listed)["fiscal_year"]] == ["2020", "2021", "2022"]


def test_clean_references_deletes_only_parties_without_history(listed: Path, home: Path) -> None:
    raw = sqlite3.connect(listed)
    raw.execute("INSERT INTO third_party (id, code, kind, name, country) VALUES (901, 'C90001', 'CUSTOMER', 'Ancien client', 'BE')")
    raw.execute("INSERT INTO third_party (id, code, kind, name, country) VALUES (902, 'C90002', 'CUSTOMER', 'Nouveau client', 'BE')")
    (number,) = raw.execute("SELECT MAX(number) + 1 FROM entry WHERE fiscal_year_id = 2 AND journal_id = 4").fetchone()
    raw.execute(
        "INSERT INTO entry (id, fiscal_year_id, journal_id, number, entry_date, label, kind, origin, valid_date) "
        "VALUES (90001, 2, 4, ?, '2016-06-30', 'Transfert', 'REAL', 'NORMAL', '2016-06-30')", (number,)
    )
    raw.execute("INSERT INTO entry_line (id, entry_id, line_no, account_id, third_party_id, debit, credit) "
                "VALUES (900001, 90001, 1, 11, 901, 1000, 0), (900002, 90001, 2, 11, 901, 0, 1000)")
    raw.commit()
    only_old = {r[0] for r in raw.execute(
        "SELECT DISTINCT l.third_party_id FROM entry_line l JOIN entry e ON e.id = l.entry_id "
        "WHERE e.fiscal_year_id <= 5 AND l.third_party_id IS NOT NULL "
        "EXCEPT SELECT l.third_party_id FROM entry_line l JOIN entry e ON e.id = l.entry_id "
        "WHERE e.fiscal_year_id > 5")}
    raw.close()
    assert 901 in only_old and problems(listed) == []
    result = cut.cut(home, "001", "2020", clean_references=True)
    left = {r[0] for r in dump(listed)["third_party"]}
    assert result.third_parties_deleted == len(only_old)
    assert not (left & only_old) and 902 in left  # a party without any history yet stays
    assert only_old <= {r[0] for r in dump(result.cut_path)["third_party"]}
    assert problems(listed) == [] and problems(result.cut_path) == []


def test_refusals(listed: Path, home: Path, tmp_path: Path) -> None:
    original = dump(listed)
    with pytest.raises(BadInput, match="first year"):
        cut.cut(home, "001", "2015")
    with pytest.raises(BadInput, match="2099"):
        cut.cut(home, "001", "2099")
    archive.archive_dossier(listed, ["2016"], tmp_path)
    with pytest.raises(BadInput, match="archived"):
        cut.cut(home, "001", "2018")
    assert not list(home.glob("*_CUT*"))
    assert dump(listed)["entry"] != original["entry"]  # archived, but not cut


def test_failure_before_commit_changes_nothing_and_removes_the_cut_file(listed: Path, home: Path) -> None:
    original = dump(listed)

    def boom(event: object) -> None:
        if isinstance(event, Step) and event.step == "commit":
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        cut.cut(home, "001", "2018", emit=boom)
    assert dump(listed) == original
    assert not list(home.glob("*CUT*")) and len(Catalog(home)) == 1


def test_damaged_dossier_is_not_cut(listed: Path, home: Path) -> None:
    raw = sqlite3.connect(listed)
    raw.execute("UPDATE entry_line SET debit = debit + 1 WHERE id = (SELECT MIN(id) FROM entry_line WHERE debit > 0)")
    raw.commit()
    raw.close()
    damaged = dump(listed)
    with pytest.raises(DossierDamaged) as refused:
        cut.cut(home, "001", "2018")
    assert dump(listed) == damaged and not list(home.glob("*CUT*"))
    # the problem in the check's own words, never a Python repr of it
    assert "Problem(" not in str(refused.value) and "unbalanced" in str(refused.value).lower()


KILLER = """
import os, signal, sys
from pathlib import Path
from msde_tui.engine.lifecycle import cut
from msde_tui.engine.events import Step
at, dossier, target = sys.argv[1:4]
def on_event(event):
    if isinstance(event, Step) and event.step == at:
        os.kill(os.getpid(), signal.SIGKILL)
cut.cut_dossier(Path(dossier), "2018", cut_path=Path(target), cut_code=Path(target).stem, emit=on_event)
"""


@pytest.mark.slow  # a process killed at each step
@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_kill_at_any_step_leaves_before_or_after(template: Path, tmp_path: Path) -> None:
    dossier = tmp_path / "001SOC.sqlite"
    shutil.copy(template, dossier)
    original = dump(dossier)
    for at in ("verify", "remove", "commit", "done"):
        target = tmp_path / f"001SOC_CUT{at}.sqlite"
        proc = subprocess.run([sys.executable, "-c", KILLER, at, str(dossier), str(target)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == -9, proc.stderr
        state = dump(dossier)
        if at != "done":
            assert state == original, at
            if target.exists():  # published before the kill: a complete, verified copy
                assert problems(target) == []
        else:
            assert [r[1] for r in state["fiscal_year"]][0] == "2018"
            moved = dump(target)
            for table in DETAIL:
                assert sorted(state[table] + moved[table]) == original[table]
        assert problems(dossier) == []


def test_cli_cut_list_and_cut(listed: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["--json", "cut", "--list", "--min-years", "9"]) == 0
    assert json.loads(capsys.readouterr().out)["dossiers"] == []
    assert main(["--json", "cut", "--list"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["dossiers"]
    assert row["dossier"] == "001SOC" and row["years"] == 8
    assert main(["--json", "cut", "001", "--keep-from", "2019", "--clean-references"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["cut"] == "001SOC_CUT001" and payload["moved_years"] == ["2015", "2016", "2017", "2018"]
    assert main(["cut", "001"]) == 2
    assert "--keep-from" in capsys.readouterr().err


def test_list_and_cut_list_say_where_a_cut_dossier_came_from(listed: Path, home: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "cut", "001", "--keep-from", "2017"]) == 0
    number = json.loads(capsys.readouterr().out)["cut_number"]
    assert main(["--json", "list"]) == 0
    rows = {d["number"]: d for d in json.loads(capsys.readouterr().out)["dossiers"]}
    assert rows["001"]["cut_from"] is None
    assert rows[number]["cut_from"] == {"dossier": "001SOC", "cut": 1}
    assert main(["list"]) == 0
    assert "cut (cut 001 of 001SOC)" in " ".join(capsys.readouterr().out.split())
    # the kept dossier has 6 years, the cut one 2: both listed with --min-years 2
    assert main(["--json", "cut", "--list", "--min-years", "2"]) == 0
    found = {r["dossier"][:3]: r["cut_from"] for r in json.loads(capsys.readouterr().out)["dossiers"]}
    assert found == {"001": None, number: {"dossier": "001SOC", "cut": 1}}
    assert main(["cut", "--list", "--min-years", "2"]) == 0
    assert "cut 001 of 001SOC" in " ".join(capsys.readouterr().out.split())


def test_every_refusal_of_archive_cut_and_audit_exits_2(listed: Path, home: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Bad input (no such dossier or year, open or archived year, missing directory or
    option, no SIREN, no PAF) exits 2 with one plain sentence, never a traceback."""
    out = tmp_path / "out"
    out.mkdir()
    refusals = [
        ["archive", "001", "--dir", str(out), "--years", "2040"],  # no such year
        ["archive", "001", "--dir", str(out), "--years", "2022"],  # the open year
        ["archive", "042", "--dir", str(out)],  # no such dossier
        ["archive", "001", "--dir", str(tmp_path / "nowhere")],
        ["archive", "001", "--dir", str(out), "--years", "2015", "--all"],
        ["archive", "001", "--dir", str(out), "--older-than", "-1"],
        ["unarchive", str(tmp_path / "missing.paf")],
        ["cut", "001"],
        ["cut", "001", "--keep-from", "2015"],  # the first year: nothing to cut
        ["cut", "001", "--keep-from", "2040"],
        ["cut", "042", "--keep-from", "2017"],
        ["cut", "--list", "--min-years", "0"],
        ["audit", "001", "--years", "2040", "--dir", str(out)],
        ["audit", "001", "--years", "2016", "--dir", str(tmp_path / "nowhere")],
        ["audit", "001", "--years", "2016", "--dir", str(out), "--fec"],  # no SIREN, no --fec-id
        ["audit", "001", "--years", "2022", "--dir", str(out), "--fec", "--fec-id", "X1"],  # open
        ["audit", "001", "--years", "2016", "--dir", str(out), "--fec", "--fec-id", "../x"],
        ["audit", "001", "--years", "2016", "--dir", str(out), "--encoding", "cp1252"],
    ]
    for args in refusals:
        capsys.readouterr()
        assert main(args) == 2, args
        said = capsys.readouterr()
        text = said.out + said.err  # archive reports per dossier ("FAILED — ..."), others "Error:"
        assert ("Error:" in said.err or "FAILED" in said.out) and "Traceback" not in text, (args, text)
    assert main(["archive", "001", "--dir", str(out), "--years", "2015"]) == 0
    for args in (
        ["archive", "001", "--dir", str(out), "--years", "2015"],  # already archived
        ["cut", "001", "--keep-from", "2017"],  # an archived year would move out
        ["audit", "001", "--years", "2015", "--dir", str(out)],  # archived, no --paf
        ["audit", "001", "--years", "2015", "--dir", str(out), "--paf", str(tmp_path / "none")],
    ):
        capsys.readouterr()
        assert main(args) == 2, args
    assert list(out.glob("Admin*")) == []
    assert main(["audit", "001", "--years", "2015", "--dir", str(out), "--paf", str(out),
                 "--fec", "--fec-id", "X1"]) == 0


def test_a_draft_in_the_open_year_does_not_stop_the_cut(listed: Path, home: Path) -> None:
    conn = sqlite3.connect(listed)
    conn.execute("UPDATE entry SET valid_date = NULL WHERE id = (SELECT MAX(id) FROM entry "
                 "WHERE kind = 'REAL')")  # the open year's last entry: not validated yet
    conn.commit()
    conn.close()
    assert [p.kind for p in problems(listed)] == ["unvalidated"]  # reported, no damage
    result = cut.cut(home, "001", "2019")
    assert result.years == ("2015", "2016", "2017", "2018")
    assert [p.kind for p in problems(listed)] == ["unvalidated"]


async def test_the_cut_result_names_the_dossier_as_the_list_shows_it(listed: Path, home: Path) -> None:
    """The result said "moved to 001SOC_CUT001 (dossier 002)", a code no list shows: it names the
    new dossier by its list code, and its file apart, in English and in French."""
    from msde_tui import i18n
    from msde_tui.engine import words
    from msde_tui.engine.events import DossierResult
    from msde_tui.engine.lifecycle.lifeops import run_cut
    from msde_tui.engine.plans import CutPlan

    events = [e async for e in run_cut(CutPlan(dossier="001SOC", keep_from="2019"), home)]
    result = next(e for e in events if isinstance(e, DossierResult))
    new = next(d for d in Catalog(home).dossiers() if d.status == "cut")
    assert result.ok and f"moved to dossier {new.code} (file {new.location}, verified)" in result.message
    i18n.setup("fr")
    assert f"vers le dossier {new.code} (fichier {new.location}, vérifié)" in words.shown(result.message)
