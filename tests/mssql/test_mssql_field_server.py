"""SQL Server connections as offices run them (issue 13): named instances through the SQL
Browser, one way of connecting for every operation, old servers without DROP DATABASE IF
EXISTS. Against the double; against a real server when MSDE_TEST_MSSQL names one (and, for
the named instance, MSDE_TEST_MSSQL_NAMED="host\\INSTANCE,user,password").
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from msde_tui.cli import main
from msde_tui.engine.backends.mssql import database as serverdb
from msde_tui.engine.backends.mssql import profiles, tsql
from msde_tui.engine.backends.mssql.backend import MssqlBackend
from msde_tui.engine.backends.mssql.messages import Context, translate
from msde_tui.engine.errors import BadInput, ConnectionFailed, DossierExists, PackError
from msde_tui.engine.plans import BackupOptions, Connection, RestoreItem
from tests.mssql_field import Field, collect, dossier_of, result_of

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


# -- 3. least-privilege logins: said up front, per operation ------------------------------------

OPERATOR, OPERATOR_PASSWORD = "msde_test_operator", "Op3rator!pw"


async def backup_operator(field: Field) -> None:
    """A login that is db_backupoperator of DB and nothing else."""
    if not field.real:
        field.double.add_login(OPERATOR, OPERATOR_PASSWORD, sysadmin=False)
        field.double.grant(OPERATOR, "BACKUP DATABASE", DB)
        return
    await drop_operator(field)
    await field.sql(
        f"CREATE LOGIN [{OPERATOR}] WITH PASSWORD = N'{OPERATOR_PASSWORD}', CHECK_POLICY = OFF"
    )
    await field.sql(f"CREATE USER [{OPERATOR}] FOR LOGIN [{OPERATOR}]", DB)
    await field.sql(f"ALTER ROLE db_backupoperator ADD MEMBER [{OPERATOR}]", DB)


async def drop_operator(field: Field) -> None:
    if field.real and await field.sql(f"SELECT name FROM sys.server_principals WHERE name = N'{OPERATOR}'"):
        await field.sql(f"DROP LOGIN [{OPERATOR}]")


@pytest.fixture
async def field(mssql_target: Any) -> AsyncIterator[Field]:
    helper = Field(mssql_target)
    try:
        yield helper
    finally:
        await helper.close()
        await drop_operator(helper)


async def test_a_backup_operator_login_is_told_what_it_may_do_before_anything_runs(
    field: Field,
) -> None:
    await field.seed(DB)
    await backup_operator(field)
    backend = field.backend(user=OPERATOR, password=OPERATOR_PASSWORD)
    try:
        login = await backend.login_rights(databases=[DB])
        facts = await backend.facts()
        refused = result_of(
            await collect(backend.backup(dossier_of(DB), facts.default_backup_path, BackupOptions()))
        )
        plain = result_of(
            await collect(
                backend.backup(dossier_of(DB), facts.default_backup_path, BackupOptions(verify=False))
            )
        )
    finally:
        await backend.close()
    assert login is not None and not login.sysadmin
    allowed = {r.operation: r.allowed for r in login.rights()}
    assert allowed[f"back up {DB}"] is True
    assert allowed["verify backups, read their contents"] is False
    assert allowed["restore as a new dossier"] is False
    assert allowed["delete old automatic backups"] is False
    # with verification asked: refused before BACKUP ran, saying why and what to grant
    assert not refused.ok and "may back up PW0972NAM but not verify backups" in refused.message
    assert "dbcreator" in refused.hint and "nothing was written" in refused.hint
    assert refused.details["file"] and not refused.files
    # without: the backup is made (and said unverified)
    assert plain.ok and not plain.verified
    field.files.extend(plain.files)


def test_the_permission_hint_no_longer_promises_db_backupoperator_verifies() -> None:
    error = translate(262, "CREATE DATABASE permission denied in database 'master'.")
    assert "verifying need CREATE DATABASE permission" in error.hint
    assert "or db_backupoperator (backup)" not in error.hint


# -- 8. msdb backup history: age of the last full backup, FULL recovery without log backups -----

OTHER = "PW0973NEV"


async def test_backup_history_of_every_database_and_its_warnings(field: Field) -> None:
    await field.seed(DB)
    await field.seed(OTHER)
    await field.backup(DB)
    await field.sql(f"ALTER DATABASE {tsql.quote_ident(DB)} SET RECOVERY FULL")
    backend = field.backend()
    try:
        found = {s.database: s for s in await backend.backup_history()}
    finally:
        await backend.close()
    now = datetime.now()
    backed, never = found[DB], found[OTHER]
    assert backed.last_full is not None and backed.age_days(now) < 1  # type: ignore[operator]
    assert backed.recovery_model == "FULL" and backed.last_log is None
    assert any("log is never backed up" in w for w in backed.warnings)
    assert never.last_full is None and never.age_text(now) == "never"
    assert any("never had a full backup" in w for w in never.warnings)


def test_server_status_and_rights_commands(
    home: Path, office: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    if office.is_real:
        pytest.skip("the CLI test runs on the double (the engine test above covers the server)")
    office.double.create_database(DB)
    office.double.instance.find(DB).recovery_model = "FULL"
    assert main(["server", "status", "office"]) == 0
    out = capsys.readouterr().out
    assert f"{DB}" in out and "last full never" in out and "log is never backed up" in out
    assert main(["--json", "server", "rights", "office"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["sysadmin"] is True and all(r["allowed"] for r in doc["rights"])


# -- 10. plain hints for what offices run ---------------------------------------------------------


async def test_a_named_instance_without_its_browser_points_at_the_browser(
    request: pytest.FixtureRequest,
) -> None:
    if os.environ.get("MSDE_TEST_MSSQL"):
        pytest.skip("needs the double's hooks (a stopped SQL Browser)")
    double = request.getfixturevalue("named_instance")
    double.browser.stop()
    backend = MssqlBackend(
        Connection(kind="mssql", host=double.named, user=double.user, password=double.password),
        login_timeout=3,
    )
    try:
        with pytest.raises(ConnectionFailed) as caught:
            await backend.facts()
    finally:
        await backend.close()
    assert "SQL Server Browser" in caught.value.hint and "UDP port 1434" in caught.value.hint


def test_express_with_tcp_disabled_and_old_tls_get_their_hints() -> None:
    refused = translate(
        20009,
        "Unable to connect: Adaptive Server is unavailable or does not exist (srv) "
        "Net-Lib error during Connection refused (111)",
        context=Context(operation="connect", host="srv"),
    )
    assert "TCP/IP disabled" in refused.hint and "Configuration Manager" in refused.hint
    tls = translate(
        20002,
        "Adaptive Server connection failed (srv) error:0A000102:SSL routines::unsupported protocol",
        context=Context(operation="connect", host="srv"),
    )
    assert "TLS" in tls.message and "TLS 1.2 update" in tls.hint and "SECLEVEL=0" in tls.hint


def test_a_french_login_s_errors_are_known_by_their_number() -> None:
    """A login whose default language is French gets French texts: the number decides."""
    from msde_tui.engine.backends.mssql.driver import failure_of  # noqa: PLC0415 - this test's subject

    class FakePymssqlError(Exception):
        pass

    french = FakePymssqlError(
        (3101, b"L'acc\xc3\xa8s exclusif n'a pas pu \xc3\xaatre obtenu car la base de donn\xc3\xa9es "
               b"est en cours d'utilisation.DB-Lib error message 20018, severity 16")
    )  # fmt: skip
    failure = failure_of(french, "pymssql")
    assert failure.number == 3101
    error = translate(failure.number, failure.text, context=Context(database="PW0001SOC"))
    assert "is in use" in error.message and "--close-sessions" in error.hint
    odbc = failure_of(
        FakePymssqlError("[42000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]"
                         "Autorisation CREATE DATABASE refusée dans la base de données 'master'. (262)"),
        "pyodbc",
    )  # fmt: skip
    assert odbc.number == 262


async def test_a_french_server_gives_the_same_plain_results(
    mssql_target: Any, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every path with a French login: the backend's sessions (SET LANGUAGE us_english, then
    numbers), serverdb (numbers), a refused login (a number before any SET LANGUAGE)."""
    if mssql_target.is_real:
        pytest.skip("needs the double's hooks (a French server)")
    double = mssql_target.double
    double.set_language("Français")
    field = Field(mssql_target)
    try:
        await field.seed(DB)
        path = await field.backup(DB)  # verified: 3262 understood
        workstation = await field.open(DB)
        backend = field.backend()
        try:
            refused = result_of(await collect(backend.restore(
                RestoreItem(source=path, number="972", short="NAM", replace=True), verify_first=False)))
        finally:
            await backend.close()
            await workstation.close()
        assert not refused.ok and refused.details["number"] == 3101
        bad = field.backend(password="wrong")
        try:
            with pytest.raises(ConnectionFailed) as caught:
                await bad.facts()
        finally:
            await bad.close()
        assert "refused the login" in caught.value.message
    finally:
        await field.close()
    profiles.add(profiles.check_profile("fr", double.host, double.port, double.user, "pymssql"), home)
    monkeypatch.setenv("MSDE_PASSWORD", double.password)
    serverdb.create_database(home, "fr", DB, None, hint="x")
    with pytest.raises(DossierExists):
        serverdb.create_database(home, "fr", DB, None, hint="x")
    serverdb.drop_database(home, "fr", DB, None)
