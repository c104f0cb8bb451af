"""Archive import (SPEC 5.5): the archived years of a PAF put back into their dossier.

Same dossier only (its GUID, or one of its line, ``identity.line``); the balance entry the
dossier holds must be the one the PAF describes (``balance.od_matches``). In ONE transaction:
delete it, put every row back with its ids, restore the year's status, check the row counts,
every other year's trial balance unchanged and the year's balances equal the entry's; COMMIT;
then optionally delete the PAF once none of its years is still archived.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from msde_tui.engine.accounting import ledger, schema
from msde_tui.engine.errors import BackupInvalid, BadInput, DossierDamaged, WrongDossier
from msde_tui.engine.events import Emit
from msde_tui.engine.lifecycle import balance
from msde_tui.engine.lifecycle.paf import (
    ARCHIVE_TABLES,
    PafInfo,
    paf_rows,
    read_paf_info,
    verify_paf,
)
from msde_tui.engine.lifecycle.years import dossier_info
from msde_tui.engine.reporting import Reporter


@dataclass(frozen=True)
class UnarchiveResult:
    dossier: str
    paf: Path
    years: tuple[str, ...]
    entries: int
    lines: int
    attachments: int
    paf_deleted: bool
    seconds: float


def _insert_rows(
    conn: sa.Connection,
    table: sa.Table,
    batches: Iterable[list[tuple[Any, ...]]],
    year_ids: set[int],
    keep_entry_ids: set[int],
    on_rows: Callable[[int], None] | None,
) -> int:
    names = [c.name for c in table.columns]
    count = 0
    for batch in batches:
        rows = [dict(zip(names, row, strict=True)) for row in batch]
        if table is schema.entry:
            rows = [r for r in rows if r["fiscal_year_id"] in year_ids]
            keep_entry_ids.update(r["id"] for r in rows)
        else:
            rows = [r for r in rows if r["entry_id"] in keep_entry_ids]
        if rows:
            conn.execute(table.insert(), rows)
            count += len(rows)
            if on_rows is not None:
                on_rows(len(rows))
    return count


def restore_years(
    conn: sa.Connection,
    info: PafInfo,
    chosen: list[dict[str, Any]],
    code: str,
    report: Reporter | None = None,
) -> dict[str, int]:
    """Inside the caller's transaction: put the archived years ``chosen`` of the PAF back in
    the dossier ``conn`` (the dossier's balance OD must be the one the PAF describes), restore
    their status; check the row counts, that every other year's trial balance is unchanged and
    the restored years' balances equal their ODs. Returns the rows put back per table.
    Reports the steps ``restore`` (rows counted) and ``check`` to ``report``.
    Used by ``unarchive`` and by the tax-audit transfer on its copy (``lifecycle.tax_audit``)."""
    current = {y.id: y for y in ledger.fiscal_years(conn)}
    for y in chosen:
        here = current.get(y["id"])
        if here is None or here.code != y["code"]:
            raise WrongDossier(f"Fiscal year {y['code']} of the archive is not in dossier {code}.")
        if here.status != "ARCHIVED":
            raise BadInput(
                f"Fiscal year {y['code']} is not archived in {code}; nothing to import.",
                "It was imported already, or the archiving of this PAF did not complete.",
            )
        if not balance.od_matches(conn, y):
            raise DossierDamaged(
                f"The balance entry of archived year {y['code']} is not the one {info.path.name} describes.",
                "It was changed after archiving; nothing was imported.",
            )
    before = ledger.all_trial_balances(conn)
    e, el, fy = schema.entry, schema.entry_line, schema.fiscal_year
    for y in chosen:
        od_id = y["balance_entry"]["id"]
        if od_id is not None:
            conn.execute(el.delete().where(el.c.entry_id == od_id))
            conn.execute(e.delete().where(e.c.id == od_id))
    year_ids = {int(y["id"]) for y in chosen}
    entry_ids: set[int] = set()
    expected = {t.name: sum(int(y["rows"][t.name]) for y in chosen) for t in ARCHIVE_TABLES}
    if report is not None:
        report.step("restore", info.path.name, rows=sum(expected.values()))
    on_rows = report.rows if report is not None else None
    counts = {
        t.name: _insert_rows(conn, t, paf_rows(info.path, t), year_ids, entry_ids, on_rows)
        for t in ARCHIVE_TABLES
    }
    for y in chosen:
        conn.execute(fy.update().where(fy.c.id == y["id"]).values(status=y["status"]))
    if report is not None:
        report.step("check")
    if counts != expected:
        raise BackupInvalid(
            f"{info.path.name} gave {counts} rows, its manifest says {expected}; nothing was imported."
        )
    after = ledger.all_trial_balances(conn)
    balance.check_balances(before, after, {y["code"] for y in chosen}, "archive import")
    return counts


@ledger.translate_db_errors
def unarchive(
    path: Path,
    paf_path: Path,
    *,
    years: list[str] | None = None,
    delete: bool = False,
    emit: Emit | None = None,
    label: str | None = None,
    accept: Collection[str] = (),
) -> UnarchiveResult:
    """Put the archived years of ``paf_path`` back into the dossier at ``path``.

    The PAF must carry the dossier's own GUID, or one of ``accept`` (the GUIDs of the dossier's
    line: ``identity.line``, e.g. the original a restored copy came from). Reports through
    ``emit`` (``engine.reporting``), its events named ``label`` (by default the dossier's code):
    verify (rows counted), read, restore (rows counted), check, commit, done, delete."""
    started = time.monotonic()
    info = read_paf_info(paf_path)
    engine = ledger.open_engine(path, exclusive=True)
    try:
        with engine.connect() as conn:
            dossier = dossier_info(conn)
            code = dossier.code
            report = Reporter(emit, label or code)
            step = report.step

            if dossier.guid != info.guid and info.guid not in accept:
                raise WrongDossier(
                    f"{info.path.name} is an archive of dossier {info.code}, not of {code}; {code} was not touched.",
                    f"Import it into {info.code} (the dossier it came from).",
                )
            step("verify", str(info.path), rows=sum(int(t["rows"]) for t in info.content["tables"].values()))
            verify_paf(info.path, expect_guid=info.guid, on_rows=report.rows)
            chosen = _choose_years(info, years)
            conn.rollback()  # end the autobegun read; the real transaction starts here
            with conn.begin():
                step("read")
                current = {y.id: y for y in ledger.fiscal_years(conn)}
                if not years:  # all of them: those still archived here
                    waiting = [
                        y for y in chosen if y["id"] in current and current[y["id"]].status == "ARCHIVED"
                    ]
                    chosen = waiting or chosen
                counts = restore_years(conn, info, chosen, code, report)
                step("commit")
            step("done")
    finally:
        engine.dispose()
    deleted = False
    if delete and not _still_archived(path, info):
        info.path.unlink()
        deleted = True
        step("delete", str(info.path))
    return UnarchiveResult(
        dossier=code,
        paf=info.path,
        years=tuple(y["code"] for y in chosen),
        entries=counts["entry"],
        lines=counts["entry_line"],
        attachments=counts["attachment"],
        paf_deleted=deleted,
        seconds=time.monotonic() - started,
    )


def _still_archived(path: Path, info: PafInfo) -> list[str]:
    """The PAF's years still archived in the dossier (the PAF stays needed for them)."""
    engine = ledger.open_engine(path)
    try:
        with engine.connect() as conn:
            status = {y.id: y.status for y in ledger.fiscal_years(conn)}
    finally:
        engine.dispose()
    return [y["code"] for y in info.years if status.get(y["id"]) == "ARCHIVED"]


def _choose_years(info: PafInfo, years: list[str] | None) -> list[dict[str, Any]]:
    if not years:
        return info.years
    chosen = []
    for name in years:
        match = [y for y in info.years if y["code"] == name or y["end"][:4] == name]
        if len(match) != 1:
            known = ", ".join(y["code"] for y in info.years)
            raise BadInput(f"The archive holds no fiscal year '{name}'.", f"It holds: {known}.")
        if match[0] not in chosen:
            chosen.append(match[0])
    return chosen
