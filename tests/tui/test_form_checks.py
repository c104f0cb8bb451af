"""Answers checked where they are given (issue #14): what the job would refuse after the
summary's Enter is refused on the form, in the wizard's words (never a CLI flag or command),
and nothing runs or changes.

Each test drives the real form at 80x24 through the app (``StepHost``), in French and English.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from textual.widgets import Input

from msde_tui.engine import auditlog
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.errors import FecRefused
from msde_tui.engine.events import DossierResult
from msde_tui.engine.plans import ArchivePlan, PackPlan, WizardPlan
from msde_tui.engine.runs import jobspec
from msde_tui.engine.runs import registry as runner
from msde_tui.engine.runs.outcome import failed
from msde_tui.engine.runs.runner import collect_async
from msde_tui.screens import lifecycle_screens as ls
from msde_tui.screens import pack_screens as ps
from msde_tui.screens.progress import wizard_hint
from msde_tui.screens.registry import StepPosition
from msde_tui.screens.widgets import SpaceCheckbox, TickList
from tests.dossier_files import statuses
from tests.tui.app_support import StepHost, flat, screen_text, wait_for, wait_text

CLI_WORDS = ("--", "msde ")


async def refused(pilot, app) -> str:  # type: ignore[no-untyped-def]
    """Enter on the form; the refusal shown inline (the form stays, no plan returned)."""
    await pilot.press("enter")
    await wait_for(pilot, lambda app=app: "ERR" in screen_text(app) or app.results)
    assert app.results == [], "the form returned a plan: the summary (and the job) would follow"
    text = str(app.screen.query_one("#message").render())
    assert not any(word in text for word in CLI_WORDS), text
    return text


async def archive_oldest(home: Path, tmp_path: Path) -> str:
    """Archive 001SOC's oldest year (as 'msde archive' does); its code."""
    oldest = str(date.today().year - 7)
    out = tmp_path / "paf"
    out.mkdir()
    events = await collect_async(runner.run(ArchivePlan(str(out), (("001SOC", (oldest,)),)), home))
    assert all(e.ok for e in events if isinstance(e, DossierResult))
    assert statuses(home / "001SOC.sqlite")[0] == "ARCHIVED"
    return oldest


async def test_cut_over_an_archived_year_is_refused_on_the_form(home: Path, tmp_path: Path) -> None:
    create_demo(home, dossiers=1, years=8, lines=300)
    oldest = await archive_oldest(home, tmp_path)
    before = (home / "001SOC.sqlite").read_bytes()
    for lang, words in (("fr", ("L'exercice " + oldest + " est archivé", "Import d'archive")),
                        ("en", ("Fiscal year " + oldest + " is archived", "operation 'Archive import'"))):
        app = StepHost.make(home, lambda ctx: ls.CutScreen(ctx, WizardPlan(operation="cut"), StepPosition(3, 5)),
                            lang=lang)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda app=app: isinstance(app.screen, ls.CutScreen))
            await pilot.pause()
            app.screen.query_one("#dossiers", TickList).focus()
            await pilot.press("space")
            app.screen.query_one("#keep-from", Input).value = str(date.today().year - 4)
            app.screen.query_one("#dossiers", TickList).focus()
            text = await refused(pilot, app)
            assert all(w in text for w in words), text
            await wait_text(pilot, words[1])  # seen on the 80x24 screen, not only in the widget
    assert [d.code for d in Catalog(home).dossiers()] == ["001SOC"]  # no cut dossier
    assert (home / "001SOC.sqlite").read_bytes() == before
    assert [r["operation"] for r in auditlog.read(home)] == ["archive"]  # no cut ran


async def test_tax_audit_answers_are_checked_on_the_form(home: Path, tmp_path: Path) -> None:
    create_demo(home, dossiers=1, years=8, lines=300)  # 001SOC: a Belgian company, no SIREN
    archived = await archive_oldest(home, tmp_path)
    out = tmp_path / "admin"
    out.mkdir()

    def screen(ctx):  # type: ignore[no-untyped-def]
        return ls.AuditScreen(ctx, WizardPlan(operation="audit", directory=str(out)), StepPosition(3, 5))

    closed, current = str(date.today().year - 4), str(date.today().year)
    cases = (  # (years, FEC identifier, French words, English words)
        (closed, "", "Identifiant FEC", "in 'FEC identifier'"),
        (current, "X1", "cochez 'FEC provisoire'", "tick 'Provisional FEC'"),
        (archived, "X1", "dans 'Archive (PAF)'", "in 'Archive (PAF)'"),
    )
    for lang in ("fr", "en"):
        app = StepHost.make(home, screen, lang=lang)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda app=app: isinstance(app.screen, ls.AuditScreen))
            await pilot.pause()
            ticks = app.screen.query_one("#dossiers", TickList)
            ticks.focus()
            await pilot.press("space")
            app.screen.query_one("#fec", SpaceCheckbox).value = True
            for years, fec_id, french, english in cases:
                app.screen.query_one("#years", Input).value = years
                app.screen.query_one("#fec-id", Input).value = fec_id
                ticks.focus()
                text = await refused(pilot, app)
                assert (french if lang == "fr" else english) in text, text
            # the wizard's own way out: ticking 'Provisional FEC' lets the open year through
            app.screen.query_one("#years", Input).value = current
            app.screen.query_one("#provisional", SpaceCheckbox).value = True
            ticks.focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda app=app: app.results)
    assert list(out.iterdir()) == []  # nothing written
    assert [r["operation"] for r in auditlog.read(home)] == ["archive"]  # no transfer ran
    # a previous copy still in the directory: said on the form too, and left as it was
    (out / "Admin001SOC.sqlite").write_bytes(b"earlier copy")
    app = StepHost.make(home, screen, lang="fr")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ls.AuditScreen))
        await pilot.pause()
        await pilot.press("space")
        app.screen.query_one("#years", Input).value = closed
        text = await refused(pilot, app)
        assert "Admin001SOC.sqlite" in text and "copie précédente" in text, text
    assert (out / "Admin001SOC.sqlite").read_bytes() == b"earlier copy"


async def test_wrong_pbf_passphrase_is_refused_when_typed(home: Path, tmp_path: Path) -> None:
    create_demo(home, dossiers=1, years=2, lines=100)
    out = tmp_path / "enc"
    out.mkdir()
    events = await collect_async(runner.run(PackPlan(("001SOC",), str(out), passphrase="s3cret"), home))
    assert all(e.ok for e in events if isinstance(e, DossierResult))
    plan = WizardPlan(operation="import", directory=str(out))
    for lang, words in (("fr", "Phrase secrète incorrecte"), ("en", "Wrong passphrase")):
        app = StepHost.make(home, lambda ctx: ps.ImportScreen(ctx, plan, StepPosition(3, 5)), lang=lang)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_text(pilot, "(encrypted)" if lang == "en" else "(chiffré)")
            await wait_for(pilot, lambda app=app: app.screen.query_one("#passphrase-row").display)
            app.screen.query_one("#passphrase", Input).value = "n0tit"
            text = await refused(pilot, app)
            assert words in text, text
            assert "n0tit" not in flat(screen_text(app))  # still masked
            app.screen.query_one("#passphrase", Input).value = "s3cret"  # the right one goes on
            await pilot.press("enter")
            await wait_for(pilot, lambda app=app: app.results)
    assert [d.code for d in Catalog(home).dossiers()] == ["001SOC"]  # nothing imported


def test_a_job_failure_shows_the_wizard_hint_and_the_cli_keeps_its_own() -> None:
    error = FecRefused("No FEC.", "Use --provisional.", wizard_hint="Tick 'Provisional FEC'.")
    result = failed("001SOC", error)
    assert result.hint == "Use --provisional."  # what the CLI prints
    assert wizard_hint(result) == "Tick 'Provisional FEC'."  # what the progress screen shows
    # as the progress screen reads it back from the job's events file
    read = jobspec.event_from_dict(json.loads(json.dumps(jobspec.event_to_dict(result))))
    assert isinstance(read, DossierResult) and wizard_hint(read) == "Tick 'Provisional FEC'."
    assert wizard_hint(failed("001SOC", FecRefused("No FEC.", "Close it first."))) == "Close it first."
