"""The Windows side of the OS layer (Windows 10 / Server 2016 and later).

It imports on any system: what only Windows has (``ctypes.windll``, the ``oem`` codec,
``schtasks.exe``, ``icacls.exe``) is reached inside the function that needs it, and every
decision is a pure function of its inputs (flags, command lines, environment) so that the
tests check it on a development machine without Windows.
"""

from __future__ import annotations

import codecs
import getpass
import locale
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msde_tui.engine.errors import SchedulerFailed
from msde_tui.osdep import posix
from msde_tui.osdep.common import ConsoleProfile, TaskState

if TYPE_CHECKING:  # asyncio loads with the event loop that needs it, not with the CLI
    import asyncio

NAME = "windows"
HAS_TASK_SCHEDULER = True

# Process creation flags (WinBase.h; subprocess exposes them only on Windows).
DETACHED_PROCESS = 0x00000008  # no console: closing the console window does not end it
CREATE_NEW_PROCESS_GROUP = 0x00000200  # Ctrl+C / Ctrl+Break of the console do not reach it
CREATE_BREAKAWAY_FROM_JOB = 0x01000000  # outside the job object of an SSH or RDP session
ERROR_ACCESS_DENIED = 5

# Well-known SIDs kept on a private file: LocalSystem and the Administrators group.
SYSTEM_SID = "S-1-5-18"
ADMINISTRATORS_SID = "S-1-5-32-544"

Popen = Callable[..., "subprocess.Popen[bytes]"]
Run = Callable[..., "subprocess.CompletedProcess[bytes]"]


# ----------------------------------------------------------------------------- detached jobs


def detach_flags(*, breakaway: bool = True) -> int:
    """The creation flags of a job runner.

    Windows' OpenSSH server and some remote-desktop setups put a session's processes in a job
    object that is closed, with every process in it, when the session ends; breaking away
    keeps the runner alive. A job that forbids breaking away refuses the whole creation
    (ERROR_ACCESS_DENIED): ``spawn_detached`` then starts it without that flag.
    """
    flags = DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP
    return flags | CREATE_BREAKAWAY_FROM_JOB if breakaway else flags


def spawn_detached(
    command: Sequence[str], *, popen: Popen = subprocess.Popen, **kwargs: Any
) -> subprocess.Popen[bytes]:
    try:
        return popen(list(command), creationflags=detach_flags(breakaway=True), **kwargs)
    except PermissionError:
        return popen(list(command), creationflags=detach_flags(breakaway=False), **kwargs)
    except OSError as exc:
        if getattr(exc, "winerror", None) != ERROR_ACCESS_DENIED:
            raise
        return popen(list(command), creationflags=detach_flags(breakaway=False), **kwargs)


def request_stop(pid: int) -> bool:
    """No signal reaches a detached process without a console: the runner watches its
    ``cancel`` file (twice a second) and stops at the next safe point."""
    return False


def on_stop_request(loop: asyncio.AbstractEventLoop, stop: Callable[[], object]) -> None:
    """Nothing to install: see ``request_stop``."""


def ignore_hangup() -> None:
    """A detached process has no console whose closing could end it."""


# ----------------------------------------------------------------------------- files

REPLACE_ATTEMPTS = 50
REPLACE_PAUSE_S = 0.1


def replace_file(
    source: Path | str,
    target: Path | str,
    *,
    replace: Callable[[Path | str, Path | str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """``os.replace``, tried again while another process has ``target`` open.

    Windows refuses to replace a file that someone holds open without FILE_SHARE_DELETE
    (what Python's ``open`` and most programs do): the wizard reading a job's result, an
    antivirus scanning the new dossier list. They hold it for moments; five seconds of
    retries outlast them, then the error is the caller's.
    """
    replace = replace or os.replace  # looked up now: a test may watch os.replace
    for attempt in range(REPLACE_ATTEMPTS):
        try:
            replace(source, target)
            return
        except PermissionError:
            if attempt == REPLACE_ATTEMPTS - 1:
                raise
            sleep(REPLACE_PAUSE_S)



def private_acl_command(path: Path | str, account: str) -> list[str]:
    """icacls command that leaves ``path`` to its owner, LocalSystem and Administrators.

    Inherited entries (a data directory under D:\\ inherits "Users: read") are dropped; the
    account is the one running msde (``DOMAIN\\user``)."""
    return [
        "icacls", str(path), "/inheritance:r",
        "/grant:r", f"{account}:(F)",
        "/grant:r", f"*{SYSTEM_SID}:(F)",
        "/grant:r", f"*{ADMINISTRATORS_SID}:(F)",
        "/Q",
    ]


def make_private(path: Path, *, run: Run = subprocess.run, account: str | None = None) -> None:
    """The owner-only file of POSIX's mode 600, with Windows' access lists."""
    command = private_acl_command(path, account or current_account())
    try:
        result = run(command, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise PermissionError(f"icacls could not restrict {path}: {exc}") from exc
    if result.returncode != 0:
        raise PermissionError(f"icacls could not restrict {path}: {_decode(result.stderr)}")


def executable_name(name: str) -> str:
    return f"{name}.exe"


def current_account(environ: Mapping[str, str] | None = None) -> str:
    """``DOMAIN\\user`` (or ``COMPUTER\\user`` for a local account) of the running user."""
    env = os.environ if environ is None else environ
    user = env.get("USERNAME") or getpass.getuser()
    domain = env.get("USERDOMAIN", "")
    return f"{domain}\\{user}" if domain else user


# ----------------------------------------------------------------------------- console


def console_profile(environ: Mapping[str, str], *, vt: bool | None = None) -> ConsoleProfile:
    """Windows Terminal, the classic console host (conhost, what an RDP session opens), or a
    terminal that says what it is with TERM (mintty, an SSH client through Windows' OpenSSH).

    Textual draws through virtual-terminal sequences, which conhost understands since
    Windows 10; it shows 16 colours reliably (msde picks the ANSI theme when COLORTERM does
    not promise more), and its default fonts miss the rounded box glyphs: ASCII borders.
    A console without virtual-terminal processing (``vt`` False) shows no colour.
    """
    if "WT_SESSION" in environ:
        return ConsoleProfile(name="Windows Terminal", ascii_borders=False)
    if environ.get("TERM"):
        return posix.console_profile(environ)
    if vt is None:
        vt = _virtual_terminal_available()
    return ConsoleProfile(name="Windows console host", ascii_borders=True, colors_off=not vt)


def _virtual_terminal_available() -> bool:  # pragma: no cover - needs a Windows console
    """Whether the console accepts ENABLE_VIRTUAL_TERMINAL_PROCESSING (Windows 10 and later)."""
    try:
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.GetStdHandle(-11)  # STD_OUTPUT_HANDLE
        mode = ctypes.c_uint32()
        if not kernel32.GetConsoleMode(handle, ctypes.byref(mode)):
            return True  # not a console (a pipe): nothing to decide here
        if not kernel32.SetConsoleMode(handle, mode.value | 0x0004):
            return False
        kernel32.SetConsoleMode(handle, mode.value)
        return True
    except (AttributeError, OSError):
        return True


def prepare_console_streams() -> None:
    """Output redirected to a file or a pipe uses the ANSI code page (cp1252, cp850...),
    which lacks some characters msde prints (≥, →): replace them instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


def reuse_large_blocks() -> bool:
    """Nothing to tune: Windows' heap reuses freed blocks (see ``posix.reuse_large_blocks``)."""
    return False


def _decode(data: bytes | str | None) -> str:
    """Text printed by a Windows console program (in the OEM code page)."""
    if data is None:
        return ""
    if isinstance(data, str):
        return data.strip()
    try:
        codecs.lookup("oem")
        encoding = "oem"
    except LookupError:
        encoding = locale.getpreferredencoding(False)
    return data.decode(encoding, errors="replace").strip()


# ----------------------------------------------------------------------------- Task Scheduler


def create_task_command(xml_path: Path | str, name: str, *, password_account: str | None = None) -> list[str]:
    """``schtasks /Create`` for a task XML (UTF-16). The account the task runs as is in the
    XML's Principal; with ``password_account`` schtasks asks for that account's password
    itself (``/RP *``: typed at its prompt, never on a command line) and stores it."""
    command = ["schtasks", "/Create", "/TN", name, "/XML", str(xml_path), "/F"]
    if password_account:
        command += ["/RU", password_account, "/RP", "*"]
    return command


def query_task_command(name: str) -> list[str]:
    return ["schtasks", "/Query", "/TN", name, "/V", "/FO", "LIST"]


def delete_task_command(name: str) -> list[str]:
    return ["schtasks", "/Delete", "/TN", name, "/F"]


def _schtasks(command: list[str], run: Run, *, interactive: bool = False) -> tuple[int, str]:
    try:
        if interactive:  # schtasks prompts for the password on this console
            result = run(command, timeout=300, check=False)
        else:
            result = run(command, capture_output=True, timeout=120, check=False)
    except FileNotFoundError as exc:
        raise SchedulerFailed(
            "schtasks is not on this machine: the Task Scheduler exists on Windows only.",
            "Copy the task XML to the Windows server and register it there with the printed command.",
        ) from exc
    except (OSError, subprocess.SubprocessError) as exc:
        raise SchedulerFailed(f"schtasks could not run ({exc}).") from exc
    text = "\n".join(t for t in (_decode(result.stdout), _decode(result.stderr)) if t)
    return result.returncode, text


def register_task(
    xml_path: Path, name: str, *, password_account: str | None = None, run: Run = subprocess.run
) -> list[str]:
    """Register (or replace) the task; return the command that did it."""
    command = create_task_command(xml_path, name, password_account=password_account)
    code, text = _schtasks(command, run, interactive=password_account is not None)
    if code != 0:
        raise SchedulerFailed(
            f"schtasks refused to register the task: {text or f'exit code {code}'}",
            "Registering a task that runs as another account needs an administrator's console "
            "(Run as administrator).",
        )
    return command


def task_state(name: str, *, run: Run = subprocess.run) -> TaskState:
    """Whether the task is registered, with schtasks' own description (in Windows' language:
    next run, last run, last result, the account it runs as)."""
    code, text = _schtasks(query_task_command(name), run)
    return TaskState(registered=code == 0, details=text)


def remove_task(name: str, *, run: Run = subprocess.run) -> bool:
    """Delete the task; False when there was none."""
    if not task_state(name, run=run).registered:
        return False
    code, text = _schtasks(delete_task_command(name), run)
    if code != 0:
        raise SchedulerFailed(
            f"schtasks refused to delete the task: {text or f'exit code {code}'}",
            "A task registered from an administrator's console is deleted from one too.",
        )
    return True
