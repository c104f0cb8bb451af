"""Deterministic demo dossiers: realistic Belgian books of any size, fast.

``build_dossier`` writes one embedded dossier (PCMN chart, journals ACH/VEN/BNK/OD/OUV,
customers and suppliers, VAT 21/12/6/0 %, balanced sales/purchase/bank/OD entries, a yearly
opening entry carrying the previous closing balances, a few SIMULATION entries numbered apart
and small PDF/PNG attachments). What an accountant expects of a small Belgian company's books
(docs/ACCOUNTING.md): intra-EU supplier invoices at 0 % with the VAT self-assessed (reverse
charge 411/451), quarterly VAT returns clearing 411/451 into the VAT current account 4512 and
paid the next month, monthly payroll (620/621 against 453/454/455, paid), an installation
loan repaid monthly with interest (173/650), depreciation, and for every closed year the
corporate income tax (670/450) and the appropriation of the result (CLOSING entry through
690/693/790/793 into 140/141: classes 6 and 7 net to zero). Nothing is dated after the day the
demo is made: the open year stops that day. ``create_demo`` creates several of them in the
data directory and registers them in the dossier list.

Same seed (and same code, first year and day) -> identical table contents. The bulk rows are made
inside SQLite (``INSERT ... SELECT`` from a seeded integer hash, see demo_sql.py; the builder is demo_builder.py) in
one transaction on a fresh file set up for a bulk load (16 KB pages, no journal, no sync,
foreign keys off, a cache holding the whole file); the file is built under a temporary name,
switched to WAL and renamed into place only when complete.

Opening rule (shared with ``check.check_dossier``): the opening entry of year Y holds, per
account of classes 0-5 (and per third party on the collective accounts 400/440), the closing
balance of year Y-1 over its REAL entries; the net of classes 6-7 of Y-1 (zero after the
appropriation) goes to 140 (profit, credit) or 141 (loss, debit).
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
import uuid
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.schema import CreateIndex, CreateTable

from msde_tui.engine import naming
from msde_tui.engine.accounting import schema
from msde_tui.engine.accounting.demo_builder import DIALECT, Builder, insert_sql
from msde_tui.engine.accounting.demo_parties import DEMO_COMPANIES, vat_number
from msde_tui.engine.atomic import remove_sqlite
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BadInput, DossierExists

_PAGE_SIZE = 16384  # fewer, fuller pages: ~10 % less work than 4096 for the bulk load
_CACHE_KIB = 1_000_000  # the whole file stays in cache until the commit (~110 MB/M lines)


# ---------------------------------------------------------------------------- entry points


def _default_first_year(years: int) -> int:
    return date.today().year - years + 1


def _create_schema(conn: sqlite3.Connection, *, code: str, name: str, company: str,
                   vat_number: str, guid: str, created_at: datetime) -> None:
    """The dossier schema (same DDL as ``embedded.create_dossier``) in a fresh file, set up
    for a bulk load: large pages, no journal, no sync, foreign keys off, a big cache.

    Secondary indexes are created with the tables: every generated row arrives in key order
    for them (or at one of a few dozen hot spots), which costs less than sorting them after.
    """
    for pragma in (f"page_size={_PAGE_SIZE}", "journal_mode=OFF", "synchronous=OFF",
                   "foreign_keys=OFF", f"cache_size=-{_CACHE_KIB}", "temp_store=MEMORY"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("BEGIN")
    for table in schema.TABLES:
        conn.execute(str(CreateTable(table).compile(dialect=DIALECT)))
        for index in table.indexes:
            conn.execute(str(CreateIndex(index).compile(dialect=DIALECT)))
    # the value as SQLAlchemy stores a DateTime on SQLite ('2020-01-01 09:00:00.000000')
    created = schema.dossier_info.c.created_at.type.dialect_impl(DIALECT).bind_processor(
        DIALECT)
    assert created is not None
    conn.execute(insert_sql(schema.dossier_info), (
        1, guid, code, name, company, vat_number, "BE", "EUR", schema.SCHEMA_VERSION,
        created(created_at),
    ))
    conn.execute("COMMIT")


def build_dossier(path: Path, *, code: str, company: str, years: int = 10, lines: int = 3000,
                  seed: int = 0, first_year: int | None = None,
                  timings: dict[str, float] | None = None, today: date | None = None) -> str:
    """Create one embedded demo dossier at ``path``; return its GUID.

    ``lines`` is the approximate total of entry lines over all ``years``; the last year is
    OPEN, the earlier ones CLOSED. ``first_year`` defaults to this year - years + 1.
    ``timings``, when given, receives the seconds spent per generation step (benchmarks).
    Nothing is dated after ``today`` (default: the day it runs): the open year stops there.
    """
    path = Path(path)
    if years < 1 or years > 100:
        raise BadInput(f"{years} fiscal years is not possible.", "Use 1 to 100 years.")
    if lines < 0:
        raise BadInput(f"{lines} lines is not possible.", "Use 0 or more lines.")
    parsed = naming.parse_code(code)
    first_year = _default_first_year(years) if first_year is None else first_year
    today = today or date.today()
    if first_year + years - 1 > today.year:
        raise BadInput(
            f"A demo ending in {first_year + years - 1} would hold entries after today.",
            f"Let its last year be {today.year} or earlier.",
        )
    rng = random.Random(f"msde-demo/{seed}/{parsed.code}/{first_year}")
    guid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if path.exists():
        raise DossierExists(f"{path} already exists.", "Choose another number or remove it first.")
    tmp = path.with_name(f".{path.name}.building")
    remove_sqlite(tmp)
    clock = time.perf_counter()
    steps: dict[str, float] = {} if timings is None else timings
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            _create_schema(conn, code=parsed.code, name=parsed.short, company=company,
                           vat_number=vat_number(rng), guid=guid,
                           created_at=datetime(first_year, 1, 1, 9, 0, 0))
            steps["schema"] = steps.get("schema", 0.0) + time.perf_counter() - clock
            conn.execute("BEGIN")
            Builder(conn, rng, years=years, lines=lines, first_year=first_year,
                     timings=steps, today=today).build()
            clock = time.perf_counter()
            conn.execute("COMMIT")
            conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()
        os.replace(tmp, path)
        steps["commit, WAL, rename"] = (steps.get("commit, WAL, rename", 0.0)
                                        + time.perf_counter() - clock)
    finally:
        remove_sqlite(tmp)
    return guid


def create_demo(home: Path, *, dossiers: int = 3, years: int = 10, lines: int = 3000,
                seed: int = 0) -> list[Dossier]:
    """Create ``dossiers`` demo dossiers in ``home`` (first free numbers) and list them."""
    if dossiers < 1 or dossiers > 999:
        raise BadInput(f"{dossiers} dossiers is not possible.", "Use 1 to 999 dossiers.")
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(home)
    taken_shorts = {d.short for d in catalog.dossiers()}
    companies = [c for c in DEMO_COMPANIES if c[0] not in taken_shorts]
    created: list[Dossier] = []
    number_int = 0
    for i in range(dossiers):
        while True:
            number_int += 1
            if number_int > 999:
                raise BadInput("No free dossier number is left (001-999 are taken).")
            number = f"{number_int:03d}"
            if number in catalog.numbers():
                continue
            if i < len(companies):
                short, company = companies[i]
            else:
                short, company = f"DEMO{number}", f"Démo {number} SRL"
            file_name = naming.embedded_file_name(f"{number}{short}")
            if not (home / file_name).exists():
                break
        guid = build_dossier(home / file_name, code=f"{number}{short}", company=company,
                             years=years, lines=lines, seed=seed)
        created.append(catalog.add(Dossier(number=number, short=short, company=company,
                                           backend="embedded", location=file_name, guid=guid)))
    return created
