"""Dossier identity (issue 12 point 3): a copy that becomes another dossier gets its own GUID and
the internal code of its number; a PAF or PTF goes only into a dossier of its own line.

The scenario of the issue, through the engine and the CLI: restore 001's backup as 004, archive
004, import the archive — the PAF of 004 only goes back into 004; offered for 001 it is refused
in words and 001 is untouched.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine import identity
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import WrongDossier
from msde_tui.engine.lifecycle import unarchive
from tests.dossier_files import dump_all as dump


def info(path: Path) -> tuple[str, str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        guid, code = conn.execute("SELECT guid, code FROM dossier_info").fetchone()
    finally:
        conn.close()
    return guid, code


@pytest.fixture
def office(home: Path, tmp_path: Path) -> Path:
    create_demo(home, dossiers=1, years=4, lines=120, seed=3)
    out = tmp_path / "out"
    out.mkdir()
    return out


def _restore_001_as_004(home: Path, office: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backup", "001", "--dir", str(office)]) == 0
    backup = next(office.glob("*.sqlite.bak"))
    assert main(["restore", str(backup), "--number", "004"]) == 0
    out = capsys.readouterr().out
    assert "restored as dossier 004SOC" in out and "internal code 004SOC" in out


def _archive(number: str, office: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["--json", "archive", number, "--dir", str(office), "--all"]) == 0
    paf = Path(json.loads(capsys.readouterr().out)["results"][0]["paf"])
    assert paf.is_file()
    return paf


def test_restore_as_a_new_number_gets_its_own_identity(home: Path, office: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    _restore_001_as_004(home, office, capsys)
    catalog = Catalog(home)
    original, copy = catalog.get("001"), catalog.get("004")
    assert info(home / "004SOC.sqlite") == (copy.guid, "004SOC")
    assert info(home / "001SOC.sqlite") == (original.guid, "001SOC")
    assert copy.guid != original.guid and copy.origin == original.guid and copy.origin_code == "001SOC"
    one, four = dump(home / "001SOC.sqlite"), dump(home / "004SOC.sqlite")
    assert {t: rows for t, rows in one.items() if t != "dossier_info"} == {
        t: rows for t, rows in four.items() if t != "dossier_info"}


def test_the_paf_of_004_goes_only_into_004(home: Path, office: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _restore_001_as_004(home, office, capsys)
    paf = _archive("004", office, capsys)
    before = dump(home / "001SOC.sqlite")
    # engine: aimed at 001, refused
    with pytest.raises(WrongDossier, match="not of 001SOC"):
        unarchive.unarchive(home / "001SOC.sqlite", paf)
    # CLI: aimed at 001, refused in words (no traceback), exit 1
    assert main(["unarchive", str(paf), "--dossier", "001"]) == 1
    err = capsys.readouterr().err
    assert "belongs to dossier 004SOC, not to 001SOC" in err and "001SOC was not touched" in err
    assert "Traceback" not in err
    assert dump(home / "001SOC.sqlite") == before
    # found by its own identity: back into 004
    assert main(["unarchive", str(paf)]) == 0
    assert "\n004SOC: fiscal years" in "\n" + capsys.readouterr().out
    assert dump(home / "001SOC.sqlite") == before


def test_a_legacy_copy_gets_its_identity_on_first_use(home: Path, office: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A data directory from before: 004 is a copy of 001 listed with 001's GUID and code inside."""
    catalog = Catalog(home)
    original = catalog.get("001")
    shutil.copy(home / "001SOC.sqlite", home / "004SOC.sqlite")
    catalog.add(Dossier("004", "SOC", "Copy", location="004SOC.sqlite", status="restored", guid=original.guid))
    paf = _archive("004", office, capsys)
    copy = Catalog(home).get("004")
    assert copy.guid not in (None, original.guid) and copy.origin == original.guid
    assert info(home / "004SOC.sqlite") == (copy.guid, "004SOC")
    assert Catalog(home).get("001") == original and info(home / "001SOC.sqlite") == (original.guid, "001SOC")
    before = dump(home / "001SOC.sqlite")
    assert main(["unarchive", str(paf), "--dossier", "001"]) == 1
    assert "not to 001SOC" in capsys.readouterr().err
    assert dump(home / "001SOC.sqlite") == before
    assert main(["unarchive", str(paf)]) == 0
    assert "004SOC" in capsys.readouterr().out


def test_an_archive_of_the_original_goes_back_into_a_copy_made_after_it(
    home: Path, office: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The copy's line holds its origin: 001's PAF, taken before the backup, fits 004 too."""
    paf = _archive("001", office, capsys)
    _restore_001_as_004(home, office, capsys)
    assert main(["unarchive", str(paf), "--dossier", "004"]) == 0
    assert "004SOC: fiscal years" in capsys.readouterr().out


def test_restore_over_the_same_dossier_keeps_its_identity(home: Path, office: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    before = Catalog(home).get("001")
    assert main(["backup", "001", "--dir", str(office)]) == 0
    backup = next(office.glob("*.sqlite.bak"))
    assert main(["restore", str(backup), "--number", "001", "--replace"]) == 0
    after = Catalog(home).get("001")
    assert (after.guid, after.origin) == (before.guid, None)
    assert info(home / "001SOC.sqlite") == (before.guid, "001SOC")


def test_for_copy_rules(home: Path) -> None:
    catalog = Catalog(home)
    catalog.add(Dossier("001", "SOC", "Soc", location="001SOC.sqlite", guid="g1"))
    # the dossier itself, rebuilt where nobody else holds its GUID: kept
    assert identity.for_copy(Catalog(home), "002", "BRA", "g2", "002BRA") == identity.Identity("g2", "002BRA")
    # under another number than its code: a copy
    moved = identity.for_copy(catalog, "005", "SOC", "g1", "001SOC")
    assert moved.is_new and moved.guid != "g1" and (moved.code, moved.origin, moved.origin_code) == (
        "005SOC", "g1", "001SOC")
    # its GUID held by another listed dossier: a copy even under its own code
    assert identity.for_copy(catalog, "002", "SOC", "g1", "002SOC").is_new
    # an earlier state of the dossier it replaces: that dossier's identity
    assert identity.for_copy(catalog, "001", "SOC", "g1", "001SOC", replacing=catalog.get("001")).guid == "g1"


def test_restore_replace_of_another_dossiers_backup_leaves_no_unlisted_file(
    home: Path, office: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """001's backup over 002BRA: the new file is 002SOC.sqlite; the old 002BRA.sqlite goes (its
    verified safety copy holds it) and the result says where that copy is."""
    create_demo(home, dossiers=1, years=2, lines=60, seed=4)  # 002BRA beside 001SOC
    assert Catalog(home).get("002").code == "002BRA"
    old = dump(home / "002BRA.sqlite")
    assert main(["backup", "001", "--dir", str(office)]) == 0
    backup = next(office.glob("*.sqlite.bak"))
    capsys.readouterr()
    assert main(["restore", str(backup), "--number", "002", "--replace"]) == 0
    out = capsys.readouterr().out
    listed = {d.location for d in Catalog(home).dossiers()}
    assert listed == {"001SOC.sqlite", "002SOC.sqlite"}
    assert not (home / "002BRA.sqlite").exists()
    safety = list((home / "safety").glob("002BRA_*.sqlite"))
    assert len(safety) == 1 and dump(safety[0]) == old
    assert "002BRA.sqlite was removed" in out and safety[0].name in out
    assert info(home / "002SOC.sqlite")[1] == "002SOC"


async def test_the_wizard_puts_the_paf_of_004_back_into_004(home: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's wizard path, from a data directory of before: 004 a copy of 001 listed with
    001's GUID; both archived; Archive import of 004's PAF goes into 004, never into 001."""
    from msde_tui.engine.plans import WizardPlan
    from msde_tui.screens import lifecycle_screens as ls
    from msde_tui.screens.widgets import TickList
    from tests.tui.test_lifecycle_screens import Host, run_until_done, statuses

    create_demo(home, dossiers=1, years=9, lines=300, seed=2)
    original = Catalog(home).get("001")
    shutil.copy(home / "001SOC.sqlite", home / "004SOC.sqlite")
    Catalog(home).add(Dossier("004", "SOC", "Copy", location="004SOC.sqlite", status="restored", guid=original.guid))
    out = tmp_path / "paf"
    out.mkdir()
    # the CLI runs its own event loop: from this async test, in a thread
    assert await asyncio.to_thread(main, ["archive", "001", "004", "--dir", str(out)]) == 0
    capsys.readouterr()
    assert statuses(home / "001SOC.sqlite")[0] == statuses(home / "004SOC.sqlite")[0] == "ARCHIVED"
    before = dump(home / "001SOC.sqlite")
    app = Host(home, ls.UnarchiveScreen, WizardPlan(operation="unarchive", directory=str(out)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        ticks = app.screen.query_one("#years", TickList)
        labels = [str(ticks.get_option_at_index(i).prompt) for i in range(ticks.option_count)]
        assert len(labels) == 2 and labels[0].startswith("001-SOC_") and labels[0].endswith("-> 001SOC")
        assert labels[1].startswith("004-SOC_") and labels[1].endswith("-> 004SOC")
        await pilot.press("down", "space")  # 004's archive only
        text = await run_until_done(app, pilot)
        assert "004SOC:" in text and "back from 004-SOC_" in text and "001SOC" not in text
    assert statuses(home / "004SOC.sqlite")[0] == "CLOSED"
    assert dump(home / "001SOC.sqlite") == before


def test_a_ptf_applies_only_within_its_line(home: Path, office: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """001's PTF goes to the copy imported from 001's PBF (its own identity kept), is refused in
    words for an unrelated dossier, and is not sent to a copy whose base is not the PTF's."""
    create_demo(home, dossiers=1, years=2, lines=60, seed=4)  # 002BRA, unrelated
    assert main(["pack", "001", "--dir", str(office), "--partial"]) == 0  # the first one: a PBF
    [pbf] = office.glob("*.pbf")
    assert main(["import", str(pbf), "--number", "9"]) == 0
    _restore_001_as_004(home, office, capsys)  # another copy of 001, not from the PBF
    conn = sqlite3.connect(home / "001SOC.sqlite")
    conn.execute("UPDATE entry SET label = 'edited' WHERE id = 2")
    conn.commit()
    conn.close()
    assert main(["pack", "001", "--dir", str(office), "--partial"]) == 0
    [ptf] = office.glob("*.ptf")
    capsys.readouterr()
    unrelated = dump(home / "002BRA.sqlite")
    assert main(["apply", str(ptf), "--dossier", "002"]) == 1
    err = capsys.readouterr().err
    assert "This PTF belongs to dossier 001SOC, not to 002BRA; 002BRA was not touched" in err
    assert dump(home / "002BRA.sqlite") == unrelated
    assert main(["--json", "apply", str(ptf)]) == 0  # 009: its last package is the PTF's base
    assert '"009SOC"' in capsys.readouterr().out
    copy = Catalog(home).get("009")
    assert info(home / "009SOC.sqlite") == (copy.guid, "009SOC") and copy.origin == Catalog(home).get("001").guid
    one, nine = dump(home / "001SOC.sqlite"), dump(home / "009SOC.sqlite")
    assert one.pop("dossier_info") != nine.pop("dossier_info") and one == nine


def test_the_summary_says_the_replaced_file_under_another_name_is_removed() -> None:
    from msde_tui.engine.plans import RestoreItem, WizardPlan
    from msde_tui.i18n import setup
    from msde_tui.screens.actions import Facts, summarize

    setup("en")
    existing = Dossier("002", "BRA", "Brasserie", location="002BRA.sqlite")
    item = RestoreItem(source="/b/001SOC_20260101_000000.sqlite.bak", number="002", short="SOC", replace=True)
    plan = WizardPlan(operation="restore", directory="/b", restore_items=(item,))
    actions = summarize(plan, Facts(existing={"002": existing})).actions
    assert "remove 002BRA.sqlite, no longer listed (its safety copy stays)" in actions
    same = RestoreItem(source="/b/002BRA_20260101_000000.sqlite.bak", number="002", short="BRA", replace=True)
    plan = WizardPlan(operation="restore", directory="/b", restore_items=(same,))
    assert "remove" not in summarize(plan, Facts(existing={"002": existing})).actions


def test_an_archive_whose_dossier_left_the_list_goes_to_its_one_copy(
    home: Path, office: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paf = _archive("001", office, capsys)
    _restore_001_as_004(home, office, capsys)
    assert main(["remove", "001"]) == 0
    capsys.readouterr()
    assert main(["unarchive", str(paf)]) == 0
    assert "\n004SOC: fiscal years" in "\n" + capsys.readouterr().out
