"""Every word visible, every word translated: the wizard under a pseudo-locale.

The test builds a catalogue (here, never committed) where every message extracted from the
sources becomes ``⟦Ëxpörtéé····⟧``: accented, 40 % longer, between brackets. Every screen of
every operation is then walked at 80x24 and 60x20 (connection, operation, the operation's
help, its form, the summary, the progress to its end) and each screen's text must hold:

- no word outside the brackets but the data the user gave or the engine found (dossier codes
  and companies, paths, dates, numbers, key names): any other word was not translated;
- as many closing brackets as opening ones: a message whose end is missing was cut.

The footer is the one line that cannot wrap: Textual draws its keys on one line. Under the
pseudo-locale (+40 %) it is checked for words only; in French (the longer real language) the
French walk checks that each footer shows its last key whole.

A French run of every operation shows no English word (``test_french_walk_shows_no_english``).
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from msde_tui import i18n
from msde_tui.app import MsdeApp
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.plans import WizardPlan
from msde_tui.screens import registry
from msde_tui.screens.connection import ConnectionScreen
from msde_tui.screens.operation import OperationScreen
from msde_tui.screens.progress import ProgressScreen
from msde_tui.screens.summary import SummaryScreen
from tests.access_fixtures import copy_fixture, skip_reason
from tests.tui.app_support import screen_text, type_text, wait_for, wait_screen

OPEN, CLOSE = "⟦", "⟧"
ACCENTS = str.maketrans("aeiouyAEIOUYcnCN", "àéîöüÿÀÉÎÖÜŸçñÇÑ")
PSEUDO_LETTERS = set("àéîöüÿÀÉÎÖÜŸçñÇÑ")
PLACEHOLDER = re.compile(r"(\{[^{}]*\})")


def pseudo(message: str) -> str:
    """``message`` accented outside its placeholders, 40 % longer, between brackets."""
    parts = [p if PLACEHOLDER.fullmatch(p) else p.translate(ACCENTS) for p in PLACEHOLDER.split(message)]
    return OPEN + "".join(parts) + "·" * math.ceil(len(message) * 0.4) + CLOSE


@functools.cache
def pseudo_catalogue() -> bytes:
    """The compiled catalogue: every extracted message pseudo-translated (the sources are read
    once per test process, not once per test)."""
    entries = {"": "Content-Type: text/plain; charset=UTF-8\n"}
    entries.update({m: pseudo(m) for m in i18n.extract()})
    return i18n.compile_mo(entries)


def install_pseudo(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalogue of every extracted message, loaded as English by ``i18n.setup``."""
    mo = root / "en" / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo"
    mo.parent.mkdir(parents=True)
    mo.write_bytes(pseudo_catalogue())
    monkeypatch.setattr(i18n, "LOCALE_DIR", root)


PAGE = "\n=== the end of the page ===\n"
KEY_NAMES = {"Enter", "Tab", "Esc", "BkSp", "Space", "Shift", "Ctrl", "PgUp", "PgDn"}
WORD = re.compile(r"[A-Za-zÀ-ÿ]{3,}")


def outside(text: str) -> str:
    """The characters of ``text`` not between ⟦ and ⟧ (a message may wrap over lines)."""
    depth, kept = 0, []
    for char in text:
        if char == OPEN:
            depth += 1
        elif char == CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0:
            kept.append(char)
    return "".join(kept)


IDENTIFIER = re.compile(r"\w+_\w+")  # a table or file name (entry_line, 001SOC_CUT001)


def problems(text: str, data_words: set[str], *, scrolled: bool = False) -> list[str]:
    """What is wrong with one screen's text; ``scrolled``: the text is the first and the last
    page of a scrolling view (its end must be seen, each page may cut a message between)."""
    found = []
    if scrolled:
        last = text.split(PAGE)[-1].rstrip("\n").rsplit("\n", 1)[0]  # the footer aside
        if last.rfind(CLOSE) < last.rfind(OPEN):
            found.append("cut: the last page does not show the end of its text")
    else:
        # A message cut on the right or at the bottom loses its closing bracket; one whose
        # beginning scrolled off the top of a log loses its opening one (it can be scrolled to).
        body = text.rstrip("\n").rsplit("\n", 1)[0]  # the footer aside (see above)
        if body.count(OPEN) > body.count(CLOSE):
            found.append(f"cut: {body.count(OPEN)} {OPEN} but {body.count(CLOSE)} {CLOSE}")
    words = {
        w for w in WORD.findall(IDENTIFIER.sub(" ", outside(text.replace(PAGE, "\n"))))
        if w not in data_words | KEY_NAMES
        and not set(w) & PSEUDO_LETTERS  # a page may start inside a message: its words are pseudo
        and not any(d.startswith(w) for d in data_words)  # a value cut at a field's edge
        and not any(d.endswith(w) for d in data_words)  # a value wrapped at a line's edge
    }
    if words:
        found.append("untranslated: " + ", ".join(sorted(words)))
    return found


Keys = Callable[[Pilot, Screen], Awaitable[None]]


async def focus_to(pilot: Pilot, widget_id: str) -> None:
    for _ in range(20):
        focused = pilot.app.focused
        if focused is not None and focused.id == widget_id:
            return
        await pilot.press("tab")
    raise AssertionError(f"no focusable #{widget_id}")


async def set_field(pilot: Pilot, field_id: str, text: str) -> None:
    await focus_to(pilot, field_id)
    await pilot.press("end", "ctrl+u")
    await type_text(pilot, text)


async def nothing(pilot: Pilot, form: Screen) -> None:
    return None


async def tick_first(pilot: Pilot, form: Screen) -> None:
    await pilot.press("space")


def form_keys(out: Path) -> dict[str, Keys]:
    keep = str(date.today().year - 2)

    async def cut(pilot: Pilot, form: Screen) -> None:
        await focus_to(pilot, "dossiers")
        await pilot.press("space")
        await set_field(pilot, "keep-from", keep)

    async def audit(pilot: Pilot, form: Screen) -> None:
        await focus_to(pilot, "dossiers")
        await pilot.press("space")
        await set_field(pilot, "years", keep)

    async def export(pilot: Pilot, form: Screen) -> None:
        await set_field(pilot, "directory", str(out))
        await focus_to(pilot, "dossiers")
        await pilot.press("space")

    async def unarchive(pilot: Pilot, form: Screen) -> None:
        await focus_to(pilot, "years")
        await pilot.press("a")

    async def listed(pilot: Pilot, form: Screen) -> None:
        await set_field(pilot, "directory", str(out))
        await pilot.pause(0.5)

    return {"backup": tick_first, "verify": tick_first, "restore": tick_first, "cut": cut,
            "audit": audit, "export": export, "export_partial": export, "import": listed,
            "apply": listed, "archive": nothing, "unarchive": unarchive, "auto_run": nothing}


ORDER = ("backup", "verify", "restore", "archive", "unarchive", "export", "export_partial",
         "import", "audit", "cut", "auto_run", "convert", "auto")


async def help_pages(pilot: Pilot, look: Callable[[str], None], where: str) -> None:
    """F1, its first page and (after End) its last, then F1 closes it."""
    await pilot.press("f1")
    await pilot.pause(0.1)
    first = screen_text(pilot.app)
    pilot.app.screen.query_one(".help-body").scroll_end(animate=False, immediate=True)
    await pilot.pause(0.2)
    last = screen_text(pilot.app)
    look(where, first + PAGE + last)
    await pilot.press("f1")


async def walk_operation(app: MsdeApp, pilot: Pilot, operation: str, keys: Keys, out: Path,
                         seen: list[tuple[str, str]]) -> None:
    """Connection -> operation -> help -> form -> help -> summary -> progress (its end)."""

    def look(where: str, text: str | None = None) -> None:
        seen.append((f"{operation}/{where}", screen_text(app) if text is None else text))

    await wait_screen(pilot, ConnectionScreen)
    look("connection")
    await pilot.press("enter")
    screen = await wait_screen(pilot, OperationScreen)
    for _ in range(20):
        if screen.operation_id == operation:  # type: ignore[attr-defined]
            break
        await pilot.press("down")
    await pilot.pause(0.2)
    look("operation")
    await help_pages(pilot, look, "operation help")
    if screen.query_one("#directory-row").display:  # type: ignore[attr-defined]
        await set_field(pilot, "directory", str(out))
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, OperationScreen))
    await pilot.pause(0.5)
    if operation == "auto":  # a page that scrolls: its first page, then its end
        first = screen_text(app)
        app.screen.query_one("#body").scroll_end(animate=False, immediate=True)
        await pilot.pause(0.2)
        look("settings", first + PAGE + screen_text(app))
        return
    if not isinstance(app.screen, SummaryScreen):
        form = app.screen
        await keys(pilot, form)
        await pilot.pause(0.2)
        look("form")
        await help_pages(pilot, look, "form help")
        await pilot.press("enter")
    summary = await wait_screen(pilot, SummaryScreen, timeout=30)
    await wait_for(pilot, lambda: summary.summary is not None, timeout=30)  # type: ignore[attr-defined]
    await pilot.pause(0.2)
    first = screen_text(app)
    summary.query_one("#summary-lines").scroll_end(animate=False)  # type: ignore[attr-defined]
    await pilot.pause(0.1)
    look("summary (scrolled)", first + PAGE + screen_text(app))
    codes = summary.confirm_codes  # type: ignore[attr-defined]
    for index, code in enumerate(codes):
        if index:
            await pilot.press("tab")
        await type_text(pilot, code)
    await pilot.press("enter")
    progress = await wait_screen(pilot, ProgressScreen)
    await wait_for(pilot, lambda: progress.finished, timeout=180)  # type: ignore[attr-defined]
    await pilot.pause(0.5)
    look("progress")


def data_words(home: Path, tmp_path: Path) -> set[str]:
    """Words the user or the data brought: codes, companies, paths, file names."""
    from msde_tui.engine.accounting.schema import TABLES

    words: set[str] = {"msde", "tui", "sqlite", "json", "pbf", "ptf", "paf", "bak", "Admin",
                       "PBF", "PTF", "PAF", "FEC", "auto"}  # file kinds; the automatic run's subject
    words |= {w for table in TABLES for w in WORD.findall(table.name)}
    for dossier in Catalog(home).dossiers():
        words |= set(WORD.findall(f"{dossier.code} {dossier.company} {dossier.location}"))
    words |= {"JET", "ACE", "mdb", "accdb", "Asset", "Items"}  # the Access dossier's format, table
    words |= set(WORD.findall(str(tmp_path)))
    words |= {path.name for path in home.iterdir()} | {"home", "out", "backups", "exports"}
    return words


@pytest.fixture
def demo(home: Path, tmp_path: Path) -> Path:
    create_demo(home, dossiers=2, years=9, lines=40)
    if skip_reason() is None:  # an Access dossier to convert (its walk is left out otherwise)
        file = copy_fixture("sample.accdb", tmp_path / "office")
        Catalog(home).add(Dossier(number="050", short="ASSET", company="Assets", backend="access",
                                  location=str(file)))
    return home


async def walk_all(home: Path, tmp_path: Path, lang: str, size: tuple[int, int]) -> list[tuple[str, str]]:
    """Every operation walked in ``lang`` at ``size``: each screen's text, by where it was seen."""
    out = tmp_path / "out"
    out.mkdir()
    keys = form_keys(out)
    offered = [op.id for op in registry.operations()]
    assert set(offered) <= set(ORDER) | {"apply"}, offered
    if skip_reason() is not None:
        offered.remove("convert")  # no Access fixtures or reader here
    seen: list[tuple[str, str]] = []
    failures: list[str] = []
    for operation in [o for o in ORDER if o in offered]:
        app = MsdeApp(home=home, lang=lang, offer_jobs=False)
        async with app.run_test(size=size) as pilot:
            app.plan = WizardPlan(directory=str(out))
            try:
                await walk_operation(app, pilot, operation, keys.get(operation, nothing), out, seen)
            except AssertionError as exc:
                failures.append(f"{operation}: {exc}")
    if os.environ.get("MSDE_WALK_DUMP"):  # every screen seen, to read when a walk fails
        Path(os.environ["MSDE_WALK_DUMP"]).write_text("\n\n".join(f"== {w}\n{t}" for w, t in seen))
    assert not failures, "\n\n".join(failures)
    return seen


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
async def test_every_screen_of_every_operation_is_translated_and_whole(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    install_pseudo(tmp_path / "pseudo", monkeypatch)
    seen = await walk_all(demo, tmp_path, "en", size)
    allowed = data_words(demo, tmp_path)
    report = []
    for where, text in seen:
        for problem in problems(text, allowed, scrolled=PAGE in text):
            report.append(f"{where}: {problem}\n{text}")
    assert not report, "\n\n".join(report[:8])


COMMON_ENGLISH = {
    "the", "and", "with", "was", "were", "has", "have", "from", "into", "this", "that", "its",
    "written", "verified", "checked", "rows", "moved", "keeps", "looked", "entries", "taken",
    "intact", "backed", "restored", "cannot", "write", "copy", "safety", "check", "integrity",
    "dossier", "dossiers", "file", "files", "done", "deleted", "archived", "back", "up", "date",
}


def english_words() -> set[str]:
    """Words of the English messages and of common English that French does not use."""
    po = i18n.LOCALE_DIR / "fr" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    french = i18n.parse_po(po.read_text(encoding="utf-8"))
    english = {w.lower() for m in i18n.extract() for w in WORD.findall(PLACEHOLDER.sub(" ", m))}
    english |= COMMON_ENGLISH
    french_words = {w.lower() for t in french.values() for w in WORD.findall(PLACEHOLDER.sub(" ", t))}
    return english - french_words


@pytest.mark.timeout(1200)
async def test_french_walk_shows_no_english(demo: Path, tmp_path: Path) -> None:
    seen = await walk_all(demo, tmp_path, "fr", (80, 24))
    data = {w.lower() for w in data_words(demo, tmp_path)}
    english = english_words() - data
    report = []
    for where, text in seen:
        found = {
            w for w in WORD.findall(text.replace(PAGE, "\n")) if w.lower() in english
            # a value wrapped at a line's edge (a long temporary path): a piece of a data word
            and not any(d.startswith(w.lower()) or d.endswith(w.lower()) for d in data)
        }
        if found:
            report.append(f"{where}: English words {sorted(found)}\n{text}")
        footer = text.rstrip("\n").rsplit("\n", 1)[-1]
        if len(footer.rstrip()) >= 80:  # keys up to the edge: the last one is cut
            report.append(f"{where}: the footer is cut\n{text}")
    assert not report, "\n\n".join(report[:8])
