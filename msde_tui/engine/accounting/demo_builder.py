"""The builder of a demo dossier's rows: reference data, then per fiscal year the invoices,
bank statements, payroll, loan, VAT returns, year-end and closing entries (``demo.py`` says
what the books hold; ``demo_sql`` holds the bulk SQL the builder runs).

Moved out of ``demo.py`` (same code).
"""

from __future__ import annotations

import math
import random
import sqlite3
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy.dialects import sqlite as sqlite_dialect

from msde_tui.engine.accounting import pcmn, schema
from msde_tui.engine.accounting.demo_files import tiny_pdf, tiny_png
from msde_tui.engine.accounting.demo_parties import (
    FOREIGN,
    company_name,
    foreign_vat_number,
    vat_number,
)
from msde_tui.engine.accounting.demo_sql import (
    DOC_ENTRY_SQL,
    DOC_SQL,
    ENTRY_SQL,
    LINE_SQL,
    MAX_ITEMS,
    MV_SQL,
    PURCHASE_LINES_SQL,
    SALES_LINES_SQL,
    STMT_ENTRY_SQL,
    STMT_LINES_SQL,
    STMT_SQL,
    TEMP_TABLES,
)

DIALECT = sqlite_dialect.dialect()


def insert_sql(table: schema.Table) -> str:
    """``INSERT INTO t (c1, c2...) VALUES (?, ?...)`` with every column in table order."""
    return str(table.insert().compile(dialect=DIALECT))


# 3-6, a VAT line unless 0 % — two reverse-charge lines for an intra-EU purchase —, paid
# within the year ~80 %); one fees line per 25 invoices
_LINES_PER_DOC = 7.9
_FEES_EVERY = 25
_SALES_SHARE = 0.55

Key = tuple[int, "int | None"]
# a Python-staged OD entry: day, label, lines (account id, debit, credit), kind, origin
_Od = tuple[int, str, list[tuple[int, int, int]], str, str]
# Payroll: the staff costs about 40 % of the gross margin the year's invoices are expected to
# make (sales ~4,660.00 and purchases ~2,740.00 an invoice, 55 % of them sales: ~1,330.00 of
# margin an invoice); a company whose margin pays less than a half-time wage has no staff.
_MARGIN_PER_DOC = 133_200
_STAFF_SHARE_BP = 4000
_PAYROLL_LINES = 95  # 12 x (5 payroll lines + 3 payments), about
_MIN_GROSS = 100_000  # a half-time wage a month
_LOAN_INSTALMENT = 16_667  # the installation loan (10,000.00) repaid over 60 months
_LOAN_RATE_BP = 400  # at 4 % a year
_SETTLED_LABELS = {  # (paying a credit balance, receiving a debit balance)
    "450": ("Paiement impôt des sociétés", "Remboursement impôt des sociétés"),
    "4512": ("Paiement TVA", "Remboursement TVA"),
    "453": ("Paiement précompte professionnel", "Remboursement précompte"),
    "454": ("Paiement ONSS", "Remboursement ONSS"),
    "455": ("Paiement rémunérations", "Remboursement rémunérations"),
}


class Builder:
    """Generates one dossier's rows into an open sqlite3 connection (inside a transaction)."""

    def __init__(self, conn: sqlite3.Connection, rng: random.Random, *, years: int,
                 lines: int, first_year: int, timings: dict[str, float] | None = None,
                 today: date | None = None) -> None:
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
        self.loan = 1_000_000  # the opening's installation loan on 173
        self.today = today or date.today()
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
        conn.executemany(insert_sql(schema.account), rows)
        self.collective = {self.acc[pcmn.CUSTOMERS_ACCOUNT], self.acc[pcmn.SUPPLIERS_ACCOUNT]}
        # item accounts are picked as first id + hash % count: they must be consecutive
        self.sales_accounts = self._consecutive(pcmn.SALES_ACCOUNTS)
        self.purchase_accounts = self._consecutive(pcmn.PURCHASE_ACCOUNTS)

        self.jnl: dict[str, int] = {}
        rows = []
        for i, (code, label, kind) in enumerate(pcmn.JOURNALS, start=1):
            self.jnl[code] = i
            rows.append((i, code, label, kind))
        conn.executemany(insert_sql(schema.journal), rows)

        # VAT codes V21..V00 (sales, 451) then A21..A00 (purchases, 411), rates in that order.
        rows = []
        vid = 0
        for prefix, account, kind in (("V", "451", "ventes"), ("A", "411", "achats")):
            for rate in pcmn.VAT_RATES_BP:
                vid += 1
                rows.append((vid, f"{prefix}{rate // 100:02d}", f"TVA {kind} {rate // 100} %",
                             rate, self.acc[account]))
        self.vat_sales0, self.vat_purchases0 = 1, 1 + len(pcmn.VAT_RATES_BP)
        # intra-EU purchases: 0 % on the invoice, VAT self-assessed (reverse charge) at 21 %
        vid += 1
        rows.append((vid, "AIC21", "TVA achats intracom. 21 % (autoliquidation)", 2100,
                     self.acc["451"]))
        self.vat_ic = vid
        conn.executemany(insert_sql(schema.vat_code), rows)

        n_customers = max(6, min(800, self.lines_total // 400))
        n_suppliers = max(4, min(400, self.lines_total // 900))
        n_foreign = max(1, n_suppliers * 15 // 100)
        rows = []
        for i in range(1, n_customers + 1):
            rows.append((i, f"C{i:05d}", "CUSTOMER", company_name(rng), vat_number(rng), "BE"))
        for i in range(1, n_suppliers + 1):
            foreign = i > n_suppliers - n_foreign
            country = rng.choice(FOREIGN) if foreign else "BE"
            vat = foreign_vat_number(rng, country) if foreign else vat_number(rng)
            rows.append((n_customers + i, f"F{i:05d}", "SUPPLIER", company_name(rng), vat,
                         country))
        conn.executemany(insert_sql(schema.third_party), rows)
        self.customers = (1, n_customers)
        self.suppliers = (n_customers + 1, n_suppliers)
        self.foreign_from = n_customers + n_suppliers - n_foreign + 1

        rows = []
        for y in range(self.years):
            year = self.first_year + y
            status = "OPEN" if y == self.years - 1 else "CLOSED"
            rows.append((y + 1, str(year), f"{year}-01-01", f"{year}-12-31", status))
        conn.executemany(insert_sql(schema.fiscal_year), rows)

        for ddl in TEMP_TABLES:
            conn.execute(ddl)
        self._positions(MAX_ITEMS + 2)
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
        closed = y < self.years - 1
        ndays = (date(year + 1, 1, 1) - start).days
        if not closed:  # nothing is dated after the day the demo is made
            ndays = max(1, min(ndays, (self.today - start).days + 1))
        budget = self.lines_total // self.years + (1 if y < self.lines_total % self.years else 0)
        for table in ("days", "doc", "mv", "pymv", "stmt"):
            conn.execute(f"DELETE FROM temp.{table}")  # noqa: S608 - constant table names
        conn.executemany("INSERT INTO days (d, iso) VALUES (?, ?)",
                         [(d, (start + timedelta(days=d)).isoformat()) for d in range(ndays)])

        def day_of(when: date) -> int:
            return (when - start).days

        # the year's special entries first (Python), so the invoices fill the rest of the budget
        opening = self._opening_lines(year)
        a400, a440, a550 = acc["400"], acc["440"], acc["550"]
        bank_moves: list[tuple[int, int, int | None, int, str]] = []  # day, acc, tp, amt, label
        od: list[_Od] = []
        last = ndays - 1
        settled = {acc[n]: n for n in pcmn.SETTLED_NEXT_YEAR}
        for account_id, tp, _label, debit, credit in opening:
            if tp is not None and account_id == a400 and debit:
                bank_moves.append((min(last, rng.randint(3, 45)), a400, tp, -debit,
                                   "Encaissement solde reporté"))
            elif tp is not None and account_id == a440 and credit:
                bank_moves.append((min(last, rng.randint(3, 45)), a440, tp, credit,
                                   "Paiement solde reporté"))
            elif account_id in settled and (debit or credit):
                # last year's debts to the State, ONSS, staff: paid early this year
                when = rng.randint(150, 200) if settled[account_id] == "450" else rng.randint(12, 19)
                label = _SETTLED_LABELS[settled[account_id]][0 if credit else 1]
                bank_moves.append((min(last, when + (45 if debit else 0)), account_id, None,
                                   credit - debit, f"{label} {year - 1}"))
        fixed = len(opening) + 20  # + the VAT returns, the tax and the appropriation
        expected_docs = max(budget - fixed - _PAYROLL_LINES, 0) / _LINES_PER_DOC
        # monthly gross: the staff's share of the margin, less the employer's 25 %
        wage = int(expected_docs * _MARGIN_PER_DOC * _STAFF_SHARE_BP / 10_000 / 12 / 1.25)
        if wage >= _MIN_GROSS:
            for month in range(1, 13):
                day = day_of(date(year, month, 25))
                if day > last:
                    break
                gross = wage * rng.randint(95, 105) // 100
                employee = gross * 1307 // 10000  # ONSS, employee's share (13.07 %)
                withheld = (gross - employee) * 2200 // 10000  # précompte professionnel
                employer = gross * 2500 // 10000  # ONSS, employer's share
                net = gross - employee - withheld
                od.append((day, f"Salaires {year}-{month:02d}", [
                    (acc["620"], gross, 0), (acc["621"], employer, 0),
                    (acc["454"], 0, employee + employer), (acc["453"], 0, withheld),
                    (acc["455"], 0, net)], "REAL", "NORMAL"))
                bank_moves.append((min(day + 3, last), acc["455"], None, net,
                                   f"Paiement salaires {year}-{month:02d}"))
                if month < 12 and day_of(date(year, month + 1, 5)) <= last:
                    paid = day_of(date(year, month + 1, 5))
                    bank_moves.append((paid, acc["453"], None, withheld,
                                       f"Précompte professionnel {year}-{month:02d}"))
                    bank_moves.append((paid, acc["454"], None, employee + employer,
                                       f"ONSS {year}-{month:02d}"))
        for month in range(1, 13):  # the installation loan: monthly capital + interest
            day = day_of(date(year, month, 5))
            if self.loan <= 0 or day > last:
                break
            capital = min(self.loan, _LOAN_INSTALMENT)
            interest = (self.loan * _LOAN_RATE_BP + 60_000) // 120_000
            bank_moves.append((day, acc["173"], None, capital,
                               f"Emprunt : remboursement {year}-{month:02d}"))
            bank_moves.append((day, acc["650"], None, interest,
                               f"Emprunt : intérêts {year}-{month:02d}"))
            self.loan -= capital
        if closed:
            od.append((last, f"Amortissements {year}", [(acc["630"], 240_000, 0),
                                                         (acc["2409"], 0, 240_000)],
                       "REAL", "NORMAL"))
        for i in range(3):
            amount = 50_000 + rng.randrange(500_000)
            od.append((max(last - i, 0), f"Simulation provision {year} ({i + 1})",
                       [(acc["640"], amount, 0), (acc["499"], 0, amount)], "SIMULATION", "NORMAL"))
        fixed += sum(len(lines) for _d, _l, lines, _k, _o in od) + len(bank_moves)

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
            conn.execute(DOC_SQL, {
                "ndays": ndays, "year": str(year), "shape": shape, "base": base, "n": count,
                "vat0": vat0, "tp0": tps[0], "ntp": tps[1], "amin": amounts[0],
                "adiv": amounts[1], "paid": paid, "dmin": delays[0], "dspan": delays[1],
                "lbase": self.next_letter, "kmin": kmin, "kspan": kspan, "salt": salt,
                # sales: 21/12/6 %, never 0 % (all customers are Belgian); purchases: 21/12/6/0 %
                "nrates": 6, "n21": 4 if shape == 1 else 3, "vat_ic": self.vat_ic,
                # the last suppliers are in other EU countries (0 %, reverse charge)
                "foreign": 1 << 40 if shape == 1 else self.foreign_from,
            })
        self.next_letter += docs
        self._vat_returns(year, start, ndays, n_sales, od, bank_moves)
        self._lap("invoices (doc)")

        bank_moves.sort(key=lambda move: move[0])
        conn.executemany("INSERT INTO pymv (day, acc, tp, amt, label) VALUES (?, ?, ?, ?, ?)",
                         bank_moves)
        conn.execute(MV_SQL, {"ns": n_sales, "customers": a400, "suppliers": a440,
                               "fbase": docs, "nf": n_fees, "ndays": ndays, "salt": salt,
                               "cash": acc["570"], "fees": acc["640"]})
        conn.execute(STMT_SQL)
        n_statements, most = conn.execute("SELECT COUNT(*), MAX(n) FROM stmt").fetchone()
        self._positions((most or 0) + 1)
        self._lap("bank movements (mv, stmt)")

        # entries: OUV, VEN, ACH, BNK, OD (ids follow each other), each with its lines
        first = self.next_entry
        conn.execute(ENTRY_SQL, (first, fy, self.jnl["OUV"], 1, start.isoformat(),
                                  f"Bilan d'ouverture {year}", "REAL", "OPENING",
                                  start.isoformat()))
        conn.executemany(LINE_SQL, [
            (first, no, account_id, tp, label, debit, credit)
            for no, (account_id, tp, label, debit, credit) in enumerate(opening, start=1)
        ])
        self._lap("opening")
        conn.execute(DOC_ENTRY_SQL, {"eoff": first + 1, "fy": fy, "ns": n_sales,
                                      "ven": self.jnl["VEN"], "ach": self.jnl["ACH"]})
        self._lap("entries (invoices)")
        for sql, lo, hi, prefix, tpacc, vatacc, (afirst, nacc) in (
            (SALES_LINES_SQL, 0, n_sales, "Facture ", a400, acc["451"], self.sales_accounts),
            (PURCHASE_LINES_SQL, n_sales, docs, "Achat ", a440, acc["411"],
             self.purchase_accounts),
        ):
            if hi > lo:
                conn.execute(sql, {"eoff": first + 1, "lo": lo, "hi": hi, "prefix": prefix,
                                   "tpacc": tpacc, "vatacc": vatacc, "afirst": afirst,
                                   "nacc": nacc, "rcacc": acc["451"]})
        self._lap("lines (invoices)")
        soff = first + docs
        conn.execute(STMT_ENTRY_SQL, {"eoff": soff, "fy": fy, "bnk": self.jnl["BNK"],
                                       "year": str(year)})
        self._lap("entries (statements)")
        conn.execute(STMT_LINES_SQL, {"eoff": soff, "bank": a550, "year": str(year)})
        self._lap("lines (statements)")

        self._closing(opening, od, n_sales)
        if closed:
            self._year_end(year, last, od)
        self._lap("closing balances")
        self._od_entries(fy, start, soff + n_statements + 1, od)
        self.next_entry = soff + n_statements + 1 + len(od)

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
            conn.execute(insert_sql(schema.attachment),
                         (self.next_attachment, first + 1 + i, name, mime, content))
            self.next_attachment += 1
        self._lap("OD, attachments")

    def _vat_returns(self, year: int, start: date, ndays: int, n_sales: int, od: list[_Od],
                     bank_moves: list[tuple[int, int, int | None, int, str]]) -> None:
        """Quarterly VAT returns: each quarter ended by ``ndays`` clears 451 (VAT due, sales
        and reverse charge) and 411 (VAT to recover) into the VAT current account 4512; the
        balance is paid on the 20th of the next month (or refunded two months later)."""
        acc = self.acc
        ends = [(date(year + (q == 4), 3 * q % 12 + 1, 1) - timedelta(days=1) - start).days
                for q in range(1, 5)]
        totals = {q: (due or 0, recover or 0) for q, due, recover in self.conn.execute(
            "SELECT CASE WHEN day <= ? THEN 1 WHEN day <= ? THEN 2 WHEN day <= ? THEN 3 ELSE 4 "
            "END, SUM(CASE WHEN i < ? THEN vat ELSE rc END), SUM(CASE WHEN i < ? THEN 0 "
            "ELSE vat + rc END) FROM doc GROUP BY 1", (*ends[:3], n_sales, n_sales))}
        for q, end in enumerate(ends, start=1):
            if end >= ndays:
                break
            due, recover = totals.get(q, (0, 0))
            if not due and not recover:
                continue
            lines = [(acc["451"], due, 0), (acc["411"], 0, recover)]
            balance = due - recover
            lines.append((acc["4512"], max(-balance, 0), max(balance, 0)))
            od.append((end, f"Déclaration TVA {year} T{q}", [x for x in lines if x[1] or x[2]],
                       "REAL", "NORMAL"))
            when = end + (20 if balance > 0 else 60)
            if balance and when < ndays:
                label = "Paiement TVA" if balance > 0 else "Remboursement TVA"
                bank_moves.append((when, acc["4512"], None, balance, f"{label} {year} T{q}"))

    def _year_end(self, year: int, last: int, od: list[_Od]) -> None:
        """A closed year's corporate income tax (670 against 450) and its appropriation: the
        amounts carried from earlier years come back through 790/690, the year's total goes
        to 140 through 693 (profit) or to 141 through 793 (loss); classes 6 and 7 then net to
        zero (origin CLOSING: the FEC leaves it out)."""
        acc = self.acc
        if self.result < 0:  # a profit before tax
            tax = -self.result * pcmn.CORPORATE_TAX_RATE_BP // 10_000
            if tax:
                lines = [(acc["670"], tax, 0), (acc["450"], 0, tax)]
                od.append((last, f"Impôt des sociétés {year} (estimation)", lines, "REAL", "NORMAL"))
                self._book_lines(lines)
        brought_profit = -self.balance.get((acc["140"], None), 0)
        brought_loss = self.balance.get((acc["141"], None), 0)
        lines = []
        if brought_profit > 0:
            lines += [(acc["140"], brought_profit, 0), (acc["790"], 0, brought_profit)]
        if brought_loss > 0:
            lines += [(acc["690"], brought_loss, 0), (acc["141"], 0, brought_loss)]
        total = self.result - brought_profit + brought_loss
        if total < 0:
            lines += [(acc["693"], -total, 0), (acc["140"], 0, -total)]
        elif total > 0:
            lines += [(acc["141"], total, 0), (acc["793"], 0, total)]
        if lines:
            od.append((last, f"Affectation du résultat {year}", lines, "REAL", "CLOSING"))
            self._book_lines(lines)
        assert self.result == 0, "classes 6 and 7 must net to zero after the appropriation"

    def _book_lines(self, lines: list[tuple[int, int, int]]) -> None:
        for account_id, debit, credit in lines:
            self._book(self.balance, account_id, None, debit - credit)
        self.balance = {key: amount for key, amount in self.balance.items() if amount}

    def _od_entries(self, fy: int, start: date, first_id: int, od: list[_Od]) -> None:
        """The OD entries in date order (closing last); REAL and SIMULATION numbered apart."""
        order = sorted(range(len(od)), key=lambda i: (od[i][0], od[i][4] == "CLOSING", i))
        numbers = {"REAL": 0, "SIMULATION": 0}
        entries, lines = [], []
        for offset, i in enumerate(order):
            day, label, entry_lines, kind, origin = od[i]
            numbers[kind] += 1
            iso = (start + timedelta(days=day)).isoformat()
            entry_id = first_id + offset
            entries.append((entry_id, fy, self.jnl["OD"], numbers[kind], iso, label, kind,
                            origin, iso if kind == "REAL" else None))
            lines += [(entry_id, no, account_id, None, None, debit, credit)
                      for no, (account_id, debit, credit) in enumerate(entry_lines, start=1)]
        self.conn.executemany(ENTRY_SQL, entries)
        self.conn.executemany(LINE_SQL, lines)

    def _closing(self, opening: list[tuple[int, int | None, str, int, int]],
                 od: list[_Od], n_sales: int) -> None:
        """Closing balances of the year's REAL entries, from what was staged (no line pass)."""
        acc = self.acc
        balance: dict[Key, int] = {}
        self.result = 0
        for account_id, tp, _label, debit, credit in opening:
            self._book(balance, account_id, tp, debit - credit)
        for _day, _label, lines, kind, _origin in od:
            if kind == "REAL":
                for account_id, debit, credit in lines:
                    self._book(balance, account_id, None, debit - credit)
        conn = self.conn
        # invoices: sales/purchases and VAT in total; a paid invoice's third party line is
        # cancelled by its payment, so only the unpaid ones stay on 400/440 (per third party)
        bank = 0
        for lo, hi, sign, tp_acc, vat_acc, other in ((0, n_sales, 1, "400", "451", "700"),
                                                      (n_sales, 1 << 62, -1, "440", "411", "600")):
            net, vat, rc, paid = conn.execute(
                "SELECT SUM(net), SUM(vat), SUM(rc), SUM(CASE WHEN pay_day IS NOT NULL THEN total "
                "END) FROM doc WHERE i >= ? AND i < ?", (lo, hi)).fetchone()
            self._book(balance, acc[other], None, -sign * (net or 0))
            self._book(balance, acc[vat_acc], None, -sign * (vat or 0))
            self._book(balance, acc["411"], None, rc or 0)  # reverse charge: 411 debit,
            self._book(balance, acc["451"], None, -(rc or 0))  # 451 credit
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


