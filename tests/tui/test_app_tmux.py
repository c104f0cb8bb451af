"""The real msde-tui in a real terminal (tmux, 80x24): a backup of two dossiers, keys only."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from msde_tui.engine.accounting.demo import create_demo

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.name, *keys)

    def wait(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never showed; screen:\n{screen}")
            time.sleep(0.1)


def test_backup_in_a_real_terminal(home: Path) -> None:
    create_demo(home, dossiers=2, years=2, lines=200)
    (home / "backups").mkdir()
    tmux = Tmux(f"msde-test-{os.getpid()}")
    command = f"env MSDE_HOME={home} TERM=xterm-256color {sys.executable} -m msde_tui.app --lang en"
    tmux.run("new-session", "-d", "-s", tmux.name, "-x", "80", "-y", "24", command)
    try:
        tmux.wait("Step 1 of 5: Connection")
        time.sleep(0.5)  # keys sent before the first paint settles can be lost
        tmux.keys("Enter")
        tmux.wait("Step 2 of 5: Operation")
        tmux.wait(str(home / "backups")[:60])
        tmux.keys("Enter")
        tmux.wait("Step 3 of 5: Dossiers")
        tmux.wait("0 of 2 ticked")
        tmux.keys("a")
        tmux.wait("2 of 2 ticked")
        tmux.keys("Enter")
        tmux.wait("then verify")
        tmux.keys("Enter")
        screen = tmux.wait("Result:", timeout=60)
        assert "Result: OK. 2 OK, 0 not OK." in screen
        assert screen.count(" OK ") >= 2
        lines = screen.splitlines()
        assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
        tmux.keys("C-q")
        deadline = time.monotonic() + 10
        while tmux.name in subprocess.run(["tmux", "ls"], capture_output=True, text=True).stdout:
            assert time.monotonic() < deadline, "msde-tui did not quit on Ctrl+Q"
            time.sleep(0.1)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", tmux.name], capture_output=True)
    backups = sorted(p.name for p in (home / "backups").iterdir())
    assert len([b for b in backups if b.endswith(".sqlite.bak")]) == 2
    assert len([b for b in backups if b.endswith(".sqlite.bak.json")]) == 2
