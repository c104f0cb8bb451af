"""Archive import in the wizard: the user chooses the dossier for which to recover an archive
(the seed: "choisissez le dossier pour lequel vous souhaitez récupérer votre archive"), by
keyboard alone, at 80x24. By default each PAF goes back into the dossier it came from; a
dossier of another line is refused in plain words on the form, and stays untouched."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from msde_tui.app import MsdeApp
from msde_tui.cli import main
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import WrongDossier
from msde_tui.engine.plans import UnarchivePlan
from msde_tui.engine.runs import registry as runner
from msde_tui.screens.connection import ConnectionScreen
from msde_tui.screens.lifecycle_screens import UnarchiveScreen
from msde_tui.screens.operation import OperationScreen
from msde_tui.screens.pack_common import PickList
from msde_tui.screens.progress import ProgressScreen
from msde_tui.screens.summary import SummaryScreen
from tests.dossier_files import dump_all as dump
from tests.dossier_files import statuses
from tests.tui.app_support import flat, screen_text, type_text, wait_for, wait_screen, wait_text
from tests.tui.test_app_operations import focus_to, set_field


@pytest.fixture
def archived(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """001SOC and 004SOC, a copy of 001 listed from a data directory of before (it gets its
    own identity on first use, 001 as its origin), both archived: one PAF each in ``paf/``."""
    create_demo(home, dossiers=1, years=9, lines=300, seed=2)
    original = Catalog(home).get("001")
    shutil.copy(home / "001SOC.sqlite", home / "004SOC.sqlite")
    Catalog(home).add(Dossier("004", "SOC", "Copy", location="004SOC.sqlite", status="restored",
                              guid=original.guid))
    out = tmp_path / "paf"
    out.mkdir()
    assert main(["archive", "001", "004", "--dir", str(out)]) == 0
    capsys.readouterr()
    assert statuses(home / "001SOC.sqlite")[0] == statuses(home / "004SOC.sqlite")[0] == "ARCHIVED"
    return out


async def choose(pilot: object, picks: PickList, code: str) -> None:
    """Up and down on the dossier list until ``code`` is the choice."""
    await focus_to(pilot, "target")  # type: ignore[arg-type]
    for key in ["up"] * 8 + ["down"] * 8:
        if picks.choice == code:
            return
        await pilot.press(key)  # type: ignore[attr-defined]
    assert picks.choice == code


@pytest.mark.slow  # a wizard walk that runs the import to its result
async def test_the_wizard_asks_into_which_dossier_and_refuses_another_line(home: Path, archived: Path) -> None:
    (paf_004,) = archived.glob("004-SOC_*.paf")
    one, four = dump(home / "001SOC.sqlite"), dump(home / "004SOC.sqlite")
    app = MsdeApp(home=home, lang="fr", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("enter")  # Local (embedded)
        operation = await wait_screen(pilot, OperationScreen)
        for _ in range(20):
            if operation.operation_id == "unarchive":  # type: ignore[attr-defined]
                break
            await pilot.press("down")
        await set_field(pilot, "directory", str(archived))
        await pilot.press("enter")
        form = await wait_screen(pilot, UnarchiveScreen)
        await pilot.pause(0.3)
        picks = form.query_one("#target", PickList)
        assert picks.choice == ""  # by default: the dossier each archive came from
        text = flat(screen_text(app))
        assert "Dans le dossier :" in text and "celui d'où vient chaque archive (->)" in text
        assert "-> 004SOC" in text and "-> 001SOC" in text

        await focus_to(pilot, "years")
        await pilot.press("down", "space")  # 004's archive (the list is sorted: 001's first)
        await choose(pilot, picks, "001SOC")
        await pilot.press("enter")
        await wait_text(pilot, f"{paf_004.name} appartient au dossier 004SOC, pas à 001SOC ; "
                               "001SOC n'a pas été modifié.")
        assert "Choisissez 004SOC, le dossier auquel il appartient." in flat(screen_text(app))
        assert app.screen is form  # refused on the form: no summary, nothing run

        await choose(pilot, picks, "004SOC")
        await pilot.press("enter")
        summary = await wait_screen(pilot, SummaryScreen)
        await wait_for(pilot, lambda: summary.summary is not None, timeout=30)  # type: ignore[attr-defined]
        assert summary.confirm_codes == ("004SOC",)  # type: ignore[attr-defined]
        assert app.plan.op == UnarchivePlan(((str(paf_004), (_year(paf_004),)),), dossier="004SOC")
        await type_text(pilot, "004SOC")
        await pilot.press("enter")
        await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "Résultat : OK", timeout=120)
    assert statuses(home / "004SOC.sqlite")[0] == "CLOSED"
    assert dump(home / "001SOC.sqlite") == one  # 001 untouched throughout
    assert dump(home / "004SOC.sqlite") != four


def _year(paf: Path) -> str:
    from msde_tui.engine.lifecycle.paf import read_paf_info

    (year,) = read_paf_info(paf).years
    return str(year["code"])


def test_the_summary_refuses_a_dossier_of_another_line(home: Path, archived: Path) -> None:
    """A plan made elsewhere (a job file, a script) aiming 004's PAF at 001: the summary says no
    in words before anything runs, and the run refuses it too; 001 is untouched."""
    (paf_004,) = archived.glob("004-SOC_*.paf")
    one = dump(home / "001SOC.sqlite")
    plan = UnarchivePlan(((str(paf_004), ()),), dossier="001SOC")
    with pytest.raises(WrongDossier, match=f"{paf_004.name} belongs to dossier 004SOC, not to 001SOC; "
                                           "001SOC was not touched"):
        runner.describe(plan, home)
    results = asyncio.run(_results(plan, home))
    assert [(r.ok, r.details.get("error")) for r in results] == [(False, "WrongDossier")]
    assert dump(home / "001SOC.sqlite") == one
    assert runner.describe(UnarchivePlan(((str(paf_004), ()),), dossier="004SOC"), home).confirm == ("004SOC",)


async def _results(plan: UnarchivePlan, home: Path) -> list:  # type: ignore[type-arg]
    from msde_tui.engine.events import DossierResult

    return [e async for e in runner.run(plan, home) if isinstance(e, DossierResult)]
