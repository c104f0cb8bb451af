"""The packed files, export copies and cut files found in a directory, read without a passphrase.

What the import screens list (``FileEntry``): the dossier each file holds, when it was made, its
size, whether it is encrypted, and why it cannot be read. Reading never changes a file.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from msde_tui.engine import naming
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.errors import MsdeError
from msde_tui.engine.packs import cutimport, export_copy, packinfo


@dataclass(frozen=True)
class FileEntry:
    """A file offered for import: what it holds, in the words of the list."""

    path: Path
    code: str
    company: str
    when: datetime | None
    size: int
    encrypted: bool = False
    guid: str | None = None
    base: str | None = None  # PTF: the package id it follows
    problem: str = ""  # why it cannot be read ("" = readable)
    listed_as: str = ""  # already in the dossier list as this code


def is_encrypted(path: Path) -> bool:
    """Whether a packed file says it is encrypted (read without a passphrase through the one
    reader; False if unreadable: the operation's own read then says what is wrong)."""
    try:
        return bool(packinfo.package_header(path)["encrypted"])
    except MsdeError:
        return False


def _created(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)).replace(tzinfo=None)
    except ValueError:
        return None


def packed_entries(directory: Path, kind: str) -> list[FileEntry]:
    """The ``.pbf`` or ``.ptf`` files of ``directory``, newest first, read without a passphrase."""
    suffix = f".{kind.lower()}"
    found: list[FileEntry] = []
    for path in sorted(directory.glob(f"*{suffix}")) if directory.is_dir() else []:
        if not path.is_file():
            continue
        size = path.stat().st_size
        parsed = naming.parse_packed_file_name(path.name)
        code = parsed[0].code if parsed else path.stem
        when = parsed[1] if parsed else datetime.fromtimestamp(path.stat().st_mtime)
        try:
            info = packinfo.package_header(path)  # the one reader: bounded, schema-checked
        except MsdeError as exc:
            found.append(FileEntry(path, code, "", when, size, problem=exc.message))
            continue
        if info["encrypted"]:
            found.append(FileEntry(path, code, "", _created(info.get("created_at")) or when,
                                   size, encrypted=True))
            continue
        ident = info.get("dossier") or {}
        found.append(FileEntry(
            path,
            str(ident.get("code") or code),
            str(ident.get("company") or ""),
            _created(info.get("created_at")) or when,
            size,
            guid=ident.get("guid"),
            base=info.get("base_package"),
        ))
    return sorted(found, key=lambda e: (e.when or datetime.min, e.path.name), reverse=True)


def _sqlite_identity(path: Path) -> tuple[str | None, str, str]:
    """(guid, company, problem) of an embedded dossier file, read-only."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT guid, company FROM dossier_info").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return None, "", str(exc)
    if not row:
        return None, "", "no dossier information"
    return (str(row[0]) if row[0] else None), str(row[1] or ""), ""


def sqlite_entries(directory: Path, home: Path, kind: str) -> list[FileEntry]:
    """Export copies (``kind="copy"``, E001SOC.sqlite) or cut files (``"cut"``) of ``directory``."""
    listed = {
        (home / d.location).resolve(): d.code for d in Catalog(home).dossiers() if d.is_embedded
    }
    found: list[FileEntry] = []
    for path in sorted(directory.glob("*.sqlite")) if directory.is_dir() else []:
        stem = path.name.removesuffix(".sqlite")
        if kind == "cut":
            if not cutimport.is_cut_file(path):
                continue
            code = stem
        else:
            base = naming.base_of_export(stem)
            if base is None or not naming.CODE_RE.match(base):
                continue
            code = stem
        if not export_copy.is_sqlite_file(path):
            continue
        guid, company, problem = _sqlite_identity(path)
        stat = path.stat()
        found.append(FileEntry(
            path, code, company, datetime.fromtimestamp(stat.st_mtime), stat.st_size,
            guid=guid, problem=problem, listed_as=listed.get(path.resolve(), ""),
        ))
    return found
