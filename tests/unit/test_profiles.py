"""SQL Server connection profiles and ``msde server``: never a password on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine.backends.mssql import profiles
from msde_tui.engine.errors import BadInput

SECRET = "S3cr3t-'pass]"


def test_add_load_remove(home: Path) -> None:
    p = profiles.check_profile("office", "srv\\SQLEXPRESS", 1433, "backup", "pymssql")
    path = profiles.add(p, home)
    assert path == home / "config" / "connections.toml"
    assert profiles.load(home) == {"office": p}
    assert profiles.get("office", home).host == "srv\\SQLEXPRESS"
    with pytest.raises(profiles.ProfileExists):
        profiles.add(p, home)
    changed = profiles.check_profile("office", "srv2", 14330, "sa", "pyodbc")
    profiles.add(changed, home, replace=True)
    assert profiles.get("office", home) == changed
    conn = profiles.connection("office", SECRET, home)
    assert conn.kind == "mssql" and conn.profile == "office" and conn.port == 14330
    assert conn.password == SECRET and SECRET not in repr(conn)
    assert SECRET not in path.read_text()
    assert profiles.remove("office", home) == changed
    assert profiles.load(home) == {}
    with pytest.raises(profiles.ProfileNotFound):
        profiles.get("office", home)


@pytest.mark.parametrize(
    ("name", "host", "port", "user", "driver"),
    [
        ("bad name", "srv", 1433, "sa", "pymssql"),
        ("", "srv", 1433, "sa", "pymssql"),
        ("ok", "srv; DROP", 1433, "sa", "pymssql"),
        ("ok", "", 1433, "sa", "pymssql"),
        ("ok", "srv", 0, "sa", "pymssql"),
        ("ok", "srv", 70000, "sa", "pymssql"),
        ("ok", "srv", 1433, "", "pymssql"),
        ("ok", "srv", 1433, "sa", "jdbc"),
    ],
)
def test_bad_profiles_are_refused(name: str, host: str, port: int, user: str, driver: str) -> None:
    with pytest.raises(BadInput):
        profiles.check_profile(name, host, port, user, driver)


def test_a_password_in_the_file_is_refused(home: Path) -> None:
    path = profiles.profiles_file(home)
    path.write_text('[connections.x]\nhost = "srv"\nuser = "sa"\npassword = "oops"\n')
    with pytest.raises(BadInput, match="never reads passwords"):
        profiles.load(home)


def test_broken_file_is_reported(home: Path) -> None:
    profiles.profiles_file(home).write_text("[connections.x\n")
    with pytest.raises(BadInput, match="cannot be read"):
        profiles.load(home)


def test_password_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MSDE_PASSWORD", raising=False)
    assert profiles.password_from_env() is None
    monkeypatch.setenv("MSDE_PASSWORD", SECRET)
    assert profiles.password_from_env() == SECRET


def test_cli_add_list_remove(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MSDE_PASSWORD", SECRET)
    assert main(["server", "add", "office", "--host", "srv", "--port", "1500", "--user", "sa"]) == 0
    assert main(["server", "add", "office", "--host", "srv", "--user", "sa"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["--json", "server", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == {
        "profiles": [
            {"name": "office", "host": "srv", "port": 1500, "user": "sa", "driver": "pymssql"}
        ]
    }
    for file in home.rglob("*"):
        if file.is_file():
            assert SECRET.encode() not in file.read_bytes()
    assert main(["server", "remove", "office"]) == 0
    assert main(["server", "remove", "office"]) == 2
    assert "No SQL Server connection profile named 'office'" in capsys.readouterr().err


def test_cli_test_unreachable_server_is_plain_words(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MSDE_PASSWORD", SECRET)
    assert (
        main(["server", "add", "nowhere", "--host", "127.0.0.1", "--port", "9", "--user", "sa"])
        == 0
    )
    capsys.readouterr()
    assert main(["server", "test", "nowhere"]) == 1
    err = capsys.readouterr().err
    assert "Cannot connect to SQL Server at 127.0.0.1:9" in err
    assert "Traceback" not in err and SECRET not in err


def test_the_wizard_lists_the_engine_profiles_by_name(home: Path) -> None:
    from msde_tui.screens.context import load_profiles

    assert load_profiles(home) == []
    office = profiles.check_profile("office", "srv", 1433, "backup", "pymssql")
    branch = profiles.check_profile("Branch", "srv2", 14330, "sa", "pyodbc")
    profiles.add(office, home)
    profiles.add(branch, home)
    assert load_profiles(home) == [branch, office]  # the engine's records, sorted by name
    path = profiles.profiles_file(home)
    path.write_text(path.read_text() + 'password = "x"\n')  # refused by the engine
    assert load_profiles(home) == []  # the wizard then offers a typed connection
