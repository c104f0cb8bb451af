"""PBF, PTF and export copies on SQL Server, through the TDS test double (real pymssql).

Covered: reading a SQL Server database's rows (same row digests as the SQLite original);
describing its tables (SQLAlchemy's mssql reflection over the double's sys.* and
INFORMATION_SCHEMA views, identity columns from sys.identity_columns); PBF from SQL Server
imported into embedded (every row equal to the original dossier's, odd tables included);
PTF from SQL Server applied on SQL Server, and across backends; export copy embedded -> SQL
Server and SQL Server -> SQL Server (every digest equal); importing a SQL Server export copy
(EPW...) under its base name; a failed import or copy leaves no database on the server.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from msde_tui.cli import app, main
from msde_tui.engine.accounting.demo import build_dossier, create_demo
from msde_tui.engine.backends.mssql import profiles
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import DossierExists, PackError
from msde_tui.engine.packs import export_copy, packapply, packimport, packwrite
from msde_tui.engine.tables.database import Database
from msde_tui.packfmt.reader import PackReader

T0 = datetime(2026, 1, 1, 12, 0, 0)


def _engine(server, database: str) -> sa.Engine:  # type: ignore[no-untyped-def]
    url = sa.URL.create("mssql+pymssql", username=server.user, password=server.password,
                        host=server.host, port=server.port, database=database)
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def _profile(home: Path, server, monkeypatch: pytest.MonkeyPatch) -> str:  # type: ignore[no-untyped-def]
    profiles.add(profiles.Profile(name="double", host=server.host, port=server.port, user=server.user), home)
    monkeypatch.setenv("MSDE_PASSWORD", server.password)
    return "double"


def _digests(db: Database) -> dict[str, object]:
    return {t.name: db.digest(t).as_json() for t in db.reflect().tables}


def _rest(state: dict[str, object]) -> dict[str, object]:
    """Every table but dossier_info: a copy under another number has its own identity there
    (docs/OPERATIONS.md "Dossier identity")."""
    return {name: value for name, value in state.items() if name != "dossier_info"}


def _server_digests(server, database: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with Database.open_engine(_engine(server, database), label=database) as db:
        return _digests(db)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of a SQLite file, with each value's storage class."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        out = {}
        for table in tables:
            cols = [_q(r[1]) for r in conn.execute(f"PRAGMA table_info({_q(table)})")]
            exprs = ", ".join(f"{c}, typeof({c})" for c in cols)
            out[table] = conn.execute(f"SELECT {exprs} FROM {_q(table)} ORDER BY 1").fetchall()
        return out
    finally:
        conn.close()


def _on_server(home: Path, server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Dossier, Dossier, str]:  # type: ignore[no-untyped-def]
    """An embedded demo dossier 001 and its PBF imported on the server as 005 (PW0005SOC)."""
    [dossier] = create_demo(home, dossiers=1, years=1, lines=200)
    profile = _profile(home, server, monkeypatch)
    pbf = packwrite.export_package(dossier, home, tmp_path, now=T0)
    return dossier, packimport.import_package(pbf.path, home, number="5", to_profile=profile), profile


def test_sql_server_rows_read_like_sqlite(tds_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "src.sqlite"
    build_dossier(source, code="001SOC", company="Démo", years=1, lines=200)
    with Database.open_sqlite(source) as lite:
        schema = lite.reflect()
        expected = {t.name: lite.digest(t).as_json() for t in schema.tables}
    tds_server.create_database("PW0001SOC", sqlite_file=source)
    with Database.open_engine(_engine(tds_server, "PW0001SOC"), label="PW0001SOC") as db:
        assert {t.name: db.digest(t).as_json() for t in schema.tables} == expected
        described = db.reflect()  # the same tables, seen through SQL Server's catalog
    assert described.digest() == schema.digest()
    assert [t.name for t in described.tables] == [t.name for t in schema.tables]


def test_export_copy_to_sql_server(tds_server, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    [dossier] = create_demo(home, dossiers=1, years=1, lines=200)
    profile = _profile(home, tds_server, monkeypatch)
    result = export_copy.export_copy(dossier, home, to=profile)
    assert result.target == "EPW0001SOC" and result.tables["entry_line"] > 0
    assert any("SET IDENTITY_INSERT" in b for b in tds_server.batches)
    with Database.open_sqlite(home / dossier.location) as lite:
        expected = _digests(lite)
    assert _server_digests(tds_server, "EPW0001SOC") == expected
    with pytest.raises(DossierExists, match="already exists"):
        export_copy.export_copy(dossier, home, to=profile)


def test_pbf_from_sql_server_imports_into_embedded_row_for_row(  # type: ignore[no-untyped-def]
    tds_server, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dossier, on_server, _ = _on_server(home, tds_server, monkeypatch, tmp_path)
    assert (on_server.backend, on_server.location) == ("mssql", "PW0005SOC")
    assert Catalog(home).get("005").origin == dossier.guid != on_server.guid  # a copy: its own identity
    result = packwrite.export_package(on_server, home, tmp_path, now=datetime(2026, 1, 2))
    assert result.kind == "PBF" and result.path.name == "005-SOC_20260102_000000.pbf"
    with PackReader(result.path) as reader:
        assert reader.content["source"]["dialect"] == "mssql"
        assert reader.content["dossier"]["guid"] == on_server.guid
        identity = {t.name: [c.name for c in t.columns if c.identity] for t in reader.schema.tables}
    assert identity["entry_line"] == ["id"]  # the IDENTITY(1,1) engine.tables created, read back
    imported = packimport.import_package(result.path, home, number="7")
    assert imported.location == "007SOC.sqlite" and imported.origin == on_server.guid != imported.guid
    assert _rest(_rows(home / imported.location)) == _rest(_rows(home / dossier.location))


def test_ptf_from_sql_server_applies_on_sql_server(  # type: ignore[no-untyped-def]
    tds_server, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, source, profile = _on_server(home, tds_server, monkeypatch, tmp_path)
    base = packwrite.export_package(source, home, tmp_path, now=datetime(2026, 1, 2))
    copy = packimport.import_package(base.path, home, number="6", to_profile=profile)
    assert copy.location == "PW0006SOC"
    with tds_server.connect(database="PW0005SOC") as conn:  # a day of work on the server
        cur = conn.cursor()
        cur.execute("UPDATE entry_line SET label = N'corrigé' WHERE id IN (1, 2, 3)")
        cur.execute(
            "INSERT INTO entry (fiscal_year_id, journal_id, number, entry_date, label, kind, origin) "
            "VALUES (1, 1, 99999, '2026-01-02', N'new entry', N'REAL', N'NORMAL')"
        )
        cur.execute(
            "INSERT INTO entry_line (entry_id, line_no, account_id, debit, credit) "
            "VALUES (SCOPE_IDENTITY(), 1, 1, 1250, 0), (SCOPE_IDENTITY(), 2, 2, 0, 1250)"
        )
        cur.execute("DELETE FROM attachment WHERE id = (SELECT MIN(id) FROM attachment)")
    partial = packwrite.export_package(source, home, tmp_path, partial=True, now=datetime(2026, 1, 3))
    assert partial.kind == "PTF" and partial.warning is None
    assert partial.tables["entry_line"]["rows"] == 5 and partial.tables["attachment"]["deleted"] == 1
    assert _server_digests(tds_server, "PW0006SOC") != _server_digests(tds_server, "PW0005SOC")
    applied = packapply.apply_package(partial.path, home, dossier_ref="006")
    assert (applied.upserted, applied.deleted) == (6, 1)
    assert _rest(_server_digests(tds_server, "PW0006SOC")) == _rest(_server_digests(tds_server, "PW0005SOC"))
    with tds_server.connect(database="PW0006SOC") as conn:  # the copy kept its own identity
        cur = conn.cursor()
        cur.execute("SELECT guid, code FROM dossier_info")
        assert tuple(cur.fetchone()) == (copy.guid, "006SOC") and copy.guid != source.guid
    with pytest.raises(PackError, match="not in the state this PTF follows"):
        packapply.apply_package(partial.path, home, dossier_ref="006")


def test_sql_server_export_copy_and_its_import_under_the_base_name(  # type: ignore[no-untyped-def]
    tds_server, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy = tmp_path / "legacy.sqlite"  # a dossier that reached the server as a plain database
    build_dossier(legacy, code="002ABC", company="Abc", years=1, lines=80)
    tds_server.create_database("LEGACY", sqlite_file=legacy)
    profile = _profile(home, tds_server, monkeypatch)
    source = Dossier(number="002", short="ABC", company="Abc", backend="mssql", location="LEGACY", profile=profile)
    expected = _server_digests(tds_server, "LEGACY")
    result = export_copy.export_copy(source, home, to=profile)
    assert (result.target, result.backend) == ("EPW0002ABC", "mssql")
    assert _server_digests(tds_server, "EPW0002ABC") == expected

    runner = CliRunner()
    out = runner.invoke(app, ["--json", "import", "EPW0002ABC", "--from", profile])
    assert out.exit_code == 0, out.output
    record = json.loads(out.stdout)["dossier"]
    assert (record["code"], record["backend"], record["location"]) == ("002ABC", "mssql", "PW0002ABC")
    assert _server_digests(tds_server, "PW0002ABC") == expected
    with pytest.raises(DossierExists, match="already taken"):
        export_copy.import_export_database("EPW0002ABC", home, profile=profile)
    embedded = export_copy.import_export_database("EPW0002ABC", home, profile=profile, number="9", to="embedded")
    assert (embedded.code, embedded.location, embedded.company) == ("009ABC", "009ABC.sqlite", "Abc")
    with Database.open_sqlite(home / embedded.location) as lite:
        assert _rest(_digests(lite)) == _rest(expected)
    assert main(["import", "PW0002ABC", "--from", profile, "--number", "10"]) == 2  # not an export copy


def test_odd_tables_round_trip_through_sql_server(  # type: ignore[no-untyped-def]
    tds_server, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Quotes and brackets in names, composite and missing keys, blobs, decimals, datetimes to
    the microsecond, booleans, big integers, unicode, NULLs: embedded -> SQL Server -> embedded."""
    from tests.engine.test_pack import make_odd, register

    source = home / "050ODD.sqlite"
    make_odd(source)
    conn = sqlite3.connect(source)
    conn.execute("ALTER TABLE money DROP COLUMN untyped")  # no sql_variant in the double
    conn.execute("ALTER TABLE money DROP COLUMN num")
    conn.execute('UPDATE "select" SET "from" = 3 WHERE "from" > 2147483647')  # an INTEGER on SQL Server
    conn.commit()
    conn.close()
    dossier = register(home, source)
    profile = _profile(home, tds_server, monkeypatch)
    pbf = packwrite.export_package(dossier, home, tmp_path, now=T0)
    on_server = packimport.import_package(pbf.path, home, number="51", to_profile=profile)
    back = packwrite.export_package(on_server, home, tmp_path, now=datetime(2026, 1, 2))
    imported = packimport.import_package(back.path, home, number="52")
    assert _rows(home / imported.location) == _rows(source)
    conn = sqlite3.connect(home / imported.location)
    assert conn.execute("SELECT ts FROM money WHERE id = 1").fetchone() == ("2024-02-29 23:59:59.999999",)
    conn.close()


def test_failed_import_or_copy_leaves_no_database(  # type: ignore[no-untyped-def]
    tds_server, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [dossier] = create_demo(home, dossiers=1, years=1, lines=50)
    profile = _profile(home, tds_server, monkeypatch)
    pbf = packwrite.export_package(dossier, home, tmp_path, now=T0)

    def differs(*args: object) -> None:
        raise PackError("After the import, the rows of entry differ from the packed file.")

    monkeypatch.setattr(packimport, "_verify_loaded", differs)
    with pytest.raises(PackError, match="differ"):
        packimport.import_package(pbf.path, home, number="5", to_profile=profile)
    monkeypatch.setattr(export_copy, "copy_tables", differs)
    with pytest.raises(PackError, match="differ"):
        export_copy.export_copy(dossier, home, to=profile)
    with tds_server.connect() as conn:
        cur = conn.cursor()
        cur.execute("SELECT name FROM sys.databases WHERE database_id > 4")
        assert cur.fetchall() == []
    assert [d.code for d in Catalog(home).dossiers()] == ["001SOC"]


def test_ptf_across_backends(  # type: ignore[no-untyped-def]
    tds_server, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Embedded PTF -> a SQL Server copy that has no IDENTITY (its tables came from a SQLite
    file: SET IDENTITY_INSERT would be refused, 8106); SQL Server PTF -> an embedded copy."""
    [dossier] = create_demo(home, dossiers=1, years=1, lines=100)
    profile = _profile(home, tds_server, monkeypatch)
    packwrite.export_package(dossier, home, tmp_path, now=T0)  # the state the copies start from
    tds_server.create_database("PW0003SOC", sqlite_file=home / dossier.location)
    plain = Catalog(home).add(Dossier(number="003", short="SOC", company="Copy", backend="mssql",
                                      location="PW0003SOC", profile=profile, guid=dossier.guid))
    conn = sqlite3.connect(home / dossier.location)
    conn.execute("UPDATE entry_line SET label = 'edited' WHERE id < 4")
    conn.execute("INSERT INTO entry_line (entry_id, line_no, account_id, debit, credit) "
                 "SELECT entry_id, 99, account_id, 1, 0 FROM entry_line WHERE id = 1")
    conn.commit()
    conn.close()
    ptf = packwrite.export_package(dossier, home, tmp_path, partial=True, now=datetime(2026, 1, 2))
    assert ptf.kind == "PTF"
    applied = packapply.apply_package(ptf.path, home, dossier_ref=plain.number)
    assert applied.upserted == 4
    assert not any("IDENTITY_INSERT" in b for b in tds_server.batches)
    with Database.open_sqlite(home / dossier.location) as lite:
        assert _server_digests(tds_server, "PW0003SOC") == _digests(lite)

    base = packwrite.export_package(plain, home, tmp_path, now=datetime(2026, 1, 3))
    embedded = packimport.import_package(base.path, home, number="8")
    with tds_server.connect(database="PW0003SOC") as server:
        server.cursor().execute("DELETE FROM entry_line WHERE line_no = 99")
    back = packwrite.export_package(plain, home, tmp_path, partial=True, now=datetime(2026, 1, 4))
    assert back.kind == "PTF" and back.tables["entry_line"]["deleted"] == 1
    packapply.apply_package(back.path, home, dossier_ref=embedded.number)
    with Database.open_sqlite(home / embedded.location) as lite:
        assert _rest(_digests(lite)) == _rest(_server_digests(tds_server, "PW0003SOC"))
