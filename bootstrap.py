#!/usr/bin/env python3
"""Set everything up in .venv, then run the wizard or the tests.

    python3 bootstrap.py run    # venv + demo dossiers if none + msde-tui
    python3 bootstrap.py test   # venv (with the test tools) + ruff + mypy + the whole test suite

On Windows: ``py -3 bootstrap.py run`` / ``py -3 bootstrap.py test``.
Needs only Python >= 3.11 (with venv and pip). Re-installs when pyproject.toml changes.
This file runs before msde is installed, so it tells Windows from POSIX itself; its messages
come from msde_tui/i18n.py (standard library only), loaded when there is something to say.

Set-up shows each step and how far along it is (packages found, downloaded, installed), and
keeps pip's whole output in .venv/install.log. Once set up, ``run`` says nothing and starts
``python -m msde_tui.launch`` (demo dossiers when the list is empty, then the wizard) in place
of this process: the wizard's first screen comes as fast as ``msde-tui``'s own.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
WINDOWS = os.name == "nt"
BIN = VENV / ("Scripts" if WINDOWS else "bin")
EXE = ".exe" if WINDOWS else ""  # console scripts and the interpreter in BIN
STAMP = VENV / ".msde-installed"  # the hash of pyproject.toml, installed with the test tools
RUN_STAMP = VENV / ".msde-installed-run"  # the same, installed without them (``run`` only)
LOG = VENV / "install.log"
TEST_EXTRA = "test"


def tool(name: str) -> str:
    return str(BIN / f"{name}{EXE}")


_i18n: Any = None  # msde_tui.i18n, once there is something to say


def _(message: str) -> str:
    """The message in the user's language (msde_tui/i18n.py: the standard library only)."""
    global _i18n
    if _i18n is None:
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        from msde_tui import i18n

        i18n.setup(None)
        _i18n = i18n
    return str(_i18n._(message))


class Status:
    """One line saying what set-up is doing now, rewritten in place on a terminal.

    A background thread redraws it every 0.2 s with the seconds spent, so that a long step
    (ensurepip, unpacking pyarrow) still shows that it moves. Not a terminal: only the
    start and the end of each step are printed.
    """

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.step = 0
        self.tty = sys.stdout.isatty()
        self.title = ""
        self.detail = ""
        self.started = time.monotonic()
        self.shown = 0
        self.progress: Callable[[], str] | None = None  # asked for the detail at each redraw
        self._stop: Any = None
        self._ticker: Any = None
        self._lock: Any = None

    def begin(self, title: str) -> None:
        import threading

        self.step += 1
        self.title = f"[{self.step}/{self.steps}] {title}"
        self.detail = ""
        self.started = time.monotonic()
        if not self.tty:
            print(self.title + " ...", flush=True)
            return
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, args=(self._stop,), daemon=True)
        self._ticker.start()
        with self._lock:
            self.draw()

    def set(self, detail: str) -> None:
        self.detail = detail

    def _tick(self, stop: Any) -> None:
        while not stop.wait(0.2):
            if self.progress is not None:
                self.detail = self.progress()
            with self._lock:
                if not stop.is_set():
                    self.draw()

    def draw(self) -> None:
        import shutil

        seconds = time.monotonic() - self.started
        text = f"{self.title} ... {self.detail}".rstrip(" .") + f"  {seconds:.0f} s"
        width = shutil.get_terminal_size((80, 24)).columns - 1
        text = text if len(text) <= width else text[: width - 3] + "..."
        sys.stdout.write("\r" + text.ljust(self.shown))
        sys.stdout.flush()
        self.shown = len(text)

    def end(self, result: str) -> None:
        if self._stop is not None:
            with self._lock:
                self._stop.set()
            self._ticker.join()
            self._stop = None
        seconds = time.monotonic() - self.started
        text = _("{step}: {result} ({seconds:.1f} s)").format(
            step=self.title, result=result, seconds=seconds)
        if self.tty:
            sys.stdout.write("\r" + text.ljust(self.shown) + "\n")
            self.shown = 0
        else:
            sys.stdout.write(text + "\n")
        sys.stdout.flush()


def site_packages() -> Path | None:
    found = sorted(VENV.glob("Lib/site-packages" if WINDOWS else "lib/python3*/site-packages"))
    return found[0] if found else None


def installed_count() -> int:
    where = site_packages()
    return len(list(where.glob("*.dist-info"))) if where else 0


def installing(before: int, total: int) -> Callable[[], str]:
    """What to show while pip unpacks ``total`` packages (it says nothing): how many are in."""
    message = _("installing: {done} of {count} packages")

    def progress() -> str:
        return message.format(done=min(max(installed_count() - before, 0), total), count=total)

    return progress


def pip(status: Status, args: list[str]) -> tuple[int, int]:
    """Run pip, turning its output into progress; return (packages found, packages installed).

    Raises SystemExit with the end of pip's output (the whole of it is in .venv/install.log)
    when pip fails.
    """
    import subprocess

    command = [tool("python"), "-m", "pip", "install", "--disable-pip-version-check",
               "--progress-bar", "off", *args]
    found = 0
    to_install = 0
    lines: list[str] = []
    before = installed_count()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(LOG, "a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(command)}\n")
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, encoding="utf-8", errors="replace", env=env)
        assert process.stdout is not None
        for raw in process.stdout:
            log.write(raw)
            line = raw.strip()
            lines.append(line)
            words = line.split()
            if not words:
                continue
            if words[0] in ("Collecting", "Processing", "Obtaining") or line.startswith(
                "Requirement already satisfied"
            ):
                found += 1
                if words[0] == "Obtaining":  # the checkout itself
                    name = "msde-tui"
                else:
                    name = words[3] if words[0] == "Requirement" else words[1]
                    if words[0] == "Processing":  # a wheel file: name-version-...
                        name = Path(name).name.split("-")[0]
                    name = name.split("<")[0].split(">")[0].split("=")[0].split("[")[0]
                status.set(_("packages found: {count} ({name})").format(count=found, name=name))
            elif words[0] == "Downloading" and len(words) >= 2:
                size = line[line.rfind("(") :] if line.endswith(")") else ""
                name = Path(words[1]).name.split("-")[0]
                status.set(_("packages found: {count}, downloading {name} {size}").format(
                    count=found, name=name, size=size))
            elif line.startswith("Installing collected packages:"):
                to_install = len(line.split(":", 1)[1].split(","))
                status.progress = installing(before, to_install)
                status.set(status.progress())
        code = process.wait()
        status.progress = None
    if code:
        status.end(_("failed"))
        print("\n".join(lines[-25:]), file=sys.stderr)
        raise SystemExit(_("pip failed (exit {code}); its whole output is in {log}.").format(
            code=code, log=LOG))
    return found, to_install


def ensure_venv(extra: str) -> bool:
    """Install msde-tui (with ``extra`` when given) in .venv unless done; True if it did."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamps = [STAMP] if extra else [STAMP, RUN_STAMP]
    if any(stamp.exists() and stamp.read_text().strip() == wanted for stamp in stamps):
        return False
    started = time.monotonic()
    fresh = not Path(tool("python")).exists()
    status = Status(steps=4 if fresh else 3)
    print(_("Setting up msde-tui in {venv} (once; again only when pyproject.toml changes).")
          .format(venv=VENV), flush=True)
    if fresh:
        import venv

        status.begin(_("Creating the virtual environment .venv"))
        venv.EnvBuilder(with_pip=True).create(VENV)
        status.end(_("done"))
    LOG.write_text("")
    status.begin(_("Updating pip"))
    pip(status, ["-U", "pip"])
    status.end(_("done"))
    status.begin(_("Installing msde-tui and its dependencies"))
    found, installed = pip(status, ["-e", f"{ROOT}[{extra}]" if extra else str(ROOT)])
    status.end(_("packages: {found}, installed: {installed}").format(
        found=found, installed=installed))
    # bytecode written once, so that even a shell with PYTHONDONTWRITEBYTECODE starts quickly
    import subprocess

    status.begin(_("Precompiling msde-tui"))
    subprocess.run([tool("python"), "-m", "compileall", "-q", str(ROOT / "msde_tui")], check=False)
    status.end(_("done"))
    (STAMP if extra else RUN_STAMP).write_text(wanted)
    ensure_access_reader()
    print(_("Set-up finished in {seconds:.0f} s.").format(seconds=time.monotonic() - started),
          flush=True)
    return True


def ensure_access_reader() -> None:
    """mdbtools (the Access reader): apt-get install as root, else say how; never fatal.

    Part of the set-up (not of every start: a failing apt-get would slow each one down)."""
    import shutil
    import subprocess

    if shutil.which("mdb-json"):
        return
    apt = shutil.which("apt-get")
    if apt and hasattr(os, "geteuid") and os.geteuid() == 0:
        print("Installing mdbtools (the Access reader) ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = [apt, "install", "-y", "-q", "mdbtools"]
        quiet = {"stdout": subprocess.DEVNULL, "env": env, "check": False}
        if subprocess.run(install, **quiet).returncode != 0:  # type: ignore[call-overload]
            subprocess.run([apt, "update", "-q"], **quiet)  # type: ignore[call-overload]
            subprocess.run(install, **quiet)  # type: ignore[call-overload]
        if shutil.which("mdb-json"):
            return
    print("Note: Access dossiers (.mdb/.accdb) need mdbtools ('sudo apt install mdbtools' on "
          "Debian/Ubuntu); everything else works without it.", flush=True)


def run(args: list[str], installed: bool) -> int:
    env = dict(os.environ)
    env.setdefault("ESCDELAY", "250")
    command = [tool("python"), "-m", "msde_tui.launch", *(["--after-setup"] if installed else []),
               *args]
    sys.stdout.flush()
    if not WINDOWS:  # the wizard takes this process's place: no second interpreter waits
        os.execve(command[0], command, env)
    import subprocess

    return subprocess.call(command, env=env)


def test(args: list[str]) -> int:
    import subprocess

    os.chdir(ROOT)
    code = subprocess.call([tool("ruff"), "check", "."])
    if code:
        return code
    code = subprocess.call([tool("python"), "-m", "mypy"])
    if code:
        return code
    return subprocess.call([tool("python"), "-m", "pytest", *args])


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "test"):
        print(__doc__)
        return 2
    if sys.argv[1] == "test":
        ensure_venv(TEST_EXTRA)
        return test(sys.argv[2:])
    return run(sys.argv[2:], installed=ensure_venv(""))


if __name__ == "__main__":
    sys.exit(main())
