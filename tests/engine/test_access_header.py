"""Access files recognised by their header, and a missing reader said plainly (no fixture and
no mdbtools needed: the files here are made of a Jet/ACE header alone)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine.backends.access import fileformat, reader
from msde_tui.engine.catalog import Catalog


def header(ident: bytes, version: int) -> bytes:
    page = bytearray(4096)
    page[:4] = fileformat.MAGIC
    page[4:20] = ident
    page[fileformat.VERSION_OFFSET] = version
    return bytes(page)


@pytest.mark.parametrize(("ident", "version", "expected"), [
    (fileformat.JET_ID, 0, "JET3"), (fileformat.JET_ID, 1, "JET4"), (fileformat.ACE_ID, 2, "ACE12"),
    (fileformat.ACE_ID, 3, "ACE14"), (fileformat.ACE_ID, 5, "ACE16"),
    (fileformat.JET_ID, 2, None), (b"Standard XYZ DB\x00", 0, None),
])
def test_format_from_the_header(ident: bytes, version: int, expected: str | None) -> None:
    assert fileformat.format_of_header(header(ident, version)) == expected


def test_short_and_foreign_files_are_not_access(tmp_path: Path) -> None:
    assert fileformat.format_of_header(b"\x00\x01\x00\x00Standard Jet") is None
    sqlite = tmp_path / "x.mdb"
    sqlite.write_bytes(b"SQLite format 3\x00" + bytes(200))
    assert fileformat.sniff(sqlite) is None
    assert fileformat.sniff(tmp_path / "missing.mdb") is None


def test_lock_file_names(tmp_path: Path) -> None:
    assert fileformat.lock_file(tmp_path / "a.mdb", "JET4").name == "a.ldb"
    assert fileformat.lock_file(tmp_path / "a.accdb", "ACE12").name == "a.laccdb"
    (tmp_path / "a.laccdb").touch()
    assert fileformat.lock_files(tmp_path / "a.mdb") == [tmp_path / "a.laccdb"]


def test_without_the_reader_add_works_and_backup_says_what_to_install(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    office = tmp_path / "office"
    office.mkdir()
    file = office / "compta.bin"
    file.write_bytes(header(fileformat.JET_ID, 1))
    monkeypatch.setattr(reader.shutil, "which", lambda _name: None)
    assert main(["--home", str(home), "add", "--short", "OLD", "--company", "Old", "--file", str(file)]) == 0
    assert "Access JET4 file, 4.0 KB" in capsys.readouterr().out
    assert Catalog(home).get("001").backend == "access"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert main(["--home", str(home), "--json", "backup", "001", "--dir", str(out_dir)]) == 1
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert "The Access reader is not installed" in result["message"]
    assert "apt install mdbtools" in result["hint"]
    assert list(out_dir.iterdir()) == []  # nothing half-made is left
