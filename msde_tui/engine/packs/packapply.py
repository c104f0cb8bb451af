"""Applying a PTF, in one transaction, to the dossier whose state it follows (docs/FORMAT.md)."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from msde_tui.engine import identity
from msde_tui.engine.atomic import is_disk_full
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BadInput, MsdeError, PackError, WrongDossier
from msde_tui.engine.events import Emit
from msde_tui.engine.packs.dossierdb import (
    check_digests,
    db_identity,
    not_enough_space,
    open_dossier,
)
from msde_tui.engine.reporting import Reporter, ignore
from msde_tui.engine.tables.database import Database
from msde_tui.packfmt import names
from msde_tui.packfmt.reader import PackReader
from msde_tui.packfmt.schema import PackSchema


@dataclass
class ApplyResult:
    dossier: Dossier
    package_id: str
    upserted: int = 0
    deleted: int = 0
    replaced_tables: list[str] = field(default_factory=list)


def _in_line(catalog: Catalog, guid: str | None) -> list[Dossier]:
    """The dossiers a PTF of dossier ``guid`` may be aimed at: that dossier and its copies."""
    return [d for d in catalog.dossiers() if guid and guid in identity.line(d)]


def apply_candidates(catalog: Catalog, guid: str | None, base_package: str | None) -> list[Dossier]:
    """The dossiers of the PTF's line whose last imported PBF or applied PTF is the PTF's base
    (what the wizard may pre-select; the digests decide when it is applied)."""
    return [d for d in _in_line(catalog, guid) if base_package and d.package == base_package]


def _find_target(catalog: Catalog, guid: str | None, ref: str | None, source: dict[str, Any],
                 base_package: str | None = None, owner: str = "") -> Dossier:
    if ref:
        dossier = identity.settle(catalog.home, catalog.get(ref))
        identity.check_line(dossier, guid, "This PTF", owner or str(guid))
        return dossier
    for dossier in catalog.dossiers():
        identity.settle(catalog.home, dossier)
    catalog = Catalog(catalog.home)
    matches = _in_line(catalog, guid)
    if not matches:
        raise WrongDossier(
            "No dossier in the list is the one this PTF was made from.",
            "Import that dossier's PBF first (msde import), or name the dossier with --dossier.",
            wizard_hint="Import that dossier's PBF first (operation 'Import (complete)'), or choose the dossier in 'Dossier to update'.",
        )
    if len(matches) > 1:  # the one whose base is this PTF's, else leave out the dossier it was made from
        matches = [d for d in matches if base_package and d.package == base_package] or [
            d for d in matches
            if not (d.backend == source.get("backend") and d.location == source.get("database")
                    and d.profile == source.get("profile"))
        ] or matches
    if len(matches) > 1:
        raise BadInput(
            f"Several dossiers come from the same original: {', '.join(d.code for d in matches)}.",
            "Name the one to update with --dossier.",
            wizard_hint="Choose the one to update in 'Dossier to update'.",
        )
    return matches[0]


def apply_package(
    path: Path,
    home: Path,
    *,
    dossier_ref: str | None = None,
    passphrase: str | None = None,
    password: str | None = None,
    emit: Emit = ignore,
) -> ApplyResult:
    """Apply a PTF, in one transaction, to the dossier whose state it follows.

    ``emit`` gets ``check`` (the file, then the dossier against the PTF's base), an ``apply``
    step per changed table and the rows written or deleted (``Progress``), then ``check``."""
    catalog = Catalog(home)
    label = dossier_ref or Path(path).name
    report = Reporter(emit, label)
    with PackReader(path, kind="PTF", passphrase=passphrase) as reader:
        report.step("check", "every member of the file")
        reader.verify()
        content = reader.content
        ident = content.get("dossier") or {}
        ptf = content.get("ptf") or {}
        base = ptf.get("base") or {}
        modes: dict[str, str] = ptf.get("mode") or {}
        dossier = _find_target(catalog, ident.get("guid"), dossier_ref, content.get("source") or {},
                               base.get("package_id"), str(ident.get("code") or ""))
        schema = reader.schema
        result = ApplyResult(dossier, str(reader.manifest.get("package_id")))
        with open_dossier(dossier, home, readonly=False, password=password) as db:
            own_guid, own_code = db_identity(db)
            ptf_guid = ident.get("guid")
            # A copy (a PBF imported under its own identity) looks like its origin while the PTF
            # is checked and applied, and gets its own identity back before the commit.
            as_origin: identity.Identity | None = None
            if ptf_guid and own_guid and own_guid != ptf_guid:
                if ptf_guid != dossier.origin or not dossier.origin_code or own_guid != dossier.guid:
                    raise WrongDossier(
                        f"This PTF belongs to dossier {ident.get('code') or ptf_guid}, not to {dossier.code}; "
                        f"{dossier.code} was not touched.",
                        "Apply it to the dossier it was made from, or to a copy imported from its PBF.",
                    )
                as_origin = identity.Identity(ptf_guid, dossier.origin_code)
            if db.reflect().digest() != base.get("schema_digest"):
                raise PackError(
                    f"The tables of {dossier.code} are not those this PTF was made for.",
                    "Import the matching PBF instead.",
                )
            if db.dialect == "sqlite":
                db.dbapi.execute("PRAGMA foreign_keys=ON")
            db.begin(write=True)
            try:
                if db.dialect == "sqlite":
                    db.dbapi.execute("PRAGMA defer_foreign_keys=ON")
                if as_origin is not None:
                    identity.stamp_db(db, as_origin)
                report.step("check", "the dossier against the PTF's base")
                differ = check_digests(db, schema, base, "base")
                if differ:
                    raise PackError(
                        f"{dossier.code} is not in the state this PTF follows "
                        f"(tables {', '.join(differ[:5])} differ; base package {base.get('package_id')}).",
                        "Apply the earlier PTFs first, or import a fresh PBF of the dossier.",
                    )
                report.tables("apply", _changes(content))
                _apply_rows(db, reader, schema, modes, result, report)
                report.step("check", "every row against the PTF's digests")
                differ = check_digests(db, schema, content.get("state") or {}, "after")
                if differ:
                    raise PackError(
                        f"After applying, tables {', '.join(differ[:5])} of {dossier.code} do not match the package.",
                        "Nothing was changed (the transaction was rolled back).",
                    )
                if as_origin is not None:
                    identity.stamp_db(db, identity.Identity(own_guid, own_code or dossier.code))
                db.commit()
            except BaseException as exc:
                db.rollback()
                if is_disk_full(exc):
                    raise not_enough_space(dossier.path(home).parent if dossier.is_embedded else Path(home),
                                     f"apply {reader.where} to {dossier.code}") from exc
                cause = exc if isinstance(exc, sqlite3.IntegrityError) else exc.__cause__
                if isinstance(cause, sqlite3.IntegrityError) or "constraint" in str(cause).lower():
                    raise PackError(
                        f"Applying {reader.where} to {dossier.code} breaks a constraint ({cause}).",
                        "Nothing was changed. This happens when a unique value moved from a deleted row "
                        "to another one; import the dossier's PBF instead (msde import).",
                        wizard_hint="Nothing was changed. This happens when a unique value moved from a "
                        "deleted row to another one; import the dossier's PBF instead (operation "
                        "'Import (complete)').",
                    ) from exc
                raise
    with contextlib.suppress(MsdeError):  # the base a next PTF follows (the wizard proposes by it)
        result.dossier = Catalog(home).change(dossier.number, package=result.package_id)
    return result


def _apply_rows(db: Database, reader: PackReader, schema: PackSchema, modes: dict[str, str],
                result: ApplyResult, rows: Reporter) -> None:
    for table in reversed(schema.tables):
        if modes.get(table.name) == "replace":
            db.delete_all(table)
            result.replaced_tables.append(table.name)
    for table in schema.tables:
        mode = modes.get(table.name, "same")
        if mode == "same":
            continue
        info = (reader.content.get("tables") or {}).get(table.name) or {}
        rows.table(table.name, info.get("rows") if isinstance(info, dict) else None)
        for batch in rows.counted(reader.batches(table)):
            if mode == "replace":
                db.insert(table, batch)
            else:
                db.upsert(table, batch)
            result.upserted += batch.num_rows
    for table in reversed(schema.tables):
        if modes.get(table.name) != "upsert":
            continue
        for keys in rows.counted(reader.batches(table, names.DELETED)):
            result.deleted += db.delete_keys(table, keys)


def _changes(content: dict[str, Any]) -> int:
    """The rows a PTF writes and deletes, as its content lists them."""
    total = 0
    for info in (content.get("tables") or {}).values():
        if isinstance(info, dict):
            total += sum(v for k, v in info.items() if k in ("rows", "deleted") and isinstance(v, int) and v > 0)
    return total


def register_catalog_guid(catalog: Catalog, dossier: Dossier, guid: str | None) -> Dossier:
    if guid and dossier.guid != guid:
        return catalog.update(replace(dossier, guid=guid))
    return dossier
