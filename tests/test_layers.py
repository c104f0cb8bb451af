"""The engine and the packed-file format never load UI code (as Harlequin checks its adapters)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("package", ["msde_tui.engine", "msde_tui.packfmt"])
def test_no_textual_below_the_ui(package: str) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('textual', 'rich', 'typer'))\n"
        "print(','.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"{package} loads UI modules: {result.stdout} {result.stderr}"


# Screens whose module loads before (or just after) the first screen: the SQL engine and
# pyarrow load in the worker that needs them.
LIGHT_SCREENS = [
    "msde_tui.app",
    "msde_tui.screens.auto_screen",
    "msde_tui.screens.lifecycle_screens",
    "msde_tui.screens.pack_screens",
]


def test_the_wizard_and_light_screens_start_without_the_sql_engine() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {LIGHT_SCREENS!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('sqlalchemy', 'pyarrow'))\n"
        "print(','.join(bad[:5]))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"heavy modules loaded at start: {result.stdout} {result.stderr}"
