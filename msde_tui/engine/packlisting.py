"""The packed files, export copies and cut files found in a directory, read without a passphrase.

What the import screens list (``FileEntry``): the dossier each file holds, when it was made, its
size, whether it is encrypted, and why it cannot be read. Reading never changes a file.
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from msde_tui.engine import export_copy, naming, pack
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.errors import MsdeError


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
    problem: str = ""  # why it cannot be read ("" = readable)
    listed_as: str = ""  # already in the dossier list as this code


def _manifest(path: Path) -> dict[str, Any] | None:
    try:
        with zipfile.ZipFile(path) as zf:
            value = json.loads(zf.read("manifest.json"))
    except Exception:  # noqa: BLE001 - the reader says what is wrong, in package_info below
        return None
    return value if isinstance(value, dict) else None


def is_encrypted(path: Path) -> bool:
    """Whether a packed file says it is encrypted (read without a passphrase; False if unreadable)."""
    manifest = _manifest(path)
    return manifest is not None and isinstance(manifest.get("encryption"), dict)


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
        manifest = _manifest(path)
        if manifest is not None and isinstance(manifest.get("encryption"), dict):  # see is_encrypted
            found.append(FileEntry(path, code, "", _created(manifest.get("created_at")) or when,
                                   size, encrypted=True))
            continue
        try:
            info = pack.package_info(path, verify=False)
        except MsdeError as exc:
            found.append(FileEntry(path, code, "", when, size, problem=exc.message))
            continue
        ident = info.get("dossier") or {}
        found.append(FileEntry(
            path,
            str(ident.get("code") or code),
            str(ident.get("company") or ""),
            _created(info.get("created_at")) or when,
            size,
            guid=ident.get("guid"),
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
            if not pack.is_cut_file(path):
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
