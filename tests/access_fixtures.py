"""Where the real Access files are, and what each holds (read with mdbtools' mdb-json).

The files live outside the repository: ``../shared/fixtures/access`` from the repository root
(CI clones the repository beside a copy of ``shared/``), or the folder named by
``MSDE_ACCESS_FIXTURES``. Tests that need them are skipped, saying why, when the folder or
the reader (mdbtools) is absent. Tests never write to these files: they copy them first.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from msde_tui.engine.backends.access import reader

ROOT = Path(__file__).resolve().parents[1]
ENV = "MSDE_ACCESS_FIXTURES"

# file -> (format, {table: rows}) as mdbtools 1.0 reads them
FIXTURES: dict[str, tuple[str, dict[str, int]]] = {
    "nwind.mdb": ("JET3", {"Order Details": 2155, "Orders": 830, "Products": 77, "Shippers": 3,
                           "Categories": 8, "Customers": 91, "Employees": 9, "Suppliers": 29,
                           "Umsätze": 830}),
    "date.mdb": ("JET4", {"DateTest": 6}),
    "sample.accdb": ("ACE12", {"Asset Items": 65}),
}


def folder() -> Path | None:
    """The fixtures folder, or None when it is not there."""
    wanted = os.environ.get(ENV)
    candidates = [Path(wanted)] if wanted else []
    candidates.append(ROOT.parent / "shared" / "fixtures" / "access")
    for path in candidates:
        if (path / "nwind.mdb").is_file():
            return path
    return None


def skip_reason() -> str | None:
    if folder() is None:
        return (f"the Access fixtures are absent (no ../shared/fixtures/access beside the "
                f"repository and no {ENV})")
    if not reader.available():
        return "the Access reader (mdbtools) is not installed: python3 bootstrap.py installs it as root"
    return None


needs_access = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


def copy_fixture(name: str, where: Path, as_name: str | None = None) -> Path:
    """A writable copy of fixture ``name`` in ``where``."""
    source = folder()
    assert source is not None
    where.mkdir(parents=True, exist_ok=True)
    target = where / (as_name or name)
    shutil.copyfile(source / name, target)
    target.chmod(stat.S_IRUSR | stat.S_IWUSR)
    return target
