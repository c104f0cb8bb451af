"""The TDS double answers real drivers (pymssql/FreeTDS and pytds) like SQL Server does."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pymssql
import pytds
import pytest

from tests.tdsdouble import TdsServer


def collect_messages(conn: Any) -> list[tuple[int, str]]:
    """Install a pymssql message handler; returns the list it fills with (severity, text)."""
    got: list[tuple[int, str]] = []

    def handler(
        state: int, severity: int, server: bytes, proc: bytes, line: int, text: bytes
    ) -> None:
        got.append((severity, text.decode()))

    conn._conn.set_msghandler(handler)
    return got


def test_pymssql_login_and_server_properties(tds_server: TdsServer) -> None:
    tds_server.set_facts(version="16.0.4135.4", edition="express")
    with tds_server.connect() as conn:
        cur = conn.cursor()
        cur.execute(
            "SELECT SERVERPROPERTY('ProductVersion') AS v, SERVERPROPERTY('EngineEdition') AS e, "
            "SERVERPROPERTY('Edition') AS ed, SERVERPROPERTY('ProductMajorVersion') AS major, "
            "SERVERPROPERTY('InstanceDefaultBackupPath') AS b, "
            "SERVERPROPERTY('InstanceDefaultDataPath') AS d, @@VERSION"
        )
        assert [c[0] for c in cur.description] == ["v", "e", "ed", "major", "b", "d", ""]
        v, e, ed, major, b, d, version = cur.fetchone()
    assert (v, e, ed, major) == ("16.0.4135.4", 4, "Express Edition (64-bit)", "16")
    assert b == str(tds_server.backup_dir)
    assert d == str(tds_server.data_dir) + "/"
    assert version.startswith("Microsoft SQL Server 2022") and "Express Edition" in version


def test_standard_edition_facts(tds_server: TdsServer) -> None:
    tds_server.set_facts(version="15.0.2000.5", edition="standard")
    with tds_server.connect() as conn:
        cur = conn.cursor()
        cur.execute(
            "SELECT CAST(SERVERPROPERTY('EngineEdition') AS INT), SERVERPROPERTY('ProductVersion')"
        )
        assert cur.fetchone() == (2, "15.0.2000.5")


def test_wrong_password_is_18456(tds_server: TdsServer) -> None:
    with pytest.raises(pymssql.OperationalError) as err:
        pymssql.connect(
            server=tds_server.host,
            port=tds_server.port,
            user="sa",
            password="wrong",
            login_timeout=5,
        )
    number, text = err.value.args[0]  # pymssql wraps (number, text) on connect
    assert number == 18456
    assert b"Login failed for user 'sa'." in text


def test_unknown_database_at_login_fails(tds_server: TdsServer) -> None:
    with pytest.raises(pymssql.OperationalError) as err:
        tds_server.connect(database="nope")
    assert err.value.args[0][0] in (4060, 18456)


def test_round_trip_of_types_with_pymssql_and_pytds(tds_server: TdsServer) -> None:
    name = "a]b'c"
    rows = [
        (1, 9_000_000_000, "héllo € 𝄞", b"\x00\xff\x10", 1.5, dt.date(2024, 2, 29),
         dt.datetime(2024, 2, 29, 12, 34, 56, 123000), decimal.Decimal("-12.34")),
        (2, None, None, None, None, None, None, None),
        (3, -1, "x" * 5000, bytes(range(256)) * 40, -0.25, dt.date(1, 1, 1),
         dt.datetime(9999, 12, 31, 23, 59, 59), decimal.Decimal("1234567890123.45")),
    ]  # fmt: skip
    with tds_server.connect() as conn:
        cur = conn.cursor()
        cur.execute("CREATE DATABASE [a]]b'c]")
        cur.execute("USE [a]]b'c]")
        cur.execute(
            "CREATE TABLE [t] (id INT PRIMARY KEY, big BIGINT, name NVARCHAR(MAX), data VARBINARY(MAX), "
            "f FLOAT, d DATE, ts DATETIME2, amount DECIMAL(15,2))"
        )
        cur.executemany("INSERT INTO t VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
        cur.execute("SELECT * FROM t ORDER BY id")
        assert cur.fetchall() == rows
        cur.execute("SELECT COUNT(*) FROM dbo.t WHERE big IS NULL")
        assert cur.fetchone() == (1,)

    with pytds.connect(
        dsn=tds_server.host, port=tds_server.port, user=tds_server.user,
        password=tds_server.password, database=name, autocommit=True,
    ) as conn:  # fmt: skip
        cur = conn.cursor()
        cur.execute("SELECT * FROM [t] ORDER BY id")
        assert [tuple(r) for r in cur.fetchall()] == rows


def test_info_and_errors_reach_the_client(tds_server: TdsServer) -> None:
    with tds_server.connect() as conn:
        got = collect_messages(conn)
        cur = conn.cursor()
        cur.execute("PRINT 'hello'")
        assert (0, "hello") in got
        with pytest.raises(pymssql.ProgrammingError) as err:
            cur.execute("SELEC 1")
        assert err.value.args[0] == 102
        with pytest.raises(pymssql.ProgrammingError) as err:
            cur.execute("SELECT * FROM missing_table")
        assert err.value.args[0] == 208
        # the connection still works after errors
        cur.execute("SELECT 1 AS one")
        assert cur.fetchall() == [(1,)]


def test_transactions_and_pytds_transaction_requests(tds_server: TdsServer) -> None:
    tds_server.create_database("tx")
    with pytds.connect(
        dsn=tds_server.host, port=tds_server.port, user=tds_server.user,
        password=tds_server.password, database="tx", autocommit=False,
    ) as conn:  # fmt: skip
        cur = conn.cursor()
        cur.execute("CREATE TABLE t (id INT)")
        conn.commit()
        cur.execute("INSERT INTO t VALUES (1)")
        conn.rollback()
        cur.execute("INSERT INTO t VALUES (2)")
        conn.commit()
        cur.execute("SELECT id FROM t")
        assert [tuple(r) for r in cur.fetchall()] == [(2,)]


def test_databases_listing(tds_server: TdsServer) -> None:
    tds_server.create_database("D001")
    with tds_server.connect() as conn:
        cur = conn.cursor()
        cur.execute(
            "SELECT d.name, d.database_id, d.state_desc, SUM(CAST(f.size AS BIGINT)) * 8192 AS size_bytes "
            "FROM sys.databases AS d JOIN sys.master_files AS f ON f.database_id = d.database_id "
            "WHERE d.database_id > 4 GROUP BY d.name, d.database_id, d.state_desc ORDER BY d.name"
        )
        ((name, dbid, state, size),) = cur.fetchall()
    assert (name, dbid, state) == ("D001", 5, "ONLINE") and size > 0
