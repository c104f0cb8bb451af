"""Converting Access dossiers into embedded dossiers and SQL Server databases (TDS double).

The rows of every table are compared with what mdbtools' ``mdb-json`` prints for the Access
file, parsed here independently of the engine: currency to the cent of a cent, dates to the
second, yes/no as booleans, memo and unicode text (``Umsätze``, ``Bolívar``), OLE pictures
byte for byte. The result is listed as a new dossier; the Access file is never changed; a date
the reader cannot give exactly stops the conversion with nothing left behind.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import struct
import subprocess
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from msde_tui.cli import main
from msde_tui.engine.backends.access import reader
from msde_tui.engine.backends.access.plans import ConvertPlan
from msde_tui.engine.backends.mssql import profiles
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.events import DossierResult
from msde_tui.engine.runs import runner as operations
from tests.access_fixtures import FIXTURES, copy_fixture, needs_access

pytestmark = needs_access
FMT = "%Y-%m-%dT%H:%M:%S"
CENT = Decimal("0.0001")


def _value(value: Any, access_type: str) -> Any:  # noqa: PLR0911
    """One value, from Access' JSON or from the converted database, in one comparable form."""
    if value is None:
        return None
    if access_type == "Boolean":
        return bool(int(value))
    if access_type in ("Byte", "Integer", "Long Integer"):
        return int(value)
    if access_type == "Currency":
        return Decimal(str(value)).quantize(CENT)
    if access_type == "Single":
        return struct.unpack("<f", struct.pack("<f", float(value)))[0]
    if access_type == "DateTime":
        if isinstance(value, datetime):
            return value
        text = str(value)
        return datetime.strptime(text, FMT) if "T" in text else datetime.fromisoformat(text)
    if access_type == "OLE":
        if isinstance(value, dict):
            return base64.b64decode(value["$binary"])
        return bytes(value)
    return str(value)


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=repr)


def access_rows(path: Path, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cols = reader.columns(path, table)
    out = subprocess.run(["mdb-json", "-D", FMT, "-T", FMT, str(path), table],
                         capture_output=True, check=True).stdout.decode("utf-8")
    rows = []
    for line in out.splitlines():
        raw = json.loads(line, parse_float=Decimal)
        rows.append(tuple(_value(raw.get(c.name), c.type) for c in cols))
    return [c.name for c in cols], _sorted(rows)


def target_rows(cursor: Any, quote: str, path: Path, table: str) -> list[tuple[Any, ...]]:
    cols = reader.columns(path, table)
    left, right = quote
    names = ", ".join(f"{left}{c.name}{right}" for c in cols)
    cursor.execute(f"SELECT {names} FROM {left}{table}{right}")
    return _sorted([tuple(_value(v, c.type) for v, c in zip(row, cols, strict=True))
                    for row in cursor.fetchall()])


def _convert(home: Path, plan: ConvertPlan) -> DossierResult:
    events = operations.collect(operations.run_convert(plan, home=home))
    (result,) = [e for e in events if isinstance(e, DossierResult)]
    return result


def _access(home: Path, file: Path, short: str) -> Dossier:
    return Catalog(home).add(Dossier(number="001", short=short, company="Office",
                                     backend="access", location=str(file)))


@pytest.mark.parametrize("name", ["nwind.mdb", "sample.accdb"])
def test_convert_to_embedded_carries_every_row_and_type(name: str, home: Path, tmp_path: Path) -> None:
    file = copy_fixture(name, tmp_path / "office")
    before = file.read_bytes()
    result = _convert(home, ConvertPlan(_access(home, file, "OFF")))
    assert result.ok and result.verified, result.message
    assert result.details["tables"] == FIXTURES[name][1]
    listed = Catalog(home).get("002")
    assert (listed.code, listed.backend, listed.status) == ("002OFF", "embedded", "converted")
    conn = sqlite3.connect(home / listed.location)
    try:
        for table in FIXTURES[name][1]:
            _names, expected = access_rows(file, table)
            assert target_rows(conn.cursor(), '""', file, table) == expected, table
    finally:
        conn.close()
    assert file.read_bytes() == before


def test_convert_keeps_the_values_an_office_cares_about(home: Path, tmp_path: Path) -> None:
    file = copy_fixture("nwind.mdb", tmp_path / "office")
    assert _convert(home, ConvertPlan(_access(home, file, "NW"), number="010", short="NWIND")).ok
    conn = sqlite3.connect(home / "010NWIND.sqlite")
    try:
        first = conn.execute('SELECT "ShipAddress", "Freight", "OrderDate" FROM "Umsätze" '
                             'WHERE "OrderID" = 10330').fetchone()
        assert first[0] == "Carrera 52 con Ave. Bolívar #65-98 Llano Largo"
        assert Decimal(str(first[1])).quantize(CENT) == Decimal("12.7500")
        assert first[2].startswith("1994-11-16 00:00:00")
        discontinued = conn.execute('SELECT COUNT(*) FROM "Products" WHERE "Discontinued" = 1').fetchone()[0]
        assert discontinued == 8  # Northwind's eight discontinued products
    finally:
        conn.close()


def test_a_date_the_reader_cannot_give_exactly_stops_the_conversion(home: Path, tmp_path: Path) -> None:
    file = copy_fixture("date.mdb", tmp_path / "office")
    result = _convert(home, ConvertPlan(_access(home, file, "DT")))
    assert not result.ok
    assert "Table DateTest, column DateTimeCol, row 2" in result.message and "1899-12-30" in result.message
    assert Catalog(home).find("002") is None
    assert sorted(p.name for p in home.iterdir() if "sqlite" in p.name or p.name.startswith(".")) == []


@pytest.mark.parametrize("name", ["nwind.mdb", "sample.accdb"])
def test_convert_to_sql_server_carries_every_row_and_type(  # type: ignore[no-untyped-def]
    name: str, tds_server, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles.add(profiles.Profile(name="office", host=tds_server.host, port=tds_server.port,
                                  user=tds_server.user), home)
    monkeypatch.setenv("MSDE_PASSWORD", tds_server.password)
    file = copy_fixture(name, tmp_path / "office")
    result = _convert(home, ConvertPlan(_access(home, file, "OFF"), to="office", number="007"))
    assert result.ok and result.verified, result.message
    listed = Catalog(home).get("007")
    assert (listed.backend, listed.location, listed.profile) == ("mssql", "PW0007OFF", "office")
    with tds_server.connect(database="PW0007OFF") as conn:
        for table in FIXTURES[name][1]:
            _names, expected = access_rows(file, table)
            assert target_rows(conn.cursor(), "[]", file, table) == expected, table


def test_cli_convert_lists_the_new_dossier(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = copy_fixture("sample.accdb", tmp_path / "office")
    assert main(["--home", str(home), "add", "--short", "ASSET", "--company", "Assets", "--file", str(file)]) == 0
    assert main(["--home", str(home), "convert", "001", "--to", "embedded"]) == 0
    out = capsys.readouterr().out
    assert "002ASSET" in out and "65 rows" in out and "only read" in out
    assert main(["--home", str(home), "convert", "002"]) == 2
    assert "not an Access dossier" in capsys.readouterr().err


def test_cli_convert_to_sql_server_keeps_the_password_out_of_the_log(  # type: ignore[no-untyped-def]
    tds_server, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    profiles.add(profiles.Profile(name="office", host=tds_server.host, port=tds_server.port,
                                  user=tds_server.user), home)
    monkeypatch.setenv("MSDE_PASSWORD", tds_server.password)
    file = copy_fixture("sample.accdb", tmp_path / "office")
    assert main(["--home", str(home), "add", "--short", "ASSET", "--company", "Assets", "--file", str(file)]) == 0
    assert main(["--home", str(home), "convert", "001", "--to", "office", "--number", "020"]) == 0
    assert "020ASSET (office:PW0020ASSET)" in capsys.readouterr().out
    assert Catalog(home).get("020").location == "PW0020ASSET"
    logged = "".join(p.read_text(encoding="utf-8") for p in home.rglob("*") if p.is_file() and p.suffix in (".jsonl", ".log", ".json"))
    assert '"convert"' in logged and tds_server.password not in logged
