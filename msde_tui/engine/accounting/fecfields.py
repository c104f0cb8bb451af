"""The field formats a FEC file and its description share (``fec`` writes the file, ``fecdoc``
the description beside it; both import this module, which imports neither)."""

from __future__ import annotations

import re

from msde_tui.engine.errors import DossierDamaged

__all__ = ["amount", "siren"]


def siren(vat_number: str | None, country: str | None) -> str | None:
    """The 9-digit SIREN inside a French VAT number (``FR`` + 2-character key + SIREN)."""
    raw = re.sub(r"[\s.\-]", "", vat_number or "").upper()
    match = re.fullmatch(r"FR[0-9A-Z]{2}(\d{9})", raw)
    if match:
        return match[1]
    if (country or "").upper() == "FR" and re.fullmatch(r"\d{9}", raw):
        return raw
    return None


def amount(cents: int) -> str:
    """``123456`` -> ``1234,56``; never a thousands separator."""
    if cents < 0:
        raise DossierDamaged("A negative amount was found on an entry line.", "Run 'msde check'.")
    return f"{cents // 100},{cents % 100:02d}"
