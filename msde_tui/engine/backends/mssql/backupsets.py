"""What a SQL Server backup set says of itself: the identity msde stamps into it
(``DESCRIPTION``), read back from ``RESTORE HEADERONLY`` rows as a ``BackupInfo``; and the
Express size warning."""

from __future__ import annotations

import re
from datetime import datetime

from msde_tui import __version__
from msde_tui.engine import naming
from msde_tui.engine.backends.base import BackupInfo, ServerFacts
from msde_tui.engine.backends.mssql import tsql
from msde_tui.engine.backends.mssql.common import as_bool, as_int, as_text
from msde_tui.engine.backends.mssql.driver import Row
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BackupInvalid, BadInput, MsdeError

_DESCRIPTION_RE = re.compile(r"^msde-tui \S+ dossier=(?P<code>\S+)(?: guid=(?P<guid>\S+))?")
# HEADERONLY failures meaning "no usable backup there" (missing, unreadable, damaged)
NOT_A_READABLE_BACKUP = (3201, 3241, 3242, 3203, 3183, 3189)


def size_warning(size_bytes: int, facts: ServerFacts, *, ratio: float = 0.8) -> str | None:
    """A warning when a database nears (>= 80%) or passes the Express size limit, else None."""
    limit = facts.size_limit_bytes
    if limit is None or size_bytes < limit * ratio:
        return None
    gb = limit // 1024**3
    used = size_bytes / 1024**3
    if size_bytes >= limit:
        return f"{used:.1f} GB: over the SQL Server Express limit of {gb} GB."
    return f"{used:.1f} GB of the SQL Server Express limit of {gb} GB ({size_bytes / limit:.0%})."


def backup_description(dossier: Dossier) -> str:
    """The identity stamped into the backup set (read back by HEADERONLY)."""
    text = f"msde-tui {__version__} dossier={dossier.code}"
    if dossier.guid:
        text += f" guid={dossier.guid}"
    return text[: tsql.MAX_BACKUP_DESCRIPTION]


def parse_description(text: str | None) -> tuple[str | None, str | None]:
    """(code, guid) from a backup set description written by ``backup_description``."""
    match = _DESCRIPTION_RE.match(text or "")
    if not match:
        return None, None
    return match["code"], match["guid"]


def full_backup_header(headers: list[Row], source: str) -> Row:
    """The last full database backup set among HEADERONLY ``headers`` of ``source``."""
    if not headers:
        raise BackupInvalid(
            f"{source} holds no backup set.", "Choose a .bak file made by BACKUP DATABASE."
        )
    full = [h for h in headers if as_int(h.get("BackupType"), 1) == 1]
    if not full:
        raise BadInput(
            f"{source} holds no full database backup (only log or differential backups).",
            "Choose a full backup (the ones this tool makes are full backups).",
        )
    return max(full, key=lambda h: as_int(h.get("Position"), 1))


def backup_info(path: str, headers: list[Row]) -> BackupInfo | None:
    """What HEADERONLY ``headers`` say of the backup file ``path`` (None: no set in it)."""
    if not headers:
        return None
    try:
        header = full_backup_header(headers, path)
    except MsdeError:
        header = headers[-1]
    database = as_text(header.get("DatabaseName"))
    code, guid = parse_description(as_text(header.get("BackupDescription")))
    if code is None:
        parsed = naming.parse_database_name(database)
        code = parsed.code if parsed else None
    finished = header.get("BackupFinishDate") or header.get("BackupStartDate")
    major = as_int(header.get("SoftwareVersionMajor"))
    return BackupInfo(
        file=path,
        database=database,
        created_at=finished if isinstance(finished, datetime) else None,
        size_bytes=as_int(header.get("BackupSize")),
        server_version=".".join(
            str(as_int(header.get(k)))
            for k in ("SoftwareVersionMajor", "SoftwareVersionMinor", "SoftwareVersionBuild")
        ),
        version_major=major,
        has_checksums=as_bool(header.get("HasBackupChecksums")),
        guid=guid,
        code=code,
        sets=len(headers),
    )
