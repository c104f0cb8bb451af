"""The POSIX side of the OS layer (Linux, macOS, the BSDs)."""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msde_tui.osdep.common import ConsoleProfile

if TYPE_CHECKING:  # asyncio loads with the event loop that needs it, not with the CLI
    import asyncio

NAME = "posix"
HAS_TASK_SCHEDULER = False
# Consoles whose fonts draw box glyphs badly, or that show no colour at all.
ASCII_TERMS = ("linux", "vt100", "vt220", "dumb")
COLORLESS_TERMS = ("dumb",)

Popen = Callable[..., "subprocess.Popen[bytes]"]


def detach_kwargs() -> dict[str, Any]:
    """How a job runner leaves the terminal: a new session, so the terminal's hang-up and
    Ctrl+C never reach it."""
    return {"start_new_session": True}


def spawn_detached(
    command: Sequence[str], *, popen: Popen = subprocess.Popen, **kwargs: Any
) -> subprocess.Popen[bytes]:
    return popen(list(command), **detach_kwargs(), **kwargs)


def request_stop(pid: int) -> bool:
    """Ask a job runner to stop now (SIGTERM); it also watches its ``cancel`` file."""
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return False
    return True


def on_stop_request(loop: asyncio.AbstractEventLoop, stop: Callable[[], object]) -> None:
    """In a job runner: SIGTERM calls ``stop``; a hang-up of the old terminal is ignored."""
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGTERM, stop)
        loop.add_signal_handler(signal.SIGHUP, lambda: None)


def ignore_hangup() -> None:
    """The terminal going away is no reason for a detached runner to stop."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def replace_file(source: Path | str, target: Path | str) -> None:
    """Atomic rename over ``target`` (readers keep the old file open: no conflict on POSIX)."""
    os.replace(source, target)


def make_private(path: Path) -> None:
    """Readable and writable by its owner only (mode 600)."""
    os.chmod(path, 0o600)


def executable_name(name: str) -> str:
    """The file name of a console script installed beside the interpreter."""
    return name


def current_account() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers: the uid says who
        return str(os.getuid())


def console_profile(environ: Mapping[str, str]) -> ConsoleProfile:
    term = environ.get("TERM", "")
    return ConsoleProfile(
        name=f"TERM={term}" if term else "terminal",
        ascii_borders=term in ASCII_TERMS,
        colors_off=term in COLORLESS_TERMS,
    )


def prepare_console_streams() -> None:
    """Nothing to do: POSIX terminals and pipes take the locale's encoding (UTF-8)."""


# glibc's mallopt parameters (<malloc.h>)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks up to this size come from the heap and are reused once freed (an in-memory backup
# copy is at most 8 MB, held twice: SQLite's image and Python's bytes) ...
REUSED_BLOCK_MAX = 32 * 2**20
# ... and the heap keeps up to this much free memory at its top instead of handing it back.
KEPT_FREE_MAX = 64 * 2**20
_tuned: bool | None = None


def reuse_large_blocks() -> bool:
    """Let glibc's malloc reuse the few-megabyte blocks a backup allocates and frees per dossier.

    By default glibc maps each block of more than 128 KiB afresh and unmaps it when freed,
    or hands freed heap memory back to the system: every dossier's in-memory copy then
    faults in its pages again (~2 ms of kernel time per 2 MB dossier, a tenth of a
    many-dossier backup's CPU; bench/RESULTS.md). Raising both thresholds keeps them for
    the next dossier, at the price of the process keeping up to ``KEPT_FREE_MAX`` free per
    malloc arena. Once per process; False where the C library is not glibc (nothing to do).
    """
    global _tuned
    if _tuned is None:
        _tuned = False
        try:
            glibc = bool(os.confstr("CS_GNU_LIBC_VERSION"))
        except (ValueError, OSError):
            glibc = False
        if glibc:
            import ctypes

            try:
                libc = ctypes.CDLL(None)
                _tuned = bool(libc.mallopt(_M_MMAP_THRESHOLD, REUSED_BLOCK_MAX)) and bool(
                    libc.mallopt(_M_TRIM_THRESHOLD, KEPT_FREE_MAX))
            except (OSError, AttributeError):
                _tuned = False
    return _tuned
