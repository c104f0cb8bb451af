"""The engine's words in the user's language where shown, keys shown = keys accepted, one step
total, help of what is on screen, long values ended with "…"."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App

from msde_tui import i18n
from msde_tui.app import MsdeApp
from msde_tui.engine import events as ev
from msde_tui.engine.plans import WizardPlan
from msde_tui.engine.words import shown
from msde_tui.screens import registry
from msde_tui.screens.dialogs import ConfirmScreen
from msde_tui.screens.progress import JobView
from msde_tui.screens.widgets import clip
from tests.tui.app_support import screen_text, wait_for


def test_engine_words_are_french_where_shown() -> None:
    i18n.setup("fr")
    assert shown("safety copy") == "copie de sécurité"
    assert shown("integrity check") == "contrôle d'intégrité"
    restored = ("001SOC_20260101_000000.sqlite.bak restored as dossier 003SOC (Lambert (Fils) SRL). "
                "It is a copy of 001SOC with an identity of its own (internal code 003SOC).")
    assert shown(restored) == (
        "001SOC_20260101_000000.sqlite.bak restauré comme dossier 003SOC (Lambert (Fils) SRL). "
        "C'est une copie de 001SOC avec sa propre identité (code interne 003SOC).")
    assert shown("This user cannot write in /srv/b. Choose a directory you can write to, or fix "
                 "its permissions.") == ("Cet utilisateur ne peut pas écrire dans /srv/b. Choisissez "
                                         "un répertoire où vous pouvez écrire, ou corrigez ses droits.")
    assert shown("Something new. Nobody wrote it.") == "Something new. Nobody wrote it."  # as it is
    i18n.setup("en")
    assert shown("safety copy") == "safety copy"


def test_the_progress_log_says_the_steps_and_results_in_french() -> None:
    i18n.setup("fr")
    view = JobView(["001SOC"])
    view.apply(1.0, ev.Step("001SOC", "safety copy", "001SOC.sqlite"))
    view.apply(2.0, ev.Step("001SOC", "verify", "integrity check"))
    view.apply(3.0, ev.DossierResult("001SOC", ok=False, message="This user cannot write in /x.",
                                     hint="Choose a directory you can write to, or fix its permissions."))
    log = "\n".join(view.log)
    assert "copie de sécurité (001SOC.sqlite)" in log and "vérification (contrôle d'intégrité)" in log
    assert "Cet utilisateur ne peut pas écrire dans /x. Choisissez un répertoire" in log
    assert "safety" not in log and "cannot" not in log and view.rows["001SOC"].step == "vérification"


class ConfirmHost(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.answers: list[bool | None] = []

    def on_mount(self) -> None:
        self.push_screen(ConfirmScreen("?"), self.answers.append)


@pytest.mark.parametrize(("lang", "shown_key", "other_key"), [("fr", "o", "y"), ("en", "y", "o")])
async def test_the_yes_key_shown_is_the_one_accepted(lang: str, shown_key: str, other_key: str) -> None:
    i18n.setup(lang)
    for key in (shown_key, other_key):
        app = ConfirmHost()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            text = screen_text(app)
            yes = "Oui" if lang == "fr" else "Yes"
            assert f"{shown_key} {yes}" in text.splitlines()[-1], text  # the footer shows it
            hint = _hint(lang, shown_key)
            assert hint in text, text
            await pilot.press(key)
            await pilot.pause()
        assert app.answers == [True]


def _hint(lang: str, key: str) -> str:
    return f"Oui : appuyez sur {key}." if lang == "fr" else f"Yes: press {key}."


def test_every_operation_counts_the_same_total_from_first_step_to_last() -> None:
    for op in registry.operations():
        plan = WizardPlan(operation=op.id)
        positions = [registry.position(plan, i) for i in range(len(registry.steps_for(plan)))]
        assert {p.total for p in positions} == {registry.WIZARD_STEPS}, op.id
        numbers = [p.index for p in positions]
        assert numbers == sorted(set(numbers)) and numbers[:2] == [1, 2], (op.id, numbers)
        if registry.progress_step in op.steps:
            assert numbers[-2:] == [4, 5], (op.id, numbers)


async def test_the_operation_help_tells_of_the_operation_chosen(home: Path) -> None:
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        from msde_tui.screens.operation import OperationScreen

        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, OperationScreen))
        screen = app.screen
        while screen.operation_id != "audit":  # type: ignore[attr-defined]
            await pilot.press("down")
        text = screen.help_text()  # type: ignore[attr-defined]
        assert text.splitlines()[2].startswith("Tax-audit transfer: ")
        assert "Restore" not in text and "(Backup)" not in text


def test_clip_ends_a_long_value_with_an_ellipsis() -> None:
    assert clip("Société Lambert & Fils SRL", 21) == "Société Lambert & Fi…"
    assert clip("001SOC", 21) == "001SOC"
