"""EXEC of the (extended) stored procedures the engine uses to look at the server's disk.

Each procedure answers like SQL Server inside a batch: its result set, DONEINPROC,
RETURNSTATUS, then DONEPROC in place of the statement's DONE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.tdsdouble import filesystem
from tests.tdsdouble import tokens as t
from tests.tdsdouble.messages import Msg, SqlError, msg
from tests.tdsdouble.response import Response
from tests.tdsdouble.sql import Cursor, call_args

if TYPE_CHECKING:
    from tests.tdsdouble.session import Session

Args = list[str | int | None]


def _fileexist(session: Session, args: Args, resp: Response) -> int:
    exists, is_dir, parent = filesystem.file_exists(str(args[0] or ""))
    columns = [
        t.Column("File Exists", t.INT),
        t.Column("File is a Directory", t.INT),
        t.Column("Parent Directory Exists", t.INT),
    ]
    n = resp.result(columns, [(exists, is_dir, parent)])
    resp.done(t.DONE_MORE, n, token=t.DONEINPROC)
    return 0


def _dirtree(session: Session, args: Args, resp: Response) -> int:
    path = str(args[0] or "")
    depth = int(args[1] or 0) if len(args) > 1 else 0
    files = bool(args[2]) if len(args) > 2 else False
    rows = filesystem.dirtree(path, depth, files)
    columns = [t.Column("subdirectory", t.nvarchar(512)), t.Column("depth", t.INT)]
    if files:
        columns.append(t.Column("file", t.INT))
    else:
        rows = [r[:2] for r in rows]  # type: ignore[misc]
    n = resp.result(columns, rows)
    resp.done(t.DONE_MORE, n, token=t.DONEINPROC)
    return 0


def _fixeddrives(session: Session, args: Args, resp: Response) -> int:
    rows = filesystem.fixed_drives(session.instance)
    n = resp.result([t.Column("drive", t.nvarchar(256)), t.Column("MB free", t.INT)], rows)
    resp.done(t.DONE_MORE, n, token=t.DONEINPROC)
    return 0


def _create_subdir(session: Session, args: Args, resp: Response) -> int:
    filesystem.create_subdir(session.instance, str(args[0] or ""))
    return 0


def _instance_regread(session: Session, args: Args, resp: Response) -> int:
    """Only the value the engine reads on servers older than 2019: BackupDirectory."""
    value = str(args[2]) if len(args) > 2 else ""
    data = str(session.instance.backup_dir) if value.lower() == "backupdirectory" else None
    columns = [t.Column("Value", t.nvarchar(256)), t.Column("Data", t.nvarchar(4000))]
    n = resp.result(columns, [(value, data)] if data is not None else [])
    resp.done(t.DONE_MORE, n, token=t.DONEINPROC)
    return 0


def _delete_file(session: Session, args: Args, resp: Response) -> int:
    """``xp_delete_file 0, N'file'``: delete one backup file; answers nothing (like SQL Server).

    Only the single-file form with file type 0 is modelled. A login without sysadmin gets 229;
    a file in a denied directory 22049 (OS error 5); a missing file, or a file that is not a
    backup (no backup-set magic), is silently left alone, as SQL Server does.
    """
    if session.user.lower() in session.instance.not_sysadmin:
        raise SqlError(
            Msg(
                229,
                14,
                "The EXECUTE permission was denied on the object 'xp_delete_file', "
                "database 'mssqlsystemresource', schema 'sys'.",
            )
        )
    if len(args) != 2 or args[0] != 0:
        raise SqlError(Msg(22049, 16, "xp_delete_file() returned error 87, 'The parameter is incorrect.'"))
    filesystem.delete_backup_file(session.instance, str(args[1] or ""))
    return 0


PROCEDURES: dict[str, Callable[[Session, Args, Response], int]] = {
    "xp_delete_file": _delete_file,
    "xp_fileexist": _fileexist,
    "xp_dirtree": _dirtree,
    "xp_fixeddrives": _fixeddrives,
    "xp_create_subdir": _create_subdir,
    "xp_instance_regread": _instance_regread,
}


def run_exec(session: Session, cur: Cursor, resp: Response, more: int) -> None:
    cur.next()
    if cur.peek().kind == "var" and cur.peek(1).text == "=":  # EXEC @rc = proc
        cur.next()
        cur.next()
    parts = cur.dotted()
    name = parts[-1].lower()
    proc = PROCEDURES.get(name)
    if proc is None:
        raise SqlError(msg(2812, ".".join(parts)))
    args = call_args(cur)
    try:
        status = proc(session, args, resp)
    except SqlError as err:
        resp.messages(err.messages, proc=name)
        status = 1
    resp.raw(t.returnstatus(status))
    resp.done(more, token=t.DONEPROC)
