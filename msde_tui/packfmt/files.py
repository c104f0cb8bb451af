"""Create and publish files in directories other people may write to (docs/FORMAT.md section 9).

A backup folder is often shared. Whoever can write there can plant a link named like the
file msde is about to write, hoping msde (often run as an administrator) follows it and
overwrites another file. So every file msde builds is created here:

- in a private staging directory (``mkdtemp``: a random name, mode 0700, created exclusively)
  made in the target directory, so that the final rename stays on one filesystem;
- each file in it opened with ``O_CREAT | O_EXCL | O_NOFOLLOW`` (a name already there, or a
  link, is refused, never followed or truncated);
- published under its final name by ``publish_new``: a hard link, which fails when the name
  exists (a link included) and never follows one, then the staging name is removed. Where
  hard links are not possible, the name is checked with ``lstat`` and the file renamed.

The engine uses these helpers too (``msde_tui.engine.atomic`` re-exports them).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from msde_tui.packfmt.errors import DiskFull, MsdeError, UnsafePath

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NO_LINK = {errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK}


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """Push a finished file's bytes to the disk (before it is renamed into place)."""
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY | _CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_disk_full(exc: BaseException | None) -> bool:
    """ENOSPC or EDQUOT, also when only the text says so (Arrow, SQLite)."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(exc).lower()
        if "no space left" in text or "disk is full" in text or "disk quota" in text or any(
            f"[errno {n}]" in text for n in (errno.ENOSPC, errno.EDQUOT)
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def write_error(exc: BaseException, path: Path) -> MsdeError:
    """The plain-words error for a failed write of ``path`` (disk full, permissions, other)."""
    path = Path(path)
    if is_disk_full(exc):
        return DiskFull(
            f"There is not enough free space in {path.parent} to write {path.name}.",
            "Free some space there or choose another directory; nothing was written.",
        )
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return UnsafePath(
            f"Cannot write in {path.parent} ({exc.strerror}).",
            "Choose a directory you can write to, or fix its permissions; nothing was written.",
        )
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return UnsafePath(f"Cannot write {path} ({reason}).", "Check the directory and its permissions.")


_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:24] or "host"
_STAGING_RE = re.compile(r"\.msde-(?:pack-)?(?P<host>[A-Za-z0-9]+)-(?P<pid>[0-9]+)-[A-Za-z0-9_]+")


def staging_dir(directory: Path, prefix: str = ".msde-") -> Path:
    """A private directory (0700, random name, created exclusively) inside ``directory``,
    named after this host and process so that a later run can remove it if it was killed."""
    remove_stale_staging(directory)
    try:
        return Path(tempfile.mkdtemp(prefix=f"{prefix}{_HOST}-{os.getpid()}-", dir=directory))
    except OSError as exc:
        raise write_error(exc, Path(directory) / prefix) from exc


_process_alive: Callable[[int], bool] | None = None
_UID = getattr(os, "getuid", lambda: 0)()  # Windows has no uids (st_uid is 0 there)


def set_process_probe(probe: Callable[[int], bool] | None) -> None:
    """How to tell whether a process of this host still runs (the program using this package
    knows its OS; msde gives its OS layer's). Without one, no staging directory is removed."""
    global _process_alive
    _process_alive = probe


def remove_stale_staging(directory: Path) -> list[str]:
    """Remove the staging directories a killed msde of this host and this user left in
    ``directory`` (its process is gone, by the probe ``set_process_probe`` gave); return their
    names. Without a probe nothing is removed."""
    alive = _process_alive
    if alive is None:
        return []
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        match = _STAGING_RE.fullmatch(entry.name)
        if match is None or match["host"] != _HOST or int(match["pid"]) == os.getpid():
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_uid != _UID:
                continue
        except OSError:
            continue
        if not alive(int(match["pid"])):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
    return removed


def remove_staging(directory: Path | None) -> None:
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)


def create_exclusive(path: Path, mode: int = 0o600) -> int:
    """Open a new file for writing: refused if the name exists or is a link (never followed)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY | _CLOEXEC
    try:
        return os.open(path, flags, mode)
    except FileExistsError as exc:
        raise UnsafePath(
            f"{path} already exists (a file or a link put there by someone else).",
            "Remove it or choose another directory; msde never writes through an existing name.",
        ) from exc


def open_exclusive(path: Path, mode: int = 0o600) -> BinaryIO:
    """``create_exclusive`` as a binary file object."""
    return os.fdopen(create_exclusive(path, mode), "wb")


def touch_exclusive(path: Path, mode: int = 0o600) -> Path:
    """Create ``path`` empty and exclusively (before SQLite, which cannot be given O_EXCL, opens it)."""
    os.close(create_exclusive(path, mode))
    return path


def _taken(final: Path) -> UnsafePath:
    return UnsafePath(
        f"{final} already exists (a file or a link).",
        "Remove it or choose another directory; msde never replaces or follows an existing name.",
    )


def publish_new(tmp: Path, final: Path, *, sync: bool = True, sync_dir: bool = True) -> None:
    """Give ``tmp`` the name ``final``, which must not exist (not even as a dangling link).

    Bytes reach the disk before the name does, and the name before this returns — unless
    ``sync_dir`` is False: then the caller syncs the directory itself (one sync for several
    names published together, e.g. a backup then its proof). An error means not published:
    a step failing once ``final`` exists (removing ``tmp``, syncing the directory) takes the
    name away again before the error goes up, so no caller leaves a file it reports as not made.
    """
    tmp, final = Path(tmp), Path(final)
    if sync:
        fsync_file(tmp)
    try:
        os.link(tmp, final)  # link(2) fails on an existing name and never follows ``final``
    except FileExistsError as exc:
        raise _taken(final) from exc
    except (OSError, NotImplementedError) as exc:
        if isinstance(exc, OSError) and exc.errno not in _NO_LINK:
            raise
        if os.path.lexists(final):  # no hard links here (some network shares): check, then rename
            raise _taken(final) from exc
        os.replace(tmp, final)
        linked = False
    else:
        linked = True
    try:
        if linked:
            os.unlink(tmp)
        if sync_dir:
            fsync_dir(final.parent)
    except BaseException:
        with contextlib.suppress(OSError):  # the bytes go back under ``tmp``, for the caller's clean-up
            if os.path.lexists(tmp):
                os.unlink(final)
            else:
                os.replace(final, tmp)
        raise


def replace_file(tmp: Path, final: Path, *, sync: bool = True,
                 rename: Callable[[Path, Path], None] = os.replace) -> None:
    """Give ``tmp`` the name ``final``, replacing a regular file there but never a link.
    ``rename`` is ``os.replace`` unless the caller knows better (Windows retries while a
    reader holds ``final`` open: the engine passes its OS layer's)."""
    tmp, final = Path(tmp), Path(final)
    if final.is_symlink():
        raise UnsafePath(
            f"{final} is a link; msde does not write through links.",
            "Replace the link by the file itself, or remove it.",
        )
    if sync:
        fsync_file(tmp)
    rename(tmp, final)
    fsync_dir(final.parent)


@contextmanager
def aside(final: Path, *, create: bool = True) -> Iterator[Path]:
    """A new, empty file (created exclusively) in a private staging directory next to ``final``,
    for a builder that needs a path (SQLite); the staging directory and whatever the builder
    left in it (journals, a file never published) are removed on exit."""
    final = Path(final)
    directory = staging_dir(final.parent)
    try:
        tmp = directory / final.name
        if create:
            touch_exclusive(tmp)
        yield tmp
    finally:
        remove_staging(directory)
