"""A dossier's database on a SQL Server, reached through a saved connection profile.

``mssql_engine`` opens SQLAlchemy (pymssql) on one database; ``create_database`` makes the
empty database a PBF import or an export copy fills (refused when the name is taken);
``drop_database`` removes it again when that filling failed, so a failed import or copy
leaves nothing behind on the server.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from msde_tui.engine.errors import BadInput, DossierExists, PackError


def mssql_engine(profile_name: str, database: str, home: Path, password: str | None = None) -> sa.Engine:
    """A SQLAlchemy engine on ``database`` through a saved connection profile (pymssql)."""
    from msde_tui.engine.backends.mssql import profiles

    profile = profiles.get(profile_name, home)
    password = password if password is not None else profiles.password_from_env()
    if password is None:
        raise BadInput(
            f"The password of connection profile {profile_name} is needed.",
            "Set MSDE_PASSWORD or type it when asked.",
        )
    return server_engine(profile.host, profile.port, profile.user, password, database)


def server_engine(host: str, port: int, user: str, password: str, database: str) -> sa.Engine:
    """A SQLAlchemy engine (pymssql) on ``database`` of the server at ``host`` (a wizard
    connection typed without a saved profile)."""
    host, _, instance = host.partition("\\")
    url = sa.URL.create(
        "mssql+pymssql",
        username=user,
        password=password,
        host=host,
        port=None if instance else port,
        database=database,
    )
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def _on_master(home: Path, profile: str, password: str | None, work: Callable[[Any], None], what: str) -> None:
    """Run ``work(cursor)`` on the server's master database, in autocommit mode."""
    master = mssql_engine(profile, "master", home, password)
    try:
        raw = master.raw_connection()
        try:
            raw.driver_connection.autocommit(True)  # type: ignore[union-attr]  # pymssql's, never None once connected
            work(raw.cursor())
        finally:
            raw.close()
    except (DossierExists, BadInput, PackError):
        raise
    except Exception as exc:  # the driver's own error types
        raise PackError(f"Cannot {what} on {profile} ({exc}).") from exc
    finally:
        master.dispose()


def create_database(home: Path, profile: str, database: str, password: str | None, *, hint: str) -> None:
    """Create the empty ``database``; DossierExists (with ``hint``) if the name is taken."""
    from msde_tui.engine.backends.mssql.tsql import quote_ident

    def create(cursor: Any) -> None:
        cursor.execute("SELECT 1 FROM sys.databases WHERE name = %s", (database,))
        if cursor.fetchone() is not None:
            raise DossierExists(f"Database {database} already exists on {profile}.", hint)
        cursor.execute(f"CREATE DATABASE {quote_ident(database)}")

    _on_master(home, profile, password, create, f"create database {database}")


def database_exists(home: Path, profile: str, database: str, password: str | None) -> bool:
    """True when ``database`` exists on the server of ``profile``."""
    found: list[bool] = []

    def look(cursor: Any) -> None:
        cursor.execute("SELECT 1 FROM sys.databases WHERE name = %s", (database,))
        found.append(cursor.fetchone() is not None)

    _on_master(home, profile, password, look, f"look for database {database}")
    return bool(found and found[0])


def drop_database(home: Path, profile: str, database: str, password: str | None) -> None:
    """Remove a half-made database (best effort: the error that stopped the work is the one
    reported)."""
    from msde_tui.engine.backends.mssql.tsql import quote_ident

    def drop(cursor: Any) -> None:
        cursor.execute(f"DROP DATABASE IF EXISTS {quote_ident(database)}")

    try:
        _on_master(home, profile, password, drop, f"drop database {database}")
    except (PackError, BadInput):
        pass
