"""One automatic run at a time: the OS-level run lock (``Busy`` when another run holds it)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from msde_tui.engine.auto.records import (
    AUTO_DIR,
    local_now,
)
from msde_tui.engine.errors import Busy
from msde_tui.osdep import ExclusiveLock, LockBusy

LOCK_FILE = "auto.lock"


# ----------------------------------------------------------------------------- lock


class RunLock:
    """An OS-level exclusive lock on ``<home>/auto/auto.lock`` (``osdep.ExclusiveLock``).

    The OS releases it when the process ends, even after a crash or a kill, so a stale lock file
    never blocks later runs. The file itself stays (removing it would race with other runs).
    Who holds it is written beside, in ``auto.lock.holder`` (a locked file cannot be read by
    others on Windows).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = ExclusiveLock(self.path)

    @classmethod
    def for_home(cls, home: Path) -> RunLock:
        return cls(Path(home) / AUTO_DIR / LOCK_FILE)

    @property
    def holder_file(self) -> Path:
        return self.path.with_name(self.path.name + ".holder")

    def holder(self) -> str:
        try:
            text = self.holder_file.read_text(encoding="utf-8", errors="replace").strip("\x00 \n")
        except OSError:
            return ""
        return text

    def acquire(self) -> None:
        try:
            self._lock.acquire()
        except LockBusy as exc:
            who = self.holder()
            raise Busy(
                "Another 'msde auto' run is in progress" + (f" ({who})." if who else "."),
                "Wait for it to finish; runs never overlap. If no run is active, another program "
                f"holds {self.path}.",
            ) from exc
        try:
            self.holder_file.write_text(
                f"pid {os.getpid()}, started {local_now().isoformat(sep=' ')}\n", encoding="utf-8"
            )
        except OSError:
            pass  # the lock is what matters; the note only helps the message

    def release(self) -> None:
        if not self._lock.held:
            return
        with contextlib.suppress(OSError):
            self.holder_file.write_text("", encoding="utf-8")
        self._lock.release()

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
