"""Numbers, sizes and speeds in the user's writing, and the engine's English values shown so."""

from __future__ import annotations

import pytest

from msde_tui import i18n, units
from msde_tui.engine.words import shown

NNBSP = "\u202f"


def test_english_writing() -> None:
    i18n.setup("en")
    assert units.number(3077) == "3,077"
    assert units.size(512) == "512 B"
    assert units.size(688_128) == "672.0 KB"
    assert units.size(3 * 1024**3 // 2) == "1.5 GB"
    assert units.speed(981.24) == "981.2 MB/s"
    assert units.size(None) == "?"


def test_french_writing() -> None:
    i18n.setup("fr")
    assert units.number(3077) == f"3{NNBSP}077"
    assert units.size(512) == "512 o"
    assert units.size(688_128) == "672,0 Ko"
    assert units.size(1_288_490_189) == "1,2 Go"
    assert units.speed(981.24) == "981,2 Mo/s"
    assert units.decimal(12345.67, 2) == f"12{NNBSP}345,67"


@pytest.mark.parametrize(("english", "french"), [
    ("3,077", f"3{NNBSP}077"),
    ("672.0 KB", "672,0 Ko"),
    ("77.8 kB", "77,8 Ko"),
    ("1,234 bytes", "1,234 bytes"),  # not a form the engine writes: left alone
    ("40 bytes", "40 o"),
    ("1.5 MB/s", "1,5 Mo/s"),
    ("2015", "2015"),  # a year
    ("15.0", "15.0"),  # a SQL Server version
    ("001SOC", "001SOC"),
])
def test_values_the_engine_wrote_in_english(english: str, french: str) -> None:
    i18n.setup("fr")
    assert units.localized(english) == french
    i18n.setup("en")
    assert units.localized(english) == english


def test_an_engine_message_is_shown_with_french_numbers_and_sizes() -> None:
    i18n.setup("fr")
    text = shown("PBF 001SOC.pbf written and verified (672.0 KB).")
    assert "672,0 Ko" in text and "KB" not in text
    assert f"3{NNBSP}077" in shown("Export copy /x/E001SOC.sqlite written and checked (3,077 rows).")


def test_a_copy_step_s_size_is_written_the_french_way() -> None:
    i18n.setup("fr")
    assert shown("0.7 MB") == "0,7 Mo" and shown("1234.5 MB") == f"1{NNBSP}234,5 Mo"
    i18n.setup("en")
    assert shown("0.7 MB") == "0.7 MB"
