"""Write files so that a crash leaves either the old content or the new, never a mix.

The creating and publishing primitives live with the packed-file format
(``msde_tui.packfmt.files``, which needs them and stands alone); they are re-exported here.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from msde_tui import osdep
from msde_tui.engine.errors import BadPath, DiskFull, MsdeError, UnsafePath
from msde_tui.packfmt import files as _files
from msde_tui.packfmt.files import (
    aside,
    create_exclusive,
    fsync_dir,
    fsync_file,
    is_disk_full,
    open_exclusive,
    publish_new,
    remove_staging,
    replace_file,
    staging_dir,
    touch_exclusive,
    write_error,
)

_files.set_process_probe(osdep.pid_alive)  # stale staging directories: whose process is gone

__all__ = [
    "aside",
    "copy_hashed",
    "create_exclusive",
    "fsync_dir",
    "fsync_file",
    "is_disk_full",
    "os_problem",
    "open_exclusive",
    "publish_file",
    "publish_new",
    "remove_staging",
    "remove_sqlite",
    "replace_file",
    "staging_dir",
    "touch_exclusive",
    "write_atomic",
    "write_error",
]


def publish_file(tmp: Path, final: Path) -> None:
    """Give a file built aside (often with syncing off, for speed) its final name: its bytes
    reach the disk before the name does, and the name before this returns, so a crash or a
    power cut leaves the old state or the whole new file, never a named half-file. The final
    name must be free: an existing file or link there is refused, never replaced or followed."""
    publish_new(tmp, final)


COPY_CHUNK = 1024 * 1024


def copy_hashed(
    source: Path,
    target: Path,
    *,
    progress: Callable[[int], None] | None = None,
    check: Callable[[], None] | None = None,
    mode: int = 0o600,
) -> tuple[str, int]:
    """Copy ``source`` into the new file ``target`` (created exclusively, never through a link,
    synced before this returns); (SHA-256, size) of the bytes copied, hashed as they pass.

    ``progress(bytes_done)`` after each chunk; ``check()`` before each, raising to stop (the
    partial ``target`` is then the caller's to remove, as on any error).
    """
    digest, size = hashlib.sha256(), 0
    with open(source, "rb") as src, open_exclusive(target, mode) as dst:
        while chunk := src.read(COPY_CHUNK):
            if check is not None:
                check()
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
            if progress is not None:
                progress(size)
        dst.flush()
        os.fsync(dst.fileno())
    return digest.hexdigest(), size


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a new, exclusively created file in the same directory
    + rename. A link at ``path`` is refused, never followed or replaced."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.urandom(8).hex()}.tmp")
    try:
        with open_exclusive(tmp) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        replace_file(tmp, path, sync=False, rename=osdep.replace_file)  # retried on Windows
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_sqlite(path: Path) -> None:
    """Remove an SQLite file and what SQLite keeps beside it (-wal, -shm, -journal)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def os_problem(exc: BaseException) -> MsdeError | None:
    """A plain-words error for a system error that escaped an operation (a data directory that
    is a file, a read-only or full disk...), naming the path involved; None if it is not one."""
    import errno
    import sqlite3

    if is_disk_full(exc):
        full = Path(getattr(exc, "filename", None) or ".")
        return DiskFull(
            f"There is not enough free space to write {full}." if full != Path(".") else
            "There is not enough free space on the disk being written.",
            "Free some space there or choose another directory; nothing was kept half-written.",
        )
    if isinstance(exc, sqlite3.Error) and "readonly" in str(exc).replace("-", "").replace(" ", ""):
        return UnsafePath("A database could not be written: it or its directory is read-only.",
                          "Check the permissions of the data directory, or choose another one.")
    if not isinstance(exc, OSError):
        return None
    where = str(exc.filename or "a file")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return UnsafePath(f"Cannot write {where}: {exc.strerror or 'permission denied'}.",
                          "Choose a directory this user can write to (--dir, --home or MSDE_HOME), "
                          "or fix its permissions.",
                          wizard_hint="Choose a directory you can write to, or fix its permissions.")
    if exc.errno in (errno.ENOTDIR, errno.ENOENT, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP):
        return BadPath(f"Cannot use {where}: {exc.strerror}.",
                       "Check the path (--dir, --home or MSDE_HOME): a directory is needed there.",
                       wizard_hint="Check the path: a directory is needed there.")
    return UnsafePath(f"Cannot read or write {where}: {exc.strerror or exc}.",
                      "Check the disk and the permissions, then run it again.")
