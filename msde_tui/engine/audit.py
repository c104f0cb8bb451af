"""Tax-audit transfer (SPEC 5.6): a copy of chosen fiscal years for the tax administration.

The copy is a new embedded dossier ``Admin<base>.sqlite`` (``naming.audit_name``) in the
chosen directory. It holds every reference row (accounts, journals, third parties, VAT codes),
the fiscal years asked for and their entries, lines and attachments — with the original ids.
Options: ``simplified`` keeps REAL entries only (no SIMULATION), ``attachments=False`` leaves
the attached documents out. The copy is built under a temporary name, verified (every table's
rows, count + digest, equal to what was read from the dossier) and only then renamed into place.

It is never restored by the tool: its ``dossier_info`` gets a new GUID, ``code`` = ``Admin…``
(the marker ``naming.is_audit_copy`` recognises and imports refuse) and a company name saying so.

With ``fec=True`` a FEC file per fiscal year is written beside it (``engine.fec``), or in
``fec_directory``.

``audit_to_server`` makes the same copy a SQL Server database ``Admin`` + the dossier's
SQL Server base name (``AdminPW0001SOC`` for dossier 001SOC, as the export copy is
``EPW0001SOC``): the verified embedded copy is built in a temporary directory, then copied
to the server with the export copy's schema-agnostic copy (every table's row digests checked
on the server); an existing database is refused before any work, and a failed copy drops the
half-made database. ``dossier_file`` gives an embedded file to audit for a SQL Server dossier
(its rows read through ``tableio`` into a temporary file, every digest checked).
"""

from __future__ import annotations

import hashlib
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

from msde_tui.engine import fec, ledger, naming, schema
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.cut import copy_rows, publish, remove_partial, table_digest, year_filters
from msde_tui.engine.embedded import create_dossier, sa_engine
from msde_tui.engine.errors import BadInput, DossierDamaged, DossierExists
from msde_tui.engine.events import Event, Step

AUDIT_NOTICE = "copie pour l'administration fiscale, non restaurable"
REFERENCE_TABLES = ("account", "third_party", "journal", "vat_code")
OnEvent = Callable[[Event], None]


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
    on_event: OnEvent | None = None,
    fec_directory: Path | None = None,
) -> AuditResult:
    """Write ``Admin<base>.sqlite`` (and FEC files) for ``years`` of the dossier at ``path``."""
    started = time.monotonic()
    directory = Path(directory)
    fec_dir = Path(fec_directory) if fec_directory is not None else directory
    for folder in {directory, fec_dir} if with_fec else {directory}:
        if not folder.is_dir():
            raise BadInput(f"The directory {folder} does not exist.", "Create it or choose another one.")
    encoding = fec.check_encoding(encoding)
    if not years:
        raise BadInput("No fiscal year was asked for.", "Name them with --years, e.g. --years 2022,2023.")
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
            if target.exists():
                raise DossierExists(
                    f"{target} already exists.", "Move or delete the previous tax-audit copy first."
                )

            def step(name: str, detail: str = "") -> None:
                if on_event:
                    on_event(Step(dossier=code, step=name, detail=detail))

            chosen = ledger.find_years(conn, years)
            for y in chosen:
                if y.status == "ARCHIVED":
                    warnings.append(
                        f"Fiscal year {y.code} is archived: only its balance entry is in the dossier "
                        "(import its PAF first to hand over the details)."
                    )
            filters = year_filters([y.id for y in chosen], real_only=simplified)
            for name in REFERENCE_TABLES:
                filters[name] = None  # every reference row
            tmp = directory / f".{target.name}.building"
            remove_partial(tmp)
            step("copy", str(target))
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
                        for table in schema.TABLES[1:]:
                            if table is schema.attachment and not attachments:
                                continue
                            digests[table.name] = copy_rows(conn, dst, table, filters[table.name])
                    step("verify", str(target))
                    with out.connect() as dst:
                        for table in schema.TABLES[1:]:
                            expected = digests.get(table.name)
                            if expected is None:
                                expected = (hashlib.sha256().hexdigest(), 0)  # left out: empty
                            if table_digest(dst, table) != expected:
                                raise DossierDamaged(
                                    f"The copy's {table.name} rows differ from the dossier's; nothing was kept.",
                                    "Check the disk and run it again.",
                                )
                finally:
                    out.dispose()
                publish(tmp, target)
            finally:
                remove_partial(tmp)
            if with_fec:
                ident = fec.identifier(info.vat_number, info.country, code)
                for y in chosen:
                    step("fec", y.code)
                    result = fec.write_fec(conn, y, fec_dir, ident=ident, encoding=encoding)
                    if result.replaced_chars:
                        warnings.append(
                            f"{result.path.name}: {result.replaced_chars} character(s) not in "
                            f"{encoding} were replaced (unaccented letter or '?')."
                        )
                    fec_files.append(result)
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
    on_event: OnEvent | None = None,
) -> AuditResult:
    """Write the tax-audit copy of the embedded dossier file ``path`` as ``database`` on ``profile``.

    Same content as ``audit_dossier``'s file (built and verified in a temporary directory,
    then copied with every table's row digests checked on the server). Refused when
    ``database`` exists; dropped again if the copy fails. FEC files go to ``fec_directory``.
    """
    from msde_tui.engine import export_copy, serverdb

    started = time.monotonic()
    if not naming.is_audit_copy(database):
        raise BadInput(f"{database} is not a tax-audit copy name.", "It must start with Admin.")
    if with_fec and (fec_directory is None or not Path(fec_directory).is_dir()):
        raise BadInput(
            f"The directory for the FEC files ({fec_directory}) does not exist.",
            "Give an existing directory with --dir.",
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
            on_event=on_event,
            fec_directory=fec_directory,
        )
        try:
            if on_event:
                on_event(Step(dossier=built.dossier, step="server", detail=f"{profile}: {database}"))
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
    from msde_tui.engine import export_copy

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
            }
            for f in result.fec_files
        ],
        "warnings": list(result.warnings),
        "seconds": round(result.seconds, 3),
    }
