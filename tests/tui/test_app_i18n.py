"""French and English: catalogs complete, compiled files current, language chosen right."""

from __future__ import annotations

import gettext
import re
import string

import pytest

from msde_tui import i18n


def _placeholders(text: str) -> set[str]:
    return {name for _t, name, _f, _c in string.Formatter().parse(text) if name is not None}


def test_committed_mo_files_match_their_po() -> None:
    pos = i18n.po_files()
    assert {p.parent.parent.name for p in pos} == {"en", "fr"}
    for po in pos:
        expected = i18n.compile_mo(i18n.parse_po(po.read_text(encoding="utf-8")))
        mo = po.with_suffix(".mo")
        assert mo.exists(), f"{mo} missing: run python -m msde_tui.i18n"
        assert mo.read_bytes() == expected, f"{mo} is stale: run python -m msde_tui.i18n"


def test_every_wizard_string_has_a_french_translation_with_the_same_placeholders() -> None:
    po = i18n.LOCALE_DIR / "fr" / "LC_MESSAGES" / "msde_tui.po"
    french = i18n.parse_po(po.read_text(encoding="utf-8"))
    messages = i18n.extract()
    assert len(messages) > 100
    missing = [m for m in messages if not french.get(m)]
    assert not missing, f"untranslated: {missing[:5]} (run python -m msde_tui.i18n extract)"
    for message in messages:
        assert _placeholders(french[message]) == _placeholders(message), message


def test_compiled_catalog_reads_back_with_gettext(tmp_path) -> None:
    entries = {"": "Content-Type: text/plain; charset=UTF-8\n", "Next": "Suivant", "Éa": "à\"b\n"}
    path = tmp_path / "x.mo"
    path.write_bytes(i18n.compile_mo(entries))
    with open(path, "rb") as handle:
        catalog = gettext.GNUTranslations(handle)
    assert catalog.gettext("Next") == "Suivant"
    assert catalog.gettext("Éa") == "à\"b\n"
    assert catalog.gettext("Missing") == "Missing"


def test_parse_po_multiline_escapes_and_fuzzy() -> None:
    text = (
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "a"\n"b\\n"\nmsgstr "c"\n"\\"d\\""\n\n'
        '#, fuzzy\nmsgid "skip"\nmsgstr "sauté"\n\n'
        'msgid "keep"\nmsgstr "gardé"\n'
    )
    parsed = i18n.parse_po(text)
    assert parsed["ab\n"] == 'c"d"'
    assert "skip" not in parsed
    assert parsed["keep"] == "gardé"
    with pytest.raises(ValueError):
        i18n.parse_po('msgid "x"\nnonsense\n')


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LANG": "fr_BE.UTF-8"}, "fr"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LC_ALL": "fr_FR", "LANG": "en_US"}, "fr"),
        ({"LC_MESSAGES": "en_GB", "LANG": "fr_BE"}, "en"),
        ({"LANGUAGE": "fr:en", "LANG": "C"}, "fr"),
        ({"LANG": "C"}, "en"),
        ({}, "en"),
    ],
)
def test_language_from_environment(env: dict[str, str], expected: str) -> None:
    assert i18n.language_from_env(env) == expected


def test_setup_forces_and_translates() -> None:
    try:
        assert i18n.setup("fr") == "fr"
        assert i18n._("Next") == "Suivant"
        assert re.search("Étape 2 sur 5", i18n._("Step {n} of {total}: {title}").format(n=2, total=5, title=""))
        assert i18n.setup("en") == "en"
        assert i18n._("Next") == "Next"
        assert i18n.setup("de") == "en"
    finally:
        i18n.setup("en")
