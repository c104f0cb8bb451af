"""One client session: current database, transaction count, and statement dispatch.

A batch is split into statements; each statement ends with its own DONE token (DONE_MORE
when another follows). Errors of severity 16 end the statement and the batch goes on, as
SQL Server does for run-time errors; a syntax error (severity 15) ends the batch.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import struct
from collections.abc import Callable

from tests.tdsdouble import catalog, checkdb, identity, procs, schemaviews
from tests.tdsdouble import tokens as t
from tests.tdsdouble.backup import Killed, run_backup, run_restore
from tests.tdsdouble.instance import Database, Instance
from tests.tdsdouble.language import language_name
from tests.tdsdouble.messages import Msg, SqlError, msg
from tests.tdsdouble.resolver import Resolver
from tests.tdsdouble.response import Response
from tests.tdsdouble.sql import Cursor, Tok, split_batch, syntax_error, to_sqlite
from tests.tdsdouble.wire import Attention

log = logging.getLogger(__name__)

TM_BEGIN_XACT = 5
TM_COMMIT_XACT = 7
TM_ROLLBACK_XACT = 8


class Session:
    def __init__(self, instance: Instance, spid: int, user: str, tds_version: int) -> None:
        self.instance = instance
        self.spid = spid
        self.user = user
        self.tds_version = tds_version
        self.db: Database | None = None
        self.conn: sqlite3.Connection | None = None
        self.trancount = 0
        self.nocount = False
        self._transaction_id = spid << 32
        self.schema_cache: tuple[object, object] | None = None  # schemaviews.model()
        self.view_cache: dict[str, object] = {}  # resolver: view -> schema key of its TEMP table
        self.identity_insert: tuple[str, str] | None = None  # (database, table) with it ON
        self.last_identity: int | None = None  # @@IDENTITY / SCOPE_IDENTITY()
        self.language = instance.default_language  # SET LANGUAGE changes it
        with instance.lock:
            instance.sessions[spid] = self

    # -- database context ------------------------------------------------------------------------

    def use(self, db: Database) -> None:
        if self.conn is not None:
            self.conn.close()
        self.db = db
        self.conn = sqlite3.connect(db.data_path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA busy_timeout = 5000")
        # A test double needs no durability: no fsync per autocommitted statement.
        self.conn.execute("PRAGMA synchronous = OFF")
        try:
            self.conn.execute("PRAGMA journal_mode = MEMORY")
        except sqlite3.OperationalError:
            # another session holds the file (busy_timeout does not cover this pragma): keep the
            # default journal, which only costs speed
            pass
        self.conn.create_collation("TDS_CI", _ci_compare)
        schemaviews.register_functions(self, self.conn)

    def close(self) -> None:
        if self.conn is not None:
            if self.conn.in_transaction:
                self.conn.rollback()
            self.conn.close()
            self.conn = None
        with self.instance.lock:
            self.instance.requests.pop(self.spid, None)
            self.instance.sessions.pop(self.spid, None)
            self.instance.killed.discard(self.spid)

    def release(self, db: Database) -> None:
        """Let go of ``db``'s file (before it is dropped or restored over)."""
        if self.db is db:
            self.use(self.instance.databases["master"])

    @property
    def database(self) -> Database:
        assert self.db is not None
        return self.db

    @property
    def sqlite(self) -> sqlite3.Connection:
        assert self.conn is not None
        return self.conn

    # -- batches ---------------------------------------------------------------------------------

    def run_batch(self, text: str, resp: Response) -> None:
        try:
            statements = split_batch(text)
        except SqlError as err:
            resp.messages(err.messages)
            resp.done(t.DONE_ERROR)
            return
        if not statements:
            resp.done()
            return
        for i, toks in enumerate(statements):
            more = t.DONE_MORE if i < len(statements) - 1 else t.DONE_FINAL
            try:
                self.execute(toks, resp, more)
            except (Attention, Killed):
                raise
            except Exception as exc:  # noqa: BLE001 - every failure must reach the client
                err = exc if isinstance(exc, SqlError) else internal_error(exc)
                resp.in_transaction = self.trancount > 0
                resp.messages(err.messages)
                if any(m.severity == 15 for m in err.messages):
                    resp.done(t.DONE_ERROR)
                    return
                resp.done(more | t.DONE_ERROR)

    def execute(self, toks: list[Tok], resp: Response, more: int) -> None:
        first = toks[0]
        handler = self._handlers().get(first.value if first.kind == "word" else "")
        if handler is None:
            if first.kind == "word" and first.value in GENERIC:
                self.generic(toks, resp, more)
                return
            raise syntax_error(first)
        handler(Cursor(toks), resp, more)

    def _handlers(self) -> dict[str, Callable[[Cursor, Response, int], None]]:
        return {
            "SET": self._set,
            "USE": self._use,
            "BEGIN": self._begin,
            "COMMIT": self._commit,
            "ROLLBACK": self._rollback,
            "IF": self._if_trancount,
            "PRINT": self._print,
            "BACKUP": lambda cur, resp, more: run_backup(self, cur, resp, more),
            "RESTORE": lambda cur, resp, more: run_restore(self, cur, resp, more),
            "EXEC": lambda cur, resp, more: procs.run_exec(self, cur, resp, more),
            "EXECUTE": lambda cur, resp, more: procs.run_exec(self, cur, resp, more),
            "CREATE": self._create,
            "DROP": self._drop,
            "ALTER": self._alter,
            "KILL": self._kill,
            "DBCC": lambda cur, resp, more: checkdb.run_dbcc(self, cur, resp, more),
        }

    # -- simple statements -----------------------------------------------------------------------

    def _set(self, cur: Cursor, resp: Response, more: int) -> None:
        cur.next()
        if cur.accept("NOCOUNT"):
            self.nocount = cur.next().is_word("ON")
        elif cur.accept("IDENTITY_INSERT"):
            identity.set_identity_insert(self, cur)
        elif cur.accept("LANGUAGE"):
            word = cur.next()
            self.language = language_name(word.value if word.kind == "string" else word.text)
            resp.language = self.language
            resp.messages([msg(5703, self.language)])
        resp.done(more)

    def _use(self, cur: Cursor, resp: Response, more: int) -> None:
        cur.next()
        name = cur.name()
        db = self.instance.find(name)
        if db is None:
            raise SqlError(msg(911, name))
        if db.state == "RESTORING":
            raise SqlError(
                Msg(
                    927,
                    14,
                    f"Database '{db.name}' cannot be opened. It is in the middle of a restore.",
                )
            )
        old = self.database.name
        self.use(db)
        resp.envchange(t.envchange_text(t.ENV_DATABASE, db.name, old))
        resp.messages([msg(5701, db.name, state=1)])
        resp.done(more)

    def _print(self, cur: Cursor, resp: Response, more: int) -> None:
        cur.next()
        resp.messages([Msg(0, 0, str(cur.scalar()))])
        resp.done(more)

    def _kill(self, cur: Cursor, resp: Response, more: int) -> None:
        cur.next()
        tok = cur.next()
        if tok.kind != "number":
            raise syntax_error(tok)
        spid = int(tok.text)
        if spid == self.spid:
            raise SqlError(Msg(6104, 16, "Cannot use KILL to kill your own process."))
        with self.instance.lock:
            if spid not in self.instance.sessions:
                raise SqlError(Msg(6106, 16, f"Process ID {spid} is not an active process ID."))
            self.instance.killed.add(spid)
        resp.done(more)

    # -- transactions ----------------------------------------------------------------------------

    def _begin_transaction(self, resp: Response) -> None:
        self.trancount += 1
        if self.trancount == 1:
            self.sqlite.execute("BEGIN")
            self._transaction_id += 1
            resp.envchange(
                t.envchange_bytes(t.ENV_BEGIN_TRAN, struct.pack("<Q", self._transaction_id))
            )
        resp.in_transaction = True

    def _end_transaction(self, resp: Response, commit: bool) -> None:
        if commit and self.trancount > 1:
            self.trancount -= 1
            return
        self.trancount = 0
        if self.sqlite.in_transaction:
            self.sqlite.execute("COMMIT" if commit else "ROLLBACK")
        kind = t.ENV_COMMIT_TRAN if commit else t.ENV_ROLLBACK_TRAN
        resp.envchange(t.envchange_bytes(kind, b"", struct.pack("<Q", self._transaction_id)))
        resp.in_transaction = False

    def _begin(self, cur: Cursor, resp: Response, more: int) -> None:
        cur.next()
        cur.expect("TRAN", "TRANSACTION")
        self._begin_transaction(resp)
        resp.done(more)

    def _commit(self, cur: Cursor, resp: Response, more: int) -> None:
        if self.trancount == 0:
            raise SqlError(msg(3902))
        self._end_transaction(resp, commit=True)
        resp.done(more)

    def _rollback(self, cur: Cursor, resp: Response, more: int) -> None:
        if self.trancount == 0:
            raise SqlError(msg(3903))
        self._end_transaction(resp, commit=False)
        resp.done(more)

    def _if_trancount(self, cur: Cursor, resp: Response, more: int) -> None:
        """Only ``IF @@TRANCOUNT > 0 COMMIT|ROLLBACK [TRAN]`` (sent by drivers)."""
        cur.next()
        tok = cur.next()
        if tok.text.upper() != "@@TRANCOUNT":
            raise syntax_error(tok)
        cur.expect(">")
        cur.next()
        action = cur.next()
        if self.trancount > 0:
            if action.is_word("COMMIT"):
                self._end_transaction(resp, commit=True)
            elif action.is_word("ROLLBACK"):
                self._end_transaction(resp, commit=False)
            else:
                raise syntax_error(action)
        resp.done(more)

    def transaction_request(self, request: int, resp: Response) -> None:
        """A TDS transaction manager request (pytds uses these instead of T-SQL)."""
        if request == TM_BEGIN_XACT:
            self._begin_transaction(resp)
        elif request in (TM_COMMIT_XACT, TM_ROLLBACK_XACT):
            if self.trancount:
                self._end_transaction(resp, commit=request == TM_COMMIT_XACT)
        resp.done()

    def require_no_transaction(self, what: str) -> None:
        if self.trancount > 0:
            raise SqlError(msg(226, what))

    # -- databases -------------------------------------------------------------------------------

    def _create(self, cur: Cursor, resp: Response, more: int) -> None:
        if not cur.peek(1).is_word("DATABASE"):
            self.generic(cur.toks, resp, more)
            return
        cur.next()
        cur.next()
        name = cur.name()
        self.require_no_transaction("CREATE DATABASE")
        with self.instance.lock:
            if self.instance.find(name) is not None:
                raise SqlError(msg(1801, name))
            self.instance.new_database(name)
        resp.done(more)

    def _drop(self, cur: Cursor, resp: Response, more: int) -> None:
        if not cur.peek(1).is_word("DATABASE"):
            self.generic(cur.toks, resp, more)
            return
        cur.next()
        cur.next()
        if_exists = False
        if cur.peek().is_word("IF") and self.instance.facts.major < 13:
            raise SqlError(msg(156, "IF"))  # DROP DATABASE IF EXISTS came with 2016 (13.x)
        if cur.accept("IF"):
            cur.expect("EXISTS")
            if_exists = True
        self.require_no_transaction("DROP DATABASE")
        name = cur.name()
        with self.instance.lock:
            db = self.instance.find(name)
            if db is None:
                if if_exists:
                    resp.done(more)
                    return
                raise SqlError(msg(3701, name))
            if db is self.db or name.lower() in self.instance.in_use or db.is_system:
                raise SqlError(msg(3702, name))
            self.instance.drop(db)
        resp.done(more)

    def _alter(self, cur: Cursor, resp: Response, more: int) -> None:
        if not cur.peek(1).is_word("DATABASE"):
            self.generic(cur.toks, resp, more)
            return
        cur.next()
        cur.next()
        name = cur.name()
        db = self.instance.find(name)
        if db is None:
            raise SqlError(msg(911, name))
        cur.expect("SET")
        mode = cur.next()
        if db.state == "RESTORING" and not mode.is_word("MULTI_USER"):
            raise SqlError(msg(927, db.name), msg(5069))
        if mode.is_word("SINGLE_USER", "MULTI_USER", "RESTRICTED_USER"):
            if cur.accept("WITH"):
                cur.expect("ROLLBACK", "NO_WAIT")
                if cur.peek().is_word("IMMEDIATE", "AFTER"):
                    while not cur.at_end():
                        cur.next()
                    with self.instance.lock:
                        self.instance.in_use.discard(db.name.lower())
                        for sid, other in self.instance.sessions.items():
                            if sid != self.spid and other.db is db:
                                self.instance.evicted.add(sid)
            elif mode.value == "SINGLE_USER" and self.instance.used_by_others(db, self.spid):
                raise SqlError(msg(5069))
            db.user_access = mode.value
        elif mode.is_word("OFFLINE", "ONLINE"):
            db.state = mode.value
        elif mode.is_word("RECOVERY"):
            model = cur.next()
            if not model.is_word("FULL", "SIMPLE", "BULK_LOGGED"):
                raise syntax_error(model)
            db.recovery_model = model.value
        elif mode.is_word("PAGE_VERIFY"):
            option = cur.next()
            if not option.is_word("CHECKSUM", "TORN_PAGE_DETECTION", "NONE"):
                raise syntax_error(option)
            db.page_verify = option.value
        resp.done(more)

    # -- everything else goes to SQLite ----------------------------------------------------------

    def generic(self, toks: list[Tok], resp: Response, more: int) -> None:
        conn = self.sqlite
        resolver = Resolver(self)
        generated = None
        if toks[0].is_word("INSERT"):
            toks, generated = identity.prepare_insert(self, toks)
        sql = to_sqlite(
            toks,
            functions=catalog.functions(self),
            variables=catalog.variables(self),
            objects=resolver,
            applies=resolver.apply,
        )
        try:
            cursor = conn.execute(sql)
            rows = cursor.fetchall() if cursor.description else []
        except sqlite3.Error as exc:
            raise translate_sqlite_error(exc) from exc
        if cursor.description is not None:
            names = [catalog.column_name(d[0]) for d in cursor.description]
            columns, rows = catalog.result_types(conn, names, rows, resolver.tables(toks))
            count = resp.result(columns, rows)
            resp.done(more, None if self.nocount else count)
            return
        if generated is not None and cursor.rowcount > 0:
            base, increment = generated
            self.last_identity = base + increment * cursor.rowcount
        is_dml = toks[0].is_word("INSERT", "UPDATE", "DELETE", "MERGE")
        resp.done(more, cursor.rowcount if is_dml and not self.nocount else None)


def _ci_compare(a: str, b: str) -> int:
    """SQL_Latin1_General_CP1_CI_AS, roughly: case and trailing blanks ignored (catalog names)."""
    x, y = a.rstrip(" ").casefold(), b.rstrip(" ").casefold()
    return (x > y) - (x < y)


GENERIC = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "CREATE", "DROP", "ALTER", "TRUNCATE"}


def internal_error(exc: Exception) -> SqlError:
    """A bug or a gap in the double: reported to the client, logged, connection kept."""
    log.exception("tds double: statement failed")
    return SqlError(Msg(50000, 16, f"TDS double internal error: {type(exc).__name__}: {exc}"))


def translate_sqlite_error(exc: sqlite3.Error) -> SqlError:
    text = str(exc)
    if m := re.match(r"no such table: (?:main\.)?(.+)", text):
        return SqlError(msg(208, m.group(1)))
    if m := re.match(r"no such column: (.+)", text):
        return SqlError(msg(207, m.group(1)))
    if m := re.match(r'near "(.+?)": syntax error', text):
        return SqlError(msg(102, m.group(1)))
    if m := re.match(r"table (.+) already exists", text):
        return SqlError(
            Msg(2714, 16, f"There is already an object named '{m.group(1)}' in the database.")
        )
    if "UNIQUE constraint failed" in text:
        return SqlError(
            Msg(
                2627,
                14,
                f"Violation of UNIQUE KEY constraint. Cannot insert duplicate key ({text}).",
            )
        )
    return SqlError(Msg(50000, 16, f"SQLite: {text}"))
