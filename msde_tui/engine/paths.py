"""Where the tool keeps its data (dossier list, embedded dossiers, jobs, logs) and config."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "msde-tui"

# Folders of intents left in the data directory by a cut (between its COMMIT and its listing)
# and by an embedded import (between its rename and its listing); ``msde list`` looks for them
# here without importing the cut and pack modules (engine/lifecycle/cut.py, engine/packs/pack.py).
CUT_PENDING_DIR = ".cut-pending"
IMPORT_PENDING_DIR = ".import-pending"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``override`` (``--home``), else ``MSDE_HOME``, else the user data dir."""
    raw = override or os.environ.get("MSDE_HOME") or platformdirs.user_data_dir(APP, appauthor=False)
    path = Path(raw).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir(home: Path | None = None) -> Path:
    """The config directory (connection profiles, automatic-backup policy).

    With ``MSDE_HOME`` set (or a ``home`` given), config lives in ``<home>/config`` so that a
    test or a portable install keeps everything in one place.
    """
    if home is not None or os.environ.get("MSDE_HOME"):
        path = (home or data_dir()) / "config"
    else:
        path = Path(platformdirs.user_config_dir(APP, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
