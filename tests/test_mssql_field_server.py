"""SQL Server connections as offices run them (issue 13): named instances through the SQL
Browser, one way of connecting for every operation, old servers without DROP DATABASE IF
EXISTS. Against the double; against a real server when MSDE_TEST_MSSQL names one (and, for
the named instance, MSDE_TEST_MSSQL_NAMED="host\\INSTANCE,user,password").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from msde_tui.engine import serverdb
from msde_tui.engine.errors import BadInput, PackError
from msde_tui.engine.mssql import profiles
from msde_tui.engine.mssql.backend import MssqlBackend
from msde_tui.engine.plans import Connection

DB = "PW0972NAM"


def named_target(request: pytest.FixtureRequest) -> tuple[str, str, str, Any]:
    """(host\\INSTANCE, user, password, the double or None) of a named instance."""
    value = os.environ.get("MSDE_TEST_MSSQL_NAMED")
    if value:
        host, user, password = value.split(",", 2)
        return host, user, password, None
    if os.environ.get("MSDE_TEST_MSSQL"):
        pytest.skip("set MSDE_TEST_MSSQL_NAMED to test a real named instance")
    double = request.getfixturevalue("named_instance")
    return double.named, double.user, double.password, double


# -- 5. named instances keep their instance in every path -------------------------------------


async def test_a_named_instance_is_reached_by_every_path(
    request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, user, password, double = named_target(request)
    profiles.add(profiles.check_profile("express", host, 1433, user, "pymssql"), home)
    monkeypatch.setenv("MSDE_PASSWORD", password)
    # the backend (backup, verify, restore)
    backend = MssqlBackend(Connection(kind="mssql", host=host, port=1433, user=user, password=password))
    try:
        facts = await backend.facts()
    finally:
        await backend.close()
    assert facts.version
    # serverdb (export copy, PBF import, tax audit, import)
    if serverdb.database_exists(home, "express", DB, None):
        serverdb.drop_database(home, "express", DB, None)
    serverdb.create_database(home, "express", DB, None, hint="x")
    try:
        assert serverdb.database_exists(home, "express", DB, None)
        engine = serverdb.mssql_engine("express", DB, home)
        try:
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT DB_NAME() AS name")).scalar() == DB
        finally:
            engine.dispose()
    finally:
        serverdb.drop_database(home, "express", DB, None)
    assert not serverdb.database_exists(home, "express", DB, None)
    if double is not None:
        assert double.browser.asked and set(double.browser.asked) == {"SQLEXPRESS"}


def test_the_profile_s_driver_is_the_one_used(home: Path) -> None:
    profiles.add(profiles.check_profile("odbc", "srv\\SQLEXPRESS", 1433, "u", "pyodbc"), home)
    try:
        import pyodbc  # noqa: F401, PLC0415
    except ImportError:  # this machine has no ODBC: said plainly, never pymssql instead
        with pytest.raises(BadInput, match="driver 'pyodbc' of this connection profile is not installed"):
            serverdb.mssql_engine("odbc", DB, home, "secret")
        return
    engine = serverdb.mssql_engine("odbc", DB, home, "secret")
    try:
        assert engine.dialect.driver == "pyodbc"
        assert "secret" not in repr(engine.url)
    finally:
        engine.dispose()


# -- 5. DROP DATABASE on servers before 2016; failures are not swallowed ------------------------


@pytest.fixture
def office(home: Path, mssql_target: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    profiles.add(
        profiles.check_profile("office", mssql_target.host, mssql_target.port, mssql_target.user, "pymssql"),
        home,
    )
    monkeypatch.setenv("MSDE_PASSWORD", mssql_target.password)
    return mssql_target


def test_a_half_made_database_is_dropped_on_sql_server_2014(home: Path, office: Any) -> None:
    if office.is_real:
        pytest.skip("needs the double's hooks (a SQL Server 2014)")
    office.double.set_facts(version="12.0.6024.0")
    serverdb.create_database(home, "office", DB, None, hint="x")
    serverdb.drop_database(home, "office", DB, None)
    assert not serverdb.database_exists(home, "office", DB, None)
    assert not any("IF EXISTS" in b for b in office.double.batches)


def test_a_failed_drop_is_said_not_swallowed(home: Path, office: Any) -> None:
    if office.is_real:
        pytest.skip("needs the double's hooks (a database another session holds)")
    serverdb.create_database(home, "office", DB, None, hint="x")
    office.double.mark_in_use(DB)
    with pytest.raises(PackError, match="currently in use"):
        serverdb.drop_database(home, "office", DB, None)
    # while another error is being reported, that error stays the one raised, and says so
    with pytest.raises(PackError) as caught:
        try:
            raise PackError("The copy failed.", "Try again.")
        except PackError:
            serverdb.drop_database(home, "office", DB, None)
            raise
    assert caught.value.message == "The copy failed."
    assert f"The half-made database {DB} could not be removed" in caught.value.hint
    office.double.mark_in_use(DB, False)
    serverdb.drop_database(home, "office", DB, None)
