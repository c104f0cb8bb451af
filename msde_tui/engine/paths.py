"""Where the tool keeps its data (dossier list, embedded dossiers, jobs, logs) and config."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

if TYPE_CHECKING:
    from msde_tui.engine.errors import BadInput

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


# Kernel and memory filesystems: they take no files (or lose them at reboot), so they are no
# place for a backup even when ``disk_usage`` answers for them.
PSEUDO_FILESYSTEMS = frozenset({
    "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs",
    "securityfs", "configfs", "pstore", "bpf", "efivarfs", "fusectl", "mqueue", "hugetlbfs",
    "autofs", "binfmt_misc", "rpc_pipefs", "nsfs", "selinuxfs",
})


def filesystem_type(path: Path) -> str:
    """The type of the filesystem ``path`` is on ("" when the mount table does not say)."""
    import psutil

    target = str(path)
    best, kind = "", ""
    try:
        partitions = psutil.disk_partitions(all=True)
    except OSError:
        return ""
    for part in partitions:
        mount = part.mountpoint.rstrip("/\\") or part.mountpoint
        if (target == mount or target.startswith(mount.rstrip("/\\") + os.sep) or mount in ("/", "\\")) \
                and len(mount) >= len(best):
            best, kind = mount, part.fstype.lower()
    return kind


@dataclass(frozen=True)
class DirProblem:
    """Why a directory cannot take backups: ``kind`` is "system" (a kernel filesystem; ``detail``
    its type), "unwritable" (``account`` cannot create a file there; ``detail`` the reason) or
    "service" (a folder on a SQL Server host its service ``account`` cannot write in)."""

    kind: str
    path: str
    account: str
    detail: str


def dir_problem(path: Path) -> DirProblem | None:
    """What stops an existing directory from holding backups, or None.

    A kernel filesystem (``/proc``, ``/sys``) is no place for backups; otherwise a real file is
    tried, since an administrator passes every permission check yet cannot write on a
    read-only mount.
    """
    import shutil
    import tempfile

    from msde_tui.osdep import current_account

    resolved = Path(path).expanduser().resolve()
    kind = filesystem_type(resolved)
    try:
        total = shutil.disk_usage(resolved).total
    except OSError:
        total = -1
    if kind in PSEUDO_FILESYSTEMS or total == 0:
        return DirProblem("system", str(resolved), current_account(), kind or "0 bytes")
    try:
        handle, probe = tempfile.mkstemp(prefix=".msde-write-test-", dir=resolved)
    except OSError as exc:
        return DirProblem("unwritable", str(resolved), current_account(), str(exc.strerror or exc))
    os.close(handle)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return None


def check_writable_dir(path: Path) -> None:
    """``dir_problem`` as an error: ``BadInput`` saying who cannot write where."""
    problem = dir_problem(path)
    if problem is not None:
        raise refusal(problem)


def refusal(problem: DirProblem) -> BadInput:
    """The ``BadInput`` that refuses a directory for ``problem`` (who cannot write where)."""
    from msde_tui.engine.errors import BadInput

    if problem.kind == "service":
        return BadInput(
            f"The SQL Server service account {problem.account} cannot write in {problem.path} "
            f"on the server host ({problem.detail}).",
            f"Give {problem.account} the right to write in {problem.path} on the server, or "
            "choose another directory there.",
        )
    if problem.kind == "system":
        return BadInput(
            f"{problem.path} is on a system filesystem ({problem.detail}), not a place for backups.",
            "Choose a directory on a disk, e.g. under your home directory or /srv.",
        )
    return BadInput(
        f"The account {problem.account} cannot write in {problem.path} ({problem.detail}).",
        "Choose another directory, or give that account the right to write there.",
    )
