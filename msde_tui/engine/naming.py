"""Naming rules of the document (SPEC section 2), as pure functions.

    number    001            3 digits
    short     SOC            1-12 letters/digits, upper case
    code      001SOC         number + short
    database  PW0001SOC      "PW" + number on 4 digits + short (SQL Server)
    file      001SOC.sqlite  embedded dossier
    export    E001SOC / EPW0001SOC
    audit     Admin001SOC
    cut       001SOC_CUT001
    packed    001-SOC_20261128_120631.pbf (.ptf, .paf)
    backup    PW0001SOC_20261128_120631.bak, 001SOC_20261128_120631.sqlite.bak
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from msde_tui.engine.errors import BadInput

NUMBER_RE = re.compile(r"^\d{3}$")
SHORT_RE = re.compile(r"^[A-Z0-9]{1,12}$")
CODE_RE = re.compile(r"^(?P<number>\d{3})(?P<short>[A-Z0-9]{1,12})$")
DATABASE_RE = re.compile(r"^PW(?P<number>\d{4})(?P<short>[A-Z0-9]{1,12})$")
CUT_RE = re.compile(r"^(?P<base>.+)_CUT(?P<seq>\d{3})$")
STAMP_FORMAT = "%Y%m%d_%H%M%S"
PACKED_RE = re.compile(
    r"^(?P<number>\d{3})-(?P<short>[A-Z0-9]{1,12})_(?P<stamp>\d{8}_\d{6})\.(?P<kind>pbf|ptf|paf)$"
)


@dataclass(frozen=True)
class DossierCode:
    number: str
    short: str

    @property
    def code(self) -> str:
        return f"{self.number}{self.short}"

    def __str__(self) -> str:
        return self.code


def check_number(number: str) -> str:
    """Return the 3-digit number, or raise ``BadInput``. ``7`` and ``07`` become ``007``."""
    text = str(number).strip()
    # ASCII only: str.isdigit() also accepts "²" (int() then fails) and other scripts' digits.
    if text.isascii() and text.isdigit() and 1 <= len(text) <= 3 and int(text) > 0:
        return text.zfill(3)
    raise BadInput(
        f"'{number}' is not a dossier number.",
        "Type a number from 001 to 999.",
    )


def check_short(short: str) -> str:
    """Return the short name upper-cased, or raise ``BadInput``."""
    text = str(short).strip().upper()
    if SHORT_RE.match(text):
        return text
    raise BadInput(
        f"'{short}' is not a valid short name.",
        "Use 1 to 12 letters or digits, no spaces or punctuation (e.g. SOC).",
    )


def parse_code(code: str) -> DossierCode:
    """``001SOC`` -> DossierCode('001', 'SOC'). Raises ``BadInput``."""
    match = CODE_RE.match(str(code).strip().upper())
    if not match:
        raise BadInput(
            f"'{code}' is not a dossier code.",
            "A code is a 3-digit number followed by a short name, e.g. 001SOC.",
        )
    return DossierCode(match["number"], match["short"])


def database_name(number: str, short: str) -> str:
    """SQL Server database of a dossier: ``PW0001SOC``."""
    return f"PW{int(check_number(number)):04d}{check_short(short)}"


def parse_database_name(name: str) -> DossierCode | None:
    """``PW0001SOC`` -> DossierCode('001', 'SOC'); None when the name does not follow the rule."""
    match = DATABASE_RE.match(name)
    if not match or int(match["number"]) > 999 or int(match["number"]) == 0:
        return None
    return DossierCode(f"{int(match['number']):03d}", match["short"])


def embedded_file_name(code: str) -> str:
    """Embedded dossier file: ``001SOC.sqlite`` (any base name, e.g. ``E001SOC``)."""
    return f"{code}.sqlite"


def export_name(base: str) -> str:
    """Export copy: ``E`` + base name."""
    return f"E{base}"


def base_of_export(name: str) -> str | None:
    """``E001SOC`` -> ``001SOC``; ``EPW0001SOC`` -> ``PW0001SOC``; None if not an export name."""
    if name.startswith("E") and (CODE_RE.match(name[1:]) or DATABASE_RE.match(name[1:])):
        return name[1:]
    return None


AUDIT_PREFIX = "Admin"
NOT_RESTORABLE = (
    "This tax-audit copy is for the tax administration only; the tool never restores or "
    "imports it."
)


def is_audit_copy(code: str | None) -> bool:
    """True for a dossier code of a tax-audit copy (``Admin001SOC``): never to be imported."""
    return bool(code) and str(code).startswith(AUDIT_PREFIX)


def audit_name(base: str) -> str:
    """Tax-audit copy: ``Admin`` + base name."""
    return f"{AUDIT_PREFIX}{base}"


def cut_name(base: str, existing: list[str] | set[str]) -> str:
    """Next cut dossier name: ``base_CUT001``, then ``_CUT002``... given the names that exist."""
    taken = set()
    for name in existing:
        match = CUT_RE.match(name)
        if match and match["base"] == base:
            taken.add(int(match["seq"]))
    seq = 1
    while seq in taken:
        seq += 1
    if seq > 999:
        raise BadInput(f"Dossier {base} has been cut 999 times.", "Remove old cut dossiers first.")
    return f"{base}_CUT{seq:03d}"


def stamp(when: datetime) -> str:
    """Sortable timestamp used in file names: ``20261128_120631``."""
    return when.strftime(STAMP_FORMAT)


def packed_file_name(number: str, short: str, kind: str, when: datetime) -> str:
    """``001-SOC_20261128_120631.pbf`` (kind: pbf, ptf or paf)."""
    kind = kind.lower()
    if kind not in ("pbf", "ptf", "paf"):
        raise BadInput(f"Unknown packed-file kind '{kind}'.", "Use pbf, ptf or paf.")
    return f"{check_number(number)}-{check_short(short)}_{stamp(when)}.{kind}"


def parse_packed_file_name(name: str) -> tuple[DossierCode, datetime, str] | None:
    match = PACKED_RE.match(name)
    if not match:
        return None
    when = datetime.strptime(match["stamp"], STAMP_FORMAT)
    return DossierCode(match["number"], match["short"]), when, match["kind"]


def native_backup_name(database: str, when: datetime) -> str:
    """SQL Server backup file: ``PW0001SOC_20261128_120631.bak``."""
    return f"{database}_{stamp(when)}.bak"


def embedded_backup_name(code: str, when: datetime) -> str:
    """Embedded backup file: ``001SOC_20261128_120631.sqlite.bak``."""
    return f"{code}_{stamp(when)}.sqlite.bak"


def proof_name(backup_file: str) -> str:
    """Proof beside a backup: ``<backup file>.json``."""
    return f"{backup_file}.json"


def first_free_number(taken: set[str] | list[str]) -> str:
    """The first number from 001 not in ``taken``."""
    used = {check_number(n) for n in taken}
    for value in range(1, 1000):
        candidate = f"{value:03d}"
        if candidate not in used:
            return candidate
    raise BadInput("Every dossier number from 001 to 999 is taken.", "Remove unused dossiers first.")
