"""BACKUP DATABASE and RESTORE {VERIFYONLY | HEADERONLY | FILELISTONLY | DATABASE}.

Real files in, real files out (format in backupfile.py). Progress (3211, with STATS = n)
is flushed to the client as it happens; ``Instance.step_delay`` slows each step down so a
test can watch it. Errors are the SQL Server messages followed by 3013 "... is terminating
abnormally.". A statement stopped by ATTENTION or KILL leaves no backup file behind (an
appended set is cut off again).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.tdsdouble import backupfile as bf
from tests.tdsdouble import tokens as t
from tests.tdsdouble.instance import LOG_STUB, BackupRecord, Database, Instance
from tests.tdsdouble.messages import OS_ERRORS, Msg, SqlError, msg
from tests.tdsdouble.response import Response
from tests.tdsdouble.sql import Cursor, Options, parse_disks, parse_with, syntax_error

if TYPE_CHECKING:
    from tests.tdsdouble.session import Session


class Killed(Exception):
    """Another session ran KILL on this one."""


@contextlib.contextmanager
def terminating(what: str, device: str = "") -> Iterator[None]:
    """Turn failures into SQL Server's messages, always ending with 3013."""
    try:
        yield
    except SqlError as err:
        raise SqlError(*err.messages, msg(3013, what)) from None
    except bf.BackupFileError as err:
        raise SqlError(file_error(err, device), msg(3013, what)) from None


def file_error(err: bf.BackupFileError, device: str, database: str = "") -> Msg:
    if err.kind == "eof":
        return msg(3203, device, OS_ERRORS[38])
    if err.kind == "page":
        return msg(3183, 1, err.page, database)
    if err.kind == "position":
        return Msg(4038, 16, f"Cannot find file ID 1 on device '{device}'.")
    return msg(3241, device)


class Progress:
    """Sends "N percent processed." for every STATS step crossed; notices cancel and KILL."""

    def __init__(
        self,
        session: Session,
        resp: Response,
        command: str,
        database: str,
        stats: int | None,
        total: int,
    ) -> None:
        self.session = session
        self.resp = resp
        self.command = command
        self.database = database
        self.stats = stats
        self.total = max(total, 1)
        self.sent = 0
        self._set(0.0)

    def _set(self, percent: float) -> None:
        inst = self.session.instance
        with inst.lock:
            inst.requests[self.session.spid] = (self.command, self.database, percent)

    def check(self) -> None:
        inst = self.session.instance
        with inst.lock:
            if self.session.spid in inst.killed:
                raise Killed()

    def __call__(self, done: int, *, upto: int = 99) -> None:
        percent = min(done * 100 // self.total, upto)
        self._set(float(percent))
        self.check()
        if not self.stats:
            self.resp.check_attention()
            return
        while self.sent + self.stats <= percent:
            self.sent += self.stats
            self.resp.progress(msg(3211, self.sent), self.session.instance.step_delay)
            self.check()

    def finish(self) -> None:
        self._set(100.0)
        if self.stats:
            self.resp.progress(msg(3211, 100), self.session.instance.step_delay)

    def close(self) -> None:
        inst = self.session.instance
        with inst.lock:
            inst.requests.pop(self.session.spid, None)


def _stats(opts: Options) -> int | None:
    value = opts.values.get("STATS")
    return None if value is None else max(1, min(100, int(value)))


def _rate(pages: int, seconds: float) -> tuple[str, str]:
    seconds = max(seconds, 0.001)
    mb = pages * bf.PAGE_SIZE / 1048576 / seconds
    return f"{seconds:.3f}", f"{mb:.3f}"


def _version_text(version: str) -> str:
    major, minor, build = (int(p) for p in version.split(".")[:3])
    return f"{major}.{minor:02d}.{build}"


# ---------------------------------------------------------------------------------------------
# BACKUP DATABASE


def run_backup(session: Session, cur: Cursor, resp: Response, more: int) -> None:
    cur.next()
    if cur.accept("LOG"):
        raise SqlError(
            Msg(4208, 16, "The statement BACKUP LOG is not allowed while the recovery model is SIMPLE. "
                "Use BACKUP DATABASE or change the recovery model using ALTER DATABASE."),
            msg(3013, "BACKUP LOG"),
        )  # fmt: skip
    cur.expect("DATABASE")
    name = cur.name()
    cur.expect("TO")
    devices = parse_disks(cur)
    device = devices[0]
    opts = parse_with(cur)
    inst = session.instance
    with terminating("BACKUP DATABASE", device):
        if session.trancount > 0:
            raise SqlError(msg(3021))
        db = inst.find(name)
        if db is None:
            raise SqlError(msg(911, name))
        if not inst.has_permission(session.user, db.name, "BACKUP DATABASE"):
            raise SqlError(msg(262, "BACKUP DATABASE", db.name))
        if opts.has("COMPRESSION") and inst.facts.engine_edition == 4:
            raise SqlError(msg(1844, "BACKUP DATABASE WITH COMPRESSION", inst.facts.edition))
        if db.state == "RESTORING":
            raise SqlError(msg(927, db.name))
        if db.state != "ONLINE":
            raise SqlError(msg(942, db.name))
        for i, each in enumerate(devices, start=1):
            target = inst.resolve(each, inst.backup_dir)
            os_error = inst.write_error(target)
            if os_error is not None:
                raise SqlError(msg(3201, each, OS_ERRORS[os_error]))
            append = target.exists() and not (opts.has("INIT") or opts.has("FORMAT"))
            if append:
                bf.list_sets(target)  # an existing media file must be readable to append to it
            # a striped set: every device holds the whole set here, marked as family i of n
            # (SQL Server spreads the pages; RESTORE of fewer devices fails with 3132 alike)
            family = (i, len(devices))
            _backup(session, resp, db, target, each, opts, append, family, last=i == len(devices))
    resp.done(more)


def _backup(
    session: Session,
    resp: Response,
    db: Database,
    target: Path,
    device: str,
    opts: Options,
    append: bool,
    family: tuple[int, int] = (1, 1),
    *,
    last: bool = True,
) -> None:
    inst = session.instance
    started = dt.datetime.now()
    clock = time.monotonic()
    src = sqlite3.connect(db.data_path)
    try:
        image = src.serialize()
    finally:
        src.close()
    data_pages = len(bf.pages_of(image))
    log_pages = max(1, len(LOG_STUB) // bf.PAGE_SIZE)
    header = {
        "format": 1,
        "database": db.name,
        "database_created": db.create_date.isoformat(),
        "family_guid": db.family_guid,
        "backup_set_guid": str(uuid.uuid4()).upper(),
        "server_name": inst.facts.server_name,
        "machine_name": inst.facts.machine_name,
        "version": inst.facts.version,
        "collation": inst.facts.collation,
        "user": session.user,
        "started": started.isoformat(),
        "checksum": opts.has("CHECKSUM"),
        "compressed": opts.has("COMPRESSION"),
        "copy_only": opts.has("COPY_ONLY"),
        "name": opts.values.get("NAME"),
        "description": opts.values.get("DESCRIPTION"),
        "family_seq": family[0],
        "family_count": family[1],
        "recovery_model": db.recovery_model,
        "page_verify": db.page_verify,
        "files": [
            {
                "logical": db.logical_data,
                "physical": str(db.data_path),
                "type": "D",
                "file_id": 1,
                "pages": data_pages,
            },
            {
                "logical": db.logical_log,
                "physical": str(db.log_path),
                "type": "L",
                "file_id": 2,
                "pages": log_pages,
            },
        ],
    }
    progress = Progress(
        session, resp, "BACKUP DATABASE", db.name, _stats(opts) if last else None, data_pages
    )
    start_size = target.stat().st_size if append else 0
    try:
        with target.open("r+b" if append else "wb") as out:
            out.seek(start_size)
            trailer = bf.write_set(out, header, image, progress)
            out.flush()
    except BaseException:
        if append:
            with target.open("r+b") as out:
                out.truncate(start_size)
        elif not inst.partial_backups:
            target.unlink(missing_ok=True)
        raise
    finally:
        progress.close()
    if not last:
        return
    resp.messages([msg(4035, data_pages, db.name, db.logical_data, 1)])
    progress.finish()
    resp.messages([msg(4035, log_pages, db.name, db.logical_log, 1)])
    seconds, rate = _rate(data_pages + log_pages, time.monotonic() - clock)
    resp.messages([msg(3014, "BACKUP DATABASE", data_pages + log_pages, seconds, rate)])
    size = target.stat().st_size - start_size
    with inst.lock:
        inst.history.append(
            BackupRecord(
                database_name=db.name,
                physical_device_name=device,
                backup_start_date=started,
                backup_finish_date=dt.datetime.fromisoformat(trailer["finished"]),
                backup_size=len(image) + len(LOG_STUB),
                compressed_backup_size=size,
                is_copy_only=opts.has("COPY_ONLY"),
                has_backup_checksums=opts.has("CHECKSUM"),
            )
        )


# ---------------------------------------------------------------------------------------------
# RESTORE


def run_restore(session: Session, cur: Cursor, resp: Response, more: int) -> None:
    cur.next()
    kind = cur.next()
    handlers: dict[str, Callable[[Session, Cursor, Response], None]] = {
        "VERIFYONLY": _verifyonly,
        "HEADERONLY": _headeronly,
        "FILELISTONLY": _filelistonly,
        "DATABASE": _restore_database,
    }
    handler = handlers.get(kind.value if kind.kind == "word" else "")
    if handler is None:
        raise syntax_error(kind)
    handler(session, cur, resp)
    resp.done(more)


def _open_media(inst: Instance, device: str) -> Path:
    path = inst.resolve(device, inst.backup_dir)
    os_error = inst.read_error(path)
    if os_error is not None:
        raise SqlError(msg(3201, device, OS_ERRORS[os_error]))
    return path


def _devices(session: Session, cur: Cursor) -> tuple[str, Path, int]:
    """FROM DISK = ... [, DISK = ...]: (first device, its path, how many were given)."""
    cur.expect("FROM")
    devices = parse_disks(cur)
    paths = [_open_media(session.instance, d) for d in devices]
    return devices[0], paths[0], len(devices)


def _all_families(chosen: bf.BackupSet, given: int) -> None:
    count = int(chosen.header.get("family_count", 1))
    if given < count:
        raise SqlError(msg(3132, count, given))


def _need_create_database(session: Session) -> None:
    """RESTORE (even HEADERONLY) needs CREATE DATABASE permission since SQL Server 2008."""
    if not session.instance.has_permission(session.user, "", "CREATE ANY DATABASE"):
        raise SqlError(msg(262, "CREATE DATABASE", "master"))


def _check_version(inst: Instance, chosen: bf.BackupSet) -> None:
    """3169 for a backup of a newer major.minor, or older than this server can upgrade."""
    backup_version = str(chosen.header["version"])
    theirs = tuple(int(p) for p in backup_version.split(".")[:2])
    ours = inst.facts.parts[:2]
    oldest = 10 if ours[0] >= 13 else (9 if ours[0] >= 11 else 8)
    if theirs > ours or theirs[0] < oldest:
        raise SqlError(msg(3169, _version_text(backup_version), _version_text(inst.facts.version)))


def _pick(sets: list[bf.BackupSet], opts: Options, device: str) -> bf.BackupSet:
    position = int(opts.values.get("FILE", 1))
    for s in sets:
        if s.position == position:
            return s
    raise SqlError(Msg(4038, 16, f"Cannot find file ID {position} on device '{device}'."))


def _verifyonly(session: Session, cur: Cursor, resp: Response) -> None:
    device = parse_disks(Cursor(cur.toks[cur.i + 1 :]))[0] if cur.peek().is_word("FROM") else ""
    with terminating("VERIFY DATABASE", device):
        _need_create_database(session)
        device, path, given = _devices(session, cur)
        opts = parse_with(cur)
        if session.trancount > 0:
            raise SqlError(msg(3021))
        chosen = _pick(bf.list_sets(path), opts, device)
        _all_families(chosen, given)
        if opts.has("CHECKSUM") and not chosen.has_checksums:
            raise SqlError(msg(3187))
        progress = Progress(
            session, resp, "RESTORE VERIFYONLY", chosen.database, _stats(opts), chosen.page_count
        )
        try:
            bf.read_set(path, chosen.position, keep=False, on_page=progress)
        except bf.BackupFileError as err:
            raise SqlError(file_error(err, device, chosen.database)) from None
        finally:
            progress.close()
        progress.finish()
        progress.close()
    resp.messages([msg(3262, chosen.position)])


HEADER_COLUMNS = [
    t.Column("BackupName", t.nvarchar(128)),
    t.Column("BackupDescription", t.nvarchar(255)),
    t.Column("BackupType", t.SMALLINT),
    t.Column("ExpirationDate", t.DATETIME2),
    t.Column("Compressed", t.TINYINT),
    t.Column("Position", t.SMALLINT),
    t.Column("DeviceType", t.TINYINT),
    t.Column("UserName", t.nvarchar(128)),
    t.Column("ServerName", t.nvarchar(128)),
    t.Column("DatabaseName", t.nvarchar(128)),
    t.Column("DatabaseVersion", t.INT),
    t.Column("DatabaseCreationDate", t.DATETIME2),
    t.Column("BackupSize", t.decimal_type(20, 0)),
    t.Column("FirstLSN", t.decimal_type(25, 0)),
    t.Column("LastLSN", t.decimal_type(25, 0)),
    t.Column("CheckpointLSN", t.decimal_type(25, 0)),
    t.Column("DatabaseBackupLSN", t.decimal_type(25, 0)),
    t.Column("BackupStartDate", t.DATETIME2),
    t.Column("BackupFinishDate", t.DATETIME2),
    t.Column("SortOrder", t.SMALLINT),
    t.Column("CodePage", t.SMALLINT),
    t.Column("UnicodeLocaleId", t.INT),
    t.Column("UnicodeComparisonStyle", t.INT),
    t.Column("CompatibilityLevel", t.TINYINT),
    t.Column("SoftwareVendorId", t.INT),
    t.Column("SoftwareVersionMajor", t.INT),
    t.Column("SoftwareVersionMinor", t.INT),
    t.Column("SoftwareVersionBuild", t.INT),
    t.Column("MachineName", t.nvarchar(128)),
    t.Column("Flags", t.INT),
    t.Column("BindingID", t.nvarchar(36)),
    t.Column("RecoveryForkID", t.nvarchar(36)),
    t.Column("Collation", t.nvarchar(128)),
    t.Column("FamilyGUID", t.nvarchar(36)),
    t.Column("HasBulkLoggedData", t.BIT),
    t.Column("IsSnapshot", t.BIT),
    t.Column("IsReadOnly", t.BIT),
    t.Column("IsSingleUser", t.BIT),
    t.Column("HasBackupChecksums", t.BIT),
    t.Column("IsDamaged", t.BIT),
    t.Column("BeginsLogChain", t.BIT),
    t.Column("HasIncompleteMetaData", t.BIT),
    t.Column("IsForceOffline", t.BIT),
    t.Column("IsCopyOnly", t.BIT),
    t.Column("FirstRecoveryForkID", t.nvarchar(36)),
    t.Column("ForkPointLSN", t.decimal_type(25, 0)),
    t.Column("RecoveryModel", t.nvarchar(60)),
    t.Column("DifferentialBaseLSN", t.decimal_type(25, 0)),
    t.Column("DifferentialBaseGUID", t.nvarchar(36)),
    t.Column("BackupTypeDescription", t.nvarchar(60)),
    t.Column("BackupSetGUID", t.nvarchar(36)),
    t.Column("CompressedBackupSize", t.BIGINT),
    t.Column("Containment", t.TINYINT),
    t.Column("KeyAlgorithm", t.nvarchar(32)),
    t.Column("EncryptorThumbprint", t.varbinary(20)),
    t.Column("EncryptorType", t.nvarchar(32)),
]


def _header_row(s: bf.BackupSet, media_size: int) -> tuple[Any, ...]:
    h = s.header
    major, minor, build = (int(p) for p in str(h["version"]).split(".")[:3])
    backup_size = int(h["image_size"]) + len(LOG_STUB)
    lsn = 1000 * s.position
    return (
        h.get("name"), h.get("description"), 1, None, int(s.compressed), s.position, 2,
        h.get("user"), h["server_name"], s.database, 957, dt.datetime.fromisoformat(h["database_created"]),
        backup_size, lsn, lsn + 1, lsn, 0, s.started, s.finished, 52, 0, 1033, 196609, major * 10, 4608,
        major, minor, build, h["machine_name"], 512, h["family_guid"], h["family_guid"], h["collation"],
        h["family_guid"], False, False, False, False, bool(s.has_checksums), False, False, False, False,
        bool(h["copy_only"]), h["family_guid"], None, h.get("recovery_model", "SIMPLE"), None, None, "Database", h["backup_set_guid"],
        media_size, 0, None, None, None,
    )  # fmt: skip


def _headeronly(session: Session, cur: Cursor, resp: Response) -> None:
    device = parse_disks(Cursor(cur.toks[cur.i + 1 :]))[0] if cur.peek().is_word("FROM") else ""
    with terminating("RESTORE HEADERONLY", device):
        _need_create_database(session)
        device, path, _given = _devices(session, cur)
        parse_with(cur)
        sets = bf.list_sets(path)
        if any(int(str(s.header["version"]).split(".")[0]) > session.instance.facts.major
               for s in sets):  # fmt: skip
            raise SqlError(msg(3241, device))  # an older server cannot read a newer header
    sizes = [s.offset for s in sets[1:]] + [path.stat().st_size]
    rows = [_header_row(s, end - s.offset) for s, end in zip(sets, sizes, strict=True)]
    count = resp.result(HEADER_COLUMNS, rows)
    resp.done(t.DONE_MORE, count)


FILELIST_COLUMNS = [
    t.Column("LogicalName", t.nvarchar(128)),
    t.Column("PhysicalName", t.nvarchar(260)),
    t.Column("Type", t.nvarchar(1)),
    t.Column("FileGroupName", t.nvarchar(128)),
    t.Column("Size", t.decimal_type(20, 0)),
    t.Column("MaxSize", t.decimal_type(20, 0)),
    t.Column("FileId", t.BIGINT),
    t.Column("CreateLSN", t.decimal_type(25, 0)),
    t.Column("DropLSN", t.decimal_type(25, 0)),
    t.Column("UniqueId", t.nvarchar(36)),
    t.Column("ReadOnlyLSN", t.decimal_type(25, 0)),
    t.Column("ReadWriteLSN", t.decimal_type(25, 0)),
    t.Column("BackupSizeInBytes", t.BIGINT),
    t.Column("SourceBlockSize", t.INT),
    t.Column("FileGroupId", t.INT),
    t.Column("LogGroupGUID", t.nvarchar(36)),
    t.Column("DifferentialBaseLSN", t.decimal_type(25, 0)),
    t.Column("DifferentialBaseGUID", t.nvarchar(36)),
    t.Column("IsReadOnly", t.BIT),
    t.Column("IsPresent", t.BIT),
    t.Column("TDEThumbprint", t.varbinary(32)),
    t.Column("SnapshotUrl", t.nvarchar(360)),
]


def _filelistonly(session: Session, cur: Cursor, resp: Response) -> None:
    device = parse_disks(Cursor(cur.toks[cur.i + 1 :]))[0] if cur.peek().is_word("FROM") else ""
    with terminating("RESTORE FILELIST", device):
        _need_create_database(session)
        device, path, _given = _devices(session, cur)
        opts = parse_with(cur)
        chosen = _pick(bf.list_sets(path), opts, device)
    rows = []
    for f in chosen.header["files"]:
        size = int(f["pages"]) * bf.PAGE_SIZE
        data = f["type"] == "D"
        rows.append(
            (f["logical"], f["physical"], f["type"], "PRIMARY" if data else None, size, 35184372080640,
             int(f["file_id"]), 0, 0, chosen.header["family_guid"], 0, 0, size, 4096, 1 if data else 0,
             None, 0 if data else None, None, False, True, None, None)
        )  # fmt: skip
    count = resp.result(FILELIST_COLUMNS, rows)
    resp.done(t.DONE_MORE, count)


def _restore_targets(
    inst: Instance, chosen: bf.BackupSet, opts: Options, existing: Database | None
) -> dict[str, Path]:
    """Physical path per file type (D, L) after MOVE; raises the planning errors."""
    files = chosen.header["files"]
    logical_names = {f["logical"].lower(): f for f in files}
    moves = {}
    for logical, physical in opts.moves:
        if logical.lower() not in logical_names:
            raise SqlError(msg(3234, logical, chosen.database))
        moves[logical.lower()] = physical
    problems: list[Msg] = []
    targets: dict[str, Path] = {}
    for f in files:
        physical = moves.get(f["logical"].lower(), f["physical"])
        path = Path(physical)
        targets[f["type"]] = path
        owner = inst.file_owner(path)
        if not path.parent.is_dir():
            problems += [msg(5133, physical, OS_ERRORS[3]), msg(3156, f["logical"], physical)]
        elif inst.is_denied(path.parent):
            problems += [
                Msg(3634, 16, f"The operating system returned the error '{OS_ERRORS[5]}' while attempting 'RestoreContainer::ValidateTargetForCreation' on '{physical}'."),
                msg(3156, f["logical"], physical),
            ]  # fmt: skip
        elif owner is not None and owner is not existing:
            problems += [msg(1834, physical, owner.name), msg(3156, f["logical"], physical)]
        elif owner is None and path.exists() and not opts.has("REPLACE"):
            problems.append(
                Msg(3142, 16, f'File "{f["logical"]}" cannot be restored over the existing "{physical}". Reissue the RESTORE statement using WITH REPLACE to overwrite pre-existing files, or WITH MOVE to identify an alternate location.')
            )  # fmt: skip
    if problems:
        raise SqlError(*problems, msg(3119))
    return targets


def _restore_database(session: Session, cur: Cursor, resp: Response) -> None:
    name = cur.name()
    device = parse_disks(Cursor(cur.toks[cur.i + 1 :]))[0] if cur.peek().is_word("FROM") else ""
    inst = session.instance
    with terminating("RESTORE DATABASE", device):
        _need_create_database(session)
        device, path, given = _devices(session, cur)
        opts = parse_with(cur)
        if session.trancount > 0:
            raise SqlError(msg(3021))
        chosen = _pick(bf.list_sets(path), opts, device)
        _all_families(chosen, given)
        if opts.has("CHECKSUM") and not chosen.has_checksums:
            raise SqlError(msg(3187))
        _check_version(inst, chosen)
        with inst.lock:
            existing = inst.find(name)
            if existing is not None:
                if existing.is_system:
                    raise SqlError(
                        Msg(
                            3108,
                            16,
                            "To restore the master database, the server must be running in single-user mode.",
                        )
                    )
                if not opts.has("REPLACE") and existing.family_guid != chosen.header["family_guid"]:
                    raise SqlError(msg(3154, existing.name))
                if inst.used_by_others(existing, session.spid) or session.db is existing:
                    raise SqlError(msg(3101))
            targets = _restore_targets(inst, chosen, opts, existing)
            limit = inst.size_limit_mb
            if limit is not None and int(chosen.header["image_size"]) > limit * 1048576:
                raise SqlError(msg(1827, limit))
            if existing is not None:
                existing.state = "RESTORING"
        _restore(session, resp, name, path, device, chosen, opts, targets, existing)


def _restore(
    session: Session,
    resp: Response,
    name: str,
    path: Path,
    device: str,
    chosen: bf.BackupSet,
    opts: Options,
    targets: dict[str, Path],
    existing: Database | None,
) -> None:
    inst = session.instance
    clock = time.monotonic()
    progress = Progress(session, resp, "RESTORE DATABASE", name, _stats(opts), chosen.page_count)
    try:
        _, image = bf.read_set(path, chosen.position, keep=True, on_page=progress)
    except bf.BackupFileError as err:
        raise SqlError(file_error(err, device, chosen.database)) from None
    finally:
        progress.close()
    data, log = targets["D"], targets["L"]
    with inst.lock:
        if existing is not None:
            inst.drop(existing)
        scratch = data.with_name(data.name + ".restoring")
        scratch.write_bytes(image)
        os.replace(scratch, data)
        log.write_bytes(LOG_STUB)
        files = {f["type"]: f for f in chosen.header["files"]}
        db = inst.new_database(name, data, log)
        db.family_guid = str(chosen.header["family_guid"])
        db.logical_data = files["D"]["logical"]
        db.logical_log = files["L"]["logical"]
        db.recovery_model = str(chosen.header.get("recovery_model", "SIMPLE"))
        db.page_verify = str(chosen.header.get("page_verify", "CHECKSUM"))
        if opts.has("NORECOVERY"):
            db.state = "RESTORING"
    data_pages, log_pages = int(files["D"]["pages"]), int(files["L"]["pages"])
    progress.finish()
    progress.close()
    resp.messages(
        [
            msg(4035, data_pages, name, files["D"]["logical"], chosen.position),
            msg(4035, log_pages, name, files["L"]["logical"], chosen.position),
        ]
    )
    seconds, rate = _rate(data_pages + log_pages, time.monotonic() - clock)
    resp.messages([msg(3014, "RESTORE DATABASE", data_pages + log_pages, seconds, rate)])
