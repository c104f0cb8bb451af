#!/usr/bin/env python3
"""Set everything up in .venv, then run the wizard or the tests.

    python3 bootstrap.py run    # venv + demo dossiers if none + msde-tui
    python3 bootstrap.py test   # venv + ruff + mypy + the whole test suite

On Windows: ``py -3 bootstrap.py run`` / ``py -3 bootstrap.py test``.
Needs only Python >= 3.11 (with venv and pip). Re-installs when pyproject.toml changes.
This file runs before msde is installed, so it tells Windows from POSIX itself.
Access dossiers (.mdb/.accdb) are read through mdbtools, a system package: installed here
when run as root on Debian/Ubuntu, otherwise a one-line note says how (all else works without).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
WINDOWS = os.name == "nt"
BIN = VENV / ("Scripts" if WINDOWS else "bin")
EXE = ".exe" if WINDOWS else ""  # console scripts and the interpreter in BIN


def tool(name: str) -> str:
    return str(BIN / f"{name}{EXE}")
STAMP = VENV / ".msde-installed"


def ensure_venv() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not Path(tool("python")).exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [tool("python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    print("Installing msde-tui and its dependencies into .venv ...", flush=True)
    subprocess.run([*pip, "-U", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
    # bytecode written once, so that even a shell with PYTHONDONTWRITEBYTECODE starts quickly
    subprocess.run([tool("python"), "-m", "compileall", "-q", str(ROOT / "msde_tui")], check=False)
    STAMP.write_text(wanted)


def ensure_access_reader() -> None:
    """mdbtools (the Access reader): apt-get install as root, else say how; never fatal."""
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


def run(args: list[str]) -> int:
    env = dict(os.environ)
    env.setdefault("ESCDELAY", "250")
    has = subprocess.run([tool("msde"), "--json", "list"], capture_output=True, text=True, env=env)
    if has.returncode == 0 and '"dossiers": []' in has.stdout:
        print("No dossiers yet: creating demo dossiers ...", flush=True)
        subprocess.run([tool("msde"), "demo"], check=True, env=env)
    return subprocess.call([tool("msde-tui"), *args], env=env)


def test(args: list[str]) -> int:
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
    ensure_venv()
    ensure_access_reader()
    return {"run": run, "test": test}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
