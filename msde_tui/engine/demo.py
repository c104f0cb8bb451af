"""Deterministic demo dossiers: realistic Belgian books of any size, fast.

``build_dossier`` writes one embedded dossier (PCMN chart, journals ACH/VEN/BNK/OD/OUV,
customers and suppliers, VAT 21/12/6/0 %, balanced sales/purchase/bank/OD entries, a yearly
opening entry carrying the previous closing balances, a few SIMULATION entries and small
PDF/PNG attachments). ``create_demo`` creates several of them in the data directory and
registers them in the dossier list.

Same seed (and same code and first year) -> identical table contents. The bulk rows are made
inside SQLite (``INSERT ... SELECT`` from a seeded integer hash, see "the builder" below) in
one transaction on a fresh file set up for a bulk load (16 KB pages, no journal, no sync,
foreign keys off, a cache holding the whole file); the file is built under a temporary name,
switched to WAL and renamed into place only when complete.

Opening rule (shared with ``check.check_dossier``): the opening entry of year Y holds, per
account of classes 0-5 (and per third party on the collective accounts 400/440), the closing
balance of year Y-1 over its REAL entries; the net of classes 6-7 of Y-1 goes to 140 (profit,
credit) or 141 (loss, debit).
"""

from __future__ import annotations

import math
import os
import random
import re
import sqlite3
import struct
import time
import uuid
import zlib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from msde_tui.engine import naming, pcmn, schema
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BadInput, DossierExists

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

_TRADES = (
    "Boulangerie", "Garage", "Brasserie", "Imprimerie", "Menuiserie", "Pharmacie", "Librairie",
    "Transports", "Électricité", "Boucherie", "Fleuriste", "Café", "Atelier", "Cabinet",
    "Quincaillerie", "Chocolaterie", "Friterie", "Toiture", "Plomberie", "Informatique",
)
_NAMES = (
    "Dupont", "Janssens", "Peeters", "Maes", "Jacobs", "Willems", "Claes", "Goossens",
    "Wouters", "De Smet", "Lambert", "Dubois", "Lejeune", "Renard", "Martin", "Leroy",
    "Mertens", "Dumont", "Hermans", "Michel", "Vermeulen", "Van Damme", "Declercq", "Simon",
    "Laurent", "Desmet", "Lemaire", "Collard", "Hendrickx", "Verstraeten",
)
_FORMS = ("SRL", "SA", "SC", "SRL", "", "& Fils")
_FOREIGN = ("NL", "FR", "DE", "LU")

_DIALECT = sqlite_dialect.dialect()
_PAGE_SIZE = 16384  # fewer, fuller pages: ~10 % less work than 4096 for the bulk load
_CACHE_KIB = 1_000_000  # the whole file stays in cache until the commit (~110 MB/M lines)


def _insert_sql(table: schema.Table) -> str:
    """``INSERT INTO t (c1, c2...) VALUES (?, ?...)`` with every column in table order."""
    return str(table.insert().compile(dialect=_DIALECT))


# ---------------------------------------------------------------------------- attachments


def tiny_pdf(text: str) -> bytes:
    """A valid one-page PDF showing ``text`` (ASCII), with a correct xref table."""
    safe = text.encode("ascii", "replace").replace(b"\\", b"\\\\")
    safe = safe.replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 14 Tf 40 100 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode()
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def tiny_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid RGB PNG (a "scan": a coloured page with a few darker text-like rows)."""
    rows = bytearray()
    dark = bytes((rgb[0] // 3, rgb[1] // 3, rgb[2] // 3))
    light = bytes(rgb)
    for y in range(height):
        rows.append(0)  # filter type None
        is_text = y % 6 in (2, 3) and 2 <= y < height - 2
        for x in range(width):
            rows += dark if is_text and 3 <= x < width - 3 and (x * 7 + y) % 9 else light
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _png_chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------------------- helpers


def _vat_number(rng: random.Random) -> str:
    """A Belgian enterprise number with a valid mod-97 check: BE0 + 7 digits + 2 check digits."""
    base = rng.randrange(2_000_000, 9_999_999)
    return f"BE0{base:07d}{97 - base % 97:02d}"


def _letters(n: int) -> str:
    """1 -> A, 26 -> Z, 27 -> AA ... (lettering codes)."""
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _company_name(rng: random.Random) -> str:
    form = rng.choice(_FORMS)
    name = f"{rng.choice(_TRADES)} {rng.choice(_NAMES)}"
    return f"{name} {form}" if form else name


# ---------------------------------------------------------------------------- the builder
#
# The bulk rows are made by SQLite itself with INSERT ... SELECT: a document's values come
# from a deterministic integer hash of its index and a seed-derived salt. Per fiscal year,
# three small staging tables (TEMP, in memory) drive everything:
#
#   doc   one row per invoice (sales first, then purchases): third party, item count, the
#         amounts of its lines in "slots" (items, then the VAT), totals, payment day, letter
#   mv    one row per bank movement, in (day, source) order: invoice payments, bank fees
#         and cash withdrawals, and the few movements staged from Python
#   stmt  one bank statement (BNK entry) per day with movements: first movement, count, net
#
# Lines are produced by joining doc/stmt with a small table of positions (1..n). Python
# books the few special entries (opening, salaries, depreciation, simulations) and keeps the
# closing balances itself: the journal aggregates come from doc and mv (a few thousand rows
# per year), never from a pass over the lines.

# Multipliers for the hash-derived 16-bit fields R(1)..R(23) (odd, below 2**31).
_MULTIPLIERS = (
    1103515245, 1597334677, 1812433253, 1442695041, 2037271557, 1234567891, 987654321,
    1999999973, 1220703125, 1717986919, 1431655765, 1900000001, 1664525017, 1013904223,
    1566083941, 1289133145, 1376312589, 1779033703, 1500450271, 1103872871, 2013265921,
    1181783497, 1443011981,
)


def _expand(sql: str) -> str:
    """Expand ``R(n)``: the n-th 16-bit field of the document's hash ``w``."""
    return re.sub(
        r"R\((\d+)\)",
        lambda m: f"(((w * {_MULTIPLIERS[int(m[1]) - 1]}) & 4294967295) >> 16)",
        sql,
    )


_TEMP_TABLES = (
    "CREATE TEMP TABLE days (d INTEGER PRIMARY KEY, iso TEXT NOT NULL)",
    """CREATE TEMP TABLE doc (
        i INTEGER PRIMARY KEY, w INTEGER NOT NULL, day INTEGER NOT NULL, ref_day INTEGER,
        tp INTEGER, k INTEGER, vat_id INTEGER, s1 INTEGER, s2 INTEGER, s3 INTEGER,
        s4 INTEGER, s5 INTEGER, s6 INTEGER, s7 INTEGER, s8 INTEGER, s9 INTEGER,
        net INTEGER, vat INTEGER, total INTEGER, nl INTEGER, ref TEXT, pay_day INTEGER,
        letter TEXT, ldate TEXT)""",
    """CREATE TEMP TABLE mv (
        seq INTEGER PRIMARY KEY, day INTEGER NOT NULL, acc INTEGER NOT NULL, tp INTEGER,
        amt INTEGER NOT NULL, label TEXT, letter TEXT, ldate TEXT)""",
    """CREATE TEMP TABLE pymv (
        day INTEGER NOT NULL, acc INTEGER NOT NULL, tp INTEGER, amt INTEGER NOT NULL,
        label TEXT)""",
    """CREATE TEMP TABLE stmt (
        no INTEGER PRIMARY KEY, day INTEGER NOT NULL, first INTEGER NOT NULL,
        n INTEGER NOT NULL, amt INTEGER NOT NULL)""",
    "CREATE TEMP TABLE pos (p INTEGER PRIMARY KEY)",
)

_MAX_ITEMS = 8  # items per invoice: sales 3-8, purchases 3-6


def _xorshift(expr: str, bits: int) -> str:
    """``expr XOR (expr >> bits)`` in SQLite arithmetic (which has no XOR operator)."""
    return f"({expr} + ({expr} >> {bits}) - 2 * ({expr} & ({expr} >> {bits})))"


def _series(name: str, first: str, count: str) -> str:
    """Recursive CTE ``name(i, w)`` over i = first..first+count-1, w a 32-bit hash of i-2 and
    ``:salt`` (murmur3-like finalizer). Each step only mixes the previous row's columns
    (v, then y, then w: a pipeline two rows deep), which is ~3x cheaper than hashing i whole.
    """
    mix16 = _xorshift("v", 16)
    mix15 = _xorshift("y", 15)
    sql = (
        f"{name}(i, v, y, w) AS (SELECT {first} - 2, (({first} - 2) * 2654435761 + :salt) "  # noqa: S608
        f"& 4294967295, 0, 0 WHERE {count} > 0 UNION ALL SELECT i + 1, (v + 2654435761) "
        f"& 4294967295, ({mix16} * 1540483477) & 4294967295, {mix15} FROM {name} "
        f"WHERE i + 1 < {first} + {count})"
    )
    return sql


def _slot(j: int) -> str:
    """Slot j of an invoice: item j, or the VAT right after the last item, else NULL."""
    item = f"WHEN k >= {j} THEN a{j} " if j <= _MAX_ITEMS else ""
    return f"CASE {item}WHEN k = {j - 1} THEN vat END"


def _amount(j: int) -> str:
    return f":amin + R({2 * j + 2}) * R({2 * j + 3}) / :adiv"


# Invoices of one kind: k items (kmin..kmin+kspan-1) at one VAT rate. Lines: the third party
# (position 1), the k items, then the VAT line unless the VAT is zero.
_DOC_SQL = _expand(f"""
WITH RECURSIVE {_series("s", ":base", ":n")},
c AS MATERIALIZED (
    SELECT i, w, ((i - :base) * :ndays) / :n AS day, :tp0 + R(1) % :ntp AS tp,
        :kmin + R(2) % :kspan AS k,
        CASE WHEN :tp0 + R(1) % :ntp >= :foreign THEN 3 WHEN R(3) % :nrates < :n21 THEN 0
            WHEN R(3) % :nrates = :n21 THEN 1 WHEN R(3) % :nrates = :n21 + 1 THEN 2
            ELSE 3 END AS ri,
        {", ".join(f"{_amount(j)} AS a{j}" for j in range(1, _MAX_ITEMS + 1))},
        {" + ".join(f"CASE WHEN :kmin + R(2) % :kspan >= {j} THEN {_amount(j)} ELSE 0 END"
                    for j in range(1, _MAX_ITEMS + 1))} AS net,
        CASE WHEN R(20) % 100 < :paid AND ((i - :base) * :ndays) / :n + :dmin + R(21) % :dspan
            < :ndays THEN ((i - :base) * :ndays) / :n + :dmin + R(21) % :dspan END AS pay_day,
        R(22) AS r22, R(23) AS r23
    FROM s WHERE i >= :base)
INSERT INTO doc (i, w, day, ref_day, tp, k, vat_id, s1, s2, s3, s4, s5, s6, s7, s8, s9, net,
    vat, total, nl, ref, pay_day, letter, ldate)
SELECT i, w, day, CASE WHEN :shape = 1 THEN day ELSE MAX(day - r23 % 6, 0) END, tp, k,
    :vat0 + ri, {", ".join(_slot(j) for j in range(1, _MAX_ITEMS + 2))}, net, vat, net + vat,
    k + 1 + (vat > 0),
    CASE WHEN :shape = 1 THEN 'F' || :year || '-' || printf('%05d', i - :base + 1)
        ELSE 'INV-' || (1000 + r22 % 99000) END,
    pay_day,
    CASE WHEN pay_day IS NOT NULL THEN char(65 + (:lbase + i) / 456976 % 26,
        65 + (:lbase + i) / 17576 % 26, 65 + (:lbase + i) / 676 % 26,
        65 + (:lbase + i) / 26 % 26, 65 + (:lbase + i) % 26) END,
    (SELECT iso FROM days WHERE days.d = pay_day)
FROM (SELECT *, (net * CASE ri WHEN 0 THEN 2100 WHEN 1 THEN 1200 WHEN 2 THEN 600 ELSE 0 END
    + 5000) / 10000 AS vat FROM c)
""")  # noqa: S608 - SQL text built from constants only

_DOC_ENTRY_SQL = """
INSERT INTO entry (id, fiscal_year_id, journal_id, number, entry_date, label, document_ref,
    document_date, kind, origin, valid_date)
SELECT d.i + :eoff, :fy, CASE WHEN d.i < :ns THEN :ven ELSE :ach END,
    CASE WHEN d.i < :ns THEN d.i + 1 ELSE d.i - :ns + 1 END, x.iso,
    CASE WHEN d.i < :ns THEN 'Facture ' ELSE 'Achat ' END || d.ref, d.ref, r.iso, 'REAL',
    'NORMAL', x.iso
FROM doc d JOIN days x ON x.d = d.day JOIN days r ON r.d = d.ref_day
ORDER BY d.i
"""

_SLOTS = ("CASE q.p " + " ".join(f"WHEN {j + 1} THEN d.s{j}" for j in range(1, _MAX_ITEMS + 1))
          + f" ELSE d.s{_MAX_ITEMS + 1} END")

# {debit}/{credit}: the third party line is debited (sales) or credited (purchases).
_DOC_LINES_SQL = """
INSERT INTO entry_line (entry_id, line_no, account_id, third_party_id, vat_code_id, label,
    debit, credit, letter, letter_date)
SELECT d.i + :eoff, q.p,
    CASE WHEN q.p = 1 THEN :tpacc WHEN q.p <= d.k + 1 THEN :afirst + (d.w >> q.p) % :nacc
        ELSE :vatacc END,
    CASE WHEN q.p = 1 THEN d.tp END,
    CASE WHEN q.p > 1 THEN d.vat_id END,
    CASE WHEN q.p = 1 THEN :prefix || d.ref END,
    {debit}, {credit},
    CASE WHEN q.p = 1 THEN d.letter END,
    CASE WHEN q.p = 1 THEN d.ldate END
FROM doc d CROSS JOIN pos q ON q.p <= d.nl
WHERE d.i >= :lo AND d.i < :hi
ORDER BY d.i, q.p
"""
_SALES_LINES_SQL = _DOC_LINES_SQL.format(
    debit="CASE WHEN q.p = 1 THEN d.total ELSE 0 END",
    credit=f"CASE WHEN q.p = 1 THEN 0 ELSE {_SLOTS} END")
_PURCHASE_LINES_SQL = _DOC_LINES_SQL.format(
    debit=f"CASE WHEN q.p = 1 THEN 0 ELSE {_SLOTS} END",
    credit="CASE WHEN q.p = 1 THEN d.total ELSE 0 END")

# Bank movements in statement order: positive amt = the movement line is a debit.
_MV_SQL = _expand(f"""
WITH RECURSIVE {_series("f", ":fbase", ":nf")}
INSERT INTO mv (day, acc, tp, amt, label, letter, ldate)
SELECT day, acc, tp, amt, label, letter, ldate FROM (
    SELECT pay_day AS day, 0 AS src, i AS s, CASE WHEN i < :ns THEN :customers
            ELSE :suppliers END AS acc, tp,
        CASE WHEN i < :ns THEN -total ELSE total END AS amt,
        CASE WHEN i < :ns THEN 'Encaissement ' ELSE 'Paiement ' END || ref AS label,
        letter, ldate
    FROM doc WHERE pay_day IS NOT NULL
    UNION ALL
    SELECT ((i - :fbase) * :ndays) / :nf, 1, i, CASE WHEN R(2) % 3 = 0 THEN :cash
            ELSE :fees END, NULL, 1000 + R(1) % 60000,
        CASE WHEN R(2) % 3 = 0 THEN 'Retrait caisse' ELSE 'Frais bancaires' END, NULL, NULL
    FROM f WHERE i >= :fbase
    UNION ALL
    SELECT day, 2, rowid, acc, tp, amt, label, NULL, NULL FROM pymv)
ORDER BY day, src, s
""")  # noqa: S608 - SQL text built from constants only

_STMT_SQL = """
INSERT INTO stmt (day, first, n, amt)
SELECT day, MIN(seq), COUNT(*), SUM(amt) FROM mv GROUP BY day ORDER BY day
"""

_STMT_ENTRY_SQL = """
INSERT INTO entry (id, fiscal_year_id, journal_id, number, entry_date, label, document_ref,
    document_date, kind, origin, valid_date)
SELECT s.no + :eoff, :fy, :bnk, s.no, x.iso, 'Extrait ' || :year || '/' || printf('%03d', s.no),
    'EXT' || :year || '-' || printf('%03d', s.no), x.iso, 'REAL', 'NORMAL', x.iso
FROM stmt s JOIN days x ON x.d = s.day
ORDER BY s.no
"""

# Position 1: the bank line (the statement's net); positions 2..n+1: the movements.
_STMT_LINES_SQL = """
INSERT INTO entry_line (entry_id, line_no, account_id, third_party_id, vat_code_id, label,
    debit, credit, letter, letter_date)
SELECT s.no + :eoff, q.p, CASE WHEN q.p = 1 THEN :bank ELSE m.acc END, m.tp, NULL,
    CASE WHEN q.p = 1 THEN 'Extrait ' || :year || '/' || printf('%03d', s.no) ELSE m.label END,
    CASE WHEN q.p = 1 THEN MAX(-s.amt, 0) ELSE MAX(m.amt, 0) END,
    CASE WHEN q.p = 1 THEN MAX(s.amt, 0) ELSE MAX(-m.amt, 0) END,
    m.letter, m.ldate
FROM stmt s CROSS JOIN pos q ON q.p <= s.n + 1
LEFT JOIN mv m ON m.seq = s.first + q.p - 2 AND q.p > 1
ORDER BY s.no, q.p
"""

_ENTRY_SQL = """
INSERT INTO entry (id, fiscal_year_id, journal_id, number, entry_date, label, document_ref,
    document_date, kind, origin, valid_date)
VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?)
"""

_LINE_SQL = """
INSERT INTO entry_line (entry_id, line_no, account_id, third_party_id, vat_code_id, label,
    debit, credit, letter, letter_date)
VALUES (?, ?, ?, ?, NULL, ?, ?, ?, NULL, NULL)
"""

# expected entry lines per invoice, its payment line included (sales 3-8 items, purchases
# 3-6, a VAT line unless 0 %, paid within the year ~80 %); one fees line per 25 invoices
_LINES_PER_DOC = 7.7
_FEES_EVERY = 25
_SALES_SHARE = 0.55

Key = tuple[int, "int | None"]


class _Builder:
    """Generates one dossier's rows into an open sqlite3 connection (inside a transaction)."""

    def __init__(self, conn: sqlite3.Connection, rng: random.Random, *, years: int,
                 lines: int, first_year: int, timings: dict[str, float] | None = None) -> None:
        self.conn = conn
        self.rng = rng
        self.years = years
        self.lines_total = lines
        self.first_year = first_year
        self.timings = timings if timings is not None else {}
        self.next_entry = 1
        self.next_attachment = 1
        self.next_letter = 0
        self.positions = 0
        # classes 0-5 closing balances per (account id, third party id or None); 6-7 net.
        self.balance: dict[Key, int] = {}
        self.result = 0
        self._clock = time.perf_counter()

    def _lap(self, step: str) -> None:
        now = time.perf_counter()
        self.timings[step] = self.timings.get(step, 0.0) + now - self._clock
        self._clock = now

    # -- reference data -------------------------------------------------------------------

    def reference_data(self) -> None:
        rng = self.rng
        conn = self.conn
        self.acc: dict[str, int] = {}
        self.cls: dict[int, int] = {}
        rows: list[tuple[Any, ...]] = []
        for i, (number, label) in enumerate(pcmn.ACCOUNTS, start=1):
            self.acc[number] = i
            self.cls[i] = pcmn.class_of(number)
            rows.append((i, number, label, pcmn.class_of(number)))
        conn.executemany(_insert_sql(schema.account), rows)
        self.collective = {self.acc[pcmn.CUSTOMERS_ACCOUNT], self.acc[pcmn.SUPPLIERS_ACCOUNT]}
        # item accounts are picked as first id + hash % count: they must be consecutive
        self.sales_accounts = self._consecutive(pcmn.SALES_ACCOUNTS)
        self.purchase_accounts = self._consecutive(pcmn.PURCHASE_ACCOUNTS)

        self.jnl: dict[str, int] = {}
        rows = []
        for i, (code, label, kind) in enumerate(pcmn.JOURNALS, start=1):
            self.jnl[code] = i
            rows.append((i, code, label, kind))
        conn.executemany(_insert_sql(schema.journal), rows)

        # VAT codes V21..V00 (sales, 451) then A21..A00 (purchases, 411), rates in that order.
        rows = []
        vid = 0
        for prefix, account, kind in (("V", "451", "ventes"), ("A", "411", "achats")):
            for rate in pcmn.VAT_RATES_BP:
                vid += 1
                rows.append((vid, f"{prefix}{rate // 100:02d}", f"TVA {kind} {rate // 100} %",
                             rate, self.acc[account]))
        self.vat_sales0, self.vat_purchases0 = 1, 1 + len(pcmn.VAT_RATES_BP)
        conn.executemany(_insert_sql(schema.vat_code), rows)

        n_customers = max(6, min(800, self.lines_total // 400))
        n_suppliers = max(4, min(400, self.lines_total // 900))
        n_foreign = max(1, n_suppliers * 15 // 100)
        rows = []
        for i in range(1, n_customers + 1):
            rows.append((i, f"C{i:05d}", "CUSTOMER", _company_name(rng), _vat_number(rng), "BE"))
        for i in range(1, n_suppliers + 1):
            foreign = i > n_suppliers - n_foreign
            country = rng.choice(_FOREIGN) if foreign else "BE"
            vat = f"{country}{rng.randrange(10**8, 10**9)}" if foreign else _vat_number(rng)
            rows.append((n_customers + i, f"F{i:05d}", "SUPPLIER", _company_name(rng), vat,
                         country))
        conn.executemany(_insert_sql(schema.third_party), rows)
        self.customers = (1, n_customers)
        self.suppliers = (n_customers + 1, n_suppliers)
        self.foreign_from = n_customers + n_suppliers - n_foreign + 1

        rows = []
        for y in range(self.years):
            year = self.first_year + y
            status = "OPEN" if y == self.years - 1 else "CLOSED"
            rows.append((y + 1, str(year), f"{year}-01-01", f"{year}-12-31", status))
        conn.executemany(_insert_sql(schema.fiscal_year), rows)

        for ddl in _TEMP_TABLES:
            conn.execute(ddl)
        self._positions(_MAX_ITEMS + 2)
        self._lap("reference data")

    def _consecutive(self, numbers: tuple[str, ...]) -> tuple[int, int]:
        ids = [self.acc[n] for n in numbers]
        if ids != list(range(ids[0], ids[0] + len(ids))):
            raise RuntimeError(f"pcmn: accounts {numbers} must follow each other in ACCOUNTS")
        return ids[0], len(ids)

    def _positions(self, upto: int) -> None:
        if upto > self.positions:
            self.conn.executemany("INSERT INTO pos (p) VALUES (?)",
                                  [(p,) for p in range(self.positions + 1, upto + 1)])
            self.positions = upto

    def build(self) -> None:
        self.reference_data()
        for y in range(self.years):
            self._year(y)

    # -- one fiscal year ------------------------------------------------------------------

    def _book(self, balance: dict[Key, int], account_id: int, tp: int | None, net: int) -> None:
        if self.cls[account_id] >= 6:
            self.result += net
        else:
            key = (account_id, tp if account_id in self.collective else None)
            balance[key] = balance.get(key, 0) + net

    def _opening_lines(self, year: int) -> list[tuple[int, int | None, str, int, int]]:
        """(account, third party, label, debit, credit) of the year's opening entry."""
        acc = self.acc
        if year == self.first_year:
            capital = 1_850_000 + self.rng.randrange(0, 50) * 100_000
            return [
                (acc["550"], None, "Apport en numéraire", capital, 0),
                (acc["240"], None, "Apport en nature : véhicule", 2_400_000, 0),
                (acc["100"], None, "Capital souscrit", 0, capital + 1_400_000),
                (acc["173"], None, "Emprunt d'installation", 0, 1_000_000),
            ]
        balance = dict(self.balance)
        if self.result:
            carry = acc["140"] if self.result < 0 else acc["141"]
            balance[(carry, None)] = balance.get((carry, None), 0) + self.result
        out = []
        for (account_id, tp), amount in sorted(balance.items(),
                                               key=lambda kv: (kv[0][0], kv[0][1] or 0)):
            if amount:
                out.append((account_id, tp, "Report à nouveau", max(amount, 0), max(-amount, 0)))
        return out

    def _plan(self, budget: int, fixed: int, movements: int, ndays: int) -> int:
        """How many invoices fit the year's line budget (bank statement lines counted)."""
        docs = 0
        for _ in range(4):
            moves = movements + docs * 0.8 + docs / _FEES_EVERY
            statements = ndays * (1 - math.exp(-moves / ndays)) if moves else 0
            docs = max(int((budget - fixed - statements) / (_LINES_PER_DOC + 1 / _FEES_EVERY)
                           + 0.5), 0)
        return docs

    def _year(self, y: int) -> None:
        conn = self.conn
        rng = self.rng
        acc = self.acc
        year = self.first_year + y
        fy = y + 1
        start = date(year, 1, 1)
        ndays = (date(year + 1, 1, 1) - start).days
        budget = self.lines_total // self.years + (1 if y < self.lines_total % self.years else 0)
        for table in ("days", "doc", "mv", "pymv", "stmt"):
            conn.execute(f"DELETE FROM temp.{table}")  # noqa: S608 - constant table names
        conn.executemany("INSERT INTO days (d, iso) VALUES (?, ?)",
                         [(d, (start + timedelta(days=d)).isoformat()) for d in range(ndays)])

        # the year's special entries first (Python), so the invoices fill the rest of the budget
        opening = self._opening_lines(year)
        a400, a440, a550 = acc["400"], acc["440"], acc["550"]
        bank_moves: list[tuple[int, int, int | None, int, str]] = []  # day, acc, tp, amt, label
        od: list[tuple[int, str, int, int, int, str]] = []  # day, label, debit, credit, amt, kind
        for account_id, tp, _label, debit, credit in opening:
            if tp is not None and account_id == a400 and debit:
                bank_moves.append((min(ndays - 1, rng.randint(3, 45)), a400, tp, -debit,
                                   "Encaissement solde reporté"))
            elif tp is not None and account_id == a440 and credit:
                bank_moves.append((min(ndays - 1, rng.randint(3, 45)), a440, tp, credit,
                                   "Paiement solde reporté"))
        fixed = len(opening) + 2 + 6 + len(bank_moves)
        if budget - fixed >= 400:
            for month in range(1, 13):
                day = (date(year, month, 25) - start).days
                gross = 320_000 + rng.randint(0, 40_000)
                od.append((day, f"Salaires {year}-{month:02d}", acc["620"], acc["455"], gross,
                           "REAL"))
                bank_moves.append((min(day + 3, ndays - 1), acc["455"], None, gross,
                                   f"Paiement salaires {year}-{month:02d}"))
            fixed += 36
        od.append((ndays - 1, f"Amortissements {year}", acc["630"], acc["2409"], 240_000, "REAL"))
        for i in range(3):
            od.append((ndays - 1 - i, f"Simulation provision {year} ({i + 1})", acc["640"],
                       acc["499"], 50_000 + rng.randrange(500_000), "SIMULATION"))
        od.sort(key=lambda row: row[0])

        docs = self._plan(budget, fixed, len(bank_moves), ndays)
        n_sales = int(docs * _SALES_SHARE + 0.5)
        n_purchases = docs - n_sales
        if docs >= 2 and not n_purchases:
            n_sales, n_purchases = docs - 1, 1
        n_fees = docs // _FEES_EVERY + (1 if docs else 0)
        salt = rng.getrandbits(32)
        self._lap("python entries")

        for shape, base, count, vat0, tps, amounts, paid, delays, kmin, kspan in (
            (1, 0, n_sales, self.vat_sales0, self.customers, (1_500, 17_180), 88, (8, 53), 3, 6),
            (2, n_sales, n_purchases, self.vat_purchases0, self.suppliers, (900, 23_860), 90,
             (10, 36), 3, 4),
        ):
            if not count:
                continue
            conn.execute(_DOC_SQL, {
                "ndays": ndays, "year": str(year), "shape": shape, "base": base, "n": count,
                "vat0": vat0, "tp0": tps[0], "ntp": tps[1], "amin": amounts[0],
                "adiv": amounts[1], "paid": paid, "dmin": delays[0], "dspan": delays[1],
                "lbase": self.next_letter, "kmin": kmin, "kspan": kspan, "salt": salt, "nrates": 7 if shape == 1 else 6,
                "n21": 4 if shape == 1 else 3,
                # customers are all Belgian; the last suppliers are foreign (VAT 0 %)
                "foreign": 1 << 40 if shape == 1 else self.foreign_from,
            })
        self.next_letter += docs
        self._lap("invoices (doc)")

        bank_moves.sort(key=lambda move: move[0])
        conn.executemany("INSERT INTO pymv (day, acc, tp, amt, label) VALUES (?, ?, ?, ?, ?)",
                         bank_moves)
        conn.execute(_MV_SQL, {"ns": n_sales, "customers": a400, "suppliers": a440,
                               "fbase": docs, "nf": n_fees, "ndays": ndays, "salt": salt,
                               "cash": acc["570"], "fees": acc["640"]})
        conn.execute(_STMT_SQL)
        n_statements, most = conn.execute("SELECT COUNT(*), MAX(n) FROM stmt").fetchone()
        self._positions((most or 0) + 1)
        self._lap("bank movements (mv, stmt)")

        # entries: OUV, VEN, ACH, BNK, OD (ids follow each other), each with its lines
        first = self.next_entry
        self.next_entry = first + 1 + docs + n_statements + len(od)
        conn.execute(_ENTRY_SQL, (first, fy, self.jnl["OUV"], 1, start.isoformat(),
                                  f"Bilan d'ouverture {year}", "REAL", "OPENING",
                                  start.isoformat()))
        conn.executemany(_LINE_SQL, [
            (first, no, account_id, tp, label, debit, credit)
            for no, (account_id, tp, label, debit, credit) in enumerate(opening, start=1)
        ])
        self._lap("opening")
        conn.execute(_DOC_ENTRY_SQL, {"eoff": first + 1, "fy": fy, "ns": n_sales,
                                      "ven": self.jnl["VEN"], "ach": self.jnl["ACH"]})
        self._lap("entries (invoices)")
        for sql, lo, hi, prefix, tpacc, vatacc, (afirst, nacc) in (
            (_SALES_LINES_SQL, 0, n_sales, "Facture ", a400, acc["451"], self.sales_accounts),
            (_PURCHASE_LINES_SQL, n_sales, docs, "Achat ", a440, acc["411"],
             self.purchase_accounts),
        ):
            if hi > lo:
                conn.execute(sql, {"eoff": first + 1, "lo": lo, "hi": hi, "prefix": prefix,
                                   "tpacc": tpacc, "vatacc": vatacc, "afirst": afirst,
                                   "nacc": nacc})
        self._lap("lines (invoices)")
        soff = first + docs
        conn.execute(_STMT_ENTRY_SQL, {"eoff": soff, "fy": fy, "bnk": self.jnl["BNK"],
                                       "year": str(year)})
        self._lap("entries (statements)")
        conn.execute(_STMT_LINES_SQL, {"eoff": soff, "bank": a550, "year": str(year)})
        self._lap("lines (statements)")
        ood = soff + n_statements + 1
        entries, lines = [], []
        for no, (day, label, debit_acc, credit_acc, amount, kind) in enumerate(od, start=1):
            iso = (start + timedelta(days=day)).isoformat()
            entries.append((ood + no - 1, fy, self.jnl["OD"], no, iso, label, kind, "NORMAL",
                            iso if kind == "REAL" else None))
            lines.append((ood + no - 1, 1, debit_acc, None, None, amount, 0))
            lines.append((ood + no - 1, 2, credit_acc, None, None, 0, amount))
        conn.executemany(_ENTRY_SQL, entries)
        conn.executemany(_LINE_SQL, lines)

        # a few scanned documents: the first two invoices of each kind
        shown = conn.execute(
            "SELECT i, i < ?, ref, total FROM doc WHERE i < MIN(2, ?) OR i BETWEEN ? AND ? "
            "ORDER BY i", (n_sales, n_sales, n_sales, min(n_sales + 1, docs - 1))
        ).fetchall()
        for i, is_sale, ref, total in shown:
            if is_sale:
                content = tiny_pdf(f"Facture {ref} - {total / 100:.2f} EUR")
                name, mime = f"{ref}.pdf", "application/pdf"
            else:
                shade = (230 - y * 7 % 40, 225, 210 + y * 3 % 40)
                content = tiny_png(48, 32, shade)
                name, mime = f"{ref}.png", "image/png"
            conn.execute(_insert_sql(schema.attachment),
                         (self.next_attachment, first + 1 + i, name, mime, content))
            self.next_attachment += 1
        self._lap("OD, attachments")
        self._closing(opening, od, n_sales)
        self._lap("closing balances")

    def _closing(self, opening: list[tuple[int, int | None, str, int, int]],
                 od: list[tuple[int, str, int, int, int, str]], n_sales: int) -> None:
        """Closing balances of the year's REAL entries, from what was staged (no line pass)."""
        acc = self.acc
        balance: dict[Key, int] = {}
        self.result = 0
        for account_id, tp, _label, debit, credit in opening:
            self._book(balance, account_id, tp, debit - credit)
        for _day, _label, debit_acc, credit_acc, amount, kind in od:
            if kind == "REAL":
                self._book(balance, debit_acc, None, amount)
                self._book(balance, credit_acc, None, -amount)
        conn = self.conn
        # invoices: sales/purchases and VAT in total; a paid invoice's third party line is
        # cancelled by its payment, so only the unpaid ones stay on 400/440 (per third party)
        bank = 0
        for lo, hi, sign, tp_acc, vat_acc, other in ((0, n_sales, 1, "400", "451", "700"),
                                                      (n_sales, 1 << 62, -1, "440", "411", "600")):
            net, vat, paid = conn.execute(
                "SELECT SUM(net), SUM(vat), SUM(CASE WHEN pay_day IS NOT NULL THEN total END) "
                "FROM doc WHERE i >= ? AND i < ?", (lo, hi)).fetchone()
            self._book(balance, acc[other], None, -sign * (net or 0))
            self._book(balance, acc[vat_acc], None, -sign * (vat or 0))
            bank += sign * (paid or 0)
            for tp, total in conn.execute(
                "SELECT tp, SUM(total) FROM doc WHERE i >= ? AND i < ? AND pay_day IS NULL "
                "GROUP BY tp", (lo, hi)):
                self._book(balance, acc[tp_acc], tp, sign * total)
        # bank movements other than invoice payments (fees, cash, salaries, settlements)
        for account_id, tp, amount in conn.execute(
            "SELECT acc, tp, SUM(amt) FROM mv WHERE letter IS NULL GROUP BY acc, tp"
        ):
            self._book(balance, account_id, tp, amount)
            bank -= amount
        self._book(balance, acc["550"], None, bank)
        self.balance = {key: amount for key, amount in balance.items() if amount}
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
        conn.execute(str(CreateTable(table).compile(dialect=_DIALECT)))
        for index in table.indexes:
            conn.execute(str(CreateIndex(index).compile(dialect=_DIALECT)))
    # the value as SQLAlchemy stores a DateTime on SQLite ('2020-01-01 09:00:00.000000')
    created = schema.dossier_info.c.created_at.type.dialect_impl(_DIALECT).bind_processor(
        _DIALECT)
    assert created is not None
    conn.execute(_insert_sql(schema.dossier_info), (
        1, guid, code, name, company, vat_number, "BE", "EUR", schema.SCHEMA_VERSION,
        created(created_at),
    ))
    conn.execute("COMMIT")


def build_dossier(path: Path, *, code: str, company: str, years: int = 10, lines: int = 3000,
                  seed: int = 0, first_year: int | None = None,
                  timings: dict[str, float] | None = None) -> str:
    """Create one embedded demo dossier at ``path``; return its GUID.

    ``lines`` is the approximate total of entry lines over all ``years``; the last year is
    OPEN, the earlier ones CLOSED. ``first_year`` defaults to this year - years + 1.
    ``timings``, when given, receives the seconds spent per generation step (benchmarks).
    """
    path = Path(path)
    if years < 1 or years > 100:
        raise BadInput(f"{years} fiscal years is not possible.", "Use 1 to 100 years.")
    if lines < 0:
        raise BadInput(f"{lines} lines is not possible.", "Use 0 or more lines.")
    parsed = naming.parse_code(code)
    first_year = _default_first_year(years) if first_year is None else first_year
    rng = random.Random(f"msde-demo/{seed}/{parsed.code}/{first_year}")
    guid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if path.exists():
        raise DossierExists(f"{path} already exists.", "Choose another number or remove it first.")
    tmp = path.with_name(f".{path.name}.building")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    clock = time.perf_counter()
    steps: dict[str, float] = {} if timings is None else timings
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            _create_schema(conn, code=parsed.code, name=parsed.short, company=company,
                           vat_number=_vat_number(rng), guid=guid,
                           created_at=datetime(first_year, 1, 1, 9, 0, 0))
            steps["schema"] = steps.get("schema", 0.0) + time.perf_counter() - clock
            conn.execute("BEGIN")
            _Builder(conn, rng, years=years, lines=lines, first_year=first_year,
                     timings=steps).build()
            clock = time.perf_counter()
            conn.execute("COMMIT")
            conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()
        os.replace(tmp, path)
        steps["commit, WAL, rename"] = (steps.get("commit, WAL, rename", 0.0)
                                        + time.perf_counter() - clock)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
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
