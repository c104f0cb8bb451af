"""What every wizard step shares: the data directory, the open backend, what was read so far.

Screens reach the engine only through this object (and the engine's own functions), so a step
can be tested alone with a context and a plan. Nothing here imports Textual.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msde_tui.engine import naming
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import MsdeError
from msde_tui.engine.plans import Connection

if TYPE_CHECKING:
    from msde_tui.engine.backends.base import Backend, BackupInfo, DatabaseInfo, ServerFacts
    from msde_tui.engine.backends.mssql.profiles import Profile


def load_profiles(home: Path) -> list[Profile]:
    """The saved connection profiles by name (none when the file is missing or unreadable:
    the wizard then offers a typed connection; ``msde server list`` explains the file)."""
    from msde_tui.engine.backends.mssql import profiles

    try:
        saved = profiles.load(home)
    except (MsdeError, OSError, ValueError):
        return []
    return sorted(saved.values(), key=lambda p: p.name.lower())


def _open_backend(connection: Connection, home: Path) -> Any:
    from msde_tui.engine.backends import open_backend

    return open_backend(connection, home=home)


def _key(connection: Connection) -> tuple[Any, ...]:
    return (
        connection.kind,
        connection.host,
        connection.port,
        connection.user,
        connection.driver,
        connection.password,
    )


@dataclass
class WizardContext:
    """Shared state of one wizard session (one per app)."""

    home: Path
    _backends: dict[tuple[Any, ...], Backend] = field(default_factory=dict)
    _facts: dict[tuple[Any, ...], ServerFacts] = field(default_factory=dict)
    backups_seen: dict[str, list[BackupInfo]] = field(default_factory=dict)
    databases_seen: list[DatabaseInfo] = field(default_factory=list)

    def catalog(self) -> Catalog:
        return Catalog(self.home)

    async def backend(self, connection: Connection) -> Backend:
        key = _key(connection)
        if key not in self._backends:
            backend = _open_backend(connection, self.home)
            if inspect.isawaitable(backend):
                backend = await backend
            self._backends[key] = backend
        return self._backends[key]

    async def facts(self, connection: Connection) -> ServerFacts:
        key = _key(connection)
        if key not in self._facts:
            backend = await self.backend(connection)
            self._facts[key] = await backend.facts()
        return self._facts[key]

    def forget(self, connection: Connection) -> None:
        """Drop a cached backend (after a failure, so the next try reconnects)."""
        key = _key(connection)
        self._backends.pop(key, None)
        self._facts.pop(key, None)

    async def close(self) -> None:
        for backend in list(self._backends.values()):
            try:
                await backend.close()
            except Exception:  # noqa: BLE001 - closing must not hide the real outcome
                pass
        self._backends.clear()

    async def dossiers_of(self, connection: Connection) -> list[tuple[Dossier, int | None]]:
        """The dossiers a backup can pick on this connection, with their size when known."""
        catalog = self.catalog()
        if connection.is_embedded:
            found: list[tuple[Dossier, int | None]] = []
            for dossier in catalog.dossiers():
                if dossier.backend not in ("embedded", "access"):  # Access files are local too
                    continue
                path = dossier.path(self.home) if dossier.is_embedded else Path(dossier.location)
                size = path.stat().st_size if path.exists() else None
                found.append((dossier, size))
            return found
        backend = await self.backend(connection)
        databases = await backend.databases()
        self.databases_seen = list(databases)
        known = {
            d.location: d
            for d in catalog.dossiers()
            if d.backend == "mssql" and (d.profile in (None, connection.profile))
        }
        result: list[tuple[Dossier, int | None]] = []
        for db in databases:
            listed = known.get(db.name)
            if listed is not None:
                dossier = listed
            else:
                code = naming.parse_database_name(db.name)
                if code is None:
                    continue
                dossier = Dossier(
                    number=code.number,
                    short=code.short,
                    company="",
                    backend="mssql",
                    location=db.name,
                    profile=connection.profile,
                )
            result.append((dossier, db.size_bytes))
        return sorted(result, key=lambda item: (item[0].number, item[0].location))

    async def known_dossiers(self, connection: Connection) -> dict[str, Dossier]:
        """Number -> dossier: the dossier list and, on SQL Server, the server's dossier
        databases the list does not have yet. A restore counts them all as taken, so it never
        proposes a number the server already uses, and replacing one of them is confirmed
        like replacing a listed dossier."""
        known = {d.number: d for d in self.catalog().dossiers()}
        if not connection.is_embedded:
            for dossier, _size in await self.dossiers_of(connection):
                known.setdefault(dossier.number, dossier)
        return known

    async def backups_in(self, connection: Connection, directory: str) -> list[BackupInfo]:
        backend = await self.backend(connection)
        found = await backend.backups_in(directory)
        if connection.is_embedded:  # Access dossiers' copies are local files too
            from msde_tui.engine.backends.access.backend import AccessBackend

            found = [*found, *await AccessBackend(self.home).backups_in(directory)]
        self.backups_seen[directory] = list(found)
        return found
