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
