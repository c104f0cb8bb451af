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
from functools import lru_cache

from msde_tui import i18n
from msde_tui.engine.words import Template, most_words_first
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


# Click's own words, as the copy Typer carries writes them (plain f-strings, no gettext): the
# usage line's prefix and the usage errors. ``shown`` gives an error in the user's language
# from these templates, a value that is itself one of them translated too ("Invalid value for
# '--last': {reason}"); an error none matches stays as Click wrote it.
USAGE = N_("Usage: ")
# the placeholders Click puts in a usage line after the command's name
METAVARS = (N_("[OPTIONS]"), N_("COMMAND [ARGS]..."))
ERRORS = (
    N_("No such option: {option} (Possible options: {options})"),
    N_("No such option: {option}"),
    N_("Missing option {name}."), N_("Missing argument {name}."), N_("Missing parameter {name}."),
    N_("Missing parameter: {name}"),
    N_("Invalid value for {name}: {reason}"), N_("Invalid value: {reason}"),
    N_("Got unexpected extra argument(s) ({arguments})"),
    N_("Option {name} requires an argument."), N_("Option {name} requires {count} arguments."),
    N_("Option {name} does not take a value."), N_("Argument {name} takes {count} values."),
    N_("{message}. Did you mean {suggestions}?"),
    N_("Input should be a valid integer, unable to parse string as an integer"),
    N_("Input should be a valid number, unable to parse string as a number"),
    N_("{value} is not one of {choices}."),
    N_("Input should be greater than or equal to {value}"), N_("Input should be less than or equal to {value}"),
    N_("Input should be greater than {value}"), N_("Input should be less than {value}"),
)


def usage_args(args: str) -> str:
    """A usage line's ``args`` (``[OPTIONS] COMMAND [ARGS]...``) in the current language."""
    for metavar in METAVARS:
        args = args.replace(metavar, i18n._(metavar))
    return args


@lru_cache(maxsize=1)
def _templates() -> tuple[Template, ...]:
    return tuple(Template(t) for t in most_words_first(ERRORS))


def shown(message: str) -> str:
    """Click's ``message`` in the current language, as far as its templates know it (matched
    as the engine's words are, ``engine.words.Template``)."""
    for template in _templates():
        match = template.fullmatch(message)
        if match is not None:
            values = {name: shown(match.group(f"g{i}")) for i, name in enumerate(template.names)}
            return i18n._(template.text).format(**values)
    return message
