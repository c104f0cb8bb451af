"""Tax-audit transfer (SPEC 5.6): a copy of chosen fiscal years for the tax administration.

The copy is a new embedded dossier ``Admin<base>.sqlite`` (``naming.audit_name``) in the
chosen directory. It holds every reference row (accounts, journals, third parties, VAT codes),
the fiscal years asked for and their entries, lines and attachments — with the original ids.
Options: ``simplified`` keeps REAL entries only (no SIMULATION), ``attachments=False`` leaves
the attached documents out. The copy is built under a temporary name, verified (every table's
rows, count + digest, equal to what was read from the dossier) and only then renamed into place.

It is never restored by the tool: its ``dossier_info`` gets a new GUID, ``code`` = ``Admin…``
(the marker ``naming.is_audit_copy`` recognises and imports refuse) and a company name saying so.

With ``fec=True`` a FEC file per fiscal year (and its description) is written beside it
(``engine.fec``), or in ``fec_directory``, from the verified copy. Its identifier is the SIREN
of a French dossier, else ``fec_id`` (refused without one: a FEC is a French format). An open
year or one holding entries never validated is refused unless ``provisional``.

An ARCHIVED year holds only its balance entry: its details come from its PAF (``paf``: the file
or a directory holding it). The PAF is read back completely (``paf.verify_paf``), must carry
this dossier's GUID and describe the balance entry the dossier holds; its years are then put
back into the copy (``unarchive.restore_years``: counts and balances checked), so the copy and
its FEC hold the real entries. Without the PAF, the archived year is refused.

``audit_to_server`` makes the same copy a SQL Server database ``Admin`` + the dossier's
SQL Server base name (``AdminPW0001SOC`` for dossier 001SOC, as the export copy is
``EPW0001SOC``): the verified embedded copy is built in a temporary directory, then copied
to the server with the export copy's schema-agnostic copy (every table's row digests checked
on the server); an existing database is refused before any work, and a failed copy drops the
half-made database. ``dossier_file`` gives an embedded file to audit for a SQL Server dossier
(its rows read through ``engine.tables`` into a temporary file, every digest checked).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from msde_tui.engine import naming
from msde_tui.engine.accounting import fec, ledger, schema
from msde_tui.engine.atomic import is_disk_full, remove_staging, staging_dir, write_error
from msde_tui.engine.backends.embedded.dossier import create_dossier, sa_engine
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import (
    BackupInvalid,
    BadInput,
    DossierDamaged,
    DossierExists,
    FecRefused,
)
from msde_tui.engine.events import Emit
from msde_tui.engine.lifecycle.balance import od_matches
from msde_tui.engine.lifecycle.copying import (
    copy_rows,
    count_rows,
    publish,
    table_digest,
    year_filters,
)
from msde_tui.engine.lifecycle.paf import PafInfo, read_paf_info, verify_paf
from msde_tui.engine.lifecycle.unarchive import restore_years
from msde_tui.engine.reporting import Reporter

AUDIT_NOTICE = "copie pour l'administration fiscale, non restaurable"
REFERENCE_TABLES = ("account", "third_party", "journal", "vat_code")


@dataclass(frozen=True)
class AuditResult:
    dossier: str
    path: Path
    code: str
    years: tuple[str, ...]
    simplified: bool
    attachments: bool
    rows: dict[str, int]
    fec_files: tuple[fec.FecResult, ...]
    warnings: tuple[str, ...]
    verified: bool
    seconds: float
    database: str | None = None  # the SQL Server database, when the copy went to a server
    profile: str | None = None


@ledger.translate_db_errors
def audit_dossier(
    path: Path,
    years: list[str],
    directory: Path,
    *,
    base: str | None = None,
    simplified: bool = False,
    attachments: bool = True,
    with_fec: bool = False,
    encoding: str = "utf-8",
    emit: Emit | None = None,
    label: str | None = None,
    fec_directory: Path | None = None,
    fec_id: str | None = None,
    provisional: bool = False,
    paf: Path | None = None,
) -> AuditResult:
    """Write ``Admin<base>.sqlite`` (and FEC files) for ``years`` of the dossier at ``path``.

    Reports through ``emit`` (``engine.reporting``), its events named ``label`` (by default the
    dossier's code): copy and verify (rows counted), restore (an archived year), fec, done."""
    started = time.monotonic()
    directory = Path(directory)
    fec_dir = Path(fec_directory) if fec_directory is not None else directory
    for folder in {directory, fec_dir} if with_fec else {directory}:
        if not folder.is_dir():
            raise BadInput(f"The directory {folder} does not exist.", "Create it or choose another one.")
    encoding = fec.check_encoding(encoding)
    if not years:
        raise BadInput("No fiscal year was asked for.", "Name them with --years, e.g. --years 2022,2023.",
                       wizard_hint="Type them in 'Fiscal years asked', e.g. 2022,2023.")
    engine = ledger.open_engine(path)
    warnings: list[str] = []
    fec_files: list[fec.FecResult] = []
    try:
        with engine.connect() as conn, conn.begin():  # one snapshot of the dossier
            info = conn.execute(sa.select(schema.dossier_info)).one()
            code = info.code
            base = base or code
            target_code = naming.audit_name(base)
            target = directory / naming.embedded_file_name(target_code)
            if os.path.lexists(target):
                raise DossierExists(
                    f"{target} already exists.", "Move or delete the previous tax-audit copy first."
                )
            report = Reporter(emit, label or code)
            step = report.step

            chosen = ledger.find_years(conn, years)
            ident = fec.identifier(info.vat_number, info.country, code, fec_id) if with_fec else ""
            archived = [y for y in chosen if y.status == "ARCHIVED"]
            pafs = _pafs_for(conn, archived, paf, info.guid, code, step) if archived else []
            filters = year_filters([y.id for y in chosen], real_only=simplified)
            for name in REFERENCE_TABLES:
                filters[name] = None  # every reference row
            staging = staging_dir(directory)  # private: no planted name is followed
            tmp = staging / target.name
            copied_tables = [t for t in schema.TABLES[1:] if attachments or t is not schema.attachment]
            step("copy", str(target), rows=sum(count_rows(conn, t, filters[t.name]) for t in copied_tables))
            try:
                create_dossier(
                    tmp,
                    code=target_code,
                    name=target_code,
                    company=f"{info.company} ({AUDIT_NOTICE})"[:200],
                    vat_number=info.vat_number,
                    country=info.country,
                    currency=info.currency,
                    guid=str(uuid.uuid4()),
                    created_at=datetime.now().replace(microsecond=0),
                )
                digests: dict[str, tuple[str, int]] = {}
                out = sa_engine(tmp)
                try:
                    with out.begin() as dst:
                        for table in copied_tables:
                            digests[table.name] = copy_rows(conn, dst, table, filters[table.name], report.rows)
                    step("verify", str(target), rows=sum(count for _d, count in digests.values()))
                    with out.connect() as dst:
                        for table in schema.TABLES[1:]:
                            expected = digests.get(table.name)
                            if expected is None:
                                expected = (hashlib.sha256().hexdigest(), 0)  # left out: empty
                            if table_digest(dst, table, on_rows=report.rows) != expected:
                                raise DossierDamaged(
                                    f"The copy's {table.name} rows differ from the dossier's; nothing was kept.",
                                    "Check the disk and run it again.",
                                )
                    if pafs:
                        with out.begin() as dst:
                            for paf_info, paf_years in pafs:
                                restore_years(dst, paf_info, paf_years, code, report)
                                ids = [int(y["id"]) for y in paf_years]
                                _leave_out(dst, ids, simulations=simplified, attachments=not attachments)
                    with out.connect() as dst:
                        digests = {t.name: ("", _count(dst, t)) for t in schema.TABLES[1:]
                                   if t.name in digests}
                        copied = {y.id: y for y in ledger.fiscal_years(dst)}
                        if with_fec:  # every refusal before any file is written
                            for y in chosen:
                                fec.check_final(dst, copied[y.id], provisional=provisional)
                            sources = {int(y["id"]): p.path.name for p, ys in pafs for y in ys}
                            identity = fec.Identity(code, info.company, info.vat_number, info.country)
                            for y in chosen:
                                step("fec", y.code)
                                fec_files.append(fec.write_fec(
                                    dst, copied[y.id], fec_dir, ident=ident, encoding=encoding,
                                    provisional=provisional, identity=identity,
                                    source=sources.get(y.id)))
                finally:
                    out.dispose()
                publish(tmp, target)
            except BaseException as exc:
                for written in fec_files:  # no FEC without its verified copy
                    written.path.unlink(missing_ok=True)
                    if written.description is not None:
                        written.description.unlink(missing_ok=True)
                if isinstance(exc, (sa.exc.DBAPIError, sqlite3.Error, OSError)) and is_disk_full(exc):
                    raise write_error(exc, target) from exc  # the copy being written: name the target
                raise
            finally:
                remove_staging(staging)
            for result in fec_files:
                if result.replaced_chars:
                    warnings.append(
                        f"{result.path.name}: {result.replaced_chars} character(s) not in "
                        f"{encoding} were replaced (unaccented letter or '?')."
                    )
                if result.provisional:
                    warnings.append(f"{result.path.name} is PROVISIONAL: {'; '.join(result.reasons)}.")
            if with_fec and fec.siren(info.vat_number, info.country) is None:
                warnings.append(f"{fec.FRENCH_FORMAT} This dossier has none: the files are named {ident}.")
            step("done", str(target))
    finally:
        engine.dispose()
    return AuditResult(
        dossier=code,
        path=target,
        code=target_code,
        years=tuple(y.code for y in chosen),
        simplified=simplified,
        attachments=attachments,
        rows={name: count for name, (_d, count) in digests.items()},
        fec_files=tuple(fec_files),
        warnings=tuple(warnings),
        verified=True,
        seconds=time.monotonic() - started,
    )


def _pafs_for(
    conn: sa.Connection,
    archived: list[ledger.FiscalYear],
    given: Path | None,
    guid: str,
    code: str,
    step: Callable[[str, str], None],
    *,
    verify: bool = True,
) -> list[tuple[PafInfo, list[dict[str, Any]]]]:
    """The verified PAF holding each archived year: ``given`` is a .paf file or a directory of
    them; the PAF must carry the dossier's GUID and describe the balance entry the dossier
    holds now (an older PAF of a year archived again is passed over). Refused in words when
    there is none, or it is not this dossier's."""
    names = ", ".join(y.code for y in archived)
    if given is None:
        raise FecRefused(
            f"Fiscal year(s) {names} of {code} are archived: their entries are in their PAF, and "
            "the dossier only holds one balance entry per year.",
            "Give the PAF (or the directory holding it) with --paf, or leave those years out.",
            wizard_hint="Type the PAF (or the directory holding it) in 'Archive (PAF)', or leave those years out.",
        )
    given = Path(given)
    if given.is_dir():
        candidates = sorted(given.glob("*.paf"))
    elif given.is_file():
        candidates = [given]
    else:
        raise BadInput(f"{given} does not exist.", "Give a .paf file or the directory holding it with --paf.",
                       wizard_hint="Type a .paf file or the directory holding it in 'Archive (PAF)'.")
    wanted = {y.id for y in archived}
    found: dict[int, PafInfo] = {}
    foreign: list[str] = []
    stale: list[str] = []
    for candidate in candidates:
        try:
            info = read_paf_info(candidate)
        except (BadInput, BackupInvalid):
            if given.is_file():
                raise
            continue  # another file in the directory: not a PAF we can read
        if info.guid != guid:
            if given.is_file():
                raise FecRefused(
                    f"{candidate.name} is an archive of dossier {info.code}, not of {code}.",
                    f"Give the PAF written when {code}'s years were archived.",
                )
            foreign.append(candidate.name)
            continue
        for y in info.years:
            if int(y["id"]) not in wanted:
                continue
            if od_matches(conn, y):
                found.setdefault(int(y["id"]), info)
            else:
                stale.append(candidate.name)
    missing = [y.code for y in archived if y.id not in found]
    if missing:
        why = f" ({', '.join(foreign)} belong(s) to another dossier)" if foreign else ""
        if stale:
            why += f" ({', '.join(dict.fromkeys(stale))} describe(s) another balance entry: an older archive)"
        raise FecRefused(
            f"No PAF of {code} holding fiscal year(s) {', '.join(missing)} was found in {given}{why}.",
            "Give the PAF written when those years were archived (msde unarchive FILE --show lists a PAF's years).",
            wizard_hint="Give the PAF written when those years were archived (the operation 'Archive import' "
            "lists a directory's PAF and their years).",
        )
    out: list[tuple[PafInfo, list[dict[str, Any]]]] = []
    unique = {str(found[y.id].path): found[y.id] for y in archived}
    for info in unique.values():
        if verify:
            step("verify", info.path.name)
            verify_paf(info.path, expect_guid=guid)
        out.append((info, [y for y in info.years if int(y["id"]) in wanted and found[int(y["id"])] is info]))
    return out


@ledger.translate_db_errors
def check_audit(
    path: Path,
    years: list[str],
    *,
    with_fec: bool = False,
    fec_id: str | None = None,
    provisional: bool = False,
    paf: Path | None = None,
    directory: Path | None = None,
    base: str | None = None,
) -> None:
    """Refuse in words, before anything runs, what ``audit_dossier`` would refuse of these
    answers: an unknown year, a FEC without identifier (no SIREN and none given), an archived
    year without a PAF holding it (found, not yet verified: the run verifies it), a final FEC
    of an open year or of entries never validated, and (``directory`` given: the embedded copy)
    a previous copy Admin<base> still there. Reads the dossier; writes nothing."""
    if not years:
        raise BadInput("No fiscal year was asked for.", "Name them with --years, e.g. --years 2022,2023.",
                       wizard_hint="Type the fiscal years asked for (e.g. 2022,2023).")
    engine = ledger.check_engine(path)  # leaves no -wal/-shm behind
    try:
        with engine.connect() as conn:
            info = conn.execute(sa.select(schema.dossier_info)).one()
            if directory is not None:
                target = Path(directory) / naming.embedded_file_name(naming.audit_name(base or info.code))
                if os.path.lexists(target):
                    raise DossierExists(f"{target} already exists.", "Move or delete the previous tax-audit copy first.")
            chosen = ledger.find_years(conn, years)
            if with_fec:
                fec.identifier(info.vat_number, info.country, info.code, fec_id)
            archived = [y for y in chosen if y.status == "ARCHIVED"]
            if archived:
                _pafs_for(conn, archived, paf, info.guid, info.code, lambda *_: None, verify=False)
            if with_fec:
                for year in chosen:
                    if year.status != "ARCHIVED":  # an archived year's FEC is written once it is back
                        fec.check_final(conn, year, provisional=provisional)
    finally:
        engine.dispose()


def _leave_out(conn: sa.Connection, year_ids: list[int], *, simulations: bool, attachments: bool) -> None:
    """Drop what the copy leaves out (simulations, attachments) from years put back from a PAF."""
    e, el, att = schema.entry, schema.entry_line, schema.attachment
    in_years = e.c.fiscal_year_id.in_(year_ids)
    if simulations:
        sims = sa.select(e.c.id).where(in_years, e.c.kind == "SIMULATION")
        conn.execute(att.delete().where(att.c.entry_id.in_(sims)))
        conn.execute(el.delete().where(el.c.entry_id.in_(sims)))
        conn.execute(e.delete().where(in_years, e.c.kind == "SIMULATION"))
    if attachments:
        conn.execute(att.delete().where(att.c.entry_id.in_(sa.select(e.c.id).where(in_years))))


def _count(conn: sa.Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def server_database(number: str, short: str) -> str:
    """The SQL Server tax-audit database of dossier ``number``/``short``: ``AdminPW0001SOC``."""
    return naming.audit_name(naming.database_name(number, short))


def audit_to_server(
    path: Path,
    years: list[str],
    *,
    home: Path,
    profile: str,
    database: str,
    password: str | None = None,
    fec_directory: Path | None = None,
    simplified: bool = False,
    attachments: bool = True,
    with_fec: bool = False,
    encoding: str = "utf-8",
    emit: Emit | None = None,
    label: str | None = None,
    fec_id: str | None = None,
    provisional: bool = False,
    paf: Path | None = None,
) -> AuditResult:
    """Write the tax-audit copy of the embedded dossier file ``path`` as ``database`` on ``profile``.

    Same content as ``audit_dossier``'s file (built and verified in a temporary directory,
    then copied with every table's row digests checked on the server). Refused when
    ``database`` exists; dropped again if the copy fails. FEC files go to ``fec_directory``.
    """
    from msde_tui.engine.backends.mssql import database as serverdb
    from msde_tui.engine.packs import export_copy

    started = time.monotonic()
    if not naming.is_audit_copy(database):
        raise BadInput(f"{database} is not a tax-audit copy name.", "It must start with Admin.")
    if with_fec and (fec_directory is None or not Path(fec_directory).is_dir()):
        raise BadInput(
            f"The directory for the FEC files ({fec_directory}) does not exist.",
            "Give an existing directory with --dir.",
            wizard_hint="Choose an existing directory (F4 browses).",
        )
    fec.check_encoding(encoding)
    hint = "Drop or rename the previous tax-audit copy on the server first."
    if serverdb.database_exists(home, profile, database, password):
        raise DossierExists(f"Database {database} already exists on {profile}.", hint)
    with tempfile.TemporaryDirectory(prefix="msde-audit-") as tmp:
        built = audit_dossier(
            path,
            years,
            Path(tmp),
            base=database[len(naming.AUDIT_PREFIX):],
            simplified=simplified,
            attachments=attachments,
            with_fec=with_fec,
            encoding=encoding,
            emit=emit,
            label=label,
            fec_directory=fec_directory,
            fec_id=fec_id,
            provisional=provisional,
            paf=paf,
        )
        try:
            Reporter(emit, label or built.dossier).step("server", f"{profile}: {database}")
            rows = export_copy.copy_file_to_server(built.path, home, profile, database, password, hint=hint)
            differ = [name for name, count in built.rows.items() if rows.get(name) != count]
            if differ:
                serverdb.drop_database(home, profile, database, password)
                raise DossierDamaged(
                    f"The server copy's {', '.join(differ)} row counts differ from the verified copy; "
                    "it was removed.",
                    "Run it again; check the server's free space.",
                )
        except BaseException:
            for written in built.fec_files:  # a failed transfer leaves nothing behind
                written.path.unlink(missing_ok=True)
                if written.description is not None:
                    written.description.unlink(missing_ok=True)
            raise
    return replace(
        built,
        path=Path(database),
        database=database,
        profile=profile,
        seconds=time.monotonic() - started,
    )


@contextmanager
def dossier_file(dossier: Dossier, home: Path, *, password: str | None = None) -> Iterator[Path]:
    """The dossier as an embedded file to audit: its own file, or for a SQL Server dossier a
    temporary copy of its database (every table's row digests checked), removed afterwards."""
    if dossier.is_embedded:
        yield dossier.path(home)
        return
    from msde_tui.engine.packs import export_copy

    with tempfile.TemporaryDirectory(prefix="msde-audit-src-") as tmp:
        target = Path(tmp) / naming.embedded_file_name(dossier.code)
        export_copy.copy_dossier_to_file(dossier, home, target, password=password)
        yield target


def describe(result: AuditResult) -> dict[str, Any]:
    """A JSON-ready summary."""
    return {
        "dossier": result.dossier,
        "copy": result.database or str(result.path),
        "backend": "mssql" if result.database else "embedded",
        "profile": result.profile,
        "code": result.code,
        "years": list(result.years),
        "simplified": result.simplified,
        "attachments": result.attachments,
        "rows": result.rows,
        "verified": result.verified,
        "restorable": False,
        "notice": naming.NOT_RESTORABLE,
        "fec": [
            {
                "file": str(f.path),
                "year": f.year,
                "entries": f.entries,
                "lines": f.lines,
                "debit_total": f.debit_total,
                "credit_total": f.credit_total,
                "replaced_chars": f.replaced_chars,
                "provisional": f.provisional,
                "reasons": list(f.reasons),
                "description": str(f.description) if f.description else None,
            }
            for f in result.fec_files
        ],
        "warnings": list(result.warnings),
        "seconds": round(result.seconds, 3),
    }
