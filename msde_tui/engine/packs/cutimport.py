"""Putting a cut file (``001SOC_CUT001.sqlite``, what a fiscal-year cut writes) in the dossier list."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from msde_tui.engine import identity, naming
from msde_tui.engine.atomic import aside, publish_file, remove_sqlite
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BadInput, DossierExists, PackError


def is_cut_file(path: Path) -> bool:
    """``001SOC_CUT001.sqlite``: the file a fiscal-year cut writes."""
    name = Path(path).name
    return name.endswith(".sqlite") and naming.CUT_RE.match(name.removesuffix(".sqlite")) is not None


def _cut_short(stem: str) -> str:
    match = naming.CUT_RE.match(stem)
    base = match["base"] if match else ""
    parsed = naming.parse_database_name(base)
    if parsed is not None:
        return parsed.short
    try:
        return naming.parse_code(base).short
    except BadInput:
        raise BadInput(
            f"{stem}.sqlite is not named like a cut file (001SOC_CUT001.sqlite).",
            "Give the file a fiscal-year cut wrote, unrenamed.",
        ) from None


def _sqlite_identity(conn: sqlite3.Connection) -> tuple[str | None, str | None]:
    try:
        row = conn.execute("SELECT guid, company FROM dossier_info").fetchone()
    except sqlite3.DatabaseError:
        return None, None
    return (str(row[0]) if row[0] else None, str(row[1]) if row[1] else None) if row else (None, None)


def import_cut_file(path: Path, home: Path, *, number: str | None = None) -> Dossier:
    """Put a cut file (``001SOC_CUT001.sqlite``) in the dossier list (Import/Complet, cut files).

    A cut file already in the data directory is registered where it is; one elsewhere is first
    checked (``PRAGMA quick_check``), copied in with SQLite's backup API under its own name and
    checked again. ``number``: typed, or the first free one; a taken number is refused. The
    dossier keeps the cut's short name and gets the status ``cut``, as ``cut.cut`` registers it.
    """
    path = Path(path)
    if not is_cut_file(path):
        raise BadInput(
            f"{path.name} is not named like a cut file (001SOC_CUT001.sqlite).",
            "Give the file a fiscal-year cut wrote, unrenamed.",
        )
    if not path.is_file():
        raise BadInput(f"{path} does not exist.", "Check the file name.")
    stem = path.name.removesuffix(".sqlite")
    short = _cut_short(stem)
    catalog = Catalog(home)
    wanted = catalog.free_number(number)
    for other in catalog.dossiers():
        if other.is_embedded and other.location == path.name:
            raise DossierExists(
                f"{path.name} is already in the dossier list as {other.code}.",
                "A dossier can appear only once in the list.",
            )
    target = Path(home) / path.name
    in_place = target.exists() and target.resolve() == path.resolve()
    if target.exists() and not in_place:
        raise DossierExists(
            f"{target} already exists in the data directory.",
            "Import that file instead, or move it aside first.",
        )

    def checked(file: Path) -> tuple[str | None, str | None]:
        try:
            conn = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
            try:
                problem = conn.execute("PRAGMA quick_check").fetchone()[0]
                if problem != "ok":
                    raise PackError(f"{path.name} is damaged ({problem}).", "Use another copy of the cut file.")
                return _sqlite_identity(conn)
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise PackError(f"{path.name} cannot be read as a dossier ({exc}).", "Use another copy.") from exc

    guid, company = checked(path)
    # a cut file becomes the dossier of its number: its own identity, the cut as its origin
    ident = identity.for_copy(catalog, wanted, short, guid, identity.read_sqlite(path)[1])
    if guid:
        same = [d for d in catalog.dossiers() if d.guid == guid or d.origin == guid]
        if same:
            raise DossierExists(
                f"This cut dossier is already in the list as {same[0].code}.",
                "A dossier can appear only once in the list.",
            )
    if not in_place:
        with aside(target, create=False) as tmp:  # a private directory: no planted name is followed
            try:
                source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                try:
                    dest = sqlite3.connect(tmp)
                    try:
                        source.backup(dest)
                    finally:
                        dest.close()
                finally:
                    source.close()
            except sqlite3.DatabaseError as exc:
                raise PackError(f"{path.name} cannot be copied ({exc}).", "Use another copy.") from exc
            if checked(tmp) != (guid, company):
                raise PackError(f"The copy of {path.name} differs from the file.", "Nothing was added to the list.")
            identity.stamp_sqlite(tmp, ident)
            if os.path.lexists(target):
                raise DossierExists(f"{target} appeared during the import.", "Choose another number.")
            publish_file(tmp, target)
    if in_place:
        identity.stamp_sqlite(target, ident)
    record = Dossier(number=wanted, short=short, company=company or stem, backend="embedded",
                     location=target.name, status="cut", **ident.fields())
    try:
        return Catalog(home).add(record)
    except BaseException:
        if not in_place:
            remove_sqlite(target)
        raise
