"""The SQL Server backend: facts, dossier databases, server-side directories, backup, verify
and restore, with live progress from the server's informational messages. The class holds
the connections and the facts; the work lives beside it: ``backingup.py`` (backup),
``verifying.py`` (verify a file), ``directories.py`` (server-side folders), ``backupsets.py``
(a set's identity), ``restoring.py`` / ``restoreplan.py`` (restore), ``testrestore.py``.

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
  with ``KILL`` from a side connection; a cancelled BACKUP is never reported valid and its
  file, partial or unverified, is deleted on the server (``backingup.remove_unproven``), a
  cancelled RESTORE of a new database drops the half-restored database, and a cancelled
  RESTORE over an existing one is reported (log warning) with the safety backup to restore.
- Each backup/verify/restore runs on its own connection (operations run several at once);
  ``facts``/``databases``/directory browsing share one connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator

from msde_tui.engine import naming
from msde_tui.engine.backends.base import BackupInfo, DatabaseInfo, DirEntry, ServerFacts
from msde_tui.engine.backends.mssql import (
    backingup,
    backupsets,
    directories,
    history,
    restoreplan,
    restoring,
    rights,
    tsql,
    verifying,
)
from msde_tui.engine.backends.mssql import messages as msgs
from msde_tui.engine.backends.mssql.common import as_bool, as_int, as_text
from msde_tui.engine.backends.mssql.driver import Row, Session, SqlFailure, Target
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BackupInvalid, BadInput, DossierNotFound, MsdeError, ServerError
from msde_tui.engine.events import Event, Statement
from msde_tui.engine.paths import DirProblem
from msde_tui.engine.plans import BackupOptions, Connection, RestoreItem

log = logging.getLogger(__name__)

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

    async def meta_rows(self, sql: str, operation: str = "query", **kw: str) -> list[Row]:
        """Rows of ``sql`` on the shared connection (facts, directories); failures translated."""
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
        rows = await self.meta_rows(tsql.FACTS_SQL)
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
                found = await self.meta_rows(tsql.MASTER_FILE_SQL)
                master = _text(found[0].get("physical_name")) if found else ""
        sep = tsql.guess_separator(data, backup, log_path, master)
        if not data and master:
            data = tsql.server_dirname(master, sep)
        if not backup:
            with contextlib.suppress(MsdeError):
                found = await self.meta_rows(tsql.BACKUP_DIR_REGREAD_SQL)
                if found:
                    backup = _text(found[0].get("Data"))
        backup = backup or data
        log_path = log_path or data
        self.instance_name = _text(row.get("InstanceName")) or None
        with contextlib.suppress(MsdeError):
            found = await self.meta_rows(tsql.SERVICE_ACCOUNT_SQL)
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
        rows = await self.meta_rows(tsql.DATABASES_SQL)
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

    async def list_dir(self, path: str) -> list[DirEntry]:
        """Directories and files in ``path`` as the SQL Server service sees them."""
        return await directories.list_dir(self, path)

    async def check_dir(self, path: str) -> tuple[bool, int | None]:
        """(exists and is a directory on the server, free bytes there or None)."""
        return await directories.check_dir(self, path)

    async def free_bytes(self, directory: str) -> int | None:
        return await directories.free_bytes(self, directory)

    async def write_problem(self, directory: str) -> DirProblem | None:
        """Why the SQL Server service account cannot write backups in ``directory`` (server
        side), or None; see ``directories.write_problem``."""
        return await directories.write_problem(self, directory)

    async def backups_in(self, directory: str) -> list[BackupInfo]:
        """Every ``*.bak`` in ``directory`` (server side) that ``RESTORE HEADERONLY`` can read."""
        return await directories.backups_in(self, directory)

    async def header(self, path: str) -> list[Row]:
        """``RESTORE HEADERONLY`` rows of one backup file (server path)."""
        return await self.meta_rows(tsql.build_headeronly(path), "headeronly", path=path)

    # -- automatic backups: movement counter, identity read-back, server-side deletion -----

    async def movement_count(self, database: str) -> int:
        """Entries in dossier database ``database`` (0 for a database without accounting tables).

        ``DossierNotFound`` when the database does not exist or is not online (never 0 for a
        database that went away).
        """
        rows = await self.meta_rows(
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
            if getattr(exc, "number", None) in backupsets.NOT_A_READABLE_BACKUP:
                return None
            raise
        return backupsets.backup_info(path, headers)

    async def delete_backup_file(self, path: str) -> None:
        """Delete one backup file on the server host with ``xp_delete_file`` (sysadmin only).

        ``xp_delete_file`` silently skips a file it does not read as a SQL Server backup, so
        the file is looked for afterwards: still there -> ``ServerError``. A login without the
        right gets a ``ServerError`` saying so (number 229).
        """
        try:
            await self.meta_rows(tsql.build_delete_backup_file(path), "delete", path=path)
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
        rows = await self.meta_rows(tsql.build_fileexist(path), "list", path=path)
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
        return backingup.backup_events(self, dossier, directory, options)

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
        return verifying.verify_file_events(self, file, position, test_restore)

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
                tsql.file_stem(database), listing, data_dir=data_dir, log_dir=log_dir, sep=sep,
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
