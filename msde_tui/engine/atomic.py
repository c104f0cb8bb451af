"""Write files so that a crash leaves either the old content or the new, never a mix."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from msde_tui.osdep import replace_file


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
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def publish_file(tmp: Path, final: Path) -> None:
    """Give a file built aside (often with syncing off, for speed) its final name: its bytes
    reach the disk before the name does, and the name before this returns, so a crash or a
    power cut leaves the old state or the whole new file, never a named half-file."""
    fsync_file(tmp)
    replace_file(tmp, final)
    fsync_dir(Path(final).parent)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory + rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        replace_file(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
