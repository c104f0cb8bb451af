"""What a SQL Server restore will do, worked out before anything is written.

``prepare`` reads the backup (HEADERONLY, FILELISTONLY of the chosen set), the target
database (exists? ONLINE? who is connected?), the MOVE targets and the free space of every
folder the restore writes to. ``MssqlBackend.restore`` runs it and then refuses on the first
problem; ``MssqlBackend.restore_preview`` returns it so the wizard's summary can show it
(docs/OPERATIONS.md, "SQL Server restores").

Rules, each with its reason:

- **Backup sets.** A file can hold several backup sets (SSMS appends by default). Every set is
  listed; a file with more than one full set needs ``RestoreItem.position`` (CLI
  ``--position``), and that set — ``FILE = n`` — is the one verified and restored.
- **Versions.** A backup restores on a server of the same or a newer version only, compared
  on major.minor (10.50 is newer than 10.0), and only from the versions the server can
  upgrade: SQL Server 2016 (13.x) and later restore backups from 2008 (10.0) on, 2012/2014
  from 2005 (9.0) on, 2005–2008 R2 from 2000 (8.0) on. MSDE/2000 backups (8.0) therefore go
  to a 2005–2008 R2 server first.
- **Safety copy.** Only a database that is ONLINE can be backed up; one that is RESTORING
  (a failed or cancelled restore) or OFFLINE holds nothing to save, so no safety copy is
  taken (and the summary says so).
- **Sessions.** Restoring over a database other sessions use fails (3101). With the user's
  consent (``close_sessions``) they are closed with ``SINGLE_USER WITH ROLLBACK IMMEDIATE``
  and the database is put back to ``MULTI_USER`` whatever happens.
- **Space and places.** The data and log folders must have room for the sizes FILELISTONLY
  reports (less what the replaced database's own files there already take); the safety
  copy's folder must have room for the database's data. A replace-restore keeps the replaced
  database's files where they are unless the user names other folders.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from msde_tui.engine import naming
from msde_tui.engine.backends.mssql import tsql
from msde_tui.engine.backends.mssql.driver import Row, Session, SqlFailure
from msde_tui.engine.backends.mssql.releases import release
from msde_tui.engine.errors import (
    BackupInvalid,
    BadInput,
    DossierExists,
    MsdeError,
    ServerDiskFull,
    ServerError,
)
from msde_tui.engine.plans import RestoreItem

if TYPE_CHECKING:
    from msde_tui.engine.backends.base import ServerFacts
    from msde_tui.engine.backends.mssql.backend import MssqlBackend



def oldest_restorable(server_major: int) -> int:
    """The oldest major version whose backups a server of ``server_major`` restores."""
    if server_major >= 13:
        return 10
    if server_major >= 11:
        return 9
    return 8


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class BackupSetInfo:
    """One backup set of a media file (one row of RESTORE HEADERONLY)."""

    position: int
    kind: str  # full | differential | log | other
    database: str
    finished: datetime | None
    version: tuple[int, int, int]
    has_checksums: bool
    description: str = ""

    @property
    def version_text(self) -> str:
        return ".".join(str(p) for p in self.version)

    @property
    def release(self) -> str:
        return release(self.version[0], self.version[1])

    def label(self) -> str:
        when = self.finished.isoformat(sep=" ", timespec="minutes") if self.finished else "?"
        return (
            f"set {self.position}: {self.kind} backup of {self.database} of {when} "
            f"({self.release}, {self.version_text})"
        )


_KINDS = {1: "full", 5: "differential", 2: "log"}


def backup_sets(headers: list[Row]) -> list[BackupSetInfo]:
    """Every set HEADERONLY listed, in file order."""
    return [
        BackupSetInfo(
            position=_int(h.get("Position"), 1) or 1,
            kind=_KINDS.get(_int(h.get("BackupType"), 1), "other"),
            database=_text(h.get("DatabaseName")),
            finished=h.get("BackupFinishDate") if isinstance(h.get("BackupFinishDate"), datetime) else None,
            version=(
                _int(h.get("SoftwareVersionMajor")),
                _int(h.get("SoftwareVersionMinor")),
                _int(h.get("SoftwareVersionBuild")),
            ),
            has_checksums=str(h.get("HasBackupChecksums")).lower() in ("1", "true"),
            description=_text(h.get("BackupDescription")),
        )
        for h in headers
    ]


def choose_set(headers: list[Row], source: str, position: int | None) -> Row:
    """The HEADERONLY row of the set to restore: ``position``, or the only full set."""
    if not headers:
        raise BackupInvalid(
            f"{source} holds no backup set.", "Choose a .bak file made by BACKUP DATABASE."
        )
    sets = backup_sets(headers)
    if position is not None:
        for row, info in zip(headers, sets, strict=True):
            if info.position == position:
                if info.kind != "full":
                    raise BadInput(
                        f"Set {position} of {source} is a {info.kind} backup, not a full one.",
                        "Choose a full backup set: " + "; ".join(s.label() for s in sets) + ".",
                    )
                return row
        raise BadInput(
            f"{source} has no backup set {position}.",
            "It holds: " + "; ".join(s.label() for s in sets) + ".",
        )
    full = [(row, info) for row, info in zip(headers, sets, strict=True) if info.kind == "full"]
    if not full:
        raise BadInput(
            f"{source} holds no full database backup (only log or differential backups).",
            "Choose a full backup (the ones this tool makes are full backups).",
        )
    if len(full) > 1:
        raise BadInput(
            f"{source} holds {len(full)} full backup sets: "
            + "; ".join(info.label() for _row, info in full)
            + ".",
            "Choose the set to restore (--position N on the command line, the list in the "
            "wizard).",
        )
    return full[0][0]


def check_version(info: BackupSetInfo, facts: ServerFacts) -> None:
    """Refuse (3169) a backup this server cannot restore: newer major.minor, or too old."""
    ours = tuple(_int(p) for p in (facts.version.split(".") + ["0", "0"])[:2])
    theirs = info.version[:2]
    here = f"{release(*ours)} ({facts.version})"
    if theirs > ours:
        raise ServerError(
            f"The backup was made by a newer SQL Server, {info.release} ({info.version_text}), "
            f"than this one, {here}.",
            f"Restore it on {info.release} or later; a backup never goes to an older version.",
            number=3169,
        )
    oldest = oldest_restorable(ours[0])
    if theirs[0] < oldest:
        via = "SQL Server 2005 to 2008 R2" if theirs[0] < 9 else "SQL Server 2008 to 2014"
        raise ServerError(
            f"The backup was made by {info.release} ({info.version_text}), too old for {here}: "
            f"it restores backups from {release(oldest)} on.",
            f"Restore it first on {via}, back it up there, and restore that backup here.",
            number=3169,
        )


@dataclass(frozen=True)
class SessionInfo:
    """Another session connected to the database a restore replaces."""

    spid: int
    login: str
    host: str
    program: str

    def label(self) -> str:
        return f"{self.login or '?'} on {self.host or '?'} ({self.program or '?'}, session {self.spid})"


@dataclass(frozen=True)
class FolderSpace:
    """Room a restore needs in one server folder against what is free there."""

    what: str  # data | log | safety copy
    folder: str
    needed: int
    free: int | None  # None: the server did not say

    @property
    def enough(self) -> bool:
        return self.free is None or self.free >= self.needed


@dataclass
class RestoreSteps:
    """Everything ``prepare`` found: what the restore will do, and what stops it."""

    source: str
    database: str
    sets: list[BackupSetInfo] = field(default_factory=list)
    chosen: BackupSetInfo | None = None
    header: Row = field(default_factory=dict)
    files: list[Row] = field(default_factory=list)
    exists: bool = False
    state: str = ""  # the existing database's state_desc
    sessions: list[SessionInfo] | None = None  # None: could not be read
    moves: list[tuple[str, str]] = field(default_factory=list)
    space: list[FolderSpace] = field(default_factory=list)
    safety_folder: str = ""
    problems: list[MsdeError] = field(default_factory=list)

    @property
    def position(self) -> int:
        return self.chosen.position if self.chosen else 1

    @property
    def full_positions(self) -> list[int]:
        return [s.position for s in self.sets if s.kind == "full"]

    @property
    def needs_set(self) -> bool:
        """The file holds several full sets and none was chosen yet."""
        return self.chosen is None and len(self.full_positions) > 1

    @property
    def safety_needed(self) -> bool:
        """A safety copy is taken only of an existing database that is ONLINE."""
        return self.exists and self.state.upper() == "ONLINE"

    @property
    def no_safety_reason(self) -> str:
        if not self.exists or self.safety_needed:
            return ""
        return (
            f"no safety copy: {self.database} is {self.state or 'not online'} and holds "
            "nothing usable to save"
        )

    def summary(self) -> dict[str, object]:
        """Plain data for the wizard's summary and the CLI's JSON."""
        return {
            "database": self.database,
            "set": self.chosen.label() if self.chosen else None,
            "position": self.position,
            "sets": [s.label() for s in self.sets],
            "full_positions": self.full_positions,
            "needs_set": self.needs_set,
            "backup_version": self.chosen.version_text if self.chosen else None,
            "backup_release": self.chosen.release if self.chosen else None,
            "replaces": self.exists,
            "state": self.state or None,
            "safety_copy": self.safety_needed,
            "no_safety_reason": self.no_safety_reason or None,
            "sessions": None if self.sessions is None else [s.label() for s in self.sessions],
            "space": [
                {"what": s.what, "folder": s.folder, "needed": s.needed, "free": s.free}
                for s in self.space
            ],
            "problems": [p.message for p in self.problems],
        }


SESSIONS_SQL_TEMPLATE = (
    "SELECT session_id, login_name, host_name, program_name FROM sys.dm_exec_sessions "  # noqa: S608
    "WHERE database_id = DB_ID({db}) AND session_id <> @@SPID ORDER BY session_id"
)


def build_sessions(db: str) -> str:
    """The other sessions whose current database is ``db`` (needs VIEW SERVER STATE)."""
    return SESSIONS_SQL_TEMPLATE.format(db=tsql.quote_literal(db))


async def sessions_on(session: Session, database: str) -> list[SessionInfo] | None:
    """Other sessions on ``database``; None when the login may not see them."""
    try:
        rows = await session.rows(build_sessions(database))
    except SqlFailure:
        return None
    return [
        SessionInfo(
            _int(r.get("session_id")),
            _text(r.get("login_name")),
            _text(r.get("host_name")),
            _text(r.get("program_name")),
        )
        for r in rows
    ]


def _size(row: Row) -> int:
    return _int(row.get("Size"))


async def prepare(
    backend: MssqlBackend, session: Session, item: RestoreItem, facts: ServerFacts, code: str
) -> RestoreSteps:
    """Read everything the restore of ``item`` needs; problems are collected, not raised,
    except the ones that leave nothing to look at (unreadable backup, no such set)."""
    number = naming.check_number(item.number)
    short = naming.check_short(item.short)
    database = item.database or naming.database_name(number, short)
    sep = facts.path_separator
    source = tsql.server_path_join(
        tsql.normalize_server_dir(tsql.server_dirname(item.source, sep), sep),
        tsql.server_basename(item.source),
        sep,
    )
    steps = RestoreSteps(source=source, database=database)
    login = await backend.login_rights(session, [])
    if login is not None and not login.can_verify:
        raise ServerError(
            f"The login '{login.login}' may not restore nor read backups: RESTORE needs CREATE "
            "DATABASE permission.",
            "Give it the dbcreator role, or restore with a sysadmin login; nothing was changed.",
            number=262,
        )
    headers = await backend.rows_on(session, tsql.build_headeronly(source), code, "headeronly", path=source)
    steps.sets = backup_sets(headers)
    try:
        steps.header = choose_set(headers, source, item.position)
    except BadInput as exc:
        if item.position is not None or len(steps.full_positions) < 2:
            raise
        steps.problems.append(exc)  # several full sets: the user chooses (wizard, --position)
        return steps
    steps.chosen = next(s for s in steps.sets if s.position == _int(steps.header.get("Position"), 1))
    try:
        check_version(steps.chosen, facts)
    except MsdeError as exc:
        steps.problems.append(exc)
        return steps
    steps.files = await backend.rows_on(
        session, tsql.build_filelistonly(source, file=steps.position), code, "headeronly", path=source
    )
    if not steps.files:
        raise BackupInvalid(f"{source} lists no database files.", "Choose another backup.")

    existing = await backend.rows_on(
        session, tsql.build_database_exists(database), code, "query", database=database
    )
    steps.exists = bool(existing)
    if steps.exists:
        steps.state = _text(existing[0].get("state_desc")).upper() or "ONLINE"
        if item.replace and login is not None and not login.can_replace:
            steps.problems.append(
                ServerError(
                    f"The login '{login.login}' may not restore over {database}.",
                    "Restoring over an existing database needs the dbcreator role or sysadmin; "
                    "nothing was changed.",
                    number=262,
                )
            )
        if not item.replace:
            steps.problems.append(
                DossierExists(
                    f"The database {database} already exists on {backend.connection.host}.",
                    "Restore over it (replace; a safety copy is taken first) or choose another "
                    "dossier number.",
                )
            )
        if steps.state == "ONLINE":
            steps.sessions = await sessions_on(session, database)
            if steps.sessions and not item.close_sessions:
                steps.problems.append(
                    ServerError(
                        f"The database {database} is in use by {len(steps.sessions)} other "
                        "session(s): " + "; ".join(s.label() for s in steps.sessions) + ".",
                        "Close the accounting program on those workstations, or agree to close "
                        "the sessions (--close-sessions; the wizard asks on the summary).",
                        number=3101,
                    )
                )

    own = await _own_files(session, database) if steps.exists else []
    data_dir, log_dir = _folders(item, facts, own, sep)
    steps.moves = await backend.restore_targets(
        session, code, database, steps.files, data_dir, log_dir, sep, steps.exists,
        keep=_kept(steps.files, own) if steps.exists and not (item.data_dir or item.log_dir) else None,
    )  # fmt: skip
    await _space(backend, steps, own, data_dir, log_dir, facts)
    return steps


async def _own_files(session: Session, database: str) -> list[Row]:
    with contextlib.suppress(SqlFailure):
        return await session.rows(tsql.build_database_files(database))
    return []


def _folders(item: RestoreItem, facts: ServerFacts, own: list[Row], sep: str) -> tuple[str, str]:
    """Where data and log files go: the user's folders, else (replace) where the replaced
    database's files are, else the instance's defaults."""
    own_data = next((_text(r.get("physical_name")) for r in own if _int(r.get("type")) == 0), "")
    own_log = next((_text(r.get("physical_name")) for r in own if _int(r.get("type")) == 1), "")
    data = item.data_dir or (tsql.server_dirname(own_data, sep) if own_data else "")
    data = data or facts.default_data_path
    log = item.log_dir or item.data_dir or (tsql.server_dirname(own_log, sep) if own_log else "")
    log = log or facts.default_log_path or data
    return tsql.normalize_server_dir(data, sep), tsql.normalize_server_dir(log, sep)


def _kept(files: list[Row], own: list[Row]) -> list[str] | None:
    """The replaced database's own file names, in FILELISTONLY order (data to data files, log
    to log files), when the backup has as many of each; else None (new names)."""
    data = [_text(r.get("physical_name")) for r in own if _int(r.get("type")) == 0]
    logs = [_text(r.get("physical_name")) for r in own if _int(r.get("type")) == 1]
    kept: list[str] = []
    for f in files:
        pool = logs if (_text(f.get("Type")) or "D").upper() == "L" else data
        if not pool:
            return None
        kept.append(pool.pop(0))
    return kept if not data and not logs else None


async def _space(
    backend: MssqlBackend,
    steps: RestoreSteps,
    own: list[Row],
    data_dir: str,
    log_dir: str,
    facts: ServerFacts,
) -> None:
    """Needed vs free per folder (FILELISTONLY sizes), and for the safety copy."""
    sep = facts.path_separator
    needed: dict[str, int] = {}
    for f in steps.files:
        folder = log_dir if (_text(f.get("Type")) or "D").upper() == "L" else data_dir
        needed[folder] = needed.get(folder, 0) + _size(f)
    for r in own:  # the replaced database's files make room where they are
        folder = tsql.server_dirname(_text(r.get("physical_name")), sep)
        if folder in needed:
            needed[folder] = max(0, needed[folder] - _int(r.get("size")) * 8192)
    for folder, size in needed.items():
        what = "data" if folder == data_dir else "log"
        if folder == data_dir and folder == log_dir:
            what = "data and log"
        steps.space.append(FolderSpace(what, folder, size, await _free(backend, folder)))
    if steps.safety_needed:
        steps.safety_folder = facts.default_backup_path
        size = sum(_int(r.get("size")) * 8192 for r in own if _int(r.get("type")) == 0)
        steps.space.append(
            FolderSpace("safety copy", steps.safety_folder, size, await _free(backend, steps.safety_folder))
        )
    for s in steps.space:
        if not s.enough:
            steps.problems.append(
                ServerDiskFull(
                    f"Not enough free space for the {s.what} of {steps.database} in {s.folder} "
                    f"on the server: {_mb(s.needed)} needed, {_mb(s.free or 0)} free.",
                    "Free space there, or choose other folders on the server (data and log "
                    "folders on the summary, --data-dir / --log-dir on the command line).",
                )
            )


async def _free(backend: MssqlBackend, folder: str) -> int | None:
    with contextlib.suppress(MsdeError):
        return await backend.free_bytes(folder)
    return None


def _mb(size: int) -> str:
    if size >= 1024**3:
        return f"{size / 1024**3:.1f} GB"
    return f"{max(size, 0) / 1024**2:.1f} MB"
