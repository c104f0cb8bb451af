"""How many dossiers an operation runs at once when the user does not say (``concurrency=0``).

Embedded dossiers: the work of one dossier alternates between the CPU (page copy, SHA-256,
``integrity_check``, all of which release the GIL) and waiting for the disk (syncs), so two
jobs per core keep every core busy; capped so that large dossiers do not thrash the disk.

SQL Server: the server does the work, so its own limits count, not this machine's. Express
uses at most 4 cores (and one socket); other editions get the same cap, since a backup is
bound by the server's disk long before its cores.
"""

from __future__ import annotations

import os

AUTO = 0  # a plan's concurrency meaning "follow the machine"
EMBEDDED_MAX = 8
SERVER_MAX = 4  # Express: at most 4 cores, 1 socket
SERVER_DEFAULT = 2


def machine_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except OSError:
            pass
    return max(1, os.cpu_count() or 1)


def embedded_concurrency(cores: int | None = None) -> int:
    """Embedded dossiers at once: two per core, between 2 and ``EMBEDDED_MAX``."""
    return max(2, min(EMBEDDED_MAX, 2 * (cores or machine_cores())))


def server_concurrency(server_cores: int | None = None) -> int:
    """SQL Server dossiers at once: the server's cores (when known), at most ``SERVER_MAX``."""
    if server_cores is None:
        return SERVER_DEFAULT
    return max(1, min(SERVER_MAX, server_cores))


def resolve(concurrency: int, *, embedded: bool, jobs: int, server_cores: int | None = None) -> int:
    """The number of jobs run at once: ``concurrency`` if given (>= 1), else the machine's."""
    if concurrency and concurrency > 0:
        wanted = int(concurrency)
    elif embedded:
        wanted = embedded_concurrency()
    else:
        wanted = server_concurrency(server_cores)
    return max(1, min(wanted, max(1, jobs)))
