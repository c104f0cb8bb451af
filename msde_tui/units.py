"""Numbers, sizes and speeds written the way the user's language writes them.

English: ``3,077`` lines, ``672.0 KB``, ``981.2 MB/s``; French: ``3 077`` lignes (a narrow
no-break space groups the thousands), ``672,0 Ko``, ``981,2 Mo/s`` (octets, with a decimal
comma). Sizes count in powers of 1024, as everywhere in msde.

The engine writes its words in English (engine/words.py): ``localized`` turns a value it put in
an English text (a grouped number, a size, a speed) into the user's writing when the text is
shown. A plain number (a year such as 2015, a version such as 15.0) is left as it is.
"""

from __future__ import annotations

import re

from msde_tui.i18n import current_language

_SIZE_UNITS = {"en": ("B", "KB", "MB", "GB", "TB"), "fr": ("o", "Ko", "Mo", "Go", "To")}
_GROUP = {"en": ",", "fr": "\u202f"}
_POINT = {"en": ".", "fr": ","}


def _lang() -> str:
    return "fr" if current_language() == "fr" else "en"


def number(value: int) -> str:
    """``3077`` as ``3,077`` (English) or ``3 077`` (French)."""
    return f"{int(value):,}".replace(",", _GROUP[_lang()])


def decimal(value: float, digits: int = 1) -> str:
    """``12.5`` as ``12.5`` (English) or ``12,5`` (French), with ``digits`` decimals."""
    text = f"{value:,.{digits}f}"
    lang = _lang()
    return text.replace(",", "\0").replace(".", _POINT[lang]).replace("\0", _GROUP[lang])


def size(value: int | None) -> str:
    """A size in bytes: ``512 B`` / ``672.0 KB`` / ``1.4 GB`` (French: ``o``, ``Ko``, ``Go``)."""
    if value is None:
        return "?"
    units = _SIZE_UNITS[_lang()]
    amount = float(value)
    for unit in units:
        if amount < 1024 or unit == units[-1]:
            return f"{int(amount)} {unit}" if unit == units[0] else f"{decimal(amount)} {unit}"
        amount /= 1024
    return f"{value} {units[0]}"  # pragma: no cover - the loop always returns


def speed(mb_per_s: float | None) -> str:
    """Megabytes a second: ``981.2 MB/s`` / ``981,2 Mo/s``; empty when unknown."""
    if mb_per_s is None:
        return ""
    return f"{decimal(mb_per_s)} {_SIZE_UNITS[_lang()][2]}/s"


_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+")
_ENGLISH_SIZE = re.compile(r"(\d+(?:\.\d+)?) (B|bytes|KB|kB|MB|GB|TB)(/s)?")
_FACTOR = {"B": 1, "bytes": 1, "KB": 1024, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def localized(value: str) -> str:
    """A value the engine wrote in English (``3,077``, ``672.0 KB``, ``1.5 MB/s``) in the user's
    writing; anything else unchanged."""
    if _lang() == "en":
        return value
    if _GROUPED.fullmatch(value):
        return number(int(value.replace(",", "")))
    match = _ENGLISH_SIZE.fullmatch(value)
    if match is not None:
        amount, unit, per_second = float(match.group(1)), match.group(2), match.group(3)
        if per_second:
            return speed(amount * _FACTOR[unit] / 1024**2)
        return size(int(round(amount * _FACTOR[unit])))
    return value
