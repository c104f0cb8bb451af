"""Everything that differs between POSIX and Windows, behind one small interface.

The rest of msde never tests ``os.name`` or ``sys.platform`` and never imports ``fcntl``,
``msvcrt``, ``pwd``, ``grp`` or ``termios`` (tests/unit/test_os_layer.py enforces it): it calls the
functions below. ``posix.py`` and ``windows.py`` hold one side each; both import on any
system (a Windows-only call is made inside the function that needs it), so the tests check
the Windows side here through its inputs and outputs: the command lines, the creation flags,
the console decisions.

What is the same everywhere also lives here, on well-kept libraries: whether a process is
alive (psutil) and an exclusive lock file (filelock: ``flock`` on POSIX, ``LockFileEx`` /
``msvcrt.locking`` on Windows, released by the OS when the process dies).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from msde_tui.osdep import posix, windows
from msde_tui.osdep.common import ConsoleProfile, TaskState

__all__ = [
    "SIDE", "ConsoleProfile", "ExclusiveLock", "LockBusy", "TaskState",
    "console_profile", "current_account", "executable_name", "ignore_hangup", "make_private",
    "on_stop_request", "pid_alive", "prepare_console_streams", "replace_file", "request_stop",
    "reuse_large_blocks",
    "spawn_detached",
    "HAS_TASK_SCHEDULER", "create_task_command", "register_task", "task_state", "remove_task",
]

_side = windows if os.name == "nt" else posix

SIDE: str = _side.NAME
spawn_detached = _side.spawn_detached
request_stop = _side.request_stop
on_stop_request = _side.on_stop_request
ignore_hangup = _side.ignore_hangup
make_private = _side.make_private
replace_file = _side.replace_file
executable_name = _side.executable_name
current_account = _side.current_account
console_profile = _side.console_profile
prepare_console_streams = _side.prepare_console_streams
reuse_large_blocks = _side.reuse_large_blocks
HAS_TASK_SCHEDULER: bool = _side.HAS_TASK_SCHEDULER
register_task = windows.register_task
create_task_command = windows.create_task_command
task_state = windows.task_state
remove_task = windows.remove_task


def pid_alive(pid: int, *, started_by: float | None = None) -> bool:
    """Whether process ``pid`` runs (a zombie counts as dead).

    ``started_by``: a time (``time.time()`` scale) the process we mean had certainly started
    by, e.g. when its pid file was written; a process with that number started later is
    another one that reused the number (Windows reuses them quickly).
    """
    if pid <= 0:  # a damaged pid file: 0 and negative numbers name no runner
        return False
    import psutil  # here, not at the top: ``msde list``/``log`` and ``--help`` never need it

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        if started_by is not None and process.create_time() > started_by + 2.0:
            return False
        return True
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's process: it exists
        return True


class LockBusy(Exception):
    """The lock is held by another process (or another handle of this one)."""


class ExclusiveLock:
    """An exclusive, non-blocking lock on ``path`` that the OS frees when the process ends.

    The lock file itself stays (removing it would race with the next holder); what the holder
    wants others to read goes into a file of its own (``note``), since on Windows a locked
    range cannot be read by anyone else.
    """

    def __init__(self, path: Path) -> None:
        import filelock  # here, not at the top: ``msde list``/``log`` and ``--help`` never lock

        self.path = Path(path)
        self._lock = filelock.FileLock(str(self.path), timeout=0, thread_local=False)

    def acquire(self) -> None:
        from filelock import Timeout

        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout as exc:
            raise LockBusy(str(self.path)) from exc

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)

    @property
    def held(self) -> bool:
        return bool(self._lock.is_locked)

    def __enter__(self) -> ExclusiveLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
