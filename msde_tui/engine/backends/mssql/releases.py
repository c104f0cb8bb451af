"""SQL Server releases by major version: the names a technician knows them by, and the newest
one (a backup made by a newer server cannot be restored on an older one). Used by the restore
plan and by the messages that explain a refusal; imports nothing of msde."""

from __future__ import annotations

RELEASES = {
    8: "SQL Server 2000 / MSDE",
    9: "SQL Server 2005",
    10: "SQL Server 2008",
    11: "SQL Server 2012",
    12: "SQL Server 2014",
    13: "SQL Server 2016",
    14: "SQL Server 2017",
    15: "SQL Server 2019",
    16: "SQL Server 2022",
    17: "SQL Server 2025",
}
NEWEST_MAJOR = max(RELEASES)


def release(major: int, minor: int = 0) -> str:
    """``SQL Server 2008 R2`` for 10.50, ``SQL Server 2022`` for 16.0."""
    if major == 10 and minor >= 50:
        return "SQL Server 2008 R2"
    return RELEASES.get(major, f"SQL Server {major}.{minor}")
