"""Small file helpers of the embedded backend: URIs, checks of files and directories, names."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from msde_tui.engine.atomic import fsync_dir, remove_staging, staging_dir
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


def disk_full_error(where: Path) -> DiskFull:
    return DiskFull(
        f"There is not enough free space in {where}.",
        "Free some space there or choose another directory; nothing was changed.",
    )


class DirSyncs:
    """Directory syncs shared by the threads that publish into the same directory (group commit).

    A directory sync makes durable every name created in that directory before it started. A
    thread that has just created its names calls ``sync``: it returns once a sync that started
    after the call has finished, running one itself when none is running. Dossiers published at
    the same moment share one sync instead of queueing one each.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._dirs: dict[str, _DirState] = {}

    def sync(self, directory: Path) -> None:
        with self._guard:
            state = self._dirs.setdefault(os.path.abspath(directory), _DirState())
        with state.cond:
            state.asked += 1
            ticket = state.asked
            while state.done < ticket:
                if state.running:
                    state.cond.wait()
                    continue
                state.running = True
                covers = state.asked  # every name created before this sync starts
                state.cond.release()
                synced = False
                try:
                    fsync_dir(Path(directory))
                    synced = True
                finally:
                    state.cond.acquire()
                    state.running = False
                    if synced:
                        state.done = max(state.done, covers)
                    state.cond.notify_all()


@dataclass
class _DirState:
    cond: threading.Condition = field(default_factory=threading.Condition)
    asked: int = 0  # syncs asked for so far (each after its caller's names were created)
    done: int = 0  # every ask up to this one is covered by a finished sync
    running: bool = False


DIR_SYNCS = DirSyncs()


class SharedStaging:
    """One private staging directory per target directory for the copies written there at once.

    A copy is built under a name nobody else can reach (``staging_dir``: 0700, random name,
    created exclusively) before it is published. Dossiers backed up into the same directory at
    the same time share that directory: it is made (and the directory listed for stale ones
    left by a killed run) when the first of them starts and removed when the last one ends,
    instead of once per dossier — a directory of thousands of backups was listed, and a
    directory made and removed, for every dossier. Each user removes its own files from it.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held: dict[str, tuple[Path, int]] = {}  # target directory -> (staging, users)

    @contextlib.contextmanager
    def use(self, directory: Path) -> Iterator[Path]:
        key = os.path.abspath(directory)
        with self._guard:
            staging, users = self._held.get(key) or (staging_dir(Path(directory)), 0)
            self._held[key] = (staging, users + 1)
        try:
            yield staging
        finally:
            with self._guard:
                staging, users = self._held[key]
                if users > 1:
                    self._held[key] = (staging, users - 1)
                else:
                    del self._held[key]
                    remove_staging(staging)


STAGING = SharedStaging()


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

