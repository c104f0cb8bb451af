""""Automatic backups: run now" as the progress screen folds it (``JobView``) from a real run:
a dossier the policy leaves alone is SKIPPED with its reason (no bar at 100 %), only dossiers
are counted (the run's own summary is no row), the run is named in words, and its reasons are
in the user's language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.cli.common import operation_word
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.plans import AutoRunPlan, WizardPlan
from msde_tui.engine.runs import jobs
from msde_tui.engine.runs import registry as runner
from msde_tui.engine.words import shown
from msde_tui.i18n import setup
from msde_tui.screens.base import selection_label
from msde_tui.screens.progress import OK, SKIPPED, JobView


@pytest.fixture
def french() -> Iterator[None]:
    setup("fr")
    yield
    setup("en")


@pytest.fixture
def office(home: Path, tmp_path: Path) -> Path:
    """Three demo dossiers, all backed up once; then only 001SOC is due at every run (its own
    policy has no trigger), the others wait for 100 movements or a day."""
    create_demo(home, dossiers=3, years=1, lines=40, seed=5)
    target = tmp_path / "backups"
    assert main(["auto", "policy", "set", "--enable", "--keep", "2", "--every-days", "1",
                 "--max-movements", "100", "--dir", str(target)]) == 0
    assert main(["auto"]) == 0  # the first run backs up every dossier (none verified yet)
    assert main(["auto", "policy", "set", "--dossier", "001SOC", "--every-days", "0",
                 "--max-movements", "0"]) == 0
    return home


async def _view(home: Path) -> JobView:
    plan = AutoRunPlan()
    view = JobView(jobs.plan_subjects(WizardPlan(operation="auto_run", op=plan)))
    async for event in runner.run(plan, home):
        view.apply(0.0, event)
    return view


async def test_skipped_dossiers_are_skipped_and_only_dossiers_count(office: Path, french: None) -> None:
    view = await _view(office)
    assert set(view.rows) == {"001SOC", "002BRA", "003GAR"}  # no row for the run itself ("auto")
    assert view.rows["001SOC"].state == OK and view.rows["001SOC"].overall == 100.0
    for code in ("002BRA", "003GAR"):
        row = view.rows[code]
        assert row.state == SKIPPED and row.overall is None  # not "OK at 100 %"
    assert view.counts() == (1, 0) and view.skipped() == 2
    log = "\n".join(view.log)
    assert "002BRA: IGNORÉ - ignoré : 0 mouvements < 100 et 0 jours < 1" in log
    assert "movements" not in log and " and " not in log


def test_the_run_is_named_in_words(french: None) -> None:
    assert selection_label(WizardPlan(operation="auto_run", op=AutoRunPlan())) == "chaque dossier de la liste"
    assert selection_label(WizardPlan(operation="auto_run", op=AutoRunPlan(only=("002BRA",)))) == "002BRA"
    setup("en")
    assert selection_label(WizardPlan(operation="auto_run", op=AutoRunPlan())) == "every dossier of the list"
    assert operation_word("auto_run") == "auto run"  # msde jobs: the run in words, not auto_run


@pytest.mark.parametrize(("english", "french_text"), [
    ("skip: 71 movements < 100 and 0 days < 1", "ignoré : 71 mouvements < 100 et 0 jours < 1"),
    ("1 movement < 100 and 1 day < 2", "1 mouvement < 100 et 1 jour < 2"),
    ("backup: 120 movements since last verified backup ≥ 100 and 3 days since last verified backup ≥ 1",
     "back-up : 120 mouvements depuis le dernier back-up vérifié ≥ 100 et "
     "3 jours depuis le dernier back-up vérifié ≥ 1"),
    ("skip: movement counter unknown and 0 days < 7", "ignoré : compteur de mouvements inconnu et 0 jours < 7"),
    ("The 'crontab' command is not installed on this machine.",
     "La commande 'crontab' n'est pas installée sur cette machine."),
])
def test_reasons_in_french(english: str, french_text: str, french: None) -> None:
    assert shown(english) == french_text


def test_and_is_translated_only_between_known_reasons(french: None) -> None:
    assert shown("salt and pepper") == "salt and pepper"
    assert shown("skip: salt and pepper") == "ignoré : salt and pepper"
