"""Planning an archive: which fiscal years may be archived, and what archiving them will do.

``plan_years`` reads, inside the archive's transaction, the years asked for, refuses an open or
already archived one and counts their rows per table; ``plan_balance_entries`` computes each
year's balance entry from the trial balances (``balance.balance_lines``: the numbers it will
carry, its lines). Nothing is changed here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from msde_tui.engine.accounting import ledger, schema
from msde_tui.engine.accounting.ledger import BalanceLine, FiscalYear
from msde_tui.engine.errors import BadInput, DossierDamaged
from msde_tui.engine.lifecycle import balance
from msde_tui.engine.lifecycle.paf import ARCHIVE_TABLES

DEFAULT_AGE = 7


@dataclass
class YearsPlan:
    """What archiving ``years`` of dossier ``code`` will do (``od``: each year's balance entry)."""

    code: str
    guid: str
    years: list[FiscalYear]
    journal_id: int
    journal_code: str
    od: dict[int, dict[str, Any]] = field(default_factory=dict)  # year id -> balance OD spec
    counts: dict[int, dict[str, int]] = field(default_factory=dict)
    next_entry: int = 1  # the first id above every entry id ever used (the balance entries')
    next_line: int = 1
    numbers: dict[int, int] = field(default_factory=dict)  # year id -> its balance entry's number


# --------------------------------------------------------------------------- selection


def default_years(years: Iterable[FiscalYear], today: date, older_than: int = DEFAULT_AGE) -> list[FiscalYear]:
    """The years proposed for archiving: closed and ended at least ``older_than`` years ago."""
    return [y for y in years if y.status == "CLOSED" and y.ended_years_ago(today) >= older_than]


def archivable(years: Iterable[FiscalYear]) -> list[FiscalYear]:
    """Years "Select" ticks: every closed year (open ones cannot be archived)."""
    return [y for y in years if y.status == "CLOSED"]


def check_selection(years: list[FiscalYear]) -> None:
    for y in years:
        if y.status == "ARCHIVED":
            raise BadInput(
                f"Fiscal year {y.code} is already archived.",
                "Import its PAF first (msde unarchive) if you want to archive it again.",
                wizard_hint="Import its PAF first (operation 'Archive import') if you want to archive it again.",
            )
        if y.status != "CLOSED":
            raise BadInput(
                f"Fiscal year {y.code} is still open; an open year cannot be archived.",
                "Close the fiscal year first, or leave it out of --years.",
                wizard_hint="Close the fiscal year first, or untick it.",
            )


def dossier_info(conn: sa.Connection) -> sa.Row[Any]:
    row = conn.execute(sa.select(schema.dossier_info)).first()
    if row is None:
        raise DossierDamaged("The dossier has no dossier_info row.", "Run 'msde check' on it.")
    return row


def year_counts(conn: sa.Connection, year_ids: list[int]) -> dict[int, dict[str, int]]:
    """Rows per table per year (entry, entry_line, attachment), three grouped queries."""
    e = schema.entry
    counts = {y: {t.name: 0 for t in ARCHIVE_TABLES} for y in year_ids}
    for table in ARCHIVE_TABLES:
        query = sa.select(e.c.fiscal_year_id, sa.func.count()).where(e.c.fiscal_year_id.in_(year_ids))
        if table is e:
            query = query.select_from(e)
        else:
            query = query.select_from(table.join(e, table.c.entry_id == e.c.id))
        for year_id, count in conn.execute(query.group_by(e.c.fiscal_year_id)):
            counts[year_id][table.name] = int(count)
    return counts


def plan_years(conn: sa.Connection, code: str, wanted: list[str]) -> YearsPlan:
    """The plan of archiving ``wanted`` (years named as ``ledger.find_years`` reads them): the
    years, checked, their rows counted, the ids the balance entries will take. The balance
    entries themselves come from the years' trial balances (``plan_balance_entries``)."""
    info = dossier_info(conn)
    years = ledger.find_years(conn, wanted)
    if not years:
        raise BadInput("No fiscal year to archive was given.", "Name the years with --years.",
                       wizard_hint="Tick the fiscal years to archive.")
    check_selection(years)
    journal_id, journal_code = ledger.misc_journal(conn)
    plan = YearsPlan(code, info.guid, years, journal_id, journal_code)
    e, el = schema.entry, schema.entry_line
    plan.next_entry = int(conn.execute(sa.select(sa.func.max(e.c.id))).scalar() or 0) + 1
    plan.next_line = int(conn.execute(sa.select(sa.func.max(el.c.id))).scalar() or 0) + 1
    plan.counts = year_counts(conn, [y.id for y in years])
    # read now: the years' entries may be deleted before the balance entries are planned
    plan.numbers = {y.id: ledger.next_number(conn, y.id, journal_id) for y in years}
    return plan


def plan_balance_entries(plan: YearsPlan, every: dict[int, list[BalanceLine]]) -> None:
    """Each year's balance entry (``plan.od``) from the trial balances ``every``
    (``ledger.trial_balances``); refused when a year's entries do not balance."""
    next_entry, next_line = plan.next_entry, plan.next_line
    for y in plan.years:
        balances = [b for b in every.get(y.id, []) if b.balance != 0]
        if sum(b.balance for b in balances) != 0:
            raise DossierDamaged(
                f"The entries of fiscal year {y.code} do not balance; archiving stopped, nothing changed.",
                "Run 'msde check' on the dossier and correct it first.",
            )
        if not balances:
            plan.od[y.id] = {"id": None, "number": None, "lines": []}
            continue
        lines = balance.balance_lines(balances, next_line)
        next_line += len(lines)
        plan.od[y.id] = {
            "id": next_entry,
            "number": plan.numbers[y.id],
            "journal": plan.journal_code,
            "date": y.end.isoformat(),
            "lines": lines,
        }
        next_entry += 1
