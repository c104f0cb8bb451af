"""The SQL that makes the bulk of a demo dossier inside SQLite (``engine.demo``'s builder).

Moved out of ``demo.py`` (same text): a document's values come from a deterministic integer
hash of its index and a seed-derived salt; per fiscal year, staging tables drive the
``INSERT ... SELECT`` of the invoices, their lines, the bank statements and their lines.
"""

from __future__ import annotations

import re

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
# books the few special entries (opening, payroll, loan, VAT returns, depreciation, tax,
# appropriation, simulations) and keeps the closing balances itself: the journal aggregates come from doc and mv (a few thousand rows
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


TEMP_TABLES = (
    "CREATE TEMP TABLE days (d INTEGER PRIMARY KEY, iso TEXT NOT NULL)",
    """CREATE TEMP TABLE doc (
        i INTEGER PRIMARY KEY, w INTEGER NOT NULL, day INTEGER NOT NULL, ref_day INTEGER,
        tp INTEGER, k INTEGER, vat_id INTEGER, s1 INTEGER, s2 INTEGER, s3 INTEGER,
        s4 INTEGER, s5 INTEGER, s6 INTEGER, s7 INTEGER, s8 INTEGER, s9 INTEGER,
        net INTEGER, vat INTEGER, rc INTEGER, total INTEGER, nl INTEGER, ref TEXT,
        pay_day INTEGER,
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

MAX_ITEMS = 8  # items per invoice: sales 3-8, purchases 3-6


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
    item = f"WHEN k >= {j} THEN a{j} " if j <= MAX_ITEMS else ""
    return f"CASE {item}WHEN k = {j - 1} THEN vat END"


def _amount(j: int) -> str:
    return f":amin + R({2 * j + 2}) * R({2 * j + 3}) / :adiv"


# Invoices of one kind: k items (kmin..kmin+kspan-1) at one VAT rate. Lines: the third party
# (position 1), the k items, then the VAT line unless the VAT is zero.
DOC_SQL = _expand(f"""
WITH RECURSIVE {_series("s", ":base", ":n")},
c AS MATERIALIZED (
    SELECT i, w, ((i - :base) * :ndays) / :n AS day, :tp0 + R(1) % :ntp AS tp,
        :kmin + R(2) % :kspan AS k,
        CASE WHEN :tp0 + R(1) % :ntp >= :foreign THEN 3 WHEN R(3) % :nrates < :n21 THEN 0
            WHEN R(3) % :nrates = :n21 THEN 1 WHEN R(3) % :nrates = :n21 + 1 THEN 2
            ELSE 3 END AS ri,
        {", ".join(f"{_amount(j)} AS a{j}" for j in range(1, MAX_ITEMS + 1))},
        {" + ".join(f"CASE WHEN :kmin + R(2) % :kspan >= {j} THEN {_amount(j)} ELSE 0 END"
                    for j in range(1, MAX_ITEMS + 1))} AS net,
        CASE WHEN R(20) % 100 < :paid AND ((i - :base) * :ndays) / :n + :dmin + R(21) % :dspan
            < :ndays THEN ((i - :base) * :ndays) / :n + :dmin + R(21) % :dspan END AS pay_day,
        R(22) AS r22, R(23) AS r23
    FROM s WHERE i >= :base)
INSERT INTO doc (i, w, day, ref_day, tp, k, vat_id, s1, s2, s3, s4, s5, s6, s7, s8, s9, net,
    vat, rc, total, nl, ref, pay_day, letter, ldate)
SELECT i, w, day, CASE WHEN :shape = 1 THEN day ELSE MAX(day - r23 % 6, 0) END, tp, k,
    CASE WHEN rc > 0 THEN :vat_ic ELSE :vat0 + ri END,
    {", ".join(_slot(j) for j in range(1, MAX_ITEMS + 2))}, net, vat, rc, net + vat,
    k + 1 + (vat > 0) + 2 * (rc > 0),
    CASE WHEN :shape = 1 THEN 'F' || :year || '-' || printf('%05d', i - :base + 1)
        ELSE 'INV-' || (1000 + r22 % 99000) END,
    pay_day,
    CASE WHEN pay_day IS NOT NULL THEN char(65 + (:lbase + i) / 456976 % 26,
        65 + (:lbase + i) / 17576 % 26, 65 + (:lbase + i) / 676 % 26,
        65 + (:lbase + i) / 26 % 26, 65 + (:lbase + i) % 26) END,
    (SELECT iso FROM days WHERE days.d = pay_day)
FROM (SELECT *, (net * CASE ri WHEN 0 THEN 2100 WHEN 1 THEN 1200 WHEN 2 THEN 600 ELSE 0 END
    + 5000) / 10000 AS vat,
    CASE WHEN :shape = 2 AND tp >= :foreign THEN (net * 2100 + 5000) / 10000 ELSE 0 END AS rc
    FROM c)
""")  # noqa: S608 - SQL text built from constants only

DOC_ENTRY_SQL = """
INSERT INTO entry (id, fiscal_year_id, journal_id, number, entry_date, label, document_ref,
    document_date, kind, origin, valid_date)
SELECT d.i + :eoff, :fy, CASE WHEN d.i < :ns THEN :ven ELSE :ach END,
    CASE WHEN d.i < :ns THEN d.i + 1 ELSE d.i - :ns + 1 END, x.iso,
    CASE WHEN d.i < :ns THEN 'Facture ' ELSE 'Achat ' END || d.ref, d.ref, r.iso, 'REAL',
    'NORMAL', x.iso
FROM doc d JOIN days x ON x.d = d.day JOIN days r ON r.d = d.ref_day
ORDER BY d.i
"""

_SLOTS = ("CASE q.p " + " ".join(f"WHEN {j + 1} THEN d.s{j}" for j in range(1, MAX_ITEMS + 1))
          + f" ELSE d.s{MAX_ITEMS + 1} END")

# {debit}/{credit}: the third party line is debited (sales) or credited (purchases). An
# intra-EU purchase (rc > 0) ends with the reverse charge: 411 debit, then 451 credit.
_DOC_LINES_SQL = """
INSERT INTO entry_line (entry_id, line_no, account_id, third_party_id, vat_code_id, label,
    debit, credit, letter, letter_date)
SELECT d.i + :eoff, q.p,
    CASE WHEN q.p = 1 THEN :tpacc WHEN q.p <= d.k + 1 THEN :afirst + (d.w >> q.p) % :nacc
        WHEN q.p = d.k + 3 THEN :rcacc ELSE :vatacc END,
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
SALES_LINES_SQL = _DOC_LINES_SQL.format(
    debit="CASE WHEN q.p = 1 THEN d.total ELSE 0 END",
    credit=f"CASE WHEN q.p = 1 THEN 0 ELSE {_SLOTS} END")
PURCHASE_LINES_SQL = _DOC_LINES_SQL.format(
    debit=f"CASE WHEN q.p = 1 OR q.p = d.k + 3 THEN 0 WHEN d.rc > 0 AND q.p = d.k + 2 THEN d.rc "
          f"ELSE {_SLOTS} END",
    credit="CASE WHEN q.p = 1 THEN d.total WHEN q.p = d.k + 3 THEN d.rc ELSE 0 END")

# Bank movements in statement order: positive amt = the movement line is a debit.
MV_SQL = _expand(f"""
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

STMT_SQL = """
INSERT INTO stmt (day, first, n, amt)
SELECT day, MIN(seq), COUNT(*), SUM(amt) FROM mv GROUP BY day ORDER BY day
"""

STMT_ENTRY_SQL = """
INSERT INTO entry (id, fiscal_year_id, journal_id, number, entry_date, label, document_ref,
    document_date, kind, origin, valid_date)
SELECT s.no + :eoff, :fy, :bnk, s.no, x.iso, 'Extrait ' || :year || '/' || printf('%03d', s.no),
    'EXT' || :year || '-' || printf('%03d', s.no), x.iso, 'REAL', 'NORMAL', x.iso
FROM stmt s JOIN days x ON x.d = s.day
ORDER BY s.no
"""

# Position 1: the bank line (the statement's net); positions 2..n+1: the movements.
STMT_LINES_SQL = """
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

ENTRY_SQL = """
INSERT INTO entry (id, fiscal_year_id, journal_id, number, entry_date, label, document_ref,
    document_date, kind, origin, valid_date)
VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?)
"""

LINE_SQL = """
INSERT INTO entry_line (entry_id, line_no, account_id, third_party_id, vat_code_id, label,
    debit, credit, letter, letter_date)
VALUES (?, ?, ?, ?, NULL, ?, ?, ?, NULL, NULL)
"""
