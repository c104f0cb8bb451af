"""Helpers for SQL Server tests that run against the TDS double *or* a real server.

Everything here is plain T-SQL any SQL Server answers (CREATE DATABASE, CREATE TABLE,
INSERT, SELECT, DROP DATABASE, xp_delete_file), so a test written with ``Field`` runs
unchanged when ``MSDE_TEST_MSSQL=host,port,user,password`` names a real server (see
docs/OPERATIONS.md, "The real-server test suite"). ``Field.close`` removes every database
and backup file the test made, on the real server too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from msde_tui.engine.backends.mssql import tsql
from msde_tui.engine.backends.mssql.backend import MssqlBackend
from msde_tui.engine.backends.mssql.driver import Session, SqlFailure, Target
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.events import DossierResult, Event
from msde_tui.engine.plans import BackupOptions, Connection

ROWS = [(i, f"ligne {i} l'été [{i}]") for i in range(1, 121)]


async def collect(stream: AsyncIterator[Event]) -> list[Event]:
    return [event async for event in stream]


def result_of(events: list[Event]) -> DossierResult:
    results = [e for e in events if isinstance(e, DossierResult)]
    assert len(results) == 1, events
    return results[0]


def dossier_of(database: str, number: str = "001", short: str = "SOC") -> Dossier:
    return Dossier(number, short, "Société Lambert", backend="mssql", location=database)


class Field:
    """One test's view of the server: a login, the databases and files it made."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.made: list[str] = []
        self.files: list[str] = []

    @property
    def real(self) -> bool:
        return bool(self.target.is_real)

    @property
    def double(self) -> Any:
        return self.target.double

    def session_target(self, database: str | None = None, *, user: str = "", password: str = "") -> Target:
        return Target(
            self.target.host,
            self.target.port,
            user or self.target.user,
            password or self.target.password,
            database=database,
        )

    async def open(self, database: str | None = None, **login: str) -> Session:
        return await Session.open(self.session_target(database, **login))

    async def sql(self, text: str, database: str | None = None) -> list[dict[str, Any]]:
        session = await self.open(database)
        try:
            return await session.rows(text)
        finally:
            await session.close()

    def backend(self, *, user: str = "", password: str = "", host: str = "") -> MssqlBackend:
        return MssqlBackend(
            Connection(
                kind="mssql",
                profile="field",
                host=host or self.target.host,
                port=self.target.port,
                user=user or self.target.user,
                password=password or self.target.password,
            ),
            login_timeout=10,
        )

    async def drop(self, database: str) -> None:
        """Drop ``database`` if it exists (closing its sessions on a real server)."""
        found = await self.sql(tsql.build_database_exists(database))
        if not found:
            return
        if str(found[0].get("state_desc")).upper() == "ONLINE":
            await self.sql(tsql.build_single_user(database))
        await self.sql(tsql.build_drop_database(database))

    async def seed(self, database: str, rows: list[tuple[int, str]] = ROWS) -> None:
        """A fresh database holding table ``t`` with ``rows``."""
        await self.drop(database)
        await self.sql(f"CREATE DATABASE {tsql.quote_ident(database)}")
        self.made.append(database)
        await self.sql(
            "CREATE TABLE t (id int NOT NULL PRIMARY KEY, label nvarchar(100) NOT NULL)", database
        )
        values = ", ".join(f"({i}, {tsql.quote_literal(label)})" for i, label in rows)
        await self.sql(f"INSERT INTO t (id, label) VALUES {values}", database)

    async def rows(self, database: str) -> list[tuple[int, str]]:
        got = await self.sql("SELECT id, label FROM t ORDER BY id", database)
        return [(int(r["id"]), str(r["label"])) for r in got]

    async def backup_dir(self) -> str:
        backend = self.backend()
        try:
            return (await backend.facts()).default_backup_path
        finally:
            await backend.close()

    async def backup(self, database: str, **options: Any) -> str:
        """A verified full backup of ``database`` made by msde; its server path."""
        backend = self.backend()
        try:
            facts = await backend.facts()
            result = result_of(
                await collect(
                    backend.backup(
                        dossier_of(database), facts.default_backup_path, BackupOptions(**options)
                    )
                )
            )
        finally:
            await backend.close()
        assert result.ok, result
        self.files.extend(result.files)
        return result.files[0]

    def restored(self, result: DossierResult) -> None:
        """Remember what a restore made (its database, its safety copy) for the clean-up."""
        database = result.details.get("database")
        if isinstance(database, str):
            self.made.append(database)
        safety = result.details.get("safety_backup")
        if isinstance(safety, str):
            self.files.append(safety)

    async def close(self) -> None:
        for database in reversed(self.made):
            try:
                await self.drop(database)
            except SqlFailure:
                if not self.real:
                    raise
        if self.real:
            for path in self.files:
                try:
                    await self.sql(tsql.build_delete_backup_file(path))
                except SqlFailure:
                    pass
