"""Every error of the engine is shown in the user's language, with what to do: first the
refusals that something already exists or does not (a file, a directory, a database, a number),
then every message and hint of every raise site.

The engine raises its errors in English (engine/errors.py) and the wizard and the CLI show them
through ``engine.words.shown``, which knows a text only by its template in engine/words.py. The
raise sites are read from the sources, each value of an f-string standing as ``9``: a refusal
written without its template would reach a French user in English.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

import pytest

from msde_tui import i18n
from msde_tui.engine.words import shown
from tests import engine_sources

REFUSAL = re.compile(r"exist|already|appeared")
ERROR_CLASS = re.compile(r"[A-Z]\w*(Error|Exists|Input|Damaged|Failed|Busy|Found|Invalid|Changed|Path|Full|"
                         r"Dossier|Cancelled|Refused|Missing)")
# Texts no template can match whole: a word of the message chosen by the code (": " + detail or
# nothing), or nothing but values.
UNMATCHABLE = {"'systemctl --user 9' failed9.", "9: 9"}


def _sample(node: ast.expr) -> str | None:
    """The text an f-string or a literal gives, each value written as 9."""
    return engine_sources.text(node, "9")


def refusals() -> list[tuple[str, str]]:
    """(where, text) of each message and hint of a raise whose message is a refusal."""
    found = []
    for where, node in engine_sources.nodes():
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        texts = [_sample(arg) for arg in node.exc.args[:2]]
        if texts and texts[0] and REFUSAL.search(texts[0]):
            found += [(where, text) for text in texts if text]
    return found


def raise_texts() -> list[tuple[str, str]]:
    """(where, text) of each message and hint given to an error of the engine or packfmt."""
    found = []
    for where, node in engine_sources.nodes(skip=("words.py", "errorwords.py", "packwords.py")):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if not ERROR_CLASS.fullmatch(name):
            continue
        args = [*node.args[:2], *(k.value for k in node.keywords if k.arg in ("hint", "wizard_hint"))]
        found += [(where, text) for text in map(_sample, args)
                  if text and re.search(r"[A-Za-z]{3,} ", text) and text not in UNMATCHABLE]
    return found


@pytest.fixture
def french() -> Iterator[None]:
    i18n.setup("fr")
    yield
    i18n.setup("en")


def test_every_refusal_and_its_hint_is_shown_in_french(french: None) -> None:
    found = refusals()
    assert len(found) > 60, found  # the raise sites were read
    english = [f"{where}: {text}" for where, text in found if shown(text) == text]
    assert not english, "add their templates to engine/words.py:\n" + "\n".join(english)


def test_every_error_and_its_hint_is_shown_in_french(french: None) -> None:
    found = raise_texts()
    assert len(found) > 600, len(found)  # the raise sites were read
    english = sorted({f"{where}: {text}" for where, text in found if shown(text) == text})
    assert not english, "add their templates to engine/errorwords.py:\n" + "\n".join(english)


@pytest.mark.parametrize(("english", "french_text"), [
    ("/srv/out/E001SOC.sqlite already exists.", "/srv/out/E001SOC.sqlite existe déjà."),
    ("The database Compta_001 does not exist on office.", "La base Compta_001 n'existe pas sur office."),
    ("The directory /srv/x does not exist.", "Le répertoire /srv/x n'existe pas."),  # the older, more precise one
    ("/b/001SOC.pbf: member data/entry/00000.parquet is damaged (its SHA-256 does not match the manifest).",
     "/b/001SOC.pbf : le membre data/entry/00000.parquet est endommagé (son SHA-256 ne correspond pas au "
     "manifeste)."),
    ("The login 'compta' may not back up Compta_001.", "Le login 'compta' ne peut pas faire de back-up de Compta_001."),
])
def test_a_refusal_keeps_its_values(french: None, english: str, french_text: str) -> None:
    assert shown(english) == french_text
