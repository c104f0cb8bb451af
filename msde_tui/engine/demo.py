"""Deterministic demo dossiers: realistic Belgian books of any size, fast.

``build_dossier`` writes one embedded dossier (PCMN chart, journals ACH/VEN/BNK/OD/OUV,
customers and suppliers, VAT 21/12/6/0 %, balanced sales/purchase/bank/OD entries, a yearly
opening entry carrying the previous closing balances, a few SIMULATION entries and small
PDF/PNG attachments). ``create_demo`` creates several of them in the data directory and
registers them in the dossier list.

Same seed (and same code and first year) -> identical table contents. Rows are built as
tuples and loaded with ``executemany`` in large transactions with journaling off; secondary
indexes are created after the load; the file is built under a temporary name and renamed
into place only when complete.

Opening rule (shared with ``check.check_dossier``): the opening entry of year Y holds, per
account of classes 0-5 (and per third party on the collective accounts 400/440), the closing
balance of year Y-1 over its REAL entries; the net of classes 6-7 of Y-1 goes to 140 (profit,
credit) or 141 (loss, debit).
"""

from __future__ import annotations

import os
import random
import re
import sqlite3
import struct
import uuid
import zlib
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateIndex, DropIndex

from msde_tui.engine import naming, pcmn, schema
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.embedded import create_dossier
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
_FLUSH_LINES = 60_000


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
# The bulk rows (invoices, payments, miscellaneous entries and all their lines) are made by
# SQLite itself with INSERT ... SELECT: values come from a deterministic integer hash of the
# document index and a seed-derived salt, numbering from window functions. Python only
# orchestrates each year and books the few special entries (opening, salaries, depreciation,
# simulations, settlement of carried balances).

# Multipliers for the hash-derived fields R(1)..R(18) (odd, below 2**31: no 64-bit overflow).
_MULTIPLIERS = (
    1103515245, 1597334677, 1812433253, 1442695041, 2037271557, 1234567891, 987654321,
    1999999973, 1220703125, 1717986919, 1431655765, 1900000001, 1664525017, 1013904223,
    1566083941, 1289133145, 1376312589, 1779033703,
)


# Named sub-expressions of the invoice generator, expanded textually (constants only) so that
# SQLite evaluates them inline: materializing intermediate rows costs far more than
# recomputing a few integer operations.
_INVOICE_MACROS: tuple[tuple[str, str], ...] = (
    ("$DVAT", "((net * rate + 5000) / 10000)"),
    ("$NET", "($A1 + IFNULL($A2, 0) + IFNULL($A3, 0) + IFNULL($A4, 0))"),
    ("$RATE", "(CASE $RI WHEN 0 THEN 2100 WHEN 1 THEN 1200 WHEN 2 THEN 600 ELSE 0 END)"),
    ("$RI", "(CASE WHEN $TP >= :foreign THEN 3 WHEN R(3) % :nrates < :n21 THEN 0 "
            "WHEN R(3) % :nrates = :n21 THEN 1 WHEN R(3) % :nrates = :n21 + 1 THEN 2 ELSE 3 END)"),
    ("$PAYDAY", "(CASE WHEN R(15) % 100 < :paid AND $DAY + :dmin + R(16) % :dspan < :ndays "
                "THEN $DAY + :dmin + R(16) % :dspan END)"),
    ("$A1", "(:amin + R(4) * R(5) / :adiv)"),
    ("$A2", "(CASE WHEN R(2) % 10 >= 5 THEN :amin + R(6) * R(7) / :adiv END)"),
    ("$A3", "(CASE WHEN R(2) % 10 >= 8 THEN :amin + R(8) * R(9) / :adiv END)"),
    ("$A4", "(CASE WHEN R(2) % 10 >= 9 THEN :amin + R(10) * R(11) / :adiv END)"),
    ("$K", "(CASE WHEN R(2) % 10 < 5 THEN 1 WHEN R(2) % 10 < 8 THEN 2 "
           "WHEN R(2) % 10 < 9 THEN 3 ELSE 4 END)"),
    ("$TP", "(:tp0 + R(1) % :ntp)"),
    ("$DAY", "(((i - :base) * :ndays) / :n)"),
    ("$J", "(i - :base)"),
    ("$REF", "(CASE WHEN :shape = 1 THEN 'F' || :year || '-' || printf('%05d', i - :base + 1) "
             "ELSE 'INV-' || (1000 + R(18) % 99000) END)"),
    ("$LN", "(:lbase + i - :base)"),
)


def _expand(sql: str) -> str:
    """Expand the ``$NAME`` macros, then ``R(n)``: the n-th 16-bit field of the hash ``w``."""
    for name, text in _INVOICE_MACROS:
        sql = sql.replace(name, text)
    return re.sub(
        r"R\((\d+)\)",
        lambda m: f"(((w * {_MULTIPLIERS[int(m[1]) - 1]}) & 4294967295) >> 16)",
        sql,
    )


_TEMP_TABLES = (
    "CREATE TEMP TABLE days (d INTEGER PRIMARY KEY, iso TEXT NOT NULL)",
    "CREATE TEMP TABLE rnd (i INTEGER PRIMARY KEY, w INTEGER NOT NULL)",
    """CREATE TEMP TABLE ent (
        seq INTEGER PRIMARY KEY, jrnl INTEGER NOT NULL, day INTEGER NOT NULL,
        kind TEXT NOT NULL, origin TEXT NOT NULL, shape INTEGER NOT NULL,
        label TEXT, ref TEXT, ref_day INTEGER, tp INTEGER, vat_id INTEGER, rate INTEGER,
        acc1 INTEGER, acc2 INTEGER, acc3 INTEGER, acc4 INTEGER,
        a1 INTEGER, a2 INTEGER, a3 INTEGER, a4 INTEGER, k INTEGER, vat INTEGER, total INTEGER,
        letter TEXT, letter_day INTEGER, ldate TEXT, tp_side INTEGER, line_label TEXT,
        number INTEGER, nl INTEGER NOT NULL DEFAULT 0, pl INTEGER)""",
    """CREATE TEMP TABLE small (
        jrnl INTEGER NOT NULL, day INTEGER NOT NULL, kind TEXT NOT NULL, label TEXT,
        tp INTEGER, acc1 INTEGER, acc2 INTEGER, a1 INTEGER, tp_side INTEGER, line_label TEXT)""",
    "CREATE TEMP TABLE pos (p INTEGER PRIMARY KEY)",
)

# ``ent``: one row per entry of the year being built, in entry-id order. shape: 0 two-line
# pair (acc1 debit, acc2 credit, amount a1), 1 sales invoice (customer line first, products,
# VAT), 2 purchase invoice (products, VAT, supplier line last), 3 opening (lines from Python).
# nl = number of lines, pl = the line carrying the third party / letter / label.
_RND_SQL = """
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < :n),
h1 AS MATERIALIZED (SELECT i, (i * 2654435761 + :salt) & 4294967295 AS v FROM s),
h2 AS MATERIALIZED (
    SELECT i, ((v + (v >> 16) - 2 * (v & (v >> 16))) * 1540483477) & 4294967295 AS y FROM h1)
INSERT INTO rnd (i, w) SELECT i, y + (y >> 15) - 2 * (y & (y >> 15)) FROM h2
"""

_INVOICE_SQL = _expand("""
WITH d AS MATERIALIZED (
    SELECT i, w, $DAY AS day, $TP AS tp, $K AS k, $RI AS ri, $RATE AS rate,
        $A1 AS a1, $A2 AS a2, $A3 AS a3, $A4 AS a4, $NET AS net, $PAYDAY AS pay_day
    FROM rnd WHERE i >= :base AND i < :base + :n)
INSERT INTO ent (jrnl, day, kind, origin, shape, label, ref, ref_day, tp, vat_id, rate,
    acc1, acc2, acc3, acc4, a1, a2, a3, a4, k, vat, total, letter, letter_day, ldate, number,
    nl, pl)
SELECT :jrnl, day, 'REAL', 'NORMAL', :shape, :prefix || $REF, $REF,
    CASE WHEN :shape = 1 THEN day ELSE MAX(day - R(17) % 6, 0) END, tp, :vat0 + ri, rate,
    CASE R(12) % :nacc WHEN 0 THEN :c0 WHEN 1 THEN :c1 WHEN 2 THEN :c2 WHEN 3 THEN :c3
        WHEN 4 THEN :c4 WHEN 5 THEN :c5 WHEN 6 THEN :c6 WHEN 7 THEN :c7 WHEN 8 THEN :c8
        ELSE :c9 END,
    CASE WHEN k >= 2 THEN CASE R(13) % :nacc WHEN 0 THEN :c0 WHEN 1 THEN :c1
        WHEN 2 THEN :c2 WHEN 3 THEN :c3 WHEN 4 THEN :c4 WHEN 5 THEN :c5 WHEN 6 THEN :c6
        WHEN 7 THEN :c7 WHEN 8 THEN :c8 ELSE :c9 END END,
    CASE WHEN k >= 3 THEN CASE R(14) % :nacc WHEN 0 THEN :c0 WHEN 1 THEN :c1
        WHEN 2 THEN :c2 WHEN 3 THEN :c3 WHEN 4 THEN :c4 WHEN 5 THEN :c5 WHEN 6 THEN :c6
        WHEN 7 THEN :c7 WHEN 8 THEN :c8 ELSE :c9 END END,
    CASE WHEN k >= 4 THEN CASE R(17) % :nacc WHEN 0 THEN :c0 WHEN 1 THEN :c1
        WHEN 2 THEN :c2 WHEN 3 THEN :c3 WHEN 4 THEN :c4 WHEN 5 THEN :c5 WHEN 6 THEN :c6
        WHEN 7 THEN :c7 WHEN 8 THEN :c8 ELSE :c9 END END,
    a1, a2, a3, a4, k, $DVAT, net + $DVAT,
    CASE WHEN pay_day IS NOT NULL THEN char(65 + $LN / 456976 % 26, 65 + $LN / 17576 % 26,
        65 + $LN / 676 % 26, 65 + $LN / 26 % 26, 65 + $LN % 26) END,
    pay_day, (SELECT iso FROM days WHERE days.d = pay_day), i - :base + 1,
    k + 1 + ($DVAT > 0), CASE WHEN :shape = 1 THEN 1 ELSE k + 1 + ($DVAT > 0) END
FROM d ORDER BY i
""")

_MISC_SQL = _expand("""
INSERT INTO ent (jrnl, day, kind, origin, shape, label, tp, acc1, acc2, a1, tp_side, line_label,
    number, nl, pl)
SELECT :jrnl, day, kind, 'NORMAL', 0, label, tp, acc1, acc2, a1, tp_side, line_label,
    ROW_NUMBER() OVER (ORDER BY day, src, s), 2, IFNULL(tp_side, 1)
FROM (
    SELECT ((i - :base) * :ndays) / :n AS day, 0 AS src, i AS s, 'REAL' AS kind,
        CASE WHEN R(2) % 2 = 0 THEN 'Frais bancaires et taxes diverses'
            ELSE 'Retrait caisse' END AS label, NULL AS tp,
        CASE WHEN R(2) % 2 = 0 THEN :fees ELSE :cash END AS acc1, :bank AS acc2,
        1000 + R(1) % 60000 AS a1, NULL AS tp_side, NULL AS line_label
    FROM rnd WHERE i >= :base AND i < :base + :n
    UNION ALL
    SELECT day, 1, rowid, kind, label, tp, acc1, acc2, a1, tp_side, line_label
    FROM small WHERE jrnl = :jrnl)
ORDER BY day, src, s
""")

_PAYMENTS_SQL = """
INSERT INTO ent (jrnl, day, kind, origin, shape, label, tp, acc1, acc2, a1, letter, letter_day,
    ldate, tp_side, line_label, number, nl, pl)
SELECT :jrnl, day, kind, 'NORMAL', 0, label, tp, acc1, acc2, a1, letter, day, ldate, tp_side,
    line_label, ROW_NUMBER() OVER (ORDER BY day, src, s), 2, IFNULL(tp_side, 1)
FROM (
    SELECT letter_day AS day, 0 AS src, seq AS s, 'REAL' AS kind,
        CASE shape WHEN 1 THEN 'Encaissement ' ELSE 'Paiement ' END || ref AS label, tp,
        CASE shape WHEN 1 THEN :bank ELSE :suppliers END AS acc1,
        CASE shape WHEN 1 THEN :customers ELSE :bank END AS acc2,
        total AS a1, letter, ldate, CASE shape WHEN 1 THEN 2 ELSE 1 END AS tp_side,
        'Paiement ' || ref AS line_label
    FROM ent WHERE shape IN (1, 2) AND letter IS NOT NULL
    UNION ALL
    SELECT day, 1, rowid, kind, label, tp, acc1, acc2, a1, NULL, NULL, tp_side, line_label
    FROM small WHERE jrnl = :jrnl)
ORDER BY day, src, s
"""

_OPENING_SQL = """
INSERT INTO ent (jrnl, day, kind, origin, shape, label, number)
VALUES (?, 0, 'REAL', 'OPENING', 3, ?, 1)
"""

_SMALL_SQL = """
INSERT INTO small (jrnl, day, kind, label, tp, acc1, acc2, a1, tp_side, line_label)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

_ENTRY_SQL = """
INSERT INTO entry (id, fiscal_year_id, journal_id, number, entry_date, label, document_ref,
    document_date, kind, origin, valid_date)
SELECT e.seq + :eoff, :fy, e.jrnl, e.number, d.iso, e.label, e.ref, r.iso, e.kind,
    e.origin, CASE WHEN e.kind = 'REAL' THEN d.iso END
FROM ent e JOIN days d ON d.d = e.day
LEFT JOIN days r ON r.d = e.ref_day
ORDER BY e.seq
"""

_LINES_SQL = """
INSERT INTO entry_line (entry_id, line_no, account_id, third_party_id, vat_code_id, label,
    debit, credit, letter, letter_date)
SELECT e.seq + :eoff, q.p,
    CASE WHEN e.shape = 0 THEN CASE q.p WHEN 1 THEN e.acc1 ELSE e.acc2 END
        WHEN q.p = e.pl THEN CASE e.shape WHEN 1 THEN :customers ELSE :suppliers END
        WHEN q.p - (e.shape = 1) <= e.k THEN CASE q.p - (e.shape = 1) WHEN 1 THEN e.acc1
            WHEN 2 THEN e.acc2 WHEN 3 THEN e.acc3 ELSE e.acc4 END
        ELSE CASE e.shape WHEN 1 THEN :vat_payable ELSE :vat_recoverable END END,
    CASE WHEN q.p = e.pl THEN e.tp END,
    CASE WHEN e.shape = 0 OR q.p = e.pl THEN NULL ELSE e.vat_id END,
    CASE WHEN q.p = e.pl THEN IFNULL(e.line_label, e.label) END,
    CASE WHEN CASE WHEN e.shape = 2 THEN q.p <> e.pl ELSE q.p = 1 END THEN
        CASE WHEN e.shape = 0 THEN e.a1 WHEN q.p = e.pl THEN e.total
            WHEN q.p - (e.shape = 1) <= e.k THEN CASE q.p - (e.shape = 1) WHEN 1 THEN e.a1
                WHEN 2 THEN e.a2 WHEN 3 THEN e.a3 ELSE e.a4 END
            ELSE e.vat END
        ELSE 0 END,
    CASE WHEN CASE WHEN e.shape = 2 THEN q.p <> e.pl ELSE q.p = 1 END THEN 0 ELSE
        CASE WHEN e.shape = 0 THEN e.a1 WHEN q.p = e.pl THEN e.total
            WHEN q.p - (e.shape = 1) <= e.k THEN CASE q.p - (e.shape = 1) WHEN 1 THEN e.a1
                WHEN 2 THEN e.a2 WHEN 3 THEN e.a3 ELSE e.a4 END
            ELSE e.vat END
        END,
    CASE WHEN q.p = e.pl THEN e.letter END,
    CASE WHEN q.p = e.pl THEN e.ldate END
FROM ent e JOIN pos q ON q.p <= e.nl
ORDER BY e.seq, q.p
"""

_BALANCES_SQL = """
SELECT l.account_id, a.class_no, l.third_party_id, SUM(l.debit) - SUM(l.credit)
FROM entry e JOIN entry_line l ON l.entry_id = e.id JOIN account a ON a.id = l.account_id
WHERE e.id BETWEEN ? AND ? AND e.kind = 'REAL'
GROUP BY l.account_id, l.third_party_id
"""

_LINE_SQL = """
INSERT INTO entry_line (entry_id, line_no, account_id, third_party_id, vat_code_id, label,
    debit, credit, letter, letter_date)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

# expected entry lines per business document (sales, purchase, misc mix incl. payments)
_LINES_PER_DOC = 5.0
_SALES_SHARE, _PURCHASE_SHARE = 0.50, 0.42


class _Builder:
    """Generates one dossier's rows into an open sqlite3 connection (inside a transaction)."""

    def __init__(self, conn: sqlite3.Connection, rng: random.Random, *, years: int,
                 lines: int, first_year: int) -> None:
        self.conn = conn
        self.rng = rng
        self.years = years
        self.lines_total = lines
        self.first_year = first_year
        self.next_entry = 1
        self.next_attachment = 1
        self.next_letter = 0
        # classes 0-5 closing balances per (account id, third party id or None); 6-7 net.
        self.balance: dict[tuple[int, int | None], int] = {}
        self.result = 0

    # -- reference data -------------------------------------------------------------------

    def reference_data(self) -> None:
        rng = self.rng
        conn = self.conn
        self.acc: dict[str, int] = {}
        rows = []
        for i, (number, label) in enumerate(pcmn.ACCOUNTS, start=1):
            self.acc[number] = i
            rows.append((i, number, label, pcmn.class_of(number)))
        conn.executemany(_insert_sql(schema.account), rows)

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
        conn.executemany("INSERT INTO pos (p) VALUES (?)", [(p,) for p in range(1, 7)])

    def build(self) -> None:
        self.reference_data()
        for y in range(self.years):
            self._year(y)

    # -- one fiscal year ------------------------------------------------------------------

    def _small(self, journal: str, day: int, label: str, debit_acc: int, credit_acc: int,
               amount: int, *, tp: int | None = None, tp_side: int | None = None,
               line_label: str | None = None, kind: str = "REAL") -> None:
        """Stage one two-line entry (numbered later with the bulk ones of its journal)."""
        self.conn.execute(_SMALL_SQL, (self.jnl[journal], day, kind, label, tp, debit_acc,
                                       credit_acc, amount, tp_side, line_label))

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

    def _year(self, y: int) -> None:
        conn = self.conn
        rng = self.rng
        acc = self.acc
        year = self.first_year + y
        fy = y + 1
        start = date(year, 1, 1)
        ndays = (date(year + 1, 1, 1) - start).days
        budget = self.lines_total // self.years + (1 if y < self.lines_total % self.years else 0)
        for table in ("days", "rnd", "ent", "small"):
            conn.execute(f"DELETE FROM temp.{table}")  # noqa: S608 - constant table names
        conn.executemany("INSERT INTO days (d, iso) VALUES (?, ?)",
                         [(d, (start + timedelta(days=d)).isoformat()) for d in range(ndays)])

        # How many documents fit the year's line budget once the fixed entries are counted.
        opening = self._opening_lines(year)
        a400, a440, a550 = acc["400"], acc["440"], acc["550"]
        settlements = [
            (account_id, tp, debit or credit)
            for account_id, tp, _label, debit, credit in opening
            if tp is not None and ((account_id == a400 and debit) or (account_id == a440 and credit))
        ]
        fixed = len(opening) + 2 + 6 + 2 * len(settlements)
        salaries = budget - fixed >= 400
        if salaries:
            fixed += 48
        docs = max(int((budget - fixed) / _LINES_PER_DOC + 0.5), 0)
        n_sales = int(docs * _SALES_SHARE + 0.5)
        n_purchases = int(docs * _PURCHASE_SHARE + 0.5)
        n_misc = max(docs - n_sales - n_purchases, 0)

        # ``ent`` rows go in final entry-id order: OUV, VEN, ACH, BNK, OD.
        conn.execute(_OPENING_SQL, (self.jnl["OUV"], f"Bilan d'ouverture {year}"))
        if docs:
            conn.execute(_RND_SQL, {"n": docs, "salt": rng.getrandbits(32)})
        sales_acc = [acc[n] for n in pcmn.SALES_ACCOUNTS]
        purchase_acc = [acc[n] for n in pcmn.PURCHASE_ACCOUNTS]
        for shape, base, count, journal, prefix, accounts, vat0, tps, amounts, paid, delays in (
            (1, 0, n_sales, "VEN", "Facture ", sales_acc, self.vat_sales0,
             self.customers, (1_500, 17_180), 88, (8, 53)),
            (2, n_sales, n_purchases, "ACH", "Achat ", purchase_acc, self.vat_purchases0,
             self.suppliers, (900, 23_860), 90, (10, 36)),
        ):
            if not count:
                continue
            params: dict[str, object] = {
                "ndays": ndays, "year": str(year), "shape": shape, "base": base, "n": count,
                "jrnl": self.jnl[journal], "prefix": prefix, "vat0": vat0, "tp0": tps[0],
                "ntp": tps[1], "amin": amounts[0], "adiv": amounts[1], "paid": paid,
                "dmin": delays[0], "dspan": delays[1], "nacc": len(accounts),
                "lbase": self.next_letter, "nrates": 7 if shape == 1 else 6,
                "n21": 4 if shape == 1 else 3,
                # customers are all Belgian; the last suppliers are foreign (VAT 0 %)
                "foreign": 1 << 40 if shape == 1 else self.foreign_from,
            }
            params.update({f"c{i}": accounts[i % len(accounts)] for i in range(10)})
            conn.execute(_INVOICE_SQL, params)
            self.next_letter += count

        # the few special entries, staged then numbered with their journal's bulk entries
        for account_id, tp, amount in settlements:
            day = min(ndays - 1, rng.randint(3, 45))
            if account_id == a400:
                self._small("BNK", day, "Encaissement solde reporté", a550, a400, amount,
                            tp=tp, tp_side=2, line_label="Solde reporté")
            else:
                self._small("BNK", day, "Paiement solde reporté", a440, a550, amount,
                            tp=tp, tp_side=1, line_label="Solde reporté")
        if salaries:
            for month in range(1, 13):
                day = (date(year, month, 25) - start).days
                gross = 320_000 + rng.randint(0, 40_000)
                self._small("OD", day, f"Salaires {year}-{month:02d}", acc["620"], acc["455"],
                            gross)
                self._small("BNK", min(day + 3, ndays - 1),
                            f"Paiement salaires {year}-{month:02d}", acc["455"], a550, gross)
        self._small("OD", ndays - 1, f"Amortissements {year}", acc["630"], acc["2409"], 240_000)
        for i in range(3):
            self._small("OD", ndays - 1 - i, f"Simulation provision {year} ({i + 1})",
                        acc["640"], acc["499"], 50_000 + rng.randrange(500_000),
                        line_label="Provision simulée", kind="SIMULATION")
        conn.execute(_PAYMENTS_SQL, {"jrnl": self.jnl["BNK"], "bank": a550,
                                     "customers": a400, "suppliers": a440})
        conn.execute(_MISC_SQL, {"jrnl": self.jnl["OD"], "base": n_sales + n_purchases,
                                 "n": n_misc, "ndays": ndays, "fees": acc["640"],
                                 "cash": acc["570"], "bank": a550})

        # entries, then lines in entry order (the opening's first: it is entry seq 1)
        first_entry = self.next_entry
        count = conn.execute("SELECT COUNT(*) FROM ent").fetchone()[0]
        self.next_entry = first_entry + count
        eoff = first_entry - 1
        conn.execute(_ENTRY_SQL, {"fy": fy, "eoff": eoff})
        conn.executemany(_LINE_SQL, [
            (first_entry, no, account_id, tp, None, label, debit, credit, None, None)
            for no, (account_id, tp, label, debit, credit) in enumerate(opening, start=1)
        ])
        conn.execute(_LINES_SQL, {"eoff": eoff, "customers": a400, "suppliers": a440,
                                  "vat_payable": acc["451"], "vat_recoverable": acc["411"]})

        # a few scanned documents: the first two invoices of each kind
        shown = conn.execute(
            "SELECT seq, shape, ref, total FROM ent WHERE shape IN (1, 2) AND number <= 2 "
            "ORDER BY seq"
        ).fetchall()
        for seq, shape, ref, total in shown:
            if shape == 1:
                content = tiny_pdf(f"Facture {ref} - {total / 100:.2f} EUR")
                name, mime = f"{ref}.pdf", "application/pdf"
            else:
                shade = (230 - y * 7 % 40, 225, 210 + y * 3 % 40)
                content = tiny_png(48, 32, shade)
                name, mime = f"{ref}.png", "image/png"
            conn.execute(_insert_sql(schema.attachment),
                         (self.next_attachment, seq + eoff, name, mime, content))
            self.next_attachment += 1

        # closing balances for next year's opening (same rule as check_dossier)
        self.balance = {}
        self.result = 0
        for account_id, class_no, tp, amount in conn.execute(
            _BALANCES_SQL, (first_entry, self.next_entry - 1)
        ):
            if class_no >= 6:
                self.result += amount
            elif amount:
                self.balance[(account_id, tp)] = amount


# ---------------------------------------------------------------------------- entry points


def _default_first_year(years: int) -> int:
    return date.today().year - years + 1


def build_dossier(path: Path, *, code: str, company: str, years: int = 10, lines: int = 3000,
                  seed: int = 0, first_year: int | None = None) -> str:
    """Create one embedded demo dossier at ``path``; return its GUID.

    ``lines`` is the approximate total of entry lines over all ``years``; the last year is
    OPEN, the earlier ones CLOSED. ``first_year`` defaults to this year - years + 1.
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
    try:
        create_dossier(tmp, code=parsed.code, name=parsed.short, company=company,
                       vat_number=_vat_number(rng), guid=guid,
                       created_at=datetime(first_year, 1, 1, 9, 0, 0))
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute("PRAGMA cache_size=-200000")
            indexes = [ix for table in schema.TABLES for ix in table.indexes]
            for ix in indexes:
                conn.execute(str(DropIndex(ix).compile(dialect=_DIALECT)))
            conn.execute("BEGIN")
            _Builder(conn, rng, years=years, lines=lines, first_year=first_year).build()
            for ix in indexes:
                conn.execute(str(CreateIndex(ix).compile(dialect=_DIALECT)))
            conn.execute("COMMIT")
            conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()
        os.replace(tmp, path)
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
