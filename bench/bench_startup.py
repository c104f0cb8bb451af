"""Start-up of the README's first command and of the light ``msde`` commands, beside bare Python.

    python3 bench/bench_startup.py [--runs 11] [--python3 PATH]

Needs a set-up checkout (``python3 bootstrap.py run`` once: its ``.venv``) and the standard
library only (POSIX: the wizard runs in a pseudo-terminal). Each run is a fresh process; the
variants run interleaved (one of each per round, so load changes hit all alike) and the median
of ``--runs`` rounds is printed beside its goal and the bare-Python baseline, with the median
CPU seconds the process used (steadier than wall time when other work shares the machine):

- ``python -c pass``: the baseline, the .venv's interpreter doing nothing.
- ``python3 bootstrap.py run``: the README's first command, with an already set-up ``.venv``
  and a data directory holding demo dossiers, from its start to the wizard's whole first
  screen in its (80x24) terminal: ``Step 1 of`` and the footer's ``Quit`` written to it, as
  bench/bench_tui_startup.py detects it in tmux. Goal 0.5 s.
- ``msde-tui``: the wizard alone, the same way (what bootstrap.py adds is the difference).
- ``msde --help``, ``msde list``, ``msde jobs``, ``msde log``: to their exit, output thrown
  away. Goal 0.25 s each.

The data directory is a new one with the 3 demo dossiers (``msde demo``), one audit-log line
and no job. ``--python3`` is the interpreter that runs bootstrap.py (default: ``python3`` on
PATH, else this one). ``--before DIR`` adds, interleaved too, the README command and
``msde list`` of an older commit's checkout in DIR, run with this checkout's .venv:

    git archive <commit> | tar -x -C DIR && ln -s "$PWD/.venv" DIR/.venv
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import resource
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable
from pathlib import Path

from bench_tui_startup import FIRST_SCREEN, line

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"


def children_cpu() -> float:
    """CPU seconds (user + system) of the child processes waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(run: Callable[[], float]) -> tuple[float, float]:
    """(wall seconds that ``run`` returns, CPU seconds its child used): the CPU figure is
    steadier than wall time on a shared machine."""
    before = children_cpu()
    wall = run()
    return wall, children_cpu() - before


def to_first_screen(argv: list[str], env: dict[str, str], timeout: float = 30) -> float:
    """Seconds from starting ``argv`` in an 80x24 pseudo-terminal to the first screen in it."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    start = time.monotonic()
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                               cwd=ROOT, start_new_session=True, close_fds=True)
    os.close(slave)
    data = b""
    try:
        while not all(text.encode() in data for text in FIRST_SCREEN):
            if time.monotonic() - start > timeout:
                raise RuntimeError(f"no first screen in {timeout} s: {data[-300:]!r}")
            ready, _w, _x = select.select([master], [], [], 0.05)
            if ready:
                try:
                    data += os.read(master, 65536)
                except OSError:  # the program ended (EIO)
                    raise RuntimeError(f"{argv[0]} ended: {data[-300:]!r}") from None
        return time.monotonic() - start
    finally:
        with_group = process.pid
        try:
            os.killpg(with_group, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        os.close(master)


def to_exit(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from starting ``argv`` to its exit (output thrown away); it must succeed."""
    start = time.monotonic()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                   cwd=ROOT, check=True)
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--python3", default=shutil.which("python3") or sys.executable,
                        help="The interpreter that runs bootstrap.py (the README's python3).")
    parser.add_argument("--before", metavar="DIR",
                        help="An older commit's checkout, with a .venv link to this one's.")
    args = parser.parse_args()
    python, msde = str(BIN / "python"), str(BIN / "msde")
    if not any((ROOT / ".venv" / name).exists() for name in (".msde-installed", ".msde-installed-run")):
        raise SystemExit("Set the checkout up first: python3 bootstrap.py run (once).")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        env = dict(os.environ, MSDE_HOME=str(home), TERM="xterm-256color", LANG="C.UTF-8")
        env.pop("PYTHONPATH", None)  # the checkout's .venv runs the checkout's code
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([msde, "demo"], env=env, check=True, capture_output=True)
        subprocess.run([msde, "rename", "001", "--company", "Société Lambert & Fils SRL"],
                       env=env, check=True, capture_output=True)

        # (label, goal in seconds or None, how to time one run)
        variants = [
            ("python -c pass", None, lambda: to_exit([python, "-c", "pass"], env)),
            ("python3 bootstrap.py run", 0.5,
             lambda: to_first_screen([args.python3, str(ROOT / "bootstrap.py"), "run"], env)),
            ("msde-tui", None, lambda: to_first_screen([str(BIN / "msde-tui")], env)),
            ("msde --help", 0.25, lambda: to_exit([msde, "--help"], env)),
            ("msde list", 0.25, lambda: to_exit([msde, "list"], env)),
            ("msde jobs", 0.25, lambda: to_exit([msde, "jobs"], env)),
            ("msde log", 0.25, lambda: to_exit([msde, "log"], env)),
        ]
        if args.before:
            before = Path(args.before).resolve()
            old = dict(env, PYTHONPATH=str(before))
            variants += [
                (f"bootstrap.py run in {before.name}", 0.5, lambda: to_first_screen(
                    [args.python3, str(before / "bootstrap.py"), "run"], old)),
                (f"msde list in {before.name}", 0.25, lambda: to_exit([msde, "list"], old)),
            ]
        for _label, _goal, once in variants:  # warm: bytecode, the OS's file cache
            once()
        times: dict[str, list[float]] = {label: [] for label, _g, _o in variants}
        cpus: dict[str, list[float]] = {label: [] for label, _g, _o in variants}
        for _ in range(args.runs):
            for label, _goal, once in variants:
                wall, cpu = timed(once)
                times[label].append(wall)
                cpus[label].append(cpu)
    baseline = statistics.median(times["python -c pass"])
    print(f"Start-up, {args.runs} runs interleaved (first screen: 80x24 pseudo-terminal):")
    for label, goal, _once in variants:
        median = statistics.median(times[label])
        verdict = ""
        if goal is not None:
            verdict = f"  goal <= {goal:.2f} s {'met' if median <= goal else 'NOT met'}"
        print(line(f"  {label:<36}", times[label])
              + f"  baseline {baseline:.3f} s (+{median - baseline:.3f} s){verdict}"
              + f"  CPU {statistics.median(cpus[label]):.3f} s")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
