"""``DBCC CHECKDB ([db] | (N'db')) [WITH NO_INFOMSGS, ALL_ERRORMSGS]``.

The database's structure is SQLite's: ``PRAGMA integrity_check`` on its data file. A clean
database answers 8989 "CHECKDB found 0 allocation errors and 0 consistency errors ..." (an
informational message, left out WITH NO_INFOMSGS) and 2528; every problem SQLite reports
becomes one 8939 (severity 16) and the summary 8989 is then an error (severity 16), as SQL
Server reports consistency errors. A database restored from a backup of a damaged file is
therefore found damaged here, although VERIFYONLY passed (page checksums were computed over
already-damaged pages) — the case a test restore exists for.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from tests.tdsdouble.messages import Msg, SqlError, msg
from tests.tdsdouble.response import Response
from tests.tdsdouble.sql import Cursor, parse_with, syntax_error

if TYPE_CHECKING:
    from tests.tdsdouble.session import Session


def run_dbcc(session: Session, cur: Cursor, resp: Response, more: int) -> None:
    cur.next()
    command = cur.next()
    if not command.is_word("CHECKDB"):
        raise syntax_error(command)
    inst = session.instance
    name = session.database.name
    if cur.accept("("):
        tok = cur.peek()
        name = cur.string() if tok.kind == "string" else cur.name()
        cur.expect(")")
    opts = parse_with(cur)
    db = inst.find(name)
    if db is None:
        raise SqlError(msg(911, name))
    if db.state != "ONLINE":
        raise SqlError(msg(927 if db.state == "RESTORING" else 942, db.name))
    problems = integrity_problems(db.data_path)
    if not problems:
        if not opts.has("NO_INFOMSGS"):
            resp.messages([msg(8989, 0, 0, db.name)])
            resp.messages(
                [Msg(2528, 10, "DBCC execution completed. If DBCC printed error messages, "
                     "contact your system administrator.")]
            )  # fmt: skip
        resp.done(more)
        return
    errors = [msg(8939, 1000 + i, 72057594038386688, 72057594043695104, i + 2)
              for i, _ in enumerate(problems)]  # fmt: skip
    summary = msg(8989, 0, len(problems), db.name)
    raise SqlError(*errors, Msg(8989, 16, summary.text))


def integrity_problems(path: object) -> list[str]:
    """What ``PRAGMA integrity_check`` finds wrong (empty when the file is sound)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if rows == ["ok"] else rows
