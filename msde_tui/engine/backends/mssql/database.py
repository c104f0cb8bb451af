"""A dossier's database on a SQL Server, reached through a saved connection profile.

``mssql_engine`` opens SQLAlchemy on one database; ``create_database`` makes the empty
database a PBF import or an export copy fills (refused when the name is taken);
``drop_database`` removes it again when that filling failed, so a failed import or copy
leaves nothing behind on the server.

Every connection is made by ``driver.dbapi_connect``, the one way the whole tool connects:
the profile's driver (pymssql, pyodbc, mssql-python) and its host as written, so a named
instance ``srv\\SQLEXPRESS`` keeps its instance (the driver asks the SQL Server Browser for
its port). Failures are translated by message number (``messages.translate``), whatever
the login's language.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from msde_tui.engine.errors import BadInput, DossierExists, MsdeError, PackError

log = logging.getLogger(__name__)


def _target(profile_name: str, database: str, home: Path, password: str | None) -> Any:
    from msde_tui.engine.backends.mssql import profiles
    from msde_tui.engine.backends.mssql.driver import Target

    profile = profiles.get(profile_name, home)
    password = password if password is not None else profiles.password_from_env()
    if password is None:
        raise BadInput(
            f"The password of connection profile {profile_name} is needed.",
            "Set MSDE_PASSWORD or type it when asked.",
        )
    return Target(
        host=profile.host,
        port=profile.port,
        user=profile.user,
        password=password,
        database=database,
        driver=profile.driver,
    )


def _translated(exc: BaseException, target: Any, what: str) -> MsdeError:
    from msde_tui.engine.backends.mssql import messages
    from msde_tui.engine.backends.mssql.driver import failure_of

    failure = failure_of(exc, target.driver)
    error = messages.translate(
        failure.number,
        failure.text,
        messages=failure.messages,
        context=messages.Context(
            operation="connect" if failure.connect else "query",
            host=target.host,
            port=target.port,
            user=target.user,
            database=target.database or "",
        ),
    )
    return PackError(f"Cannot {what} on {target.host}: {error.message}", error.hint)


def mssql_engine(profile_name: str, database: str, home: Path, password: str | None = None) -> sa.Engine:
    """A SQLAlchemy engine on ``database`` through a saved connection profile (its driver)."""
    return target_engine(_target(profile_name, database, home, password))


def server_engine(host: str, port: int, user: str, password: str, database: str,
                  driver: str = "pymssql") -> sa.Engine:
    """A SQLAlchemy engine on ``database`` of the server at ``host`` (a wizard connection
    typed without a saved profile): the same way of connecting as a profile's."""
    from msde_tui.engine.backends.mssql.driver import Target

    return target_engine(Target(host=host, port=port, user=user, password=password,
                                database=database, driver=driver))


def target_engine(target: Any) -> sa.Engine:
    """A SQLAlchemy engine over ``target`` (a driver ``Target``), connecting through
    ``driver.dbapi_connect`` (named instances, the profile's driver, one way for every path)."""
    from msde_tui.engine.backends.mssql.driver import (
        SQLALCHEMY_DIALECTS,
        dbapi_connect,
        require_driver,
    )

    require_driver(target.driver)

    def connect() -> Any:
        return dbapi_connect(target, autocommit=False)

    return sa.create_engine(
        f"{SQLALCHEMY_DIALECTS[target.driver]}://", creator=connect, poolclass=sa.pool.NullPool
    )


def _on_master(home: Path, profile: str, password: str | None, work: Callable[[Any], None], what: str) -> None:
    """Run ``work(cursor)`` on the server's master database, in autocommit mode."""
    from msde_tui.engine.backends.mssql.driver import dbapi_connect

    target = _target(profile, "master", home, password)
    try:
        conn = dbapi_connect(target, autocommit=True)
        try:
            work(conn.cursor())
        finally:
            conn.close()
    except (DossierExists, BadInput, PackError):
        raise
    except Exception as exc:  # the driver's own error types (or SqlFailure)
        raise _translated(exc, target, what) from None


def _exists(cursor: Any, database: str) -> bool:
    from msde_tui.engine.backends.mssql.tsql import build_database_exists

    cursor.execute(build_database_exists(database))
    return cursor.fetchone() is not None


def create_database(home: Path, profile: str, database: str, password: str | None, *, hint: str) -> None:
    """Create the empty ``database``; DossierExists (with ``hint``) if the name is taken."""
    from msde_tui.engine.backends.mssql.tsql import quote_ident

    def create(cursor: Any) -> None:
        if _exists(cursor, database):
            raise DossierExists(f"Database {database} already exists on {profile}.", hint)
        cursor.execute(f"CREATE DATABASE {quote_ident(database)}")

    _on_master(home, profile, password, create, f"create database {database}")


def database_exists(home: Path, profile: str, database: str, password: str | None) -> bool:
    """True when ``database`` exists on the server of ``profile``."""
    found: list[bool] = []

    def look(cursor: Any) -> None:
        found.append(_exists(cursor, database))

    _on_master(home, profile, password, look, f"look for database {database}")
    return bool(found and found[0])


def drop_database(home: Path, profile: str, database: str, password: str | None) -> None:
    """Remove a half-made database. Looked for first, then ``DROP DATABASE`` (no ``IF EXISTS``:
    SQL Server 2014 and older do not know it).

    A failure is never swallowed: called while another error is being handled (the one that
    stopped the work), that error keeps being the one reported and its hint says the database
    is left on the server; called on its own, the failure is raised."""
    from msde_tui.engine.backends.mssql.tsql import build_drop_database

    handling = sys.exc_info()[1]  # the error the caller is handling, if any

    def drop(cursor: Any) -> None:
        if _exists(cursor, database):
            cursor.execute(build_drop_database(database))

    try:
        _on_master(home, profile, password, drop, f"drop database {database}")
    except MsdeError as exc:
        if handling is None:
            raise
        log.warning("the half-made database %s could not be dropped: %s", database, exc.message)
        left = (
            f"The half-made database {database} could not be removed from {profile} "
            f"({exc.message}): drop it on the server."
        )
        if isinstance(handling, MsdeError):
            handling.hint = f"{handling.hint} {left}".strip()
        else:
            handling.add_note(left)
