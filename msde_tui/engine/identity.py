"""Dossier identity (docs/OPERATIONS.md "Dossier identity", docs/FORMAT.md section 3).

Every dossier of the list has an identity of its own: the GUID in its ``dossier_info`` (also in
the list's record) and the internal code ``dossier_info.code`` of its number (``004SOC``).

- A copy that becomes another dossier — a restore under another number, a PBF import, an
  export-copy import, a cut-file import — gets a new GUID and the code of its new number, in
  its own ``dossier_info`` and in the list, and keeps a reference to the dossier it came from
  (``origin`` = that GUID, ``origin_code`` = its internal code then). ``for_copy`` decides;
  ``stamp_sqlite`` / ``stamp_db`` write it into the copy before it is published.
- A dossier keeps its identity when it can be nothing but itself: brought back under its own
  code while no other dossier of the list holds its GUID (a data directory rebuilt from
  backups), or restored over the listed dossier it belongs to.
- A file aimed at a dossier (a PAF to import back, a PTF to apply) must belong to that
  dossier's line: its own GUID or the GUID it was copied from (``line``). Otherwise it is
  refused in words (``WrongDossier``) and nothing is touched.
- Dossiers listed before this rule existed get their identity on first use (``settle``): a copy
  still carrying its original's GUID and code gets its own; nothing else changes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import Busy, WrongDossier


@dataclass(frozen=True)
class Identity:
    """What a dossier's ``dossier_info`` and list record say about who it is."""

    guid: str | None
    code: str
    origin: str | None = None
    origin_code: str | None = None
    is_new: bool = False  # a new GUID given to a copy (not the file's own)

    def fields(self) -> dict[str, Any]:
        """The list record's identity fields."""
        return {"guid": self.guid, "origin": self.origin, "origin_code": self.origin_code}


def new_guid() -> str:
    return str(uuid.uuid4())


def for_copy(
    catalog: Catalog,
    number: str,
    short: str,
    file_guid: str | None,
    file_code: str | None,
    *,
    replacing: Dossier | None = None,
) -> Identity:
    """The identity of a file becoming dossier ``number``/``short`` (restore, import)."""
    code = f"{number}{short}"
    if not file_guid:  # no dossier_info: not an accounting dossier, nothing to stamp
        return Identity(None, code)
    if replacing is not None and replacing.guid and file_guid in (replacing.guid, replacing.origin):
        # an earlier state of the very dossier it replaces (or of the one that dossier was copied from)
        return Identity(replacing.guid, code, replacing.origin, replacing.origin_code)
    held = [d for d in catalog.dossiers() if d.guid == file_guid and d.number != number]
    if not held and file_code == code:
        return Identity(file_guid, code)
    return Identity(new_guid(), code, origin=file_guid, origin_code=file_code, is_new=True)


def read_sqlite(path: Path) -> tuple[str | None, str | None]:
    """(guid, code) of an embedded dossier file; (None, None) without ``dossier_info`` or when
    the file cannot be read (a damaged one: the operation's own read says so in words)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None, None
    try:
        row = conn.execute("SELECT guid, code FROM dossier_info WHERE id = 1").fetchone()
    except (sqlite3.Error, UnicodeDecodeError):  # UnicodeDecodeError: a schema that is not UTF-8
        return None, None
    finally:
        conn.close()
    if not row:
        return None, None
    return (str(row[0]) if row[0] else None, str(row[1]) if row[1] else None)


def stamp_sqlite(path: Path, identity: Identity) -> None:
    """Write ``identity`` (GUID and code) into the ``dossier_info`` of the file at ``path``."""
    if not identity.guid:
        return
    try:
        conn = sqlite3.connect(path, timeout=10)
        try:
            with conn:
                conn.execute("UPDATE dossier_info SET guid = ?, code = ? WHERE id = 1", (identity.guid, identity.code))
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        raise Busy(
            f"The identity of {Path(path).name} cannot be written now ({exc}).",
            "Close the program that has it open, then run this again; nothing was changed.",
        ) from exc


def stamp_db(db: Any, identity: Identity) -> None:
    """Write ``identity`` into ``dossier_info`` through an open ``tables.database.Database`` (any
    backend), inside the caller's transaction (the caller commits)."""
    if not identity.guid:
        return
    p = db.param
    cursor = db.execute(
        f"UPDATE {db.q('dossier_info')} SET {db.q('guid')} = {p}, {db.q('code')} = {p} "  # noqa: S608 - quoted
        f"WHERE {db.q('id')} = 1",
        (identity.guid, identity.code),
    )
    with contextlib.suppress(Exception):
        cursor.close()


def read_db(db: Any) -> tuple[str | None, str | None]:
    """(guid, code) of ``dossier_info`` through an open ``tables.database.Database``."""
    cursor = db.execute(f"SELECT {db.q('guid')}, {db.q('code')} FROM {db.q('dossier_info')}")  # noqa: S608
    row = cursor.fetchone()
    with contextlib.suppress(Exception):
        cursor.close()
    if not row:
        return None, None
    return (str(row[0]) if row[0] else None, str(row[1]) if row[1] else None)


def record(dossier: Dossier, identity: Identity) -> Dossier:
    """``dossier`` (a list record) carrying ``identity``."""
    return replace(dossier, **identity.fields())


def line(dossier: Dossier) -> set[str]:
    """The GUIDs a file aimed at ``dossier`` may carry: its own and the one it was copied from."""
    return {g for g in (dossier.guid, dossier.origin) if g}


def check_line(dossier: Dossier, file_guid: str | None, what: str, owner: str) -> None:
    """Refuse (``WrongDossier``) a file whose GUID is outside ``dossier``'s line."""
    if file_guid and dossier.guid and file_guid not in line(dossier):
        raise WrongDossier(
            f"{what} belongs to dossier {owner}, not to {dossier.code}; {dossier.code} was not touched.",
            f"Choose {owner}, the dossier it belongs to.",
        )


def settle(home: Path, dossier: Dossier) -> Dossier:
    """Give a dossier listed before identities existed its own identity, on first use.

    Embedded dossiers only (a SQL Server database is settled when it is restored or imported
    again). The file's GUID is recorded in the list when missing; a copy still carrying the
    GUID of another listed dossier — and another dossier's code (``001SOC`` inside ``004``) —
    gets a new GUID and the code of its number, its original being kept as its origin.
    """
    if not dossier.is_embedded:
        return dossier
    path = dossier.path(home)
    if not path.is_file():
        return dossier
    file_guid, file_code = read_sqlite(path)
    if not file_guid:
        return dossier
    current = Catalog(home).find(dossier.number)
    if current is None or _settled(Catalog(home), current, file_guid, file_code) is None:
        return current if current is not None and current.location == dossier.location else dossier
    with Catalog(home).locked() as catalog:  # something to change: under the lock, on a fresh reading
        current = catalog.find(dossier.number)
        if current is None or current.location != dossier.location:
            return dossier
        change = _settled(catalog, current, file_guid, file_code)
        if change is None:
            return current
        if change.guid != file_guid:
            stamp_sqlite(path, change)
        return catalog.update(record(current, change))


def _settled(catalog: Catalog, current: Dossier, file_guid: str, file_code: str | None) -> Identity | None:
    """The identity ``current`` must be given (None: it has its own already)."""
    others = [d for d in catalog.dossiers() if d.number != current.number and d.guid == file_guid]
    if others and file_code != current.code:  # a copy carrying its original's GUID and code
        return Identity(new_guid(), current.code, origin=file_guid, origin_code=file_code, is_new=True)
    if current.guid != file_guid:  # listed without (or with a stale) GUID: record the file's
        return Identity(file_guid, file_code or current.code, current.origin, current.origin_code)
    return None


def settle_all(home: Path) -> Catalog:
    """Settle every embedded dossier of the list (``settle``); the list as it is then."""
    for dossier in Catalog(home).dossiers():
        settle(home, dossier)
    return Catalog(home)


def owner_in(catalog: Catalog, guid: str | None) -> Dossier | None:
    """The one dossier of ``catalog`` whose own GUID is ``guid``; without one, the one copy of
    that dossier in the list (its origin is ``guid``)."""
    mine = catalog.by_guid(guid)
    if not mine:
        mine = [d for d in catalog.dossiers() if guid and d.origin == guid]
    return mine[0] if len(mine) == 1 else None


def owner_of(catalog: Catalog, guid: str | None) -> Dossier | None:
    """``owner_in`` the list once its legacy copies are settled."""
    return owner_in(settle_all(catalog.home), guid)
