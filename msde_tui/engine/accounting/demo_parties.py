"""Who appears in a demo dossier: the demo companies, the names of their customers and
suppliers, and VAT numbers in each country's real format (check digits included).

Moved out of ``demo.py`` (same rules); ``demo_builder`` and ``demo`` use them.
"""

from __future__ import annotations

import random

# Demo companies: (short name, company). More dossiers than this get generated names.
DEMO_COMPANIES: tuple[tuple[str, str], ...] = (
    ("SOC", "Société Lambert & Fils SRL"),
    ("BRA", "Brasserie Vandenberghe SA"),
    ("GAR", "Garage Dubois SRL"),
    ("BOU", "Boulangerie Peeters SRL"),
    ("IMP", "Imprimerie Janssens SC"),
    ("MEN", "Menuiserie Lejeune SRL"),
    ("PHA", "Pharmacie Renard SRL"),
    ("TRA", "Transports Maes SA"),
    ("ELE", "Électricité Goossens SRL"),
    ("CAB", "Cabinet Wouters & Associés SRL"),
)

TRADES = (
    "Boulangerie", "Garage", "Brasserie", "Imprimerie", "Menuiserie", "Pharmacie", "Librairie",
    "Transports", "Électricité", "Boucherie", "Fleuriste", "Café", "Atelier", "Cabinet",
    "Quincaillerie", "Chocolaterie", "Friterie", "Toiture", "Plomberie", "Informatique",
)
NAMES = (
    "Dupont", "Janssens", "Peeters", "Maes", "Jacobs", "Willems", "Claes", "Goossens",
    "Wouters", "De Smet", "Lambert", "Dubois", "Lejeune", "Renard", "Martin", "Leroy",
    "Mertens", "Dumont", "Hermans", "Michel", "Vermeulen", "Van Damme", "Declercq", "Simon",
    "Laurent", "Desmet", "Lemaire", "Collard", "Hendrickx", "Verstraeten",
)
FORMS = ("SRL", "SA", "SC", "SRL", "", "& Fils")
FOREIGN = ("NL", "FR", "DE", "LU")


def vat_number(rng: random.Random) -> str:
    """A Belgian enterprise number with a valid mod-97 check: BE0 + 7 digits + 2 check digits."""
    base = rng.randrange(2_000_000, 9_999_999)
    return f"BE0{base:07d}{97 - base % 97:02d}"


def _luhn_digit(digits: str) -> int:
    """The digit that makes ``digits`` + it pass the Luhn check (a SIREN's key)."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char) * (1 if i % 2 else 2)
        total += n - 9 if n > 9 else n
    return (10 - total % 10) % 10


def foreign_vat_number(rng: random.Random, country: str) -> str:
    """A VAT number in the country's real format, check digits included where they exist:
    NL 9 digits + B + 2 digits; FR 2-digit key + SIREN (Luhn); DE 9 digits; LU 6 digits +
    (those mod 89)."""
    if country == "NL":
        return f"NL{rng.randrange(10**8, 10**9)}B{rng.randint(1, 19):02d}"
    if country == "FR":
        body = f"{rng.randrange(10**7, 10**8)}"
        siren = body + str(_luhn_digit(body))
        return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"
    if country == "LU":
        lu = rng.randrange(10**5, 10**6)
        return f"LU{lu:06d}{lu % 89:02d}"
    return f"DE{rng.randrange(10**8, 10**9)}"


def letters(n: int) -> str:
    """1 -> A, 26 -> Z, 27 -> AA ... (lettering codes)."""
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def company_name(rng: random.Random) -> str:
    form = rng.choice(FORMS)
    name = f"{rng.choice(TRADES)} {rng.choice(NAMES)}"
    return f"{name} {form}" if form else name


