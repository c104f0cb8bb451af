"""Cold start of msde-tui to its first painted screen, against a bare Textual app.

Each run is a fresh Python process (nothing cached in memory, .pyc files warm as after the
first use). The child prints the seconds from its own process start (``time.monotonic`` is
not comparable across processes, so the parent passes ``time.time()``) to the moment the
first screen is on the (headless) terminal:

    .venv/bin/python bench/bench_tui_startup.py [--runs 7]

Baseline in the same script: a Textual app showing one Static and a Footer.

Then, per extension screen module (the operations the registry loads after the first
screen), the cost of importing it in a fresh process that has already imported the app, and
whether that import pulls SQLAlchemy / pyarrow (it should not: the engine loads in the
worker that needs it).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

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
        print(time.time() - t0)
asyncio.run(main())
"""

CHILD_BASELINE = """
import asyncio, sys, time
t0 = float(sys.argv[1])
from textual.app import App
from textual.widgets import Footer, Static
class Bare(App):
    def compose(self):
        yield Static("Step 1 of 5: Connection")
        yield Footer()
async def main():
    app = Bare()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        print(time.time() - t0)
asyncio.run(main())
"""


CHILD_EXTENSION = """
import sys, time
import msde_tui.app
t = time.perf_counter()
__import__(sys.argv[2])
heavy = [m for m in ("sqlalchemy", "pyarrow") if m in sys.modules]
print(time.perf_counter() - t, ",".join(heavy) or "-")
"""


def extension_cost(module: str, runs: int) -> tuple[float, str]:
    """Median seconds to import ``module`` after the app, and the heavy modules it pulled."""
    times, heavy = [], "-"
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", CHILD_EXTENSION, "0", module],
                             capture_output=True, text=True, check=True)
        seconds, heavy = out.stdout.split()
        times.append(float(seconds))
    return statistics.median(times), heavy


def measure(code: str, home: str) -> float:
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code, repr(start), home], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        measure(CHILD_WIZARD, home)  # compile .pyc once
        measure(CHILD_BASELINE, home)
        wizard, baseline = [], []
        for _ in range(args.runs):  # interleaved, so load changes hit both alike
            wizard.append(measure(CHILD_WIZARD, home))
            baseline.append(measure(CHILD_BASELINE, home))
    w, b = statistics.median(wizard), statistics.median(baseline)
    print(f"msde-tui first screen: median {w:.3f} s (min {min(wizard):.3f} s) over {args.runs} runs")
    print(f"bare Textual app:      median {b:.3f} s (min {min(baseline):.3f} s)")
    print(f"ratio wizard / bare:   {w / b:.2f}x   (goal: wizard <= 0.5 s)")
    from msde_tui.screens.registry import EXTENSION_MODULES

    runs = max(3, args.runs // 2)
    for module in EXTENSION_MODULES:
        seconds, heavy = extension_cost(module, runs)
        print(f"import {module:<36} median {seconds:.3f} s  pulls: {heavy}")


if __name__ == "__main__":
    main()
