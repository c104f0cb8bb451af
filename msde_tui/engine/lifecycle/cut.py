"""Fiscal-year cut (SPEC 5.7): move the years before a given year into a new dossier.

``cut_dossier`` works on one embedded dossier, all under ONE exclusive transaction on the
original (``BEGIN IMMEDIATE``: nothing can be written to it meanwhile):

1. refuse a damaged dossier (``check_dossier`` must be empty), an archived or open year among
   the years to move, or a cut that would move nothing or everything;
2. build the cut dossier under a temporary name: a new GUID, ``code`` = the cut name
   (``001SOC_CUT001``), the moved fiscal years with every entry, line and attachment, and the
   accounts, journals, third parties and VAT codes they use — all rows with their original ids;
3. VERIFY it: ``check_dossier`` empty, and every table's rows (count + digest) equal to the
   source rows they came from; then rename it into place (fsync'd);
4. in the original: delete the moved years' attachments, lines, entries and fiscal years, and
   with ``clean_references`` the third parties that only the moved years used; check the kept
   years' trial balances are unchanged and ``check_dossier`` is still empty; COMMIT.

A failure before COMMIT rolls the original back and removes the cut file (which only held a
copy). A kill between the rename and COMMIT leaves the original as it was plus a complete,
verified cut file (nothing lost; the cut file can be removed or imported). ``cut`` adds the
catalog side: the cut name (next free ``_CUTnnn`` over the list and the files of the data
directory) and the registration of the cut dossier with the first free number.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from msde_tui.engine import naming, paths
from msde_tui.engine.accounting import ledger, schema
from msde_tui.engine.accounting.ledger import FiscalYear
from msde_tui.engine.atomic import (
    remove_staging,
    staging_dir,
    write_atomic,
)
from msde_tui.engine.backends.access.guard import refuse_access
from msde_tui.engine.backends.embedded.dossier import create_dossier, sa_engine
from msde_tui.engine.catalog import Catalog, Dossier, is_plain_file_name
from msde_tui.engine.errors import BadInput, DossierDamaged, DossierExists
from msde_tui.engine.events import Emit
from msde_tui.engine.lifecycle.copying import (
    copy_rows,
    count_rows,
    publish,
    remove_partial,
    table_digest,
    year_filters,
)
from msde_tui.engine.reporting import Reporter

if TYPE_CHECKING:
    from msde_tui.engine.accounting.check import Problem

DEFAULT_MIN_YEARS = 7
COPY_TABLES: tuple[sa.Table, ...] = schema.TABLES[1:]  # everything but dossier_info


@dataclass(frozen=True)
class CutCandidate:
    dossier: Dossier
    years: tuple[FiscalYear, ...]


@dataclass(frozen=True)
class CutResult:
    dossier: str
    cut_code: str
    cut_path: Path
    cut_guid: str
    years: tuple[str, ...]
    kept_years: tuple[str, ...]
    rows: dict[str, int]
    third_parties_deleted: int
    verified: bool
    seconds: float
    catalog_number: str | None = None


def _problems(conn: sa.Connection) -> list[Problem]:
    from msde_tui.engine.accounting.check import (  # helper "foundation"'s module
        NOT_DAMAGE,
        check_dossier,
    )

    return [p for p in check_dossier(conn) if p.kind not in NOT_DAMAGE]  # a draft is no damage


def _describe(problems: list[Problem]) -> str:
    """The first problems' own words (never a Python repr), and how many more."""
    shown = "; ".join(p.message for p in problems[:3])
    more = f" … (+{len(problems) - 3})" if len(problems) > 3 else ""
    return shown + more


# --------------------------------------------------------------------------- the cut


def candidates(catalog: Catalog, min_years: int = DEFAULT_MIN_YEARS) -> list[CutCandidate]:
    """Embedded dossiers of the list with at least ``min_years`` fiscal years."""
    if recover(catalog.home):
        catalog = Catalog(catalog.home)
    found = []
    for dossier in catalog.dossiers():
        if not dossier.is_embedded:
            continue
        path = dossier.path(catalog.home)
        if not path.is_file():
            continue
        engine = ledger.open_engine(path)
        try:
            with engine.connect() as conn:
                years = ledger.fiscal_years(conn)
        except sa.exc.DBAPIError:
            continue  # not an accounting dossier
        finally:
            engine.dispose()
        if len(years) >= min_years:
            found.append(CutCandidate(dossier, tuple(years)))
    return found


def _split(conn: sa.Connection, keep_from: str) -> tuple[list[FiscalYear], list[FiscalYear]]:
    years = ledger.fiscal_years(conn)
    first = ledger.find_years(conn, [keep_from])[0]
    moved = [y for y in years if y.start < first.start]
    kept = [y for y in years if y.start >= first.start]
    if not moved:
        raise BadInput(
            f"Fiscal year {first.code} is the dossier's first year; there is nothing to cut.",
            "Name a later year as the first year to keep.",
        )
    for y in moved:
        if y.status == "ARCHIVED":
            raise BadInput(
                f"Fiscal year {y.code} is archived; its details are in a PAF of this dossier.",
                "Import the PAF first (msde unarchive), then cut.",
                wizard_hint="Import the PAF first (operation 'Archive import'), then cut.",
            )
        if y.status != "CLOSED":
            raise BadInput(f"Fiscal year {y.code} is still open and cannot be cut off.", "Close it first.")
    return moved, kept


def check_cut(home: Path, ref: str, keep_from: str) -> None:
    """Refuse in words, before anything runs, a cut of dossier ``ref`` of the list that
    ``cut`` would refuse: an unknown first year to keep, nothing to cut, an archived or open
    year among those to move (the same checks, ``_split``; nothing is written)."""
    dossier = Catalog(home).get(ref)
    if not dossier.is_embedded:
        return  # ``cut`` says it in words
    engine = ledger.check_engine(dossier.path(home))  # leaves no -wal/-shm behind
    try:
        with engine.connect() as conn:
            _split(conn, keep_from)
    finally:
        engine.dispose()


@ledger.translate_db_errors
def cut_dossier(
    path: Path,
    keep_from: str,
    *,
    cut_path: Path,
    cut_code: str,
    clean_references: bool = False,
    emit: Emit | None = None,
    label: str | None = None,
) -> CutResult:
    """Cut the embedded dossier at ``path``: years before ``keep_from`` go to ``cut_path``.

    Reports through ``emit`` (``engine.reporting``), its events named ``label`` (by default the
    dossier's code): check, copy and verify (rows counted), remove, check, commit, done."""
    started = time.monotonic()
    cut_path = Path(cut_path)
    if os.path.lexists(cut_path):
        raise DossierExists(f"{cut_path} already exists.", "Remove it or let the tool pick the next cut name.")
    staging = staging_dir(cut_path.parent)  # private: no planted name is followed
    tmp = staging / cut_path.name
    engine = ledger.open_engine(path, exclusive=True)
    published = False
    committed = False
    try:
        with engine.connect() as conn, conn.begin():
            info = conn.execute(sa.select(schema.dossier_info)).one()
            code = info.code
            report = Reporter(emit, label or code)
            step = report.step

            step("check")
            problems = _problems(conn)
            if problems:
                raise DossierDamaged(
                    f"Dossier {code} has integrity problems: {_describe(problems)}.",
                    "Run 'msde check' and repair it before cutting; nothing was changed.",
                )
            moved, kept = _split(conn, keep_from)
            moved_ids = [y.id for y in moved]
            before = ledger.all_trial_balances(conn)
            filters = year_filters(moved_ids)

            total = sum(count_rows(conn, t, filters[t.name]) for t in COPY_TABLES)
            step("copy", str(cut_path), rows=total)
            cut_guid = str(uuid.uuid4())
            create_dossier(
                tmp,
                code=cut_code,
                name=info.name,
                company=info.company,
                vat_number=info.vat_number,
                country=info.country,
                currency=info.currency,
                guid=cut_guid,
                created_at=datetime.now().replace(microsecond=0),
            )
            digests: dict[str, tuple[str, int]] = {}
            target = sa_engine(tmp)
            try:
                with target.begin() as dst:
                    for table in COPY_TABLES:
                        digests[table.name] = copy_rows(conn, dst, table, filters[table.name], report.rows)
                step("verify", str(cut_path), rows=sum(count for _d, count in digests.values()))
                with target.connect() as dst:
                    for table in COPY_TABLES:
                        if table_digest(dst, table, on_rows=report.rows) != digests[table.name]:
                            raise DossierDamaged(
                                f"The cut dossier's {table.name} rows differ from the original's; nothing was changed.",
                                "Check the disk, then run the cut again.",
                            )
                    cut_problems = _problems(dst)
                    if cut_problems:
                        raise DossierDamaged(
                            f"The cut dossier fails its checks: {_describe(cut_problems)}; nothing was changed.",
                            "Report this; the original dossier is untouched.",
                        )
            finally:
                target.dispose()
            publish(tmp, cut_path)
            published = True

            step("remove")
            deleted_parties = _remove_years(conn, moved_ids, clean_references)
            step("check")
            after = ledger.all_trial_balances(conn)
            for y in kept:
                if before[y.code] != after[y.code]:
                    raise DossierDamaged(
                        f"The trial balance of fiscal year {y.code} would change; the cut was undone.",
                        "Report this; nothing was changed.",
                    )
            problems = _problems(conn)
            if problems:
                raise DossierDamaged(
                    f"After the cut the dossier would fail its checks: {_describe(problems)}; the cut was undone.",
                    "Report this; nothing was changed.",
                )
            step("commit")
        committed = True
        step("done", str(cut_path))
    finally:
        engine.dispose()
        remove_staging(staging)
        if not committed:
            if published:
                remove_partial(cut_path)
    return CutResult(
        dossier=code,
        cut_code=cut_code,
        cut_path=cut_path,
        cut_guid=cut_guid,
        years=tuple(y.code for y in moved),
        kept_years=tuple(y.code for y in kept),
        rows={name: count for name, (_digest, count) in digests.items()},
        third_parties_deleted=deleted_parties,
        verified=True,
        seconds=time.monotonic() - started,
    )


def _remove_years(conn: sa.Connection, year_ids: list[int], clean_references: bool) -> int:
    e, el, att = schema.entry, schema.entry_line, schema.attachment
    tp, fy = schema.third_party, schema.fiscal_year
    entries = sa.select(e.c.id).where(e.c.fiscal_year_id.in_(year_ids))
    moved_parties = {
        r[0]
        for r in conn.execute(
            sa.select(el.c.third_party_id)
            .where(el.c.entry_id.in_(entries), el.c.third_party_id.is_not(None))
            .distinct()
        )
    }
    conn.execute(att.delete().where(att.c.entry_id.in_(entries)))
    conn.execute(el.delete().where(el.c.entry_id.in_(entries)))
    conn.execute(e.delete().where(e.c.fiscal_year_id.in_(year_ids)))
    conn.execute(fy.delete().where(fy.c.id.in_(year_ids)))
    if not clean_references or not moved_parties:
        return 0
    still_used = sa.select(el.c.third_party_id).where(el.c.third_party_id.is_not(None))
    result = conn.execute(tp.delete().where(tp.c.id.in_(moved_parties), tp.c.id.not_in(still_used)))
    return int(result.rowcount or 0)


def existing_names(catalog: Catalog) -> set[str]:
    """Every dossier name the data directory knows: list codes, file names without suffix."""
    names = {d.code for d in catalog.dossiers()}
    names |= {Path(d.location).stem for d in catalog.dossiers() if d.is_embedded}
    names |= {p.name.removesuffix(".sqlite") for p in catalog.home.glob("*_CUT*.sqlite")}
    return names


PENDING_DIR = paths.CUT_PENDING_DIR  # one intent per cut between its COMMIT and its registration


def _pending(home: Path, cut_file: str) -> Path:
    return Path(home) / PENDING_DIR / f"{cut_file}.json"


def _cut_years(path: Path) -> tuple[set[int], str | None]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        ids = {int(r[0]) for r in conn.execute("SELECT id FROM fiscal_year")}
        guid = conn.execute("SELECT guid FROM dossier_info").fetchone()
        return ids, (str(guid[0]) if guid else None)
    finally:
        conn.close()


def recover(home: Path) -> list[Dossier]:
    """Finish the cuts a kill stopped between their COMMIT and their registration in the list.

    Before committing, ``cut`` leaves an intent in ``<home>/.cut-pending/``. For each intent
    left behind: when none of the cut file's fiscal years is still in the original, the cut
    committed and only the registration was lost: the cut dossier is listed now (roll
    forward). When they are still there, the cut did not commit: the original is as it was and
    the cut file is a complete, verified copy (docs/OPERATIONS.md). The intent goes either way.
    Returns the dossiers listed.
    """
    folder = Path(home) / PENDING_DIR
    if not folder.is_dir():
        return []
    added: list[Dossier] = []
    for intent in sorted(folder.glob("*.json")):
        try:
            data = json.loads(intent.read_text(encoding="utf-8"))
            catalog = Catalog(home)
            cut_path = Path(home) / str(data["cut_file"])
            if not is_plain_file_name(cut_path.name) or cut_path.name != str(data["cut_file"]):
                continue
            original = catalog.find(str(data["number"]))
            listed = {d.location for d in catalog.dossiers() if d.is_embedded}
            if cut_path.is_file() and cut_path.name not in listed and original is not None \
                    and original.location == data["original_file"] and original.path(home).is_file():
                cut_ids, cut_guid = _cut_years(cut_path)
                kept_ids, _ = _cut_years(original.path(home))
                if cut_ids and not cut_ids & kept_ids:
                    with catalog.locked():
                        added.append(catalog.add(Dossier(
                            number=catalog.first_free_number(), short=original.short, company=original.company,
                            backend="embedded", location=cut_path.name, status="cut", guid=cut_guid,
                            origin=original.guid, origin_code=original.code if original.guid else None)))
        except (OSError, ValueError, KeyError, sqlite3.Error):
            continue  # unreadable: keep the intent, a later run may read it
        intent.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        folder.rmdir()  # only when empty
    return added


def cut(
    home: Path,
    ref: str,
    keep_from: str,
    *,
    clean_references: bool = False,
    emit: Emit | None = None,
    label: str | None = None,
) -> CutResult:
    """Cut dossier ``ref`` of the list; register the cut dossier with the first free number.

    In the list the cut dossier keeps the original's short name (the list's short name is 1–12
    letters or digits, so ``_CUT001`` cannot be part of it); its file ``001SOC_CUT001.sqlite``,
    its own ``code`` and the status ``cut`` tell it apart.
    """
    recover(home)
    catalog = Catalog(home)
    dossier = catalog.get(ref)
    refuse_access(dossier, "the cut")
    if not dossier.is_embedded:
        raise BadInput(
            f"{dossier.code} is a SQL Server dossier; the cut works on embedded dossiers for now.",
            "Export it to an embedded dossier first (msde export).",
            wizard_hint="Export it first (operation 'Export (complete)'), then import that export copy "
                        "(operation 'Import (complete)'): it becomes an embedded dossier.",
        )
    base = Path(dossier.location).stem
    cut_code = naming.cut_name(base, existing_names(catalog))
    cut_path = catalog.home / naming.embedded_file_name(cut_code)
    intent = _pending(home, cut_path.name)
    intent.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(intent, json.dumps({"cut_file": cut_path.name, "number": dossier.number,
                                     "original_file": dossier.location}).encode("utf-8"))
    try:
        result = cut_dossier(
            dossier.path(catalog.home),
            keep_from,
            cut_path=cut_path,
            cut_code=cut_code,
            clean_references=clean_references,
            emit=emit,
            label=label or dossier.code,
        )
    except BaseException:
        intent.unlink(missing_ok=True)  # nothing committed: nothing to finish later
        with contextlib.suppress(OSError):
            intent.parent.rmdir()
        raise
    with Catalog(home).locked() as catalog:  # read again under the lock: the first free number now
        record = catalog.add(
            Dossier(
                number=catalog.first_free_number(),
                short=dossier.short,
                company=dossier.company,
                backend="embedded",
                location=result.cut_path.name,
                status="cut",
                guid=result.cut_guid,
                origin=dossier.guid,
                origin_code=dossier.code if dossier.guid else None,
            )
        )
    intent.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        intent.parent.rmdir()
    return replace(result, catalog_number=record.number)
