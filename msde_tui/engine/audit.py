"""Tax-audit transfer (SPEC 5.6): a copy of chosen fiscal years for the tax administration.

The copy is a new embedded dossier ``Admin<base>.sqlite`` (``naming.audit_name``) in the
chosen directory. It holds every reference row (accounts, journals, third parties, VAT codes),
the fiscal years asked for and their entries, lines and attachments — with the original ids.
Options: ``simplified`` keeps REAL entries only (no SIMULATION), ``attachments=False`` leaves
the attached documents out. The copy is built under a temporary name, verified (every table's
rows, count + digest, equal to what was read from the dossier) and only then renamed into place.

It is never restored by the tool: its ``dossier_info`` gets a new GUID, ``code`` = ``Admin…``
(the marker ``is_audit_copy`` recognises and imports refuse) and a company name saying so.

With ``fec=True`` a FEC file per fiscal year is written beside it (``engine.fec``).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from msde_tui.engine import fec, ledger, naming, schema
from msde_tui.engine.cut import copy_rows, publish, remove_partial, table_digest, year_filters
from msde_tui.engine.embedded import create_dossier, sa_engine
from msde_tui.engine.errors import BadInput, DossierDamaged, DossierExists
from msde_tui.engine.events import Event, Step

AUDIT_PREFIX = "Admin"
AUDIT_NOTICE = "copie pour l'administration fiscale, non restaurable"
NOT_RESTORABLE = (
    "This tax-audit copy is for the tax administration only; the tool never restores or "
    "imports it."
)
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


def is_audit_copy(code: str | None) -> bool:
    """True for a dossier code of a tax-audit copy (``Admin001SOC``): never to be imported."""
    return bool(code) and str(code).startswith(AUDIT_PREFIX)


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
) -> AuditResult:
    """Write ``Admin<base>.sqlite`` (and FEC files) for ``years`` of the dossier at ``path``."""
    started = time.monotonic()
    directory = Path(directory)
    if not directory.is_dir():
        raise BadInput(f"The directory {directory} does not exist.", "Create it or choose another one.")
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
                    result = fec.write_fec(conn, y, directory, ident=ident, encoding=encoding)
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


def describe(result: AuditResult) -> dict[str, Any]:
    """A JSON-ready summary."""
    return {
        "dossier": result.dossier,
        "copy": str(result.path),
        "code": result.code,
        "years": list(result.years),
        "simplified": result.simplified,
        "attachments": result.attachments,
        "rows": result.rows,
        "verified": result.verified,
        "restorable": False,
        "notice": NOT_RESTORABLE,
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
