"""The French catalogue says one thing one way (issue #14): the seed document's words for a
backup ("back-up"), an embedded dossier ("intégré"), a cut ("découpe"), and help texts that name
the fields with the labels the screens show."""

from __future__ import annotations

import re

from msde_tui import i18n

FRENCH = i18n.parse_po(next(p for p in i18n.po_files() if p.parts[-3] == "fr").read_text("utf-8"))


def test_one_word_for_a_backup_an_embedded_dossier_and_a_cut() -> None:
    # The verb stays ("sauvegarder", "sauvegardé"); the noun is "back-up".
    noun = r"sauvegardes|(la|une|cette|de|dernière|nouvelle|chaque|aucune|quelle)\s+sauvegarde|^sauvegarde"
    old = re.compile(rf"\b({noun}|embarqu\w*|coupure|coupe|pas OK)\b", re.IGNORECASE)
    found = {msgid: text for msgid, text in FRENCH.items() if old.search(text)}
    assert not found, found
    assert FRENCH["cut"] == "découpe" and FRENCH["skip"] == "ignoré" and FRENCH["embedded"] == "intégré"


def test_help_names_the_fields_with_the_labels_shown() -> None:
    labels = set(FRENCH.values())
    quoted = {q for text in labels for q in re.findall(r"« ([^»]+) »", text)}
    commands = {q for q in quoted if q.startswith("msde ") or len(q) == 1}  # a command or a key
    missing = sorted(q for q in quoted - commands
                     if not any(label.startswith(q) for label in labels if "«" not in label))
    assert not missing, missing
