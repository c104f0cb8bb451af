"""A hint that tells a CLI user to run a command or give a flag tells a wizard user the
wizard's own way (an operation of the menu, a field, a key): ``MsdeError.wizard_hint``, which
the wizard shows instead of the hint (screens/base.py, screens/progress.py).

The engine's raise sites are read from the sources: every call whose hint names ``msde <command>``
or a ``--flag`` passes ``wizard_hint`` too, unless the advice has no wizard way (listed below,
each with why); the wizard hints are in the user's language like every engine word.
"""

from __future__ import annotations

import ast
import re

from msde_tui import i18n
from msde_tui.engine.words import shown
from tests import engine_sources

CLI = re.compile(r"\bmsde [a-z]|(?<![\w-])--[a-z]")

# Hints that may name the CLI in the wizard too: no wizard way exists, or they say both ways.
NO_WIZARD_WAY = {
    r"wizard|on the summary": "it already says the wizard's way beside the command line's",
    r"msde check": "the wizard has no integrity check; the CLI is the way",
    r"msde jobs' to see the job ids": "job ids are typed on the command line only",
    r"msde server|--driver|--user|add --replace to change it": "connection profiles are made with "
    "'msde server add' (the wizard chooses among them, it does not edit them)",
    r"msde auto|--now": "automatic backups run unattended, from the scheduler",
    r"msde (never|then|always)|version of msde|made by msde|msde release|Install msde|msde that wrote":
        "msde is named as the program, not as a command to run",
    r"--force \(the copy": "the wizard has no way to insist on copying an Access file in use",
    r"--no-verify": "a SQL Server login's rights; the wizard's backup always verifies",
    r"'msde remove'": "the dossier's file is gone: only the CLI removes such an entry",
    r"--short\)": "asked by 'msde restore' only; the wizard restores under a dossier it names",
    r"msde list' to see": "a dossier typed by its number: the wizard picks from its list",
    r"under another number \('msde add'\)": "a restored SQL Server database is listed with 'msde add'",
    r"another number with --number": "the number of a new SQL Server database of 'msde export'",
}


def cli_hints() -> list[tuple[str, str, str | None]]:
    """(where, hint, wizard_hint) of every engine call whose hint names the CLI."""
    found = []
    for where, node in engine_sources.nodes():
        if not isinstance(node, ast.Call):
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        hint_node = keywords.get("hint", node.args[1] if len(node.args) > 1 else None)
        hint = engine_sources.text(hint_node, "{}") if hint_node is not None else None
        if hint and CLI.search(hint):
            wizard = keywords.get("wizard_hint")
            found.append((where, hint, engine_sources.text(wizard, "{}") if wizard is not None else None))
    return found


def test_a_hint_naming_the_cli_has_the_wizards_way() -> None:
    hints = cli_hints()
    assert len(hints) > 30, hints  # the sources were read
    missing = [f"{where}: {hint}" for where, hint, wizard in hints
               if wizard is None and not any(re.search(p, hint) for p in NO_WIZARD_WAY)]
    assert not missing, "give these a wizard_hint (or say in NO_WIZARD_WAY why not):\n" + "\n".join(missing)


def test_the_wizards_way_names_no_command_and_speaks_french() -> None:
    i18n.setup("fr")
    try:
        for where, _hint, wizard in cli_hints():
            if wizard is None:
                continue
            assert not CLI.search(wizard), f"{where}: {wizard}"
            if "{}" not in wizard:
                assert shown(wizard) != wizard, f"{where}: no French for {wizard!r} in engine/words.py"
    finally:
        i18n.setup("en")


def test_the_job_title_points_at_the_wizards_jobs_screen() -> None:
    """The progress screen's title of a background job names F5 (the wizard's jobs screen),
    not the CLI command."""
    source = (i18n.PACKAGE_DIR / "screens" / "progress.py").read_text(encoding="utf-8")
    titles = [m for m in i18n.extract([i18n.PACKAGE_DIR / "screens" / "progress.py"]) if m.startswith("Job {id}")]
    assert titles and all("F5" in t and "msde jobs" not in t for t in titles), titles
    assert "Job {id}" in source
