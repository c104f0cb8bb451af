"""One small interface over the SQL Server drivers: pymssql (default), pyodbc, mssql-python.

A ``Session`` is one open connection with its own worker thread: every blocking driver call
runs there, never on the event loop. ``Session.stream(sql)`` is an async generator that
yields each informational message (``SqlMessage``) **as it arrives** — the worker thread
hands it to the loop with ``loop.call_soon_threadsafe`` — so BACKUP's ``N percent
processed.`` becomes a live progress event. When the statement fails, ``stream`` raises
``SqlFailure`` carrying every message of the batch in order (``messages.translate`` picks
the real cause). Result sets of the last statement are in ``Session.last_results``.

How each driver gives messages:

- pymssql: ``conn._conn.set_msghandler(cb)`` is called by FreeTDS for every message while
  the batch is read (no message number is passed; ``messages.identify`` finds it from the
  text). All result sets are consumed with ``cursor.nextset()``. Connections use
  ``autocommit=True``: BACKUP and RESTORE cannot run inside a transaction.
- pyodbc (UNTESTED here: no ODBC driver is installed on the build machine): messages come as
  ``cursor.messages`` per result set; every result set is consumed with ``nextset()`` until it
  returns False — a BACKUP with STATS otherwise stops silently. Messages arrive live only as
  fast as the ODBC driver returns result sets (one per message with Microsoft's driver).
- mssql-python (UNTESTED here): the same ``cursor.messages`` + ``nextset()`` pattern (its
  ``nextset()`` collects messages from release 1.x of mid-2026 on); no callback API exists,
  so progress is as live as the driver's result-set boundaries.

The password is held in memory only (for the side connection that stops a cancelled
statement); it is never logged, stored or shown in ``repr``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import re
import threading
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from msde_tui.engine.backends.mssql import tsql
from msde_tui.engine.backends.mssql.common import despite_cancel
from msde_tui.engine.backends.mssql.messages import SqlMessage, message
from msde_tui.engine.errors import BadInput

log = logging.getLogger(__name__)

DRIVERS = ("pymssql", "pyodbc", "mssql-python")
Row = dict[str, Any]
ResultSets = list[list[Row]]
OnMessage = Callable[[SqlMessage], None]


class SqlFailure(Exception):
    """A driver or server failure, before translation into plain words."""

    def __init__(
        self,
        number: int | None,
        text: str,
        messages: list[SqlMessage] | None = None,
        *,
        connect: bool = False,
    ) -> None:
        super().__init__(f"{number}: {text}")
        self.number = number
        self.text = text
        self.messages = list(messages or [])
        self.connect = connect


@dataclass(frozen=True)
class Target:
    """Where to connect. ``password`` is excluded from ``repr``."""

    host: str
    port: int = 1433
    user: str = ""
    password: str = field(default="", repr=False)
    database: str | None = None
    driver: str = "pymssql"
    login_timeout: int = 15


class _Conn(Protocol):
    """A blocking connection (used only from its session's worker thread)."""

    def run(self, sql: str, on_message: OnMessage) -> ResultSets: ...

    def close(self) -> None: ...


# -- pymssql -------------------------------------------------------------------------------


def _decode(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def _pymssql_error(exc: BaseException) -> tuple[int | None, str]:
    """pymssql raises ``Error((number, b'text DB-Lib error message …'))``."""
    args = exc.args
    if args and isinstance(args[0], tuple) and len(args[0]) == 2:
        args = args[0]
    if len(args) >= 2 and isinstance(args[0], int):
        number, raw = args[0], _decode(args[1])
        server_text = raw.split("DB-Lib error message")[0].strip()
        return number, server_text or raw.strip()
    return None, _decode(args[0]) if args else str(exc)


def _rows(description: Any, rows: list[Any]) -> list[Row]:
    names = [(d[0] or f"column{i}") for i, d in enumerate(description)]
    return [dict(zip(names, row, strict=False)) for row in rows]


_DBLIB_RE = re.compile(r"DB-Lib error message (\d+)")
_NET_DBLIB = (20009, 20003, 20004, 20006, 20017, 20047, 20002)


def _pymssql_connect_error(exc: BaseException) -> tuple[int | None, str]:
    """pymssql keeps the number of an earlier failed login in a module global (its highest
    severity wins), so a refused TCP connection after a failed login claims 18456. Trust the
    text: a Net-Lib / unable-to-connect text is a network failure whatever the number says."""
    number, text = _pymssql_error(exc)
    raw = " ".join(
        _decode(a)
        for a in (exc.args[0] if exc.args and isinstance(exc.args[0], tuple) else exc.args)
    )
    if "Login failed" in raw:
        return 18456, text
    dblib = [int(n) for n in _DBLIB_RE.findall(raw)]
    if "Net-Lib error" in raw or "Unable to connect" in raw:
        return next((n for n in dblib if n in _NET_DBLIB), 20009), raw.strip()
    if number == 18456 and 20018 not in dblib:
        return (dblib[0] if dblib else None), raw.strip()
    return number, text


class _Pymssql:
    def __init__(self, target: Target) -> None:
        import pymssql  # noqa: PLC0415 - lazy: only when this driver is chosen

        self._module = pymssql
        self._on_message: OnMessage | None = None
        self._conn = dbapi_connect(target, autocommit=True)
        self._conn._conn.set_msghandler(self._handler)

    def _handler(
        self, state: int, severity: int, server: Any, procedure: Any, line: int, text: Any
    ) -> None:
        callback = self._on_message
        if callback is None:
            return
        try:
            callback(message(None, int(severity), _decode(text), int(state)))
        except Exception:  # never let an exception cross into FreeTDS
            log.exception("message callback failed")

    def run(self, sql: str, on_message: OnMessage) -> ResultSets:
        self._on_message = on_message
        cursor = self._conn.cursor()
        results: ResultSets = []
        try:
            cursor.execute(sql)
            while True:
                if cursor.description:
                    results.append(_rows(cursor.description, cursor.fetchall()))
                if not cursor.nextset():
                    break
        except self._module.Error as exc:
            number, text = _pymssql_error(exc)
            raise SqlFailure(number, text) from None
        finally:
            self._on_message = None
            with contextlib.suppress(Exception):
                cursor.close()
        return results

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()


# -- ODBC-style drivers (pyodbc, mssql-python): cursor.messages + nextset() ----------------

_ODBC_NUMBER_RE = re.compile(r"\((\d+)\)")
_ODBC_SEGMENT_RE = re.compile(r"\[SQL Server\](?P<text>.*?)\s*\((?P<number>\d+)\)", re.DOTALL)


def odbc_message(entry: tuple[Any, Any]) -> SqlMessage:
    """``('[01000] (3211)', '[Microsoft][ODBC …][SQL Server]10 percent processed.')``."""
    state, text = _decode(entry[0]), _decode(entry[1])
    match = _ODBC_NUMBER_RE.search(state)
    number = int(match[1]) if match else None
    clean = re.sub(r"^(\[[^\]]*\])+", "", text).strip()
    return message(number or None, 0, clean)


def odbc_error(exc: BaseException) -> tuple[int | None, str, list[SqlMessage]]:
    """Number, text and every server error found in an ODBC driver's exception text."""
    raw = " ".join(_decode(a) for a in exc.args) or str(exc)
    found = [
        SqlMessage(int(m["number"]), 16, m["text"].strip()) for m in _ODBC_SEGMENT_RE.finditer(raw)
    ]
    if found:
        first = next((m for m in found if m.number != 3013), found[0])
        return first.number, first.text, found
    return None, raw, []


def _odbc_escape(value: str) -> str:
    return "{" + value.replace("}", "}}") + "}"


class _OdbcLike:
    """Shared loop for drivers that expose ``cursor.messages`` and ``nextset()`` (untested)."""

    _error: type[BaseException] = Exception

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def run(self, sql: str, on_message: OnMessage) -> ResultSets:
        cursor = self._conn.cursor()
        results: ResultSets = []
        try:
            cursor.execute(sql)
            while True:
                for entry in getattr(cursor, "messages", None) or []:
                    on_message(odbc_message(entry))
                if cursor.description:
                    results.append(_rows(cursor.description, cursor.fetchall()))
                if not cursor.nextset():
                    break
            for entry in getattr(cursor, "messages", None) or []:
                on_message(odbc_message(entry))
        except self._error as exc:
            number, text, found = odbc_error(exc)
            raise SqlFailure(number, text, found) from None
        finally:
            with contextlib.suppress(Exception):
                cursor.close()
        return results

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()


def _server_spec(target: Target) -> str:
    return target.host if "\\" in target.host else f"{target.host},{target.port}"


class _Pyodbc(_OdbcLike):
    """pyodbc with FreeTDS or Microsoft's ODBC driver. UNTESTED here (no ODBC driver)."""

    def __init__(self, target: Target) -> None:
        import pyodbc  # noqa: PLC0415 - lazy

        self._error = pyodbc.Error
        super().__init__(dbapi_connect(target, autocommit=True))


class _MssqlPython(_OdbcLike):
    """Microsoft's mssql-python driver. UNTESTED here (not installed on the build machine)."""

    def __init__(self, target: Target) -> None:
        import mssql_python  # noqa: PLC0415 - lazy

        self._error = mssql_python.Error
        super().__init__(dbapi_connect(target, autocommit=True))


# -- one way of connecting, for every operation ------------------------------------------

SQLALCHEMY_DIALECTS = {
    "pymssql": "mssql+pymssql",
    "pyodbc": "mssql+pyodbc",
    "mssql-python": "mssql+mssqlpython",
}


def require_driver(driver: str) -> None:
    """``BadInput`` in plain words when the profile's driver is not installed."""
    module = {"pymssql": "pymssql", "pyodbc": "pyodbc", "mssql-python": "mssql_python"}.get(driver)
    if module is None:
        raise BadInput(
            f"Unknown driver '{driver}'.", f"Use one of: {', '.join(DRIVERS)} (msde server add --driver)."
        )
    try:
        __import__(module)
    except ImportError:
        raise BadInput(
            f"The SQL Server driver '{driver}' of this connection profile is not installed.",
            f"Install it (pip install {driver}), or change the profile's driver "
            "(msde server add NAME ... --driver pymssql --replace).",
        ) from None


def dbapi_connect(target: Target, *, autocommit: bool) -> Any:
    """The profile's driver's own DB-API connection to ``target``.

    Every SQL Server connection of the tool goes through here: the backend's sessions and the
    SQLAlchemy engines of export, PBF, audit and import (``serverdb``). A named instance
    ``host\\INSTANCE`` is given to the driver whole, so the driver asks the SQL Server Browser
    (UDP 1434) for the instance's port instead of reaching port 1433 of the host. Raises
    ``SqlFailure(connect=True)``; ``BadInput`` when the driver is not installed.
    """
    require_driver(target.driver)
    if target.driver == "pymssql":
        import pymssql  # noqa: PLC0415 - lazy: only when this driver is chosen

        try:
            return pymssql.connect(
                server=target.host,
                port=str(target.port),
                user=target.user,
                password=target.password,
                database=target.database or "",
                login_timeout=target.login_timeout,
                autocommit=autocommit,
                appname="msde-tui",
            )
        except pymssql.Error as exc:
            number, text = _pymssql_connect_error(exc)
            raise SqlFailure(number, text, connect=True) from None
    if target.driver == "pyodbc":
        import os  # noqa: PLC0415

        import pyodbc  # noqa: PLC0415 - lazy

        name = os.environ.get("MSDE_ODBC_DRIVER") or next(
            (d for d in pyodbc.drivers() if "SQL Server" in d), "FreeTDS"
        )
        parts = [
            f"DRIVER={_odbc_escape(name)}",
            f"SERVER={_server_spec(target)}",
            f"UID={_odbc_escape(target.user)}",
            f"PWD={_odbc_escape(target.password)}",
            "TrustServerCertificate=yes",
            "APP=msde-tui",
        ]
        if target.database:
            parts.append(f"DATABASE={_odbc_escape(target.database)}")
        if name.lower() == "freetds" and "\\" not in target.host:
            parts.append(f"PORT={target.port}")
        try:
            return pyodbc.connect(
                ";".join(parts), autocommit=autocommit, timeout=target.login_timeout
            )
        except pyodbc.Error as exc:
            number, text, found = odbc_error(exc)
            raise SqlFailure(number, text, found, connect=True) from None
    if target.driver == "mssql-python":
        import mssql_python  # noqa: PLC0415 - lazy

        parts = [
            f"Server={_server_spec(target)}",
            f"UID={_odbc_escape(target.user)}",
            f"PWD={_odbc_escape(target.password)}",
            "TrustServerCertificate=yes",
            "APP=msde-tui",
        ]
        if target.database:
            parts.append(f"Database={_odbc_escape(target.database)}")
        try:
            return mssql_python.connect(";".join(parts), autocommit=autocommit)
        except mssql_python.Error as exc:
            number, text, found = odbc_error(exc)
            raise SqlFailure(number, text, found, connect=True) from None
    raise SqlFailure(
        None, f"Unknown driver '{target.driver}'. Use one of: {', '.join(DRIVERS)}.", connect=True
    )


def failure_of(exc: BaseException, driver: str) -> SqlFailure:
    """A driver's exception raised outside ``Session`` (e.g. through SQLAlchemy) as a
    ``SqlFailure``: the server's message number decides, never the text's language."""
    if isinstance(exc, SqlFailure):
        return exc
    inner = getattr(exc, "orig", None) or exc
    if driver == "pymssql":
        number, text = _pymssql_error(inner)
        return SqlFailure(number, text)
    number, text, found = odbc_error(inner)
    return SqlFailure(number, text, found)


def _open(target: Target) -> _Conn:
    if target.driver == "pymssql":
        return _Pymssql(target)
    if target.driver == "pyodbc":
        return _Pyodbc(target)
    if target.driver == "mssql-python":
        return _MssqlPython(target)
    raise SqlFailure(
        None, f"Unknown driver '{target.driver}'. Use one of: {', '.join(DRIVERS)}.", connect=True
    )


# -- worker thread -------------------------------------------------------------------------


class _Worker:
    """One daemon thread that runs a session's blocking calls in order."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._loop, name="msde-mssql", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the awaiting coroutine
                future.set_exception(exc)

    def submit(self, fn: Callable[[], Any]) -> asyncio.Future[Any]:
        future: Future[Any] = Future()
        self._jobs.put((fn, future))
        return asyncio.wrap_future(future)

    def stop(self) -> None:
        self._jobs.put(None)


_DONE = object()


class Session:
    """One open connection to SQL Server, used from async code."""

    def __init__(self, target: Target, conn: _Conn, worker: _Worker) -> None:
        self.target = target
        self._conn = conn
        self._worker = worker
        self.spid: int | None = None
        self.last_results: ResultSets = []
        self.last_messages: list[SqlMessage] = []
        self._busy = asyncio.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"Session(host={self.target.host!r}, port={self.target.port}, user={self.target.user!r}, driver={self.target.driver!r}, spid={self.spid})"

    @property
    def closed(self) -> bool:
        return self._closed

    @classmethod
    async def open(cls, target: Target) -> Session:
        """Connect (in the session's own thread), ask for English messages, learn @@SPID."""
        worker = _Worker()
        try:
            conn = await worker.submit(lambda: _open(target))
        except BaseException:
            worker.stop()
            raise
        session = cls(target, conn, worker)
        with contextlib.suppress(SqlFailure):
            await session.query("SET LANGUAGE us_english")
        with contextlib.suppress(SqlFailure):
            rows = await session.rows(tsql.SPID_SQL)
            if rows and rows[0].get("spid") is not None:
                session.spid = int(rows[0]["spid"])
        return session

    async def query(self, sql: str) -> ResultSets:
        """Run ``sql``; return every result set (messages are kept in ``last_messages``)."""
        async for _ in self.stream(sql):
            pass
        return self.last_results

    async def rows(self, sql: str) -> list[Row]:
        """The first result set of ``sql`` (empty when none)."""
        sets = await self.query(sql)
        return sets[0] if sets else []

    async def stream(self, sql: str) -> AsyncGenerator[SqlMessage, None]:
        """Run ``sql``, yielding informational messages live; raise ``SqlFailure`` on error.

        If the consumer stops early, the statement is stopped with ``KILL`` from a side
        connection (when the login may) and the generator waits for the driver to return.
        """
        if self._closed:
            raise SqlFailure(None, "The connection is closed.", connect=True)
        async with self._busy:
            loop = asyncio.get_running_loop()
            inbox: asyncio.Queue[Any] = asyncio.Queue()
            seen: list[SqlMessage] = []

            def deliver(item: object) -> None:
                with contextlib.suppress(RuntimeError):  # loop closed: nobody listens anymore
                    loop.call_soon_threadsafe(inbox.put_nowait, item)

            def work() -> ResultSets:
                try:
                    return self._conn.run(sql, deliver)
                finally:
                    deliver(_DONE)

            self.last_results, self.last_messages = [], seen
            future = self._worker.submit(work)
            finished = False
            try:
                while True:
                    item = await inbox.get()
                    if item is _DONE:
                        break
                    seen.append(item)
                    if not item.is_error:
                        yield item
                try:
                    self.last_results = await future
                except SqlFailure as failure:
                    known = [m for m in failure.messages if m not in seen]
                    failure.messages = seen + known
                    raise
                finished = True
            finally:
                if not finished and not future.done():
                    await self._stop_running(future)

    async def _stop_running(self, future: asyncio.Future[Any]) -> None:
        """The consumer went away mid-statement: KILL it from a side connection, then wait
        for the statement to end (also when cancelled again meanwhile)."""
        log.warning("stopping session %s (statement abandoned)", self.spid)
        await despite_cancel(self._kill_and_wait(future))

    async def _kill_and_wait(self, future: asyncio.Future[Any]) -> None:
        if self.spid is not None:
            try:
                side = await Session.open(self.target)
                try:
                    await side.query(tsql.build_kill(self.spid))
                finally:
                    await side.close()
            except (SqlFailure, OSError) as exc:
                log.warning("could not KILL session %s: %s", self.spid, exc)
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.shield(future), timeout=600)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(BaseException):
            await self._worker.submit(self._conn.close)
        self._worker.stop()


async def connect(
    host: str,
    port: int,
    user: str,
    password: str,
    database: str | None = None,
    driver: str = "pymssql",
    *,
    login_timeout: int = 15,
) -> Session:
    """Open a ``Session``; raises ``SqlFailure(connect=True)`` when it cannot."""
    return await Session.open(Target(host, port, user, password, database, driver, login_timeout))
