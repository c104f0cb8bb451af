"""FEC files (France, art. A47 A-1 LPF): one "Fichier des Écritures Comptables" per fiscal year.

Format written here (ACCOUNTING.md, BOFiP BOI-CF-IOR-60-40-20):

- name ``<identifier>FEC<closing date YYYYMMDD>.txt``; identifier = the digits of the
  dossier's VAT number (for a French number ``FRkk`` + SIREN: the 9-digit SIREN), else the
  dossier code;
- first line the 18 field names, in order; fields separated by a TAB; lines end with CRLF;
- dates ``YYYYMMDD``; amounts with a decimal comma, no thousands separator, ``0,00`` when
  zero, both Debit and Credit always filled;
- content: the year's REAL entries (SIMULATION excluded), opening entries first, then the
  others by date, journal, number; every entry must balance or nothing is written;
- a TAB, CR or LF inside a text becomes a space;
- UTF-8 by default (no BOM); ISO-8859-15 on request: a character that encoding cannot hold is
  replaced by its unaccented form when there is one (``ő`` -> ``o``), else by ``?``
  (``ł`` -> ``?``); the count of replaced characters is reported.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from msde_tui.engine.accounting import schema
from msde_tui.engine.accounting.ledger import FiscalYear
from msde_tui.engine.atomic import write_atomic
from msde_tui.engine.errors import BadInput, DossierDamaged

FEC_COLUMNS: tuple[str, ...] = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
)
SEPARATOR = "\t"
NEWLINE = "\r\n"
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "iso-8859-15": "iso-8859-15", "latin-9": "iso-8859-15"}
_CONTROL = re.compile(r"[\t\r\n]+")


@dataclass(frozen=True)
class FecResult:
    path: Path
    year: str
    entries: int
    lines: int
    debit_total: int
    credit_total: int
    replaced_chars: int


def check_encoding(name: str) -> str:
    """``utf-8`` or ``iso-8859-15`` (a few spellings accepted), else ``BadInput``."""
    key = name.strip().lower().replace("_", "-")
    if key not in ENCODINGS:
        raise BadInput(f"'{name}' is not a FEC encoding.", "Use utf-8 or iso-8859-15.")
    return ENCODINGS[key]


def identifier(vat_number: str | None, country: str | None, code: str) -> str:
    """The file-name identifier: VAT number digits (French SIREN when French), else the code."""
    digits = re.sub(r"\D", "", vat_number or "")
    if digits:
        if (country or "").upper() == "FR" and len(digits) == 11:
            return digits[2:]  # FR + 2-digit key + SIREN
        return digits
    return re.sub(r"[^A-Za-z0-9]", "", code) or "DOSSIER"


def file_name(ident: str, closing: date) -> str:
    return f"{ident}FEC{closing:%Y%m%d}.txt"


def amount(cents: int) -> str:
    """``123456`` -> ``1234,56``; never a thousands separator."""
    if cents < 0:
        raise DossierDamaged("A negative amount was found on an entry line.", "Run 'msde check'.")
    return f"{cents // 100},{cents % 100:02d}"


def fec_date(value: date | None) -> str:
    return value.strftime("%Y%m%d") if value else ""


def text(value: object) -> str:
    return _CONTROL.sub(" ", str(value)).strip() if value is not None else ""


def _latin9(field: str) -> tuple[str, int]:
    try:
        field.encode("iso-8859-15")
        return field, 0
    except UnicodeEncodeError:
        pass
    out: list[str] = []
    replaced = 0
    for char in field:
        try:
            char.encode("iso-8859-15")
            out.append(char)
            continue
        except UnicodeEncodeError:
            replaced += 1
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        try:
            plain.encode("iso-8859-15")
            out.append(plain or "?")
        except UnicodeEncodeError:
            out.append("?")
    return "".join(out), replaced


def year_rows(conn: sa.Connection, year: FiscalYear) -> Iterator[tuple[int, list[str]]]:
    """(entry id, 18 fields) for every line of the year's REAL entries, in FEC order."""
    e, el, j = schema.entry, schema.entry_line, schema.journal
    a, tp = schema.account, schema.third_party
    opening_first = sa.case((e.c.origin == "OPENING", 0), else_=1)
    query = (
        sa.select(
            e.c.id,
            j.c.code.label("journal_code"),
            j.c.label.label("journal_label"),
            e.c.number,
            e.c.entry_date,
            e.c.label.label("entry_label"),
            e.c.document_ref,
            e.c.document_date,
            e.c.valid_date,
            a.c.number.label("account_number"),
            a.c.label.label("account_label"),
            tp.c.code.label("party_code"),
            tp.c.name.label("party_name"),
            el.c.label.label("line_label"),
            el.c.debit,
            el.c.credit,
            el.c.letter,
            el.c.letter_date,
        )
        .select_from(
            e.join(j, e.c.journal_id == j.c.id)
            .join(el, el.c.entry_id == e.c.id)
            .join(a, el.c.account_id == a.c.id)
            .outerjoin(tp, el.c.third_party_id == tp.c.id)
        )
        .where(e.c.fiscal_year_id == year.id, e.c.kind == "REAL")
        .order_by(opening_first, e.c.entry_date, j.c.code, e.c.number, e.c.id, el.c.line_no)
    )
    for r in conn.execute(query):
        num = f"{r.journal_code}-{r.number:06d}"
        yield r.id, [
            text(r.journal_code),
            text(r.journal_label),
            num,
            fec_date(r.entry_date),
            text(r.account_number),
            text(r.account_label),
            text(r.party_code),
            text(r.party_name),
            text(r.document_ref) or num,
            fec_date(r.document_date or r.entry_date),
            text(r.line_label) or text(r.entry_label),
            amount(int(r.debit)),
            amount(int(r.credit)),
            text(r.letter),
            fec_date(r.letter_date),
            fec_date(r.valid_date or r.entry_date),
            "",
            "",
        ]


def write_fec(
    conn: sa.Connection,
    year: FiscalYear,
    directory: Path,
    *,
    ident: str,
    encoding: str = "utf-8",
) -> FecResult:
    """Write the FEC of one fiscal year in ``directory`` (atomically). Raises
    ``DossierDamaged`` (nothing written) when an entry does not balance."""
    encoding = check_encoding(encoding)
    out: list[str] = [SEPARATOR.join(FEC_COLUMNS)]
    entries = lines = debit_total = credit_total = replaced = 0
    current: int | None = None
    balance = 0

    def close_entry() -> None:
        if current is not None and balance != 0:
            raise DossierDamaged(
                f"Entry id {current} of fiscal year {year.code} does not balance "
                f"(difference {balance / 100:.2f}); no FEC file was written.",
                "Run 'msde check' on the dossier and correct the entry first.",
            )

    for entry_id, fields in year_rows(conn, year):
        if entry_id != current:
            close_entry()
            current, balance = entry_id, 0
            entries += 1
        debit = int(fields[11].replace(",", ""))
        credit = int(fields[12].replace(",", ""))
        balance += debit - credit
        debit_total += debit
        credit_total += credit
        lines += 1
        if encoding != "utf-8":
            fixed = []
            for field in fields:
                value, count = _latin9(field)
                fixed.append(value)
                replaced += count
            fields = fixed
        out.append(SEPARATOR.join(fields))
    close_entry()
    path = Path(directory) / file_name(ident, year.end)
    write_atomic(path, (NEWLINE.join(out) + NEWLINE).encode(encoding))
    return FecResult(path, year.code, entries, lines, debit_total, credit_total, replaced)
