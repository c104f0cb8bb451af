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
import sqlite3
import struct
import uuid
import zlib
from collections import defaultdict
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


class _Builder:
    """Generates the rows of one dossier and streams them into an open sqlite3 connection."""

    def __init__(self, conn: sqlite3.Connection, rng: random.Random, *, years: int,
                 lines: int, first_year: int) -> None:
        self.conn = conn
        self.rng = rng
        self.years = years
        self.lines_total = lines
        self.first_year = first_year
        self.entry_sql = _insert_sql(schema.entry)
        self.line_sql = _insert_sql(schema.entry_line)
        self.att_sql = _insert_sql(schema.attachment)
        self.entries: list[tuple] = []
        self.lines: list[tuple] = []
        self.attachments: list[tuple] = []
        self.next_entry = 1
        self.next_line = 1
        self.next_attachment = 1
        self.next_letter = 1
        self.line_count = 0
        # classes 0-5 running balances per (account id, third party id or None); 6-7 net.
        self.balance: dict[tuple[int, int | None], int] = defaultdict(int)
        self.result = 0

    # -- reference data -------------------------------------------------------------------

    def reference_data(self) -> None:
        rng = self.rng
        self.acc: dict[str, int] = {}
        rows = []
        for i, (number, label) in enumerate(pcmn.ACCOUNTS, start=1):
            self.acc[number] = i
            rows.append((i, number, label, pcmn.class_of(number)))
        self.conn.executemany(_insert_sql(schema.account), rows)
        self.pl_accounts = {self.acc[n] for n, _ in pcmn.ACCOUNTS if pcmn.class_of(n) >= 6}

        self.jnl: dict[str, int] = {}
        rows = []
        for i, (code, label, kind) in enumerate(pcmn.JOURNALS, start=1):
            self.jnl[code] = i
            rows.append((i, code, label, kind))
        self.conn.executemany(_insert_sql(schema.journal), rows)

        # VAT codes: V (sales, 451) and A (purchases, 411) for each rate.
        self.vat_sales: dict[int, int] = {}
        self.vat_purch: dict[int, int] = {}
        rows = []
        vid = 0
        for prefix, target, account in (("V", self.vat_sales, "451"), ("A", self.vat_purch, "411")):
            for rate in pcmn.VAT_RATES_BP:
                vid += 1
                target[rate] = vid
                kind = "ventes" if prefix == "V" else "achats"
                rows.append((vid, f"{prefix}{rate // 100:02d}", f"TVA {kind} {rate // 100} %",
                             rate, self.acc[account]))
        self.conn.executemany(_insert_sql(schema.vat_code), rows)

        n_customers = max(6, min(600, self.lines_total // 400))
        n_suppliers = max(4, min(300, self.lines_total // 900))
        rows = []
        self.customers: list[int] = []
        self.suppliers: list[int] = []
        self.supplier_foreign: dict[int, bool] = {}
        tid = 0
        for i in range(1, n_customers + 1):
            tid += 1
            self.customers.append(tid)
            rows.append((tid, f"C{i:05d}", "CUSTOMER", _company_name(rng), _vat_number(rng), "BE"))
        for i in range(1, n_suppliers + 1):
            tid += 1
            self.suppliers.append(tid)
            foreign = rng.random() < 0.15
            self.supplier_foreign[tid] = foreign
            country = rng.choice(_FOREIGN) if foreign else "BE"
            vat = f"{country}{rng.randrange(10**8, 10**9)}" if foreign else _vat_number(rng)
            rows.append((tid, f"F{i:05d}", "SUPPLIER", _company_name(rng), vat, country))
        self.conn.executemany(_insert_sql(schema.third_party), rows)

        rows = []
        for y in range(self.years):
            year = self.first_year + y
            status = "OPEN" if y == self.years - 1 else "CLOSED"
            rows.append((y + 1, str(year), f"{year}-01-01", f"{year}-12-31", status))
        self.conn.executemany(_insert_sql(schema.fiscal_year), rows)

    # -- row emission ---------------------------------------------------------------------

    def _entry(self, fy: int, journal: str, number: int, day: str, label: str,
               ref: str | None, ref_date: str | None, kind: str = "REAL",
               origin: str = "NORMAL") -> int:
        eid = self.next_entry
        self.next_entry = eid + 1
        valid = day if kind == "REAL" else None
        self.entries.append((eid, fy, self.jnl[journal], number, day, label, ref, ref_date,
                             kind, origin, valid))
        return eid

    def _lines(self, eid: int, specs: list[tuple], real: bool = True) -> None:
        """specs: (account id, third party id, vat code id, label, debit, credit, letter, ldate)."""
        lid = self.next_line
        append = self.lines.append
        balance = self.balance
        pl = self.pl_accounts
        no = 0
        for acc, tp, vat, label, debit, credit, letter, ldate in specs:
            no += 1
            append((lid, eid, no, acc, tp, vat, label, debit, credit, letter, ldate))
            lid += 1
            if real:
                if acc in pl:
                    self.result += debit - credit
                else:
                    balance[(acc, tp)] += debit - credit
        self.next_line = lid
        self.line_count += no
        if len(self.lines) >= _FLUSH_LINES:
            self.flush()

    def flush(self) -> None:
        if self.entries:
            self.conn.executemany(self.entry_sql, self.entries)
            self.entries = []
        if self.lines:
            self.conn.executemany(self.line_sql, self.lines)
            self.lines = []
        if self.attachments:
            self.conn.executemany(self.att_sql, self.attachments)
            self.attachments = []

    def _attach(self, eid: int, name: str, mime: str, content: bytes) -> None:
        self.attachments.append((self.next_attachment, eid, name, mime, content))
        self.next_attachment += 1

    # -- one fiscal year ------------------------------------------------------------------

    def build(self) -> None:
        self.reference_data()
        for y in range(self.years):
            self._year(y)
        self.flush()

    def _opening(self, fy: int, year: int, day: str) -> int:
        """The OUV entry: previous closing balances of classes 0-5, result to 140/141."""
        acc = self.acc
        if year == self.first_year:
            capital = 1_850_000 + self.rng.randrange(0, 50) * 100_000
            specs = [
                (acc["550"], None, None, "Apport en numéraire", capital, 0, None, None),
                (acc["240"], None, None, "Apport en nature : véhicule", 2_400_000, 0, None, None),
                (acc["100"], None, None, "Capital souscrit", 0, capital + 1_400_000, None, None),
                (acc["173"], None, None, "Emprunt d'installation", 0, 1_000_000, None, None),
            ]
        else:
            if self.result:
                carry = acc["140"] if self.result < 0 else acc["141"]
                self.balance[(carry, None)] += self.result
                self.result = 0
            specs = []
            for (account_id, tp), amount in sorted(self.balance.items(),
                                                   key=lambda kv: (kv[0][0], kv[0][1] or 0)):
                if amount:
                    specs.append((account_id, tp, None, "Report à nouveau",
                                  max(amount, 0), max(-amount, 0), None, None))
            # the opening re-creates the balances it carries: reset before booking it
            self.balance.clear()
        eid = self._entry(fy, "OUV", 1, day, f"Bilan d'ouverture {year}", None, None,
                          origin="OPENING")
        self._lines(eid, specs)
        return len(specs)

    def _year(self, y: int) -> None:
        rng = self.rng
        rand = rng.random
        randint = rng.randint
        acc = self.acc
        year = self.first_year + y
        fy = y + 1
        start = date(year, 1, 1)
        ndays = (date(year + 1, 1, 1) - start).days
        days = [(start + timedelta(days=d)).isoformat() for d in range(ndays)]
        budget = self.lines_total // self.years + (1 if y < self.lines_total % self.years else 0)
        first_line = self.line_count

        numbers = {"ACH": 0, "VEN": 0, "BNK": 0, "OD": 0}
        pending: list[list[tuple]] = [[] for _ in range(ndays + 1)]

        # opening first (its balances are what the previous year left)
        opened = self._opening(fy, year, days[0])
        budget = max(budget - opened, 0)

        # settle the carried customer/supplier balances in the first weeks
        a400, a440, a550 = acc["400"], acc["440"], acc["550"]
        for (account_id, tp), amount in sorted(self.balance.items(),
                                               key=lambda kv: (kv[0][0], kv[0][1] or 0)):
            if tp is None:
                continue
            if (account_id == a400 and amount > 0) or (account_id == a440 and amount < 0):
                when = min(ndays - 1, randint(3, 45))
                pending[when].append((account_id, tp, abs(amount), None, None, "ouverture"))

        sales_accounts = [acc[n] for n in pcmn.SALES_ACCOUNTS]
        purchase_accounts = [acc[n] for n in pcmn.PURCHASE_ACCOUNTS]
        a411, a451 = acc["411"], acc["451"]
        customers, suppliers = self.customers, self.suppliers
        sales_rates = (2100, 2100, 2100, 2100, 1200, 600, 0)
        purch_rates = (2100, 2100, 2100, 1200, 600, 0)
        salaries = budget >= 400
        attached_pdf = attached_png = 0
        last_day = ndays - 1

        for d in range(ndays):
            day = days[d]
            # due payments (receipts from customers, payments to suppliers)
            for account_id, tp, amount, letter, ldate, ref in pending[d]:
                numbers["BNK"] += 1
                if account_id == a400:
                    eid = self._entry(fy, "BNK", numbers["BNK"], day, f"Encaissement {ref}",
                                      None, None)
                    self._lines(eid, [
                        (a550, None, None, None, amount, 0, None, None),
                        (a400, tp, None, f"Paiement {ref}", 0, amount, letter, ldate),
                    ])
                else:
                    eid = self._entry(fy, "BNK", numbers["BNK"], day, f"Paiement {ref}",
                                      None, None)
                    self._lines(eid, [
                        (account_id, tp, None, f"Paiement {ref}", amount, 0, letter, ldate),
                        (a550, None, None, None, 0, amount, None, None),
                    ])
            if salaries and day[8:] == "25":
                gross = 320_000 + randint(0, 40_000)
                numbers["OD"] += 1
                eid = self._entry(fy, "OD", numbers["OD"], day, f"Salaires {day[:7]}", None, None)
                self._lines(eid, [
                    (acc["620"], None, None, None, gross, 0, None, None),
                    (acc["455"], None, None, None, 0, gross, None, None),
                ])
                pay = min(d + 3, last_day)
                pending[pay].append((acc["455"], None, gross, None, None, "salaires"))
            target = budget * (d + 1) // ndays
            while self.line_count - first_line - opened < target:
                r = rand()
                if r < 0.5:  # sales invoice
                    tp = customers[int(rand() * len(customers))]
                    rate = sales_rates[int(rand() * 7)]
                    vat_id = self.vat_sales[rate]
                    numbers["VEN"] += 1
                    number = numbers["VEN"]
                    ref = f"F{year}-{number:05d}"
                    eid = self._entry(fy, "VEN", number, day, f"Facture {ref}", ref, day)
                    specs = []
                    net = 0
                    for _ in range(1 + int(rand() * rand() * 4)):
                        amount = int(rand() * rand() * 250_000) + 1_500
                        net += amount
                        specs.append((sales_accounts[int(rand() * 3)], None, vat_id, None,
                                      0, amount, None, None))
                    vat = (net * rate + 5_000) // 10_000
                    if vat:
                        specs.append((a451, None, vat_id, None, 0, vat, None, None))
                    total = net + vat
                    letter = ldate = None
                    if rand() < 0.88:
                        when = d + randint(8, 60)
                        if when < ndays:
                            letter = _letters(self.next_letter)
                            self.next_letter += 1
                            ldate = days[when]
                            pending[when].append((a400, tp, total, letter, ldate, ref))
                    specs.insert(0, (a400, tp, None, f"Facture {ref}", total, 0, letter, ldate))
                    self._lines(eid, specs)
                    if attached_pdf < 2:
                        attached_pdf += 1
                        self._attach(eid, f"{ref}.pdf", "application/pdf",
                                     tiny_pdf(f"Facture {ref} - {total / 100:.2f} EUR"))
                elif r < 0.92:  # purchase invoice
                    tp = suppliers[int(rand() * len(suppliers))]
                    foreign = self.supplier_foreign[tp]
                    rate = 0 if foreign else purch_rates[int(rand() * 6)]
                    vat_id = self.vat_purch[rate]
                    numbers["ACH"] += 1
                    number = numbers["ACH"]
                    ref = f"A{year}-{number:05d}"
                    supplier_ref = f"INV-{randint(1000, 99999)}"
                    ref_day = days[max(d - randint(0, 5), 0)]
                    eid = self._entry(fy, "ACH", number, day, f"Achat {supplier_ref}",
                                      supplier_ref, ref_day)
                    specs = []
                    net = 0
                    for _ in range(1 + int(rand() * rand() * 3)):
                        amount = int(rand() * rand() * 180_000) + 900
                        net += amount
                        specs.append((purchase_accounts[int(rand() * 10)], None, vat_id, None,
                                      amount, 0, None, None))
                    vat = (net * rate + 5_000) // 10_000
                    if vat:
                        specs.append((a411, None, vat_id, None, vat, 0, None, None))
                    total = net + vat
                    letter = ldate = None
                    if rand() < 0.9:
                        when = d + randint(10, 45)
                        if when < ndays:
                            letter = _letters(self.next_letter)
                            self.next_letter += 1
                            ldate = days[when]
                            pending[when].append((a440, tp, total, letter, ldate, ref))
                    specs.append((a440, tp, None, f"Achat {supplier_ref}", 0, total, letter,
                                  ldate))
                    self._lines(eid, specs)
                    if attached_png < 1:
                        attached_png += 1
                        shade = (230 - y * 7 % 40, 225, 210 + y * 3 % 40)
                        self._attach(eid, f"{ref}.png", "image/png", tiny_png(48, 32, shade))
                else:  # miscellaneous operation
                    numbers["OD"] += 1
                    amount = int(rand() * 60_000) + 1_000
                    if rand() < 0.5:
                        specs = [
                            (acc["640"], None, None, None, amount, 0, None, None),
                            (a550, None, None, None, 0, amount, None, None),
                        ]
                        label = "Frais bancaires et taxes diverses"
                    else:
                        specs = [
                            (acc["570"], None, None, None, amount, 0, None, None),
                            (a550, None, None, None, 0, amount, None, None),
                        ]
                        label = "Retrait caisse"
                    eid = self._entry(fy, "OD", numbers["OD"], day, label, None, None)
                    self._lines(eid, specs)

        # year end: depreciation, then a few simulations (not counted in the balances)
        numbers["OD"] += 1
        eid = self._entry(fy, "OD", numbers["OD"], days[-1], f"Amortissements {year}", None, None)
        self._lines(eid, [
            (acc["630"], None, None, None, 240_000, 0, None, None),
            (acc["2409"], None, None, None, 0, 240_000, None, None),
        ])
        for i in range(3):
            numbers["OD"] += 1
            amount = 50_000 + int(rand() * 500_000)
            eid = self._entry(fy, "OD", numbers["OD"], days[-1 - i],
                              f"Simulation provision {year} ({i + 1})", None, None,
                              kind="SIMULATION")
            self._lines(eid, [
                (acc["640"], None, None, "Provision simulée", amount, 0, None, None),
                (acc["499"], None, None, "Provision simulée", 0, amount, None, None),
            ], real=False)


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
