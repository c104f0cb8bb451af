"""The backup directory of a SQL Server dossier is written by the SQL Server service account on
the server host: a folder that account cannot write in is refused before any BACKUP, naming
the account and the folder (engine, CLI). Against the TDS double, real pymssql."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from msde_tui.cli import main
from msde_tui.engine.backends import check_backup_directory
from msde_tui.engine.backends.mssql import profiles
from msde_tui.engine.backends.mssql.backend import MssqlBackend
from msde_tui.engine.backends.mssql.directories import PROBE_PREFIX
from msde_tui.engine.errors import BadInput
from msde_tui.engine.plans import Connection

ACCOUNT = "NT Service\\MSSQL$SQLEXPRESS"


def connection(server: Any, user: str | None = None, password: str | None = None) -> Connection:
    return Connection(
        kind="mssql",
        profile="double",
        host=server.host,
        port=server.port,
        user=user or server.user,
        password=password or server.password,
    )


@pytest.fixture
def locked(tds_server: Any) -> Path:
    """A folder on the 'server' the service account may see but not write in."""
    folder = Path(tds_server.root) / "Locked"
    folder.mkdir()
    tds_server.deny(folder)
    tds_server.set_facts(service_account=ACCOUNT)
    return folder


def backups_made(server: Any) -> list[str]:
    return [b for b in server.batches if b.lstrip().upper().startswith("BACKUP DATABASE [PW")]


async def test_a_folder_the_service_account_cannot_write_is_named_with_the_account(
    tds_server: Any, locked: Path
) -> None:
    backend = MssqlBackend(connection(tds_server), login_timeout=5)
    try:
        problem = await backend.write_problem(str(locked))
        fine = await backend.write_problem(str(tds_server.backup_dir))
    finally:
        await backend.close()
    assert problem is not None and problem.kind == "service"
    assert problem.account == ACCOUNT and problem.path == str(locked)
    assert problem.detail == "access is denied"
    assert fine is None
    # the write test left nothing behind, in either folder
    assert list(locked.iterdir()) == []
    assert not [p for p in Path(tds_server.backup_dir).iterdir() if p.name.startswith(PROBE_PREFIX)]
    # and it was a real write: a COPY_ONLY backup of master, the only BACKUP sent
    probes = [b for b in tds_server.batches if b.lstrip().upper().startswith("BACKUP")]
    assert len(probes) == 2 and all("[master]" in b and "COPY_ONLY" in b for b in probes)


async def test_check_before_any_backup_says_who_cannot_write_where(
    tds_server: Any, locked: Path, tmp_path: Path
) -> None:
    with pytest.raises(BadInput) as info:
        await check_backup_directory(connection(tds_server), str(locked), home=tmp_path)
    assert info.value.message == (
        f"The SQL Server service account {ACCOUNT} cannot write in {locked} on the server host "
        "(access is denied)."
    )
    assert info.value.hint == (
        f"Give {ACCOUNT} the right to write in {locked} on the server, or choose another "
        "directory there."
    )
    with pytest.raises(BadInput, match="it does not exist there or the account cannot open it"):
        await check_backup_directory(
            connection(tds_server), str(Path(tds_server.root) / "nowhere"), home=tmp_path
        )
    await check_backup_directory(connection(tds_server), str(tds_server.backup_dir), home=tmp_path)


async def test_a_login_that_is_not_sysadmin_writes_no_test_file(
    tds_server: Any, locked: Path, tmp_path: Path
) -> None:
    """It could not delete it (xp_delete_file is sysadmin only): nothing is tried, and the
    BACKUP itself then names the account and the folder before anything is written."""
    tds_server.add_login("operator", "Op3rator!", sysadmin=False)
    backend = MssqlBackend(connection(tds_server, "operator", "Op3rator!"), login_timeout=5)
    try:
        assert await backend.write_problem(str(locked)) is None
    finally:
        await backend.close()
    assert not [b for b in tds_server.batches if b.lstrip().upper().startswith("BACKUP")]


def test_cli_backup_refuses_the_folder_before_any_backup(
    tds_server: Any, locked: Path, home: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tds_server.create_database("PW0001SOC")
    profiles.add(
        profiles.Profile(name="double", host=tds_server.host, port=tds_server.port,
                         user=tds_server.user),
        home,
    )
    monkeypatch.setenv("MSDE_PASSWORD", tds_server.password)
    assert main(["add", "--number", "001", "--short", "SOC", "--company", "Soc",
                 "--profile", "double", "--database", "PW0001SOC"]) == 0
    capsys.readouterr()
    assert main(["backup", "--dir", str(locked), "001"]) == 2
    out = capsys.readouterr()
    said = " ".join((out.out + out.err).split())
    assert f"The SQL Server service account {ACCOUNT} cannot write in {locked}" in said
    assert f"Give {ACCOUNT} the right to write in {locked}" in said
    assert backups_made(tds_server) == []  # refused before any BACKUP of a dossier
    assert list(locked.iterdir()) == []
    # a folder it can write in: the backup runs
    assert main(["backup", "--dir", str(tds_server.backup_dir), "001"]) == 0
    assert len(backups_made(tds_server)) == 1
