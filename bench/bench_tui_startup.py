"""Cold start of msde-tui to its first painted screen, against a bare Textual app.

Each run is a fresh Python process. The child prints the seconds from its own launch (the
parent passes ``time.time()``: ``time.monotonic`` is not comparable across processes) to the
moment the first screen is on the (headless, 80x24) terminal and settled, and the CPU seconds
the process used until then (steadier than wall time on a shared machine):

    .venv/bin/python bench/bench_tui_startup.py [--runs 9] [--no-tmux] [--no-bytecode]
        [--home DIR] [--before DIR]

Baseline in the same script, runs interleaved: a Textual app showing one Static and a Footer
with one key (Quit). ``--before DIR`` adds, interleaved too, the ``msde_tui`` package found in
DIR (an older commit's: ``git archive <commit> msde_tui | tar -x -C DIR``) for a before/after.
The wizard's data directory is a new empty one unless ``--home`` names one in use (saved
connections, past jobs: the first screen reads both).

Bytecode: the children write and read their ``.pyc`` in a temporary ``PYTHONPYCACHEPREFIX``
(warmed by a first run), as a user's second start reads the ``__pycache__`` the first one
wrote, even when the calling shell sets ``PYTHONDONTWRITEBYTECODE`` (then every start would
compile msde-tui's sources again: ``--no-bytecode`` measures that case).

Real terminal (when tmux is installed): ``msde-tui`` and the bare app started in a private
tmux server at 80x24; the time from releasing the command (it waits on a FIFO, so tmux's own
start is not counted) to the whole first screen in the bytes the program wrote to its
terminal (``pipe-pane``): ``Step 1 of`` and the footer's ``Quit`` (Textual draws the footer's
keys a frame after the rest), checked on the screen with ``capture-pane``.

Then, per extension screen module (the operations the registry loads after the first
screen), the cost of importing it in a fresh process that has already imported the app, and
whether that import pulls SQLAlchemy / pyarrow (it should not: the engine loads in the
worker that needs it).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The whole first screen, as the program writes it to its terminal (Textual draws the footer's
# keys a frame after the rest); bench/bench_startup.py waits for the same texts.
FIRST_SCREEN = ("Step 1 of", "Quit")

CHILD_WIZARD = """
import asyncio, sys, time
t0 = float(sys.argv[1])
from msde_tui.app import MsdeApp
from msde_tui.screens.connection import ConnectionScreen
async def main():
    app = MsdeApp(home=sys.argv[2], lang="en", offer_jobs=True)
    async with app.run_test(size=(80, 24)) as pilot:
        while not isinstance(app.screen, ConnectionScreen) or not app.screen.is_mounted:
            await asyncio.sleep(0.005)
        await pilot.pause()
        print(time.time() - t0, time.process_time())
asyncio.run(main())
"""

CHILD_BASELINE = """
import asyncio, sys, time
t0 = float(sys.argv[1])
from textual.app import App
from textual.widgets import Footer, Static
class Bare(App):
    BINDINGS = [("ctrl+q", "quit", "Quit")]
    def compose(self):
        yield Static("Step 1 of 5: Connection")
        yield Footer()
async def main():
    app = Bare()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        print(time.time() - t0, time.process_time())
asyncio.run(main())
"""

BARE_APP = """
from textual.app import App
from textual.widgets import Footer, Static
class Bare(App):
    BINDINGS = [("ctrl+q", "quit", "Quit")]
    def compose(self):
        yield Static("Step 1 of 5: Connection")
        yield Footer()
Bare().run()
"""

CHILD_EXTENSION = """
import sys, time
import msde_tui.app
t = time.perf_counter()
__import__(sys.argv[2])
heavy = [m for m in ("sqlalchemy", "pyarrow") if m in sys.modules]
print(time.perf_counter() - t, ",".join(heavy) or "-")
"""


def child_env(pycache: str | None) -> dict[str, str]:
    """The children's environment: a warm bytecode cache in ``pycache``, or none at all."""
    env = dict(os.environ)
    env.pop("PYTHONPYCACHEPREFIX", None)
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def extension_cost(module: str, runs: int, env: dict[str, str]) -> tuple[float, str]:
    """Median seconds to import ``module`` after the app, and the heavy modules it pulled."""
    times, heavy = [], "-"
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", CHILD_EXTENSION, "0", module],
                             capture_output=True, text=True, check=True, env=env)
        seconds, heavy = out.stdout.split()
        times.append(float(seconds))
    return statistics.median(times), heavy


class Terminal:
    """A private tmux server (its own socket): 80x24 panes whose output is piped to a file."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.socket = f"msde-bench-{os.getpid()}"
        self.tmux("new-session", "-d", "-s", "keep", "sleep 3600")  # the server stays up

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args],
                              capture_output=True, text=True, check=True).stdout

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)

    def first_screen(
        self, command: str, texts: tuple[str, ...] = FIRST_SCREEN, timeout: float = 30
    ) -> float:
        """Seconds from starting ``command`` to all ``texts`` written to its terminal."""
        fifo, out = self.work / "go", self.work / "out"
        fifo.unlink(missing_ok=True)
        os.mkfifo(fifo)
        out.write_bytes(b"")
        name = "run"
        self.tmux("new-session", "-d", "-s", name, "-x", "80", "-y", "24",
                  f"read go < {shlex.quote(str(fifo))}; exec {command}")
        try:
            self.tmux("pipe-pane", "-t", name, f"cat >> {shlex.quote(str(out))}")
            time.sleep(0.3)  # tmux and the pipe settled; the command still waits on the FIFO
            start = time.monotonic()
            with open(fifo, "w") as release:
                release.write("go\n")
            data = b""
            with open(out, "rb") as written:
                while not all(text.encode() in data for text in texts):
                    if time.monotonic() - start > timeout:
                        raise RuntimeError(f"{texts!r} not written in {timeout} s: {data[-300:]!r}")
                    time.sleep(0.002)
                    data += written.read()
            took = time.monotonic() - start
            deadline = time.monotonic() + 10
            while not all(text in self.tmux("capture-pane", "-p", "-t", name) for text in texts):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{texts!r} written but not on the screen")
                time.sleep(0.05)
            return took
        finally:
            subprocess.run(["tmux", "-L", self.socket, "kill-session", "-t", name],
                           capture_output=True)


def line(label: str, values: list[float]) -> str:
    return f"{label:<24} median {statistics.median(values):.3f} s (min {min(values):.3f} s)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-tmux", action="store_true", help="Skip the real-terminal runs.")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="No .pyc at all for msde-tui (PYTHONDONTWRITEBYTECODE=1).")
    parser.add_argument("--home", help="Data directory for the wizard (default: a new empty one).")
    parser.add_argument("--before", metavar="DIR",
                        help="Also time the msde_tui package in DIR (e.g. an older commit's, from "
                        "'git archive <commit> msde_tui | tar -x -C DIR'), runs interleaved.")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        home = Path(args.home).resolve() if args.home else work / "home"
        home.mkdir(exist_ok=True)
        tui = Path(sys.executable).with_name("msde-tui")
        bare_app = work / "bare.py"
        bare_app.write_text(BARE_APP)

        # (label, environment, headless child, real-terminal command); the children run in
        # ``work`` so that the current directory does not shadow PYTHONPATH.
        variants: list[tuple[str, dict[str, str], str, str]] = []

        def add(label: str, code: str, program: str, source: str | None = None) -> None:
            env = child_env(None if args.no_bytecode else str(work / f"pycache-{len(variants)}"))
            if source:
                env["PYTHONPATH"] = str(Path(source).resolve())
            prefix = "env " + " ".join(
                f"{key}={shlex.quote(env[key])}"
                for key in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH")
                if key in env
            )
            prefix += f" MSDE_HOME={shlex.quote(str(home))} TERM=xterm-256color"
            variants.append((label, env, code, f"{prefix} {program}"))

        add("msde-tui", CHILD_WIZARD, f"{shlex.quote(str(tui))} --lang en")
        if args.before:
            add(f"msde-tui in {Path(args.before).name}", CHILD_WIZARD,
                f"{shlex.quote(str(tui))} --lang en", args.before)
        add("bare Textual app", CHILD_BASELINE,
            f"{shlex.quote(sys.executable)} {shlex.quote(str(bare_app))}")

        def headless(variant: tuple[str, dict[str, str], str, str]) -> tuple[float, float]:
            _label, env, code, _command = variant
            start = time.time()
            out = subprocess.run([sys.executable, "-c", code, repr(start), str(home)],
                                 capture_output=True, text=True, check=True, env=env, cwd=work)
            wall, cpu = out.stdout.strip().splitlines()[-1].split()
            return float(wall), float(cpu)

        terminal = Terminal(work) if not args.no_tmux and shutil.which("tmux") else None
        walls: dict[str, list[float]] = {v[0]: [] for v in variants}
        cpus: dict[str, list[float]] = {v[0]: [] for v in variants}
        terms: dict[str, list[float]] = {v[0]: [] for v in variants}
        try:
            for variant in variants:  # writes the .pyc once
                headless(variant)
                if terminal:
                    terminal.first_screen(variant[3])
            for _ in range(args.runs):  # interleaved, so load changes hit all alike
                for variant in variants:
                    wall, cpu = headless(variant)
                    walls[variant[0]].append(wall)
                    cpus[variant[0]].append(cpu)
                if terminal:
                    for variant in variants:
                        terms[variant[0]].append(terminal.first_screen(variant[3]))
        finally:
            if terminal:
                terminal.close()

        bare = variants[-1][0]
        print(f"First screen, headless 80x24, settled ({args.runs} runs):")
        for label, *_ in variants:
            print(line(f"  {label}", walls[label])
                  + f", CPU {statistics.median(cpus[label]):.3f} s")
        if terminal:
            print(f"First screen drawn whole in tmux 80x24 ({args.runs} runs):")
            for label, *_ in variants:
                print(line(f"  {label}", terms[label]))
        for label, *_ in variants[:-1]:
            more = statistics.median(walls[label]) - statistics.median(walls[bare])
            text = f"{label} - bare: headless {more:+.3f} s"
            if terminal:
                more = statistics.median(terms[label]) - statistics.median(terms[bare])
                text += f", tmux {more:+.3f} s"
            print(text + "   (goal: msde-tui <= 0.5 s)")

        from msde_tui.screens.registry import EXTENSION_MODULES

        runs = max(3, args.runs // 2)
        for module in EXTENSION_MODULES:
            seconds, heavy = extension_cost(module, runs, variants[0][1])
            print(f"import {module:<36} median {seconds:.3f} s  pulls: {heavy}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
