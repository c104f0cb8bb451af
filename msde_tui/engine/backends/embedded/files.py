"""Small file helpers of the embedded backend: URIs, checks of files and directories, names."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from msde_tui.engine.errors import (
    BadInput,
    DiskFull,
    DossierDamaged,
    DossierExists,
    DossierNotFound,
)
from msde_tui.engine.proof import proof_path

SQLITE_HEADER = b"SQLite format 3\x00"


def sqlite_uri(path: Path, mode: str) -> str:
    uri = Path(path).resolve().as_uri()
    return f"{uri}?mode=ro&immutable=1" if mode == "immutable" else f"{uri}?mode={mode}"


def is_disk_full(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "disk is full" in text or "no space left" in text or getattr(exc, "errno", None) == 28


def disk_full_error(where: Path) -> DiskFull:
    return DiskFull(
        f"There is not enough free space in {where}.",
        "Free some space there or choose another directory; nothing was changed.",
    )


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def remove_files(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            Path(path).unlink(missing_ok=True)


def sqlite_siblings(path: Path) -> tuple[Path, Path, Path]:
    return (Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal"))


def check_sqlite_file(path: Path, what: str) -> None:
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError as exc:
        raise DossierNotFound(
            f"The file of {what} ({path}) is missing.",
            "Check the data directory, or remove the dossier from the list with 'msde remove'.",
        ) from exc
    except OSError as exc:
        raise DossierDamaged(f"The file of {what} ({path}) cannot be read ({exc.strerror}).") from exc
    if header != SQLITE_HEADER:
        raise DossierDamaged(
            f"The file of {what} ({path}) is not a SQLite database.",
            "Restore the dossier from a backup.",
        )


def check_target_dir(directory: Path, needed: int) -> None:
    if not directory.exists():
        raise BadInput(
            f"The directory {directory} does not exist.",
            "Create it first or choose another directory.",
        )
    if not directory.is_dir():
        raise BadInput(f"{directory} is not a directory.", "Choose a directory.")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BadInput(
            f"This user cannot write in {directory}.",
            "Choose a directory you can write to, or fix its permissions.",
        )
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise DiskFull(
            f"{directory} has {free // 2**20} MB free; the backup needs about {needed // 2**20 + 1} MB.",
            "Free some space there or choose another directory; nothing was changed.",
        )


def free_name(directory: Path, name: str) -> Path:
    """``name`` in ``directory``, or ``stem_2.ext``... when it (or its proof) is taken."""
    candidate = directory / name
    if not os.path.lexists(candidate) and not os.path.lexists(proof_path(candidate)):
        return candidate
    stem, dot, ext = name.partition(".")
    for n in range(2, 1000):
        candidate = directory / f"{stem}_{n}{dot}{ext}"
        if not os.path.lexists(candidate) and not os.path.lexists(proof_path(candidate)):
            return candidate
    raise DossierExists(f"Too many backups named {name} in {directory}.", "Clean up the directory.")

