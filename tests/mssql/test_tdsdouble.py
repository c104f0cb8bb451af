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
    number, _text = err.value.args[0]  # pymssql wraps (number, text) on connect
    assert number == 18456
    # pymssql keeps login messages in process-wide state, so check the text with pytds
    with pytest.raises(pytds.OperationalError) as login_err:
        pytds.connect(dsn=tds_server.host, port=tds_server.port, user="sa", password="wrong")
    assert "Login failed for user 'sa'." in str(login_err.value)


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


# ---------------------------------------------------------------------------------------------
# BACKUP / VERIFY / RESTORE


def _make_database(server: TdsServer, name: str, rows: int = 300) -> list[tuple[Any, ...]]:
    data = [(i, f"ligne {i} – é", float(i) / 3, bytes([i % 256]) * 50) for i in range(rows)]
    with server.connect() as conn:
        cur = conn.cursor()
        cur.execute(f"CREATE DATABASE [{name}]")
        cur.execute(f"USE [{name}]")
        cur.execute(
            "CREATE TABLE entries (id BIGINT PRIMARY KEY, label NVARCHAR(100), amount FLOAT, blob VARBINARY(MAX))"
        )
        cur.executemany("INSERT INTO entries VALUES (%d, %s, %s, %s)", data)
    return data


def _run(conn: Any, sql: str) -> None:
    cur = conn.cursor()
    cur.execute(sql)
    while cur.nextset():
        pass


def _error(conn: Any, sql: str) -> tuple[int, list[tuple[int, str]]]:
    """Run ``sql`` expecting failure: (number pymssql raised, all messages received)."""
    got = collect_messages(conn)
    with pytest.raises(pymssql.Error) as err:
        _run(conn, sql)
    return err.value.args[0], got


def test_backup_progress_arrives_live_and_in_order(tds_server: TdsServer) -> None:
    import time

    _make_database(tds_server, "D001")
    tds_server.step_delay = 0.05
    bak = tds_server.backup_dir / "D001.bak"
    with tds_server.connect() as conn:
        stamps: list[tuple[float, str]] = []
        conn._conn.set_msghandler(lambda *a: stamps.append((time.monotonic(), a[5].decode())))
        _run(conn, f"BACKUP DATABASE [D001] TO DISK = N'{bak}' WITH CHECKSUM, INIT, STATS = 20")
        returned = time.monotonic()
    texts = [text for _, text in stamps]
    progress = [text for text in texts if text.endswith("percent processed.")]
    assert progress == [f"{p} percent processed." for p in (20, 40, 60, 80, 100)]
    assert texts[-1].startswith("BACKUP DATABASE successfully processed ")
    assert "Processed" in texts[-2] and "file 'D001_log' on file 1." in texts[-2]
    first = next(ts for ts, text in stamps if text == "20 percent processed.")
    assert returned - first >= 0.15, "progress must reach the client while BACKUP still runs"
    assert bak.stat().st_size > 0
    (record,) = tds_server.instance.history
    assert record.database_name == "D001" and record.has_backup_checksums


def test_verify_detects_a_flipped_byte_and_truncation(tds_server: TdsServer) -> None:
    _make_database(tds_server, "D001")
    bak = tds_server.backup_dir / "D001.bak"
    with tds_server.connect() as conn:
        got = collect_messages(conn)
        _run(conn, f"BACKUP DATABASE [D001] TO DISK = N'{bak}' WITH CHECKSUM, INIT")
        got.clear()
        _run(conn, f"RESTORE VERIFYONLY FROM DISK = N'{bak}' WITH CHECKSUM")
        assert (0, "The backup set on file 1 is valid.") in got

        good = bak.read_bytes()
        damaged = bytearray(good)
        damaged[len(good) // 2] ^= 0x01
        bak.write_bytes(bytes(damaged))
        number, got = _error(conn, f"RESTORE VERIFYONLY FROM DISK = N'{bak}' WITH CHECKSUM")
        assert number in (3183, 3241)
        assert got[-1] == (16, "VERIFY DATABASE is terminating abnormally.")

        bak.write_bytes(good[: len(good) - 5000])
        number, got = _error(conn, f"RESTORE VERIFYONLY FROM DISK = N'{bak}'")
        assert number == 3203
        assert f'Read on "{bak}" failed: 38(Reached the end of the file.)' in [m for _, m in got]


def test_flipped_data_byte_is_a_page_checksum_error(tds_server: TdsServer) -> None:
    import struct

    _make_database(tds_server, "D001")
    bak = tds_server.backup_dir / "D001.bak"
    with tds_server.connect() as conn:
        _run(conn, f"BACKUP DATABASE [D001] TO DISK = N'{bak}' WITH CHECKSUM, INIT")
        data = bytearray(bak.read_bytes())
        (header_len,) = struct.unpack_from("<I", data, 8)
        first_page = 8 + 4 + header_len + 4 + 8  # magic, header block, page_no + length
        data[first_page + 3000] ^= 0xFF
        bak.write_bytes(bytes(data))
        number, got = _error(conn, f"RESTORE VERIFYONLY FROM DISK = N'{bak}' WITH CHECKSUM")
    assert number == 3183
    assert (
        16,
        'RESTORE detected an error on page (1:1) in database "D001" as read from the backup set.',
    ) in got


def test_verify_with_checksum_on_a_backup_without_checksums_is_3187(tds_server: TdsServer) -> None:
    _make_database(tds_server, "D001", rows=5)
    bak = tds_server.backup_dir / "plain.bak"
    with tds_server.connect() as conn:
        _run(conn, f"BACKUP DATABASE [D001] TO DISK = N'{bak}' WITH INIT")
        number, _ = _error(conn, f"RESTORE VERIFYONLY FROM DISK = N'{bak}' WITH CHECKSUM")
    assert number == 3187


def test_restore_with_move_brings_back_the_same_rows(tds_server: TdsServer) -> None:
    original = _make_database(tds_server, "D001")
    bak = tds_server.backup_dir / "D001.bak"
    with tds_server.connect() as conn:
        _run(conn, f"BACKUP DATABASE [D001] TO DISK = N'{bak}' WITH CHECKSUM, INIT, COPY_ONLY")
        cur = conn.cursor()
        cur.execute(f"RESTORE FILELISTONLY FROM DISK = N'{bak}'")
        files = {row[2]: row[0] for row in cur.fetchall()}  # Type -> LogicalName
        assert files == {"D": "D001", "L": "D001_log"}
        cur.execute(f"RESTORE HEADERONLY FROM DISK = N'{bak}'")
        header = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
        assert header["DatabaseName"] == "D001" and header["SoftwareVersionMajor"] == 16
        assert header["HasBackupChecksums"] and header["IsCopyOnly"] and header["Position"] == 1
        got = collect_messages(conn)
        _run(
            conn,
            f"RESTORE DATABASE [D001 copy] FROM DISK = N'{bak}' WITH FILE = 1, "
            f"MOVE N'D001' TO N'{tds_server.data_dir}/D001_copy.mdf', "
            f"MOVE N'D001_log' TO N'{tds_server.log_dir}/D001_copy_log.ldf', RECOVERY, STATS = 50",
        )
        assert [m for _, m in got][:2] == ["50 percent processed.", "100 percent processed."]
        assert got[-1][1].startswith("RESTORE DATABASE successfully processed ")
        cur.execute("SELECT id, label, amount, blob FROM [D001 copy].dbo.entries ORDER BY id")
        assert [tuple(r) for r in cur.fetchall()] == original
    assert tds_server.database_file("D001 copy") == tds_server.data_dir / "D001_copy.mdf"


def test_restore_errors(tds_server: TdsServer) -> None:
    _make_database(tds_server, "D001", rows=5)
    _make_database(tds_server, "OTHER", rows=5)
    bak = tds_server.backup_dir / "D001.bak"
    with tds_server.connect() as conn:
        _run(conn, f"BACKUP DATABASE [D001] TO DISK = N'{bak}' WITH CHECKSUM, INIT")
        # another database's backup over an existing one, without REPLACE
        number, got = _error(
            conn,
            f"RESTORE DATABASE [OTHER] FROM DISK = N'{bak}' WITH MOVE N'D001' TO N'{tds_server.data_dir}/o.mdf', MOVE N'D001_log' TO N'{tds_server.log_dir}/o.ldf'",
        )
        assert number == 3154
        assert (16, "RESTORE DATABASE is terminating abnormally.") in got
        # same files as the source database: 1834
        number, _ = _error(conn, f"RESTORE DATABASE [NEW] FROM DISK = N'{bak}'")
        assert number == 1834
        # missing MOVE directory: 5133
        number, _ = _error(
            conn,
            f"RESTORE DATABASE [NEW] FROM DISK = N'{bak}' WITH MOVE N'D001' TO N'/no/such/dir/n.mdf', MOVE N'D001_log' TO N'{tds_server.log_dir}/n.ldf'",
        )
        assert number == 5133
        # database in use: 3101
        tds_server.mark_in_use("OTHER")
        number, _ = _error(
            conn,
            f"RESTORE DATABASE [OTHER] FROM DISK = N'{bak}' WITH REPLACE, MOVE N'D001' TO N'{tds_server.data_dir}/o.mdf', MOVE N'D001_log' TO N'{tds_server.log_dir}/o.ldf'",
        )
        assert number == 3101
        # backup file missing: 3201 with OS error 2
        number, got = _error(
            conn, f"RESTORE DATABASE [NEW] FROM DISK = N'{tds_server.backup_dir}/missing.bak'"
        )
        assert number == 3201
        assert any(
            "Operating system error 2(The system cannot find the file specified.)." in m
            for _, m in got
        )
    # a backup from a newer major version cannot be restored: 3169
    tds_server.set_facts(version="15.0.2000.5")
    with tds_server.connect() as conn:
        number, got = _error(
            conn,
            f"RESTORE DATABASE [NEW] FROM DISK = N'{bak}' WITH MOVE N'D001' TO N'{tds_server.data_dir}/n.mdf', MOVE N'D001_log' TO N'{tds_server.log_dir}/n.ldf'",
        )
    assert number == 3169
    assert "version 16.00.4135" in got[0][1] and "running version 15.00.2000" in got[0][1]


def test_backup_errors(tds_server: TdsServer) -> None:
    _make_database(tds_server, "D001", rows=5)
    denied = tds_server.root / "denied"
    denied.mkdir()
    tds_server.deny(denied)
    with tds_server.connect() as conn:
        number, got = _error(
            conn, f"BACKUP DATABASE [D001] TO DISK = N'{denied}/x.bak' WITH CHECKSUM, INIT"
        )
        assert number == 3201
        assert [m for _, m in got] == [
            f"Cannot open backup device '{denied}/x.bak'. Operating system error 5(Access is denied.).",
            "BACKUP DATABASE is terminating abnormally.",
        ]
        number, got = _error(
            conn, "BACKUP DATABASE [D001] TO DISK = N'/no/such/dir/x.bak' WITH INIT"
        )
        assert (
            number == 3201
            and "Operating system error 3(The system cannot find the path specified.)." in got[0][1]
        )
        number, got = _error(
            conn,
            f"BACKUP DATABASE [D001] TO DISK = N'{tds_server.backup_dir}/c.bak' WITH COMPRESSION",
        )
        assert number == 1844
        assert got[0] == (
            16,
            "BACKUP DATABASE WITH COMPRESSION is not supported on Express Edition (64-bit).",
        )
        number, _ = _error(conn, "BACKUP DATABASE [nope] TO DISK = N'x.bak'")
        assert number == 911
    assert not (denied / "x.bak").exists()
    tds_server.set_facts(edition="standard")
    with tds_server.connect() as conn:
        _run(
            conn,
            f"BACKUP DATABASE [D001] TO DISK = N'{tds_server.backup_dir}/c.bak' WITH COMPRESSION, CHECKSUM, INIT",
        )
        _run(conn, f"RESTORE VERIFYONLY FROM DISK = N'{tds_server.backup_dir}/c.bak' WITH CHECKSUM")


def test_backup_inside_a_transaction_is_3021(tds_server: TdsServer) -> None:
    _make_database(tds_server, "D001", rows=1)
    with tds_server.connect(autocommit=False) as conn:  # pymssql sends BEGIN TRAN
        number, _ = _error(
            conn, f"BACKUP DATABASE [D001] TO DISK = N'{tds_server.backup_dir}/t.bak'"
        )
    assert number == 3021


def test_kill_stops_a_running_backup_and_leaves_no_file(tds_server: TdsServer) -> None:
    import threading

    _make_database(tds_server, "D001", rows=50)
    tds_server.step_delay = 0.1
    bak = tds_server.backup_dir / "killed.bak"
    conn = tds_server.connect()
    cur = conn.cursor()
    cur.execute("SELECT @@SPID")
    (spid,) = cur.fetchone()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            _run(conn, f"BACKUP DATABASE [D001] TO DISK = N'{bak}' WITH CHECKSUM, INIT, STATS = 1")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    with tds_server.connect() as side:
        import time

        deadline = time.monotonic() + 5
        while spid not in tds_server.instance.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        side_cur = side.cursor()
        side_cur.execute(
            "SELECT session_id, command, percent_complete FROM sys.dm_exec_requests WHERE command = 'BACKUP DATABASE'"
        )
        assert [r[:2] for r in side_cur.fetchall()] == [(spid, "BACKUP DATABASE")]
        _run(side, f"KILL {spid}")
    thread.join(timeout=10)
    assert errors, "the killed BACKUP must fail"
    assert not bak.exists()
    conn.close()


# ---------------------------------------------------------------------------------------------
# The server's disk, catalog queries


def test_filesystem_procedures_see_the_server_disk(tds_server: TdsServer) -> None:
    folder = tds_server.backup_dir
    (folder / "a.bak").write_bytes(b"x" * 10)
    (folder / "sub").mkdir()
    with tds_server.connect() as conn:
        cur = conn.cursor()
        cur.execute(f"EXEC master.dbo.xp_fileexist N'{folder}/a.bak'")
        assert cur.fetchall() == [(1, 0, 1)]
        cur.execute(f"EXEC master.dbo.xp_fileexist N'{folder}'")
        assert cur.fetchall() == [(0, 1, 1)]
        cur.execute(f"EXEC master.sys.xp_dirtree N'{folder}', 1, 1")
        assert cur.fetchall() == [("a.bak", 1, 1), ("sub", 1, 0)]
        cur.execute(
            "SELECT file_or_directory_name, is_directory, size_in_bytes "
            f"FROM sys.dm_os_enumerate_filesystem(N'{folder}', N'*') ORDER BY file_or_directory_name"
        )
        assert cur.fetchall() == [("a.bak", False, 10), ("sub", True, 0)]
        _run(conn, f"EXEC master.dbo.xp_create_subdir N'{folder}/new/deeper'")
        assert (folder / "new" / "deeper").is_dir()
        cur.execute("EXEC master.sys.xp_fixeddrives")
        ((drive, free_mb),) = cur.fetchall()
        assert drive.startswith("/") and free_mb > 0
        cur.execute(
            "SELECT DISTINCT vs.volume_mount_point, vs.available_bytes FROM sys.master_files AS f "
            "CROSS APPLY sys.dm_os_volume_stats(f.database_id, f.file_id) AS vs"
        )
        ((mount, free),) = cur.fetchall()
        assert mount == drive and free > 0
    tds_server.deny(folder)
    with tds_server.connect() as conn:
        number, _ = _error(conn, f"EXEC master.dbo.xp_create_subdir N'{folder}/refused'")
    assert number == 22048 and not (folder / "refused").exists()


def test_catalog_queries_describe_user_tables(tds_server: TdsServer) -> None:
    tds_server.create_database("D")
    with tds_server.connect(database="D") as conn:
        cur = conn.cursor()
        cur.execute(
            "CREATE TABLE [Entries] (id INT NOT NULL, label NVARCHAR(40), amount DECIMAL(15,2))"
        )
        cur.execute(
            "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, IS_NULLABLE "
            "FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = N'Entries' ORDER BY ORDINAL_POSITION"
        )
        assert cur.fetchall() == [
            ("Entries", "id", "int", None, "NO"),
            ("Entries", "label", "nvarchar", 40, "YES"),
            ("Entries", "amount", "decimal", None, "YES"),
        ]
        cur.execute("SELECT t.name FROM sys.tables AS t ORDER BY t.name")
        assert cur.fetchall() == [("Entries",)]
        cur.execute("SELECT TOP 1 name FROM sys.databases ORDER BY database_id DESC")
        assert cur.fetchall() == [("D",)]
        cur.execute("SELECT DB_NAME() AS db, DB_ID(N'D') AS id, @@TRANCOUNT AS tc")
        assert cur.fetchall() == [("D", 5, 0)]


@pytest.mark.parametrize("tds_version", ["7.2", "7.3", "7.4"])
def test_pymssql_tds_versions(tds_server: TdsServer, tds_version: str) -> None:
    with tds_server.connect(tds_version=tds_version) as conn:
        cur = conn.cursor()
        cur.execute("SELECT CAST('2024-01-02' AS DATE) AS d, 1.5 AS f, N'é' AS s, 0x0102 AS b")
        assert cur.fetchall() == [("2024-01-02", 1.5, "é", b"\x01\x02")]


def test_mssql_target_defaults_to_the_double(
    mssql_target: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.tdsdouble.fixture import parse_target

    if mssql_target.is_real:
        pytest.skip("MSDE_TEST_MSSQL points at a real server")
    assert mssql_target.double is not None and mssql_target.port == mssql_target.double.port
    target = parse_target("db.example,1433,sa,pa,ss")
    assert (target.host, target.port, target.user, target.password) == (
        "db.example",
        1433,
        "sa",
        "pa,ss",
    )
    assert target.is_real


REFLECTION_DDL = [
    "CREATE TABLE parent (id INT IDENTITY(1,1) NOT NULL, code NVARCHAR(10) NOT NULL, "
    "CONSTRAINT pk_parent PRIMARY KEY (id), CONSTRAINT uq_parent_code UNIQUE (code))",
    "CREATE TABLE [child] (a INT NOT NULL, b BIGINT NOT NULL, parent_id INT NULL, "
    "amount DECIMAL(15,2) NOT NULL DEFAULT 0, note NVARCHAR(MAX) NULL, data VARBINARY(MAX) NULL, "
    "PRIMARY KEY (a, b), UNIQUE (parent_id, b), CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) "
    "REFERENCES parent (id) ON DELETE CASCADE)",
    "CREATE INDEX ix_child_amount ON child (amount DESC, a)",
    "CREATE VIEW parent_codes AS SELECT code FROM parent",
    "INSERT INTO parent (code) VALUES (N'a'), (N'b'), (N'c')",
]


def test_sqlalchemy_reflects_a_database_of_the_double(tds_server: TdsServer) -> None:
    """SQLAlchemy's mssql dialect (sys.* joins, INFORMATION_SCHEMA CTEs) over real pymssql."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import mssql

    tds_server.create_database("R")
    with tds_server.connect(database="R") as conn:
        cur = conn.cursor()
        for statement in REFLECTION_DDL:
            cur.execute(statement)
    url = sa.URL.create(
        "mssql+pymssql", username=tds_server.user, password=tds_server.password,
        host=tds_server.host, port=tds_server.port, database="R",
    )  # fmt: skip
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as db:
            insp = sa.inspect(db)
            assert insp.get_table_names() == ["child", "parent"]
            assert insp.get_view_names() == ["parent_codes"]
            parent = {c["name"]: c for c in insp.get_columns("parent")}
            assert parent["id"]["identity"] == {"start": 1, "increment": 1}
            assert parent["id"]["autoincrement"] is True
            assert isinstance(parent["code"]["type"], mssql.NVARCHAR)
            assert parent["code"]["type"].length == 10 and parent["code"]["nullable"] is False
            child = {c["name"]: c for c in insp.get_columns("child")}
            assert "identity" not in child["a"] and child["a"]["autoincrement"] is False
            assert isinstance(child["b"]["type"], mssql.BIGINT)
            amount = child["amount"]["type"]
            assert isinstance(amount, sa.Numeric) and (amount.precision, amount.scale) == (15, 2)
            assert child["amount"]["default"] == "((0))"
            assert child["note"]["type"].length is None and child["note"]["nullable"] is True
            assert isinstance(child["data"]["type"], mssql.VARBINARY)
            assert insp.get_pk_constraint("parent")["name"] == "pk_parent"
            child_pk = insp.get_pk_constraint("child")
            assert child_pk["constrained_columns"] == ["a", "b"]
            assert child_pk["name"].startswith("PK__child__")
            assert insp.get_foreign_keys("child") == [
                {"name": "fk_child_parent", "constrained_columns": ["parent_id"],
                 "referred_schema": None, "referred_table": "parent", "referred_columns": ["id"],
                 "options": {"ondelete": "CASCADE"}},
            ]  # fmt: skip
            indexes = {ix["name"]: ix for ix in insp.get_indexes("child")}
            assert indexes["ix_child_amount"]["column_names"] == ["amount", "a"]
            assert indexes["ix_child_amount"]["unique"] is False
            [unique] = [ix for name, ix in indexes.items() if name.startswith("UQ__child__")]
            assert unique["column_names"] == ["parent_id", "b"] and unique["unique"] is True
            assert [ix["name"] for ix in insp.get_indexes("parent")] == ["uq_parent_code"]
            rows = db.execute(
                sa.text(
                    "SELECT o.name, i.name FROM sys.indexes AS i "
                    "JOIN sys.objects AS o ON o.object_id = i.object_id "
                    "WHERE i.is_unique_constraint = 1 ORDER BY o.name"
                )
            ).all()
            assert [r[0] for r in rows] == ["child", "parent"]
    finally:
        engine.dispose()


def test_identity_columns_and_catalog_functions(tds_server: TdsServer) -> None:
    tds_server.create_database("R")
    with tds_server.connect(database="R") as conn:
        cur = conn.cursor()
        for statement in REFLECTION_DDL:
            cur.execute(statement)
        cur.execute(
            "SELECT name, seed_value, increment_value, last_value FROM sys.identity_columns "
            "WHERE object_id = OBJECT_ID(N'dbo.parent')"
        )
        assert cur.fetchall() == [("id", 1, 1, 3)]
        cur.execute(
            "SELECT COLUMNPROPERTY(OBJECT_ID(N'parent'), N'id', 'IsIdentity') AS i, "
            "COLUMNPROPERTY(OBJECT_ID(N'parent'), N'code', 'IsIdentity') AS c, "
            "COLUMNPROPERTY(OBJECT_ID(N'parent'), N'nope', 'IsIdentity') AS n"
        )
        assert cur.fetchall() == [(1, 0, None)]
        cur.execute(
            "SELECT OBJECT_NAME(c.object_id) AS t, c.name FROM sys.columns AS c "
            "WHERE COLUMNPROPERTY(c.object_id, c.name, 'IsIdentity') = 1"
        )
        assert cur.fetchall() == [("parent", "id")]
        # catalog names compare like SQL_Latin1_General_CP1_CI_AS; type is char(2): 'U '
        cur.execute("SELECT name, type FROM sys.objects WHERE type = 'u' AND name = N'PARENT'")
        assert cur.fetchall() == [("parent", "U ")]
        cur.execute(
            "SELECT tc.CONSTRAINT_NAME, tc.CONSTRAINT_TYPE FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS AS tc "
            "WHERE tc.TABLE_NAME = N'parent' ORDER BY tc.CONSTRAINT_NAME"
        )
        assert cur.fetchall() == [("pk_parent", "PRIMARY KEY"), ("uq_parent_code", "UNIQUE")]
        cur.execute("SELECT COUNT(*) AS n FROM dbo.parent WITH (NOLOCK) WHERE dbo.parent.id > 1")
        assert cur.fetchall() == [(2,)]
    # the property is kept in the database file: a copy (as RESTORE makes) still has it
    tds_server.create_database("R2", sqlite_file=tds_server.database_file("R"))
    with tds_server.connect(database="R2") as conn:
        cur = conn.cursor()
        cur.execute("SELECT name FROM sys.columns WHERE is_identity = 1")
        assert cur.fetchall() == [("id",)]


def test_identity_values_and_identity_insert(tds_server: TdsServer) -> None:
    tds_server.create_database("I")
    with tds_server.connect(database="I") as conn:
        cur = conn.cursor()
        cur.execute(
            "CREATE TABLE t (n BIGINT IDENTITY(100, 10) NOT NULL, code NVARCHAR(5) NOT NULL)"
        )
        cur.execute("CREATE TABLE plain (id INT NOT NULL PRIMARY KEY)")
        cur.execute("INSERT INTO t (code) VALUES (N'a'), (N'b')")
        cur.execute("SELECT @@IDENTITY AS i, SCOPE_IDENTITY() AS s")
        assert cur.fetchall() == [(110, 110)]
        cur.execute("INSERT INTO dbo.t VALUES (N'c')")  # no column list: the other columns
        cur.execute("INSERT INTO t (code) SELECT code FROM t WHERE code < N'c'")
        cur.execute("SELECT n, code FROM t ORDER BY n")
        assert cur.fetchall() == [(100, "a"), (110, "b"), (120, "c"), (130, "a"), (140, "b")]
        assert _error(conn, "INSERT INTO t (n, code) VALUES (5, N'x')")[0] == 544
        assert _error(conn, "INSERT INTO t VALUES (5, N'x')")[0] == 8101
        assert _error(conn, "SET IDENTITY_INSERT plain ON")[0] == 8106
        assert _error(conn, "SET IDENTITY_INSERT nope ON")[0] == 1088
        _run(conn, "SET IDENTITY_INSERT [dbo].[t] ON")
        _run(conn, "INSERT INTO t (n, code) VALUES (5, N'x')")
        assert _error(conn, "INSERT INTO t (code) VALUES (N'y')")[0] == 545
        cur.execute("CREATE TABLE u (id INT IDENTITY(1,1) NOT NULL PRIMARY KEY)")
        assert _error(conn, "SET IDENTITY_INSERT u ON")[0] == 8107
        _run(conn, "SET IDENTITY_INSERT t OFF")
        _run(conn, "INSERT INTO t (code) VALUES (N'z')")
        cur.execute("SELECT n FROM t WHERE code = N'z'")
        assert cur.fetchall() == [(150,)]
