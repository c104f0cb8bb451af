"""pytest fixtures: ``tds_server`` (a fresh double per test) and ``mssql_target``.

Registered from tests/conftest.py with ``pytest_plugins``. Starting a double costs a
socket and a thread (about a millisecond), so every test gets its own instance and root.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tdsdouble.server import TdsServer

USER = "sa"
PASSWORD = "Passw0rd!"


@dataclass(frozen=True)
class MssqlTarget:
    """Where a SQL Server (real or the double) listens, and how to log in."""

    host: str
    port: int
    user: str
    password: str
    double: TdsServer | None = None  # None when MSDE_TEST_MSSQL points at a real server

    @property
    def is_real(self) -> bool:
        return self.double is None


def parse_target(value: str) -> MssqlTarget:
    """``host,port,user,password`` (the password may itself contain commas)."""
    host, port, user, password = value.split(",", 3)
    return MssqlTarget(host.strip(), int(port), user.strip(), password)


@pytest.fixture
def tds_server(tmp_path: Path) -> Iterator[TdsServer]:
    """A running TDS double with its own root under ``tmp_path``; stopped after the test."""
    server = TdsServer(tmp_path / "mssql", logins={USER: PASSWORD}).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def named_instance(tmp_path: Path) -> Iterator[TdsServer]:
    """A double reached as ``<127.x.y.z>\\SQLEXPRESS`` through its own SQL Browser."""
    server = TdsServer(tmp_path / "named", logins={USER: PASSWORD}).start_named("SQLEXPRESS")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mssql_target(request: pytest.FixtureRequest) -> MssqlTarget:
    """A real SQL Server from ``MSDE_TEST_MSSQL`` (host,port,user,password), else the double."""
    value = os.environ.get("MSDE_TEST_MSSQL")
    if value:
        return parse_target(value)
    server: TdsServer = request.getfixturevalue("tds_server")
    return MssqlTarget(server.host, server.port, server.user, server.password, server)
