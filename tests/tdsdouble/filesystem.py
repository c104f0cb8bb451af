"""The server's filesystem as the SQL Server service sees it (real POSIX paths on this host).

Backs ``xp_fileexist``, ``xp_dirtree``, ``xp_create_subdir``, ``xp_fixeddrives``,
``sys.dm_os_enumerate_filesystem`` and ``sys.dm_os_volume_stats``.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import shutil
from pathlib import Path
from typing import Any

from tests.tdsdouble.backupfile import SET_MAGIC
from tests.tdsdouble.instance import Instance
from tests.tdsdouble.messages import Msg, SqlError


def file_exists(path: str) -> tuple[int, int, int]:
    """(File Exists, File is a Directory, Parent Directory Exists) as xp_fileexist answers."""
    p = Path(path)
    return int(p.is_file()), int(p.is_dir()), int(p.parent.is_dir())


def dirtree(path: str, depth: int, files: bool) -> list[tuple[str, int, int]]:
    """(subdirectory, depth, file) rows of xp_dirtree; depth 0 = unlimited."""
    rows: list[tuple[str, int, int]] = []

    def walk(d: Path, level: int) -> None:
        try:
            entries = sorted(d.iterdir(), key=lambda e: e.name)
        except OSError:
            return
        for e in entries:
            if e.is_dir():
                rows.append((e.name, level, 0))
                if depth == 0 or level < depth:
                    walk(e, level + 1)
            elif files:
                rows.append((e.name, level, 1))

    walk(Path(path), 1)
    return rows


ENUMERATE_COLUMNS = [
    ("full_filepath", "NVARCHAR(512)"),
    ("parent_directory", "NVARCHAR(512)"),
    ("file_or_directory_name", "NVARCHAR(256)"),
    ("level", "INT"),
    ("is_directory", "BIT"),
    ("is_read_only", "BIT"),
    ("is_system", "BIT"),
    ("is_hidden", "BIT"),
    ("has_integrity_stream", "BIT"),
    ("is_temporary", "BIT"),
    ("is_sparse", "BIT"),
    ("creation_time", "DATETIME2"),
    ("last_access_time", "DATETIME2"),
    ("last_write_time", "DATETIME2"),
    ("size_in_bytes", "BIGINT"),
]


def enumerate_filesystem(path: str, pattern: str) -> list[tuple[object, ...]]:
    """Rows of sys.dm_os_enumerate_filesystem(path, pattern); OS error 3 when missing."""
    d = Path(path)
    if not d.is_dir():
        raise SqlError(
            Msg(
                3634,
                16,
                "The operating system returned the error "
                "'3(The system cannot find the path specified.)' while attempting "
                f"'FindFirstFile' on '{path}'.",
            )
        )
    rows: list[tuple[object, ...]] = []
    for e in sorted(d.iterdir(), key=lambda e: e.name):
        if not fnmatch.fnmatch(e.name, pattern or "*"):
            continue
        try:
            st = e.stat()
        except OSError:
            continue
        when = dt.datetime.fromtimestamp(st.st_mtime)
        rows.append(
            (
                str(e),
                str(d),
                e.name,
                0,
                int(e.is_dir()),
                int(not os.access(e, os.W_OK)),
                0,
                int(e.name.startswith(".")),
                0,
                0,
                0,
                dt.datetime.fromtimestamp(st.st_ctime),
                dt.datetime.fromtimestamp(st.st_atime),
                when,
                0 if e.is_dir() else st.st_size,
            )
        )
    return rows


VOLUME_COLUMNS = [
    ("database_id", "INT"),
    ("file_id", "INT"),
    ("volume_mount_point", "NVARCHAR(256)"),
    ("volume_id", "NVARCHAR(256)"),
    ("logical_volume_name", "NVARCHAR(256)"),
    ("file_system_type", "NVARCHAR(256)"),
    ("total_bytes", "BIGINT"),
    ("available_bytes", "BIGINT"),
]


def mount_point(path: Path) -> Path:
    p = path.resolve()
    while not p.is_mount():
        p = p.parent
    return p


def volume_stats(
    instance: Instance, database_id: int, file_id: int, seen: dict[str, Any] | None = None
) -> list[tuple[object, ...]]:
    """One row of sys.dm_os_volume_stats; ``seen`` (mount point -> usage) keeps the rows of
    one statement consistent while other processes write to the disk."""
    db = instance.by_id(database_id)
    if db is None:
        return []
    path = db.data_path if file_id == 1 else db.log_path
    mp = mount_point(path.parent)
    seen = {} if seen is None else seen
    usage = seen.setdefault(str(mp), shutil.disk_usage(path.parent))
    free = instance.free_bytes.get(mp, usage.free)
    return [(database_id, file_id, str(mp), str(mp), "", "ext4", usage.total, free)]


def fixed_drives(instance: Instance) -> list[tuple[str, int]]:
    """(drive, MB free): one row per mount point holding the instance's default directories."""
    seen: dict[str, int] = {}
    for d in (instance.data_dir, instance.log_dir, instance.backup_dir):
        mp = mount_point(d)
        free = instance.free_bytes.get(mp, shutil.disk_usage(d).free)
        seen.setdefault(str(mp), free // (1024 * 1024))
    return list(seen.items())


def create_subdir(instance: Instance, path: str) -> None:
    p = Path(path)
    existing = p
    while not existing.exists():
        existing = existing.parent
    if instance.is_denied(existing) or instance.is_denied(p):
        raise SqlError(Msg(22048, 16, "xp_create_subdir() returned error 5, 'Access is denied.'"))
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SqlError(
            Msg(22048, 16, f"xp_create_subdir() returned error {exc.errno}, '{exc.strerror}'")
        ) from exc


def delete_backup_file(instance: Instance, path: str) -> None:
    """What ``xp_delete_file 0, N'path'`` does to one file (see procs._delete_file)."""
    p = Path(path)
    if not p.is_file():
        return
    if instance.is_denied(p):
        raise SqlError(Msg(22049, 16, "xp_delete_file() returned error 5, 'Access is denied.'"))
    try:
        with open(p, "rb") as f:
            if f.read(len(SET_MAGIC)) != SET_MAGIC:
                return  # not a SQL Server backup: left alone
        p.unlink()
    except OSError as exc:
        raise SqlError(
            Msg(22049, 16, f"xp_delete_file() returned error {exc.errno}, '{exc.strerror}'")
        ) from exc
