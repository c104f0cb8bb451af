"""Every refusal of the engine that something already exists or does not (a file, a directory,
a database, a number) is shown in the user's language, with what to do.

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

REFUSAL = re.compile(r"exist|already|appeared")


def _sample(node: ast.expr) -> str | None:
    """The text an f-string or a literal gives, each value written as 9."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "9" for v in node.values)
    return None


def refusals() -> list[tuple[str, str]]:
    """(where, text) of each message and hint of a raise whose message is a refusal."""
    found = []
    for package in ("engine", "packfmt"):
        for path in sorted((i18n.PACKAGE_DIR / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                    continue
                texts = [_sample(arg) for arg in node.exc.args[:2]]
                if texts and texts[0] and REFUSAL.search(texts[0]):
                    where = f"{path.relative_to(i18n.PACKAGE_DIR)}:{node.lineno}"
                    found += [(where, text) for text in texts if text]
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


@pytest.mark.parametrize(("english", "french_text"), [
    ("/srv/out/E001SOC.sqlite already exists.", "/srv/out/E001SOC.sqlite existe déjà."),
    ("The database Compta_001 does not exist on office.", "La base Compta_001 n'existe pas sur office."),
    ("The directory /srv/x does not exist.", "Le répertoire /srv/x n'existe pas."),  # the older, more precise one
])
def test_a_refusal_keeps_its_values(french: None, english: str, french_text: str) -> None:
    assert shown(english) == french_text
