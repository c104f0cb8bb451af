"""Typer's own words (help panels, "[required]", the error panel) in the user's language.

Typer translates its words with the standard ``gettext`` functions: the global domain, in the
language the environment names (the copy of Click it carries, typer._click, does not: its
"Usage:", "Missing option" and "Show this message and exit." stay English). While ``msde``
runs, ``speaking(language)`` points that domain at msde's catalogue and sets ``LANGUAGE`` to
the language chosen (``--lang`` or the locale), then puts both back; the words Typer shows are
listed below (``N_``), so that ``python -m msde_tui.i18n extract`` puts them in the catalogues. Typer reads its panel titles
once, when it first formats a help or an error in a process.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager

from msde_tui import i18n
from msde_tui.i18n import N_

WORDS = (
    N_("Arguments"), N_("Options"), N_("Commands"), N_("[default: {}]"), N_("[required]"),
    N_("[env var: {}]"), N_("(deprecated) "), N_("default: {default}"), N_("required"),
    N_("env var: {var}"), N_("(dynamic)"), N_("Error"),
    N_("Try [blue]'{command_path} {help_option}'[/] for help."), N_("Missing command."),
    N_("No such command {name!r}."), N_("Aborted."), N_("Aborted!"),
)


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Typer speaks ``language`` from msde's catalogue until the block ends."""
    before_domain = gettext.textdomain()
    before_language = os.environ.get("LANGUAGE")
    gettext.bindtextdomain(i18n.DOMAIN, str(i18n.LOCALE_DIR))
    gettext.textdomain(i18n.DOMAIN)
    os.environ["LANGUAGE"] = language
    try:
        yield
    finally:
        gettext.textdomain(before_domain)
        if before_language is None:
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = before_language
