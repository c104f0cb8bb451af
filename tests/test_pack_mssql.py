"""SQL Server paths through the TDS test double (real pymssql on the wire).

Covered: reading a SQL Server database's rows (types through TDS -> same row digests as the
SQLite original), creating tables + IDENTITY_INSERT loads (export copy embedded -> SQL Server,
PBF import into SQL Server) with every row checked after. Not covered by the double:
SQLAlchemy's reflection of a SQL Server catalog (INFORMATION_SCHEMA joins), so packing a
SQL Server dossier is only shown to fail cleanly here.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from msde_tui.engine import export_copy, pack
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.demo import build_dossier, create_demo
from msde_tui.engine.errors import PackError
from msde_tui.engine.mssql import profiles
from msde_tui.engine.tableio import Database


def _engine(server, database: str) -> sa.Engine:  # type: ignore[no-untyped-def]
    url = sa.URL.create("mssql+pymssql", username=server.user, password=server.password,
                        host=server.host, port=server.port, database=database)
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def _profile(home: Path, server, monkeypatch: pytest.MonkeyPatch) -> str:  # type: ignore[no-untyped-def]
    profiles.add(profiles.Profile(name="double", host=server.host, port=server.port, user=server.user), home)
    monkeypatch.setenv("MSDE_PASSWORD", server.password)
    return "double"


def test_sql_server_rows_read_like_sqlite(tds_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "src.sqlite"
    build_dossier(source, code="001SOC", company="Démo", years=1, lines=200)
    with Database.open_sqlite(source) as lite:
        schema = lite.reflect()
        expected = {t.name: lite.digest(t).as_json() for t in schema.tables}
    tds_server.create_database("PW0001SOC", sqlite_file=source)
    with Database.open_engine(_engine(tds_server, "PW0001SOC"), label="PW0001SOC") as db:
        assert {t.name: db.digest(t).as_json() for t in schema.tables} == expected


def test_export_copy_to_sql_server(tds_server, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    [dossier] = create_demo(home, dossiers=1, years=1, lines=200)
    profile = _profile(home, tds_server, monkeypatch)
    result = export_copy.export_copy(dossier, home, to=profile)
    assert result.target == "EPW0001SOC" and result.tables["entry_line"] > 0
    assert any("SET IDENTITY_INSERT" in b for b in tds_server.batches)
    with Database.open_sqlite(home / dossier.location) as lite:
        schema = lite.reflect()
        expected = {t.name: lite.digest(t).as_json() for t in schema.tables}
    with Database.open_engine(_engine(tds_server, "EPW0001SOC"), label="EPW0001SOC") as db:
        assert {t.name: db.digest(t).as_json() for t in schema.tables} == expected
    with pytest.raises(Exception, match="already exists"):
        export_copy.export_copy(dossier, home, to=profile)


def test_pbf_import_into_sql_server(tds_server, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    [dossier] = create_demo(home, dossiers=1, years=1, lines=200)
    profile = _profile(home, tds_server, monkeypatch)
    pbf = pack.export_package(dossier, home, tmp_path, now=datetime(2026, 1, 1))
    record = pack.import_package(pbf.path, home, number="5", to_profile=profile)
    assert (record.backend, record.location, record.profile) == ("mssql", "PW0005SOC", profile)
    assert Catalog(home).get("005").guid == dossier.guid


def test_packing_a_sql_server_dossier_fails_cleanly_on_the_double(tds_server, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "src.sqlite"
    build_dossier(source, code="002ABC", company="Abc", years=1, lines=50)
    tds_server.create_database("PW0002ABC", sqlite_file=source)
    profile = _profile(home, tds_server, monkeypatch)
    record = Catalog(home).add(Dossier(number="002", short="ABC", company="Abc", backend="mssql",
                                       location="PW0002ABC", profile=profile))
    with pytest.raises(PackError, match="cannot be described"):
        pack.export_package(record, home, tmp_path)
    assert not list(tmp_path.glob("*.pbf*"))
