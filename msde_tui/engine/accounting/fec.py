"""FEC files (France, art. A47 A-1 LPF): one "Fichier des Écritures Comptables" per fiscal year.

Format written here (docs/ACCOUNTING.md, BOFiP BOI-CF-IOR-60-40-20):

- name ``<SIREN>FEC<closing date YYYYMMDD>.txt``. The SIREN comes from a French VAT number
  (``FRkk`` + SIREN); a dossier without one (a Belgian company) has no SIREN: the user gives
  the identifier the requesting administration uses (``identifier``), else ``FecRefused``.
  A provisional file (open year, or entries never validated) ends ``_PROVISOIRE.txt``;
- first line the 18 field names, in order; fields separated by a TAB; lines end with CRLF;
- dates ``YYYYMMDD``; amounts with a decimal comma, no thousands separator, ``0,00`` when
  zero, both Debit and Credit always filled;
- content: the year's REAL entries (SIMULATION and the year-end CLOSING entries that bring
  classes 6/7 to zero excluded), opening entries first, then the others by date, journal,
  number; every entry must balance or nothing is written;
- ValidDate is the entry's own validation date, never made up: an entry never validated, or
  a year still open, is refused (``FecRefused``, naming the entries) unless a provisional file
  is asked for; there the ValidDate of an unvalidated entry stays empty;
- an ARCHIVED year is refused: its entries are in its PAF (the tax-audit transfer puts them
  back from the PAF into its copy and writes the FEC from there);
- a TAB, CR or LF inside a text becomes a space;
- UTF-8 by default (no BOM); ISO-8859-15 on request: a character that encoding cannot hold is
  replaced by its unaccented form when there is one (``ő`` -> ``o``), else by ``?``
  (``ł`` -> ``?``); the count of replaced characters is reported;
- beside each file, ``<file name>_DESCRIPTION.txt`` (``fecdoc``): encoding, separator, the
  journals, the chart of accounts the numbers follow, the dossier's identity.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from msde_tui.engine.accounting import schema
from msde_tui.engine.accounting.fecfields import amount, siren
from msde_tui.engine.accounting.ledger import FiscalYear
from msde_tui.engine.atomic import write_atomic
from msde_tui.engine.errors import BadInput, DossierDamaged, FecRefused

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
PROVISIONAL_SUFFIX = "_PROVISOIRE"
FRENCH_FORMAT = (
    "A FEC is a French format (art. A47 A-1 of the French Livre des procédures fiscales), "
    "named after the company's SIREN."
)
_IDENT = re.compile(r"^[A-Za-z0-9]{1,20}$")


@dataclass(frozen=True)
class FecResult:
    path: Path
    year: str
    entries: int
    lines: int
    debit_total: int
    credit_total: int
    replaced_chars: int
    provisional: bool = False
    reasons: tuple[str, ...] = ()  # why it is provisional
    description: Path | None = None


@dataclass(frozen=True)
class Identity:
    """Who the books are of, as the description file states it."""

    code: str
    company: str
    vat_number: str | None
    country: str | None

    @classmethod
    def of(cls, conn: sa.Connection) -> Identity:
        info = conn.execute(sa.select(schema.dossier_info)).one()
        return cls(info.code, info.company, info.vat_number, info.country)


def check_encoding(name: str) -> str:
    """``utf-8`` or ``iso-8859-15`` (a few spellings accepted), else ``BadInput``."""
    key = name.strip().lower().replace("_", "-")
    if key not in ENCODINGS:
        raise BadInput(f"'{name}' is not a FEC encoding.", "Use utf-8 or iso-8859-15.")
    return ENCODINGS[key]


def identifier(vat_number: str | None, country: str | None, code: str, given: str | None = None) -> str:
    """The file-name identifier: ``given`` when the user gave one, else the French SIREN.

    A dossier without SIREN (e.g. a Belgian company, whose 10-digit enterprise number is no
    SIREN) and no identifier given: ``FecRefused`` saying a FEC is a French format."""
    if given is not None and given.strip():
        value = given.strip()
        if not _IDENT.match(value):
            raise BadInput(
                f"'{given}' cannot name a FEC file.",
                "Give 1 to 20 letters or digits (the identifier the administration uses).",
            )
        return value
    found = siren(vat_number, country)
    if found:
        return found
    raise FecRefused(
        f"Dossier {code} has no French SIREN (VAT number {vat_number or 'none'}). " + FRENCH_FORMAT,
        "Give the identifier the requesting administration uses for this company with "
        "--fec-id (1 to 20 letters or digits).",
        wizard_hint="Type the identifier the requesting administration uses for this company in "
        "'FEC identifier' (1 to 20 letters or digits).",
    )


def file_name(ident: str, closing: date, *, provisional: bool = False) -> str:
    suffix = PROVISIONAL_SUFFIX if provisional else ""
    return f"{ident}FEC{closing:%Y%m%d}{suffix}.txt"


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
        .where(e.c.fiscal_year_id == year.id, e.c.kind == "REAL", e.c.origin != "CLOSING")
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
            fec_date(r.valid_date),
            "",
            "",
        ]


def unvalidated(conn: sa.Connection, year: FiscalYear) -> list[str]:
    """``JOURNAL-000123 (date)`` of the year's REAL entries that were never validated (the
    CLOSING entry, left out of the FEC, does not count here; ``msde check`` reports it)."""
    e, j = schema.entry, schema.journal
    rows = conn.execute(
        sa.select(j.c.code, e.c.number, e.c.entry_date)
        .select_from(e.join(j, e.c.journal_id == j.c.id))
        .where(e.c.fiscal_year_id == year.id, e.c.kind == "REAL", e.c.valid_date.is_(None),
               e.c.origin != "CLOSING")
        .order_by(j.c.code, e.c.number)
    )
    return [f"{code}-{number:06d} ({day:%Y-%m-%d})" for code, number, day in rows]


def refusals(conn: sa.Connection, year: FiscalYear) -> list[str]:
    """Why the FEC of ``year`` can only be provisional (empty: a final FEC can be written).
    An ARCHIVED year is refused outright (``FecRefused``): its entries are in its PAF."""
    if year.status == "ARCHIVED":
        raise FecRefused(
            f"Fiscal year {year.code} is archived: its entries are in its PAF, not in the "
            "dossier, and a FEC of its balance entry would be false.",
            "Give the PAF (or the directory holding it) with --paf.",
            wizard_hint="Type the PAF (or the directory holding it) in 'Archive (PAF)'.",
        )
    reasons = []
    if year.status == "OPEN":
        reasons.append(f"fiscal year {year.code} is still open")
    drafts = unvalidated(conn, year)
    if drafts:
        shown = ", ".join(drafts[:10]) + (f" and {len(drafts) - 10} more" if len(drafts) > 10 else "")
        reasons.append(f"{len(drafts)} entr{'y was' if len(drafts) == 1 else 'ies were'} never validated: {shown}")
    return reasons


def check_final(conn: sa.Connection, year: FiscalYear, *, provisional: bool) -> list[str]:
    """``refusals`` raising ``FecRefused`` when a final FEC was asked for and cannot be."""
    reasons = refusals(conn, year)
    if reasons and not provisional:
        raise FecRefused(
            f"No FEC for {year.code}: {'; '.join(reasons)}.",
            "Close and validate the year first, or ask for a provisional FEC (--provisional): "
            f"its name ends {PROVISIONAL_SUFFIX}.",
            wizard_hint="Close and validate the year first, or tick 'Provisional FEC': "
            f"its name ends {PROVISIONAL_SUFFIX}.",
        )
    return reasons


def write_fec(
    conn: sa.Connection,
    year: FiscalYear,
    directory: Path,
    *,
    ident: str,
    encoding: str = "utf-8",
    provisional: bool = False,
    describe: bool = True,
    identity: Identity | None = None,
    source: str | None = None,
) -> FecResult:
    """Write the FEC of one fiscal year in ``directory`` (atomically), and its description.

    Raises ``FecRefused`` (nothing written) for an archived year, and for an open year or
    one holding entries never validated unless ``provisional`` (the file name then says
    so); ``DossierDamaged`` (nothing written) when an entry does not balance. ``identity``
    (default: the connection's ``dossier_info``) and ``source`` go into the description."""
    encoding = check_encoding(encoding)
    reasons = check_final(conn, year, provisional=provisional)
    provisional = bool(reasons)
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
    path = Path(directory) / file_name(ident, year.end, provisional=provisional)
    write_atomic(path, (NEWLINE.join(out) + NEWLINE).encode(encoding))
    result = FecResult(path, year.code, entries, lines, debit_total, credit_total, replaced,
                       provisional, tuple(reasons))
    if describe:
        from msde_tui.engine.accounting import fecdoc

        who = identity or Identity.of(conn)
        result = replace(result, description=fecdoc.write_description(
            conn, year, result, ident=ident, encoding=encoding, identity=who, source=source))
    return result
