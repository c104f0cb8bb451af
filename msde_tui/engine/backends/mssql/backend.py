"""The SQL Server backend: facts, dossier databases, server-side directories, backup, verify
and restore, with live progress from the server's informational messages.

Decisions worth knowing:

- **No proof file beside a SQL Server backup.** The backup file lives on the SQL Server host,
  whose disk this tool cannot write (and may not even see). The backup carries its own proof
  instead: ``WITH CHECKSUM`` protects every page, and the backup set's ``DESCRIPTION`` holds
  ``msde-tui <version> dossier=<code> guid=<guid>``, read back by ``RESTORE HEADERONLY``
  (see ``BackupInfo.code`` / ``BackupInfo.guid``). A backup is reported ``verified`` only when
  ``RESTORE VERIFYONLY … WITH CHECKSUM`` answered message 3262.
- **COPY_ONLY by default** (``BackupOptions.copy_only``) so the office's own backup chain is
  not broken. **Never COMPRESSION on Express** (EngineEdition 4) nor on Web edition; on other
  editions ``compression=None`` means compress.
- **Least privilege.** Before a backup, the login's rights are read (``rights.py``): a
  backup it may not make, or may make but not verify, is refused before anything is written.
- **Restore** (``restoring.py``) is worked out first (``restoreplan.py``: the backup set,
  its version against the server's major.minor, the target database's state and sessions,
  MOVE targets in the server's own path style, free space per folder) and then verified,
  safety-copied (an ONLINE database only), and restored. ``restore_preview`` gives the same
  plan to the wizard's summary.
- **Verify** checks every backup set of a file, each with its own identity; a **test
  restore** (``testrestore.py``) adds a scratch restore, DBCC CHECKDB and a drop.
- **Cancellation.** If the consumer stops a generator mid-statement, the statement is stopped
  with ``KILL`` from a side connection; a cancelled BACKUP is never reported valid, a
  cancelled RESTORE of a new database drops the half-restored database, and a cancelled
  RESTORE over an existing one is reported (log warning) with the safety backup to restore.
- Each backup/verify/restore runs on its own connection (operations run several at once);
  ``facts``/``databases``/directory browsing share one connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime

from msde_tui import __version__
from msde_tui.engine import naming
from msde_tui.engine.backends.base import BackupInfo, DatabaseInfo, DirEntry, ServerFacts
from msde_tui.engine.backends.mssql import (
    history,
    restoreplan,
    restoring,
    rights,
    testrestore,
    tsql,
)
from msde_tui.engine.backends.mssql import messages as msgs
from msde_tui.engine.backends.mssql.common import (
    as_bool,
    as_int,
    as_text,
    compression_for,
    error_details,
    failure_events,
)
from msde_tui.engine.backends.mssql.driver import Row, Session, SqlFailure, Target
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import (
    BackupInvalid,
    BadInput,
    DossierNotFound,
    MsdeError,
    ServerError,
)
from msde_tui.engine.events import (
    DossierResult,
    Event,
    ServerMessage,
    Started,
    Statement,
    Step,
)
from msde_tui.engine.plans import BackupOptions, Connection, RestoreItem

log = logging.getLogger(__name__)

EXPRESS = 4
_DESCRIPTION_RE = re.compile(r"^msde-tui \S+ dossier=(?P<code>\S+)(?: guid=(?P<guid>\S+))?")
# HEADERONLY failures meaning "no usable backup there" (missing, unreadable, damaged)
_NOT_A_READABLE_BACKUP = (3201, 3241, 3242, 3203, 3183, 3189)


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


file_stem = tsql.file_stem  # a database name usable in a file name


_text, _int, _bool = as_text, as_int, as_bool


class MssqlBackend:
    """``Backend`` over one SQL Server connection profile."""

    def __init__(self, connection: Connection, *, login_timeout: int = 15) -> None:
        if connection.kind != "mssql":
            raise BadInput("This connection is not a SQL Server connection.")
        self.connection = connection
        self._target = Target(
            host=connection.host,
            port=connection.port,
            user=connection.user,
            password=connection.password,
            driver=connection.driver,
            login_timeout=login_timeout,
        )
        self._meta: Session | None = None
        self._meta_lock = asyncio.Lock()
        self._facts: ServerFacts | None = None
        self.instance_name: str | None = None
        self.service_account: str = ""

    def __repr__(self) -> str:
        return f"MssqlBackend({self.connection!r})"

    # -- connections -----------------------------------------------------------------------

    def _context(self, operation: str, **kw: str) -> msgs.Context:
        return msgs.Context(
            operation=operation,
            host=self.connection.host,
            port=self.connection.port,
            user=self.connection.user,
            service_account=self.service_account,
            server_version=self._facts.version if self._facts else "",
            **kw,
        )

    def _error(self, failure: SqlFailure, operation: str, **kw: str) -> MsdeError:
        error = msgs.translate(
            failure.number,
            failure.text,
            messages=failure.messages,
            context=self._context("connect" if failure.connect else operation, **kw),
        )
        error.server_messages = failure.messages  # type: ignore[attr-defined]
        return error

    def translate(self, failure: SqlFailure, operation: str, **kw: str) -> MsdeError:
        """A driver failure in plain words (for the helpers of this package)."""
        return self._error(failure, operation, **kw)

    async def open_session(self) -> Session:
        """A new connection of this backend's login (closed by the caller)."""
        return await self._open()

    async def _open(self) -> Session:
        try:
            return await Session.open(self._target)
        except SqlFailure as failure:
            raise self._error(failure, "connect") from None

    async def _meta_rows(self, sql: str, operation: str = "query", **kw: str) -> list[Row]:
        async with self._meta_lock:
            if self._meta is None:
                self._meta = await self._open()
            try:
                return await self._meta.rows(sql)
            except SqlFailure as failure:
                raise self._error(failure, operation, **kw) from None

    async def close(self) -> None:
        if self._meta is not None:
            await self._meta.close()
            self._meta = None

    # -- facts -----------------------------------------------------------------------------

    async def facts(self) -> ServerFacts:
        if self._facts is not None:
            return self._facts
        rows = await self._meta_rows(tsql.FACTS_SQL)
        row = rows[0] if rows else {}
        version = _text(row.get("ProductVersion"))
        major = _int(row.get("ProductMajorVersion")) or _int(
            version.split(".")[0] if version else 0
        )
        data = _text(row.get("InstanceDefaultDataPath"))
        log_path = _text(row.get("InstanceDefaultLogPath"))
        backup = _text(row.get("InstanceDefaultBackupPath"))
        master = ""
        if not data:
            with contextlib.suppress(MsdeError):
                found = await self._meta_rows(tsql.MASTER_FILE_SQL)
                master = _text(found[0].get("physical_name")) if found else ""
        sep = tsql.guess_separator(data, backup, log_path, master)
        if not data and master:
            data = tsql.server_dirname(master, sep)
        if not backup:
            with contextlib.suppress(MsdeError):
                found = await self._meta_rows(tsql.BACKUP_DIR_REGREAD_SQL)
                if found:
                    backup = _text(found[0].get("Data"))
        backup = backup or data
        log_path = log_path or data
        self.instance_name = _text(row.get("InstanceName")) or None
        with contextlib.suppress(MsdeError):
            found = await self._meta_rows(tsql.SERVICE_ACCOUNT_SQL)
            if found:
                self.service_account = _text(found[0].get("service_account"))
        if not self.service_account:
            self.service_account = msgs.service_account_guess(self.instance_name, sep)
        product = _text(row.get("Version")).splitlines()[0].strip() if row.get("Version") else ""
        engine_edition = row.get("EngineEdition")
        self._facts = ServerFacts(
            product=product or f"Microsoft SQL Server {version}",
            version=version,
            version_major=major,
            edition=_text(row.get("Edition")),
            engine_edition=_int(engine_edition) if engine_edition is not None else None,
            default_backup_path=self._clean_dir(backup, sep),
            default_data_path=self._clean_dir(data, sep),
            default_log_path=self._clean_dir(log_path, sep),
            path_separator=sep,
        )
        return self._facts

    @staticmethod
    def _clean_dir(path: str, sep: str) -> str:
        if not path:
            return ""
        try:
            return tsql.normalize_server_dir(path, sep)
        except BadInput:
            return path

    async def databases(self) -> list[DatabaseInfo]:
        """Dossier databases (``PW0001SOC``…) with their data size (what Express limits)."""
        rows = await self._meta_rows(tsql.DATABASES_SQL)
        result = []
        for row in rows:
            name = _text(row.get("name"))
            if naming.parse_database_name(name) is None:
                continue
            result.append(
                DatabaseInfo(name, _int(row.get("size_bytes")), _text(row.get("state")) or "ONLINE")
            )
        return sorted(result, key=lambda d: d.name)

    # -- server-side directories -----------------------------------------------------------

    async def _dir(self, path: str) -> str:
        facts = await self.facts()
        return tsql.normalize_server_dir(path, facts.path_separator)

    async def list_dir(self, path: str) -> list[DirEntry]:
        """Directories and files in ``path`` as the SQL Server service sees them."""
        facts = await self.facts()
        directory = await self._dir(path)
        entries: list[DirEntry] = []
        if facts.version_major >= 14:
            try:
                rows = await self._meta_rows(
                    tsql.build_enumerate_filesystem(directory), "list", directory=directory
                )
                entries = [
                    DirEntry(
                        _text(r.get("file_or_directory_name")),
                        _bool(r.get("is_directory")),
                        _int(r.get("size_in_bytes")),
                    )
                    for r in rows
                ]
            except ServerError as exc:
                if exc.number not in (208, 2812, 4121, 195):
                    raise
                entries = await self._dirtree(directory)
        else:
            entries = await self._dirtree(directory)
        entries = [e for e in entries if e.name and e.name not in (".", "..")]
        if not entries:
            exists, _ = await self.check_dir(directory)
            if not exists:
                raise ServerError(
                    f"The directory {directory} does not exist on the SQL Server host.",
                    "Directories are on the server's machine, not this one; pick one that exists "
                    f"there (e.g. {facts.default_backup_path}).",
                )
        return sorted(entries, key=lambda e: (not e.is_dir, e.name.lower()))

    async def _dirtree(self, directory: str) -> list[DirEntry]:
        rows = await self._meta_rows(tsql.build_dirtree(directory), "list", directory=directory)
        return [
            DirEntry(_text(r.get("subdirectory")), _int(r.get("file", 0)) == 0)
            for r in rows
            if _int(r.get("depth", 1)) == 1
        ]

    async def check_dir(self, path: str) -> tuple[bool, int | None]:
        """(exists and is a directory on the server, free bytes there or None)."""
        directory = await self._dir(path)
        rows = await self._meta_rows(tsql.build_fileexist(directory), "list", directory=directory)
        row = rows[0] if rows else {}
        is_dir = _bool(row.get("File is a Directory"))
        if not is_dir:
            return False, None
        return True, await self.free_bytes(directory)

    async def free_bytes(self, directory: str) -> int | None:
        facts = await self.facts()
        windows = facts.path_separator == "\\"

        def norm(p: str) -> str:
            return p.lower() if windows else p

        with contextlib.suppress(MsdeError):
            rows = await self._meta_rows(tsql.VOLUMES_SQL)
            best: tuple[int, int] | None = None
            for row in rows:
                mount = _text(row.get("volume_mount_point"))
                if mount and norm(directory + facts.path_separator).startswith(norm(mount)):
                    if best is None or len(mount) > best[0]:
                        best = (len(mount), _int(row.get("available_bytes")))
            if best is not None:
                return best[1]
        # xp_fixeddrives: a drive letter per row on Windows, a mount point elsewhere
        with contextlib.suppress(MsdeError):
            best = None
            for row in await self._meta_rows(tsql.FIXED_DRIVES_SQL):
                drive = _text(row.get("drive"))
                if len(drive) == 1 and windows:
                    hit = directory[:1].upper() == drive.upper()
                else:
                    hit = bool(drive) and norm(directory + facts.path_separator).startswith(
                        norm(drive)
                    )
                if hit and (best is None or len(drive) > best[0]):
                    best = (len(drive), _int(row.get("MB free")) * 1024 * 1024)
            if best is not None:
                return best[1]
        return None

    async def backups_in(self, directory: str) -> list[BackupInfo]:
        """Every ``*.bak`` in ``directory`` (server side) that ``RESTORE HEADERONLY`` can read."""
        facts = await self.facts()
        folder = await self._dir(directory)
        found: list[BackupInfo] = []
        for entry in await self.list_dir(folder):
            if entry.is_dir or not entry.name.lower().endswith(".bak"):
                continue
            path = tsql.server_path_join(folder, entry.name, facts.path_separator)
            try:
                headers = await self._meta_rows(
                    tsql.build_headeronly(path), "headeronly", path=path
                )
            except MsdeError as exc:
                if getattr(exc, "number", None) != 3241 or "newer SQL Server" not in exc.message:
                    log.info("skipping unreadable backup %s: %s", path, exc)
                    continue
                # most likely made by a newer SQL Server: listed, with the reason it cannot be
                # restored here (not hidden as if damaged)
                found.append(
                    BackupInfo(path, "", None, entry.size_bytes, "", 0, False, problem=exc.message)
                )
                continue
            info = _backup_info(path, headers)
            if info is not None:
                found.append(info)
        return found

    async def header(self, path: str) -> list[Row]:
        """``RESTORE HEADERONLY`` rows of one backup file (server path)."""
        return await self._meta_rows(tsql.build_headeronly(path), "headeronly", path=path)

    # -- automatic backups: movement counter, identity read-back, server-side deletion -----

    async def movement_count(self, database: str) -> int:
        """Entries in dossier database ``database`` (0 for a database without accounting tables).

        ``DossierNotFound`` when the database does not exist or is not online (never 0 for a
        database that went away).
        """
        rows = await self._meta_rows(
            tsql.build_database_exists(database), "query", database=database
        )
        if not rows:
            raise DossierNotFound(
                f"The database {database} does not exist on {self.connection.host}.",
                "Restore it, or remove the dossier from the list.",
            )
        state = _text(rows[0].get("state_desc")).upper() or "ONLINE"
        if state != "ONLINE":
            raise DossierNotFound(
                f"The database {database} on {self.connection.host} is {state}, not online.",
                "Bring it online (or finish its restore) on the server, then try again.",
            )
        async with self._meta_lock:
            if self._meta is None:
                self._meta = await self._open()
            try:
                rows = await self._meta.rows(tsql.build_movement_count(database))
            except SqlFailure as failure:
                if failure.number == 208:  # no dbo.entry: not an accounting database
                    return 0
                raise self._error(failure, "query", database=database) from None
        return _int(rows[0].get("movements")) if rows else 0

    async def backup_identity(self, path: str) -> BackupInfo | None:
        """What ``RESTORE HEADERONLY`` says of ``path``; None when the file is gone, cannot be
        read by the service account, or is not a readable backup. Other failures raise."""
        try:
            headers = await self.header(path)
        except MsdeError as exc:
            if getattr(exc, "number", None) in _NOT_A_READABLE_BACKUP:
                return None
            raise
        return _backup_info(path, headers)

    async def delete_backup_file(self, path: str) -> None:
        """Delete one backup file on the server host with ``xp_delete_file`` (sysadmin only).

        ``xp_delete_file`` silently skips a file it does not read as a SQL Server backup, so
        the file is looked for afterwards: still there -> ``ServerError``. A login without the
        right gets a ``ServerError`` saying so (number 229).
        """
        try:
            await self._meta_rows(tsql.build_delete_backup_file(path), "delete", path=path)
        except ServerError as exc:
            if exc.number in (229, 15247):
                raise ServerError(
                    f"The login '{self.connection.user}' may not delete backup files on the "
                    f"server ({path} is kept): xp_delete_file needs the sysadmin role.",
                    "Delete old backups on the server by hand, or run the automatic backups with "
                    "a sysadmin login; nothing else was deleted.",
                    number=exc.number,
                ) from None
            raise
        rows = await self._meta_rows(tsql.build_fileexist(path), "list", path=path)
        if rows and _bool(rows[0].get("File Exists")):
            raise ServerError(
                f"SQL Server did not delete {path} (xp_delete_file deletes only files it reads "
                "as SQL Server backups).",
                "Look at that file on the server; nothing else was deleted.",
            )

    # -- streaming helper ------------------------------------------------------------------

    async def run_events(
        self,
        session: Session,
        sql: str,
        code: str,
        operation: str,
        sink: list[msgs.SqlMessage],
        **kw: str,
    ) -> AsyncGenerator[Event, None]:
        """Run one statement, yielding ServerMessage/Progress live; raise a translated error."""
        try:
            async with contextlib.aclosing(session.stream(sql)) as stream:
                async for msg in stream:
                    sink.append(msg)
                    for event in msgs.events_for(msg, code):
                        yield event
        except SqlFailure as failure:
            raise self._error(failure, operation, **kw) from None

    # -- backup ----------------------------------------------------------------------------

    def backup(
        self, dossier: Dossier, directory: str, options: BackupOptions
    ) -> AsyncIterator[Event]:
        return self._backup(dossier, directory, options)

    async def _backup(
        self, dossier: Dossier, directory: str, options: BackupOptions
    ) -> AsyncGenerator[Event, None]:
        code = dossier.code
        began = time.monotonic()
        steps = ("backup", "verify") if options.verify else ("backup",)
        yield Started(code, "backup", steps)
        session: Session | None = None
        path = ""
        done = False
        try:
            if dossier.backend != "mssql":
                raise BadInput(
                    f"Dossier {code} is not on SQL Server.", "Use the embedded backup for it."
                )
            facts = await self.facts()
            database = dossier.location or naming.database_name(dossier.number, dossier.short)
            folder = tsql.normalize_server_dir(directory, facts.path_separator)
            path = tsql.server_path_join(
                folder,
                naming.native_backup_name(file_stem(database), datetime.now()),
                facts.path_separator,
            )
            compression = compression_for(facts, options.compression)
            sql = tsql.build_backup(
                database,
                path,
                checksum=True,
                init=True,
                copy_only=options.copy_only,
                compression=compression,
                stats=options.stats,
                name=f"{file_stem(database)} full backup"[: tsql.MAX_BACKUP_NAME],
                description=backup_description(dossier),
            )
            session = await self._open()
            login = await self.login_rights(session, [database])
            if login is not None:
                _refuse_backup(login, database, options)
            yield Step(code, "backup", path)
            yield Statement(code, sql)
            seen: list[msgs.SqlMessage] = []
            async with contextlib.aclosing(
                self.run_events(
                    session,
                    sql,
                    code,
                    "backup",
                    seen,
                    database=database,
                    path=path,
                    directory=folder,
                )
            ) as events:
                async for event in events:
                    yield event
            rate = next((t for t in map(msgs.throughput, seen) if t is not None), None)
            details: dict[str, object] = {
                "database": database,
                "file": path,
                "compressed": bool(compression),
                "copy_only": options.copy_only,
            }
            if rate is not None:
                details.update(
                    pages=rate.pages,
                    bytes=rate.bytes,
                    mb_per_s=rate.mb_per_s,
                    server_seconds=rate.seconds,
                )
            verified = False
            if options.verify:
                yield Step(code, "verify", path)
                refusal = BackupInvalid(
                    f"The backup {path} was written but SQL Server did not confirm it is valid.",
                    "Do not rely on it; run the backup again.",
                )
                async with contextlib.aclosing(
                    self.verify_events(session, code, path, refusal, checksum=True)
                ) as events:
                    async for event in events:
                        yield event
                verified = True
            if options.test_restore and verified:
                outcome: dict[str, object] = {"source_database": database}
                async with contextlib.aclosing(
                    testrestore.run(self, session, code, path, 1, facts, outcome)
                ) as events:
                    async for event in events:
                        yield event
                details["test_restore"] = outcome
            warning = await self._page_verify_warning(session, database)
            if warning:
                details["page_verify_warning"] = warning
                yield ServerMessage(code, "WARNING: " + warning, None, 10)
            done = True
            yield DossierResult(
                code,
                ok=True,
                message=f"Backed up to {path}"
                + (" and verified" if verified else "")
                + (", test restore and DBCC CHECKDB clean" if "test_restore" in details else "")
                + "."
                + (f" WARNING: {warning}" if warning else ""),
                verified=verified,
                files=(path,),
                seconds=time.monotonic() - began,
                details=details,
            )
        except MsdeError as exc:
            done = True
            for event in failure_events(exc, code):
                yield event
            yield DossierResult(
                code,
                ok=False,
                message=exc.message,
                hint=exc.hint,
                files=(),
                seconds=time.monotonic() - began,
                details=error_details(exc) | {"file": path},
            )
        finally:
            if not done and path:
                log.warning(
                    "backup of %s cancelled: %s on the server is incomplete or unverified and must "
                    "not be used",
                    code,
                    path,
                )
            if session is not None:
                await session.close()

    async def login_rights(
        self, session: Session | None = None, databases: list[str] | None = None
    ) -> rights.LoginRights | None:
        """What this login may do (None when the server cannot say). Without ``databases``,
        the dossier databases on the server."""
        facts = await self.facts()
        if databases is None:
            databases = [d.name for d in await self.databases()]
        own = session is None
        active = session if session is not None else await self._open()
        try:
            return await rights.read(
                active, self.connection.user, databases, version_major=facts.version_major
            )
        except SqlFailure as failure:
            log.info("cannot read the login's rights: %s", failure)
            return None
        finally:
            if own:
                await active.close()

    async def backup_history(self) -> list[history.BackupState]:
        """Age of the last full (and log) backup of every user database, from msdb."""
        session = await self._open()
        try:
            return await history.read(session)
        except SqlFailure as failure:
            raise self._error(failure, "query", database="msdb") from None
        finally:
            await session.close()

    async def _page_verify_warning(self, session: Session, database: str) -> str | None:
        """A warning when ``database`` does not use CHECKSUM page verification."""
        try:
            rows = await session.rows(testrestore.build_page_verify(database))
        except SqlFailure:
            return None
        option = _text(rows[0].get("page_verify_option_desc")) if rows else ""
        return testrestore.page_verify_warning(database, option)

    # -- verify ----------------------------------------------------------------------------

    async def verify_events(
        self,
        session: Session,
        code: str,
        path: str,
        refusal: BackupInvalid,
        *,
        checksum: bool,
        file: int = 1,
        moves: tuple[tuple[str, str], ...] = (),
    ) -> AsyncGenerator[Event, None]:
        """VERIFYONLY events; ``refusal`` is raised unless the server confirmed it (3262)."""
        sql = tsql.build_verifyonly(path, file=file, checksum=checksum, moves=moves)
        yield Statement(code, sql)
        seen: list[msgs.SqlMessage] = []
        async with contextlib.aclosing(
            self.run_events(session, sql, code, "verify", seen, path=path)
        ) as events:
            async for event in events:
                yield event
        if not any(msgs.verified_file(m) == file for m in seen):
            raise refusal

    def verify(
        self, file: str, *, position: int | None = None, test_restore: bool = False
    ) -> AsyncIterator[Event]:
        """VERIFYONLY of every backup set in ``file`` (or set ``position`` only), each reported
        with its own identity; ``test_restore`` adds the test restore (scratch database, DBCC
        CHECKDB, drop) of every full set verified."""
        return self._verify(file, position, test_restore)

    async def _verify(
        self, file: str, position: int | None, test_restore: bool
    ) -> AsyncGenerator[Event, None]:
        name = tsql.server_basename(file)
        began = time.monotonic()
        yield Started(name, "verify", ("verify",) + (("test restore",) if test_restore else ()))
        session: Session | None = None
        try:
            facts = await self.facts()
            folder = tsql.normalize_server_dir(
                tsql.server_dirname(file, facts.path_separator), facts.path_separator
            )
            path = tsql.server_path_join(folder, name, facts.path_separator)
            session = await self._open()
            yield Step(name, "read", path)
            headers = await self.rows_on(
                session, tsql.build_headeronly(path), name, "headeronly", path=path
            )
            if not headers:
                raise BackupInvalid(
                    f"{path} holds no backup set.", "Choose a .bak file made by BACKUP DATABASE."
                )
            chosen = [
                h for h in headers if position is None or _int(h.get("Position"), 1) == position
            ]
            if not chosen:
                restoreplan.choose_set(headers, path, position)  # raises: no such set
            sets: list[dict[str, object]] = []
            tests: list[dict[str, object]] = []
            for header in chosen:
                info = _backup_info(path, [header])
                assert info is not None
                number = _int(header.get("Position"), 1) or 1
                yield Step(name, "verify", f"{path} (set {number})")
                refusal = BackupInvalid(
                    f"SQL Server did not confirm that set {number} of {path} is valid.",
                    "Do not rely on this backup; take a new one.",
                )
                async with contextlib.aclosing(
                    self.verify_events(
                        session, name, path, refusal, checksum=info.has_checksums, file=number
                    )
                ) as events:
                    async for event in events:
                        yield event
                sets.append(
                    {
                        "position": number,
                        "database": info.database,
                        "code": info.code,
                        "guid": info.guid,
                        "checksums": info.has_checksums,
                        "server_version": info.server_version,
                    }
                )
                if test_restore and _int(header.get("BackupType"), 1) == 1:
                    outcome: dict[str, object] = {"source_database": info.database}
                    async with contextlib.aclosing(
                        testrestore.run(self, session, name, path, number, facts, outcome)
                    ) as events:
                        async for event in events:
                            yield event
                    tests.append(outcome)
            first = sets[-1] if len(sets) == 1 else sets[0]
            checksums = all(bool(s["checksums"]) for s in sets)
            note = "" if checksums else " (without page checksums: only its structure was checked)"
            what = f"{path} is valid" if len(sets) == 1 else f"{path}: {len(sets)} backup sets valid"
            if tests:
                what += ", test restore and DBCC CHECKDB clean"
            yield DossierResult(
                name,
                ok=True,
                message=f"{what}{note}.",
                verified=True,
                files=(path,),
                seconds=time.monotonic() - began,
                details={
                    "database": first["database"],
                    "code": first["code"],
                    "guid": first["guid"],
                    "checksums": checksums,
                    "sets": sets,
                }
                | ({"test_restore": tests} if test_restore else {}),
            )
        except MsdeError as exc:
            for event in failure_events(exc, name):
                yield event
            yield DossierResult(
                name,
                ok=False,
                message=exc.message,
                hint=exc.hint,
                seconds=time.monotonic() - began,
                details=error_details(exc) | {"file": file},
            )
        finally:
            if session is not None:
                await session.close()

    async def rows_on(
        self, session: Session, sql: str, code: str, operation: str, **kw: str
    ) -> list[Row]:
        try:
            return await session.rows(sql)
        except SqlFailure as failure:
            raise self._error(failure, operation, **kw) from None

    # -- restore ---------------------------------------------------------------------------

    def restore(self, item: RestoreItem, *, verify_first: bool = True) -> AsyncIterator[Event]:
        return restoring.restore_events(self, item, verify_first=verify_first)

    @property
    def target(self) -> Target:
        """Where and how this backend connects (the password stays out of its repr)."""
        return self._target

    async def restore_targets(
        self,
        session: Session,
        code: str,
        database: str,
        files: list[Row],
        data_dir: str,
        log_dir: str,
        sep: str,
        existed: bool,
        *,
        keep: list[str] | None = None,
    ) -> list[tuple[str, str]]:
        """MOVE targets that collide with no other database's file and no existing file;
        ``keep``: the replaced database's own file names, one per backup file (kept as they
        are)."""
        listing = [(_text(f.get("LogicalName")), _text(f.get("Type")) or "D") for f in files]
        if keep is not None:
            return [(logical, physical) for (logical, _kind), physical in zip(listing, keep, strict=True)]
        own: set[str] = set()
        taken: set[str] = set()
        try:
            rows = await session.rows(tsql.MASTER_FILES_SQL)
            if existed:
                own = {
                    _text(r.get("physical_name"))
                    for r in await session.rows(tsql.build_database_files(database))
                }
            taken = {_text(r.get("physical_name")) for r in rows} - own
        except SqlFailure as failure:
            log.info("cannot read sys.master_files: %s", failure)
        for _ in range(20):
            moves = tsql.restore_targets(
                file_stem(database), listing, data_dir=data_dir, log_dir=log_dir, sep=sep,
                taken=taken,
            )
            clash = False
            for _logical, physical in moves:
                if physical in own:
                    continue
                try:
                    rows = await session.rows(tsql.build_fileexist(physical))
                except SqlFailure:
                    rows = []
                if rows and (
                    _bool(rows[0].get("File Exists")) or _bool(rows[0].get("File is a Directory"))
                ):
                    taken.add(physical)
                    clash = True
            if not clash:
                return moves
        raise ServerError(
            f"Cannot find free file names for {database} in {data_dir}.",
            "Choose another data directory on the server.",
        )

    async def restore_preview(self, item: RestoreItem) -> restoreplan.RestoreSteps:
        """What restoring ``item`` would do (set, version, sessions, space); writes nothing.
        Problems are in ``.problems`` instead of raised, so a summary can show them all."""
        facts = await self.facts()
        session = await self._open()
        try:
            return await restoreplan.prepare(self, session, item, facts, item.number)
        finally:
            await session.close()

def _refuse_backup(login: rights.LoginRights, database: str, options: BackupOptions) -> None:
    """Say before anything is written what this login may not do (BACKUP, VERIFYONLY)."""
    if not login.can_backup(database):
        raise ServerError(
            f"The login '{login.login}' may not back up {database}.",
            f"Make it db_backupoperator (or db_owner) of {database}, or use a sysadmin login; "
            "nothing was written.",
            number=262,
        )
    if (options.verify or options.test_restore) and not login.can_verify:
        raise ServerError(
            f"The login '{login.login}' may back up {database} but not verify backups: RESTORE "
            "VERIFYONLY needs CREATE DATABASE permission (since SQL Server 2008).",
            "Give the login the dbcreator role (or CREATE ANY DATABASE), or back up with "
            "--no-verify knowing the backup is unchecked; nothing was written.",
            number=262,
        )


def _full_backup_header(headers: list[Row], source: str) -> Row:
    if not headers:
        raise BackupInvalid(
            f"{source} holds no backup set.", "Choose a .bak file made by BACKUP DATABASE."
        )
    full = [h for h in headers if _int(h.get("BackupType"), 1) == 1]
    if not full:
        raise BadInput(
            f"{source} holds no full database backup (only log or differential backups).",
            "Choose a full backup (the ones this tool makes are full backups).",
        )
    return max(full, key=lambda h: _int(h.get("Position"), 1))


def _backup_info(path: str, headers: list[Row]) -> BackupInfo | None:
    if not headers:
        return None
    try:
        header = _full_backup_header(headers, path)
    except MsdeError:
        header = headers[-1]
    database = _text(header.get("DatabaseName"))
    code, guid = parse_description(_text(header.get("BackupDescription")))
    if code is None:
        parsed = naming.parse_database_name(database)
        code = parsed.code if parsed else None
    finished = header.get("BackupFinishDate") or header.get("BackupStartDate")
    major = _int(header.get("SoftwareVersionMajor"))
    return BackupInfo(
        file=path,
        database=database,
        created_at=finished if isinstance(finished, datetime) else None,
        size_bytes=_int(header.get("BackupSize")),
        server_version=".".join(
            str(_int(header.get(k)))
            for k in ("SoftwareVersionMajor", "SoftwareVersionMinor", "SoftwareVersionBuild")
        ),
        version_major=major,
        has_checksums=_bool(header.get("HasBackupChecksums")),
        guid=guid,
        code=code,
        sets=len(headers),
    )

