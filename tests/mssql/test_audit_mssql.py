"""Tax-audit transfer to SQL Server (database AdminPW0001SOC), through the TDS double.

Covered: ``msde audit 001 --to PROFILE --simplified --fec`` makes AdminPW0001SOC holding
only the asked years and REAL entries, every table equal (row digests) to the embedded
audit copy of the same years; FEC files in --dir; an existing database is refused before
any work; a failed copy drops the half-made database and leaves no FEC file; a SQL Server
dossier is audited through a temporary embedded copy; imports refuse tax-audit copies.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from msde_tui.cli import main
from msde_tui.engine import naming
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.backends.mssql import profiles
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BadInput, PackError
from msde_tui.engine.lifecycle import tax_audit as audit
from msde_tui.engine.packs import export_copy, packimport, packwrite
from msde_tui.engine.tables.database import Database

YEARS = ["2024", "2025"]


def _profile(home: Path, server, monkeypatch: pytest.MonkeyPatch) -> str:  # type: ignore[no-untyped-def]
    profiles.add(profiles.Profile(name="double", host=server.host, port=server.port, user=server.user), home)
    monkeypatch.setenv("MSDE_PASSWORD", server.password)
    return "double"


def _engine(server, database: str) -> sa.Engine:  # type: ignore[no-untyped-def]
    url = sa.URL.create("mssql+pymssql", username=server.user, password=server.password,
                        host=server.host, port=server.port, database=database)
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def _digests(db: Database) -> dict[str, object]:
    """Row digests of every table but dossier_info (each copy gets its own GUID and date)."""
    return {t.name: db.digest(t).as_json() for t in db.reflect().tables if t.name != "dossier_info"}


def _databases(server) -> list[str]:  # type: ignore[no-untyped-def]
    with server.connect() as conn:
        cur = conn.cursor()
        cur.execute("SELECT name FROM sys.databases WHERE database_id > 4")
        return sorted(r[0] for r in cur.fetchall())


def _embedded_audit(source: Path, tmp_path: Path) -> Path:
    out = tmp_path / "embedded-audit"
    out.mkdir()
    return audit.audit_dossier(source, YEARS, out, simplified=True).path


@pytest.fixture
def dossier(home: Path) -> Dossier:
    [record] = create_demo(home, dossiers=1, years=3, lines=300)
    return record


def test_cli_audit_to_sql_server(  # type: ignore[no-untyped-def]
    tds_server, home: Path, tmp_path: Path, dossier: Dossier, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile = _profile(home, tds_server, monkeypatch)
    out = tmp_path / "fec"
    out.mkdir()
    args = ["--json", "audit", "001", "--years", ",".join(YEARS), "--to", profile, "--simplified", "--fec",
            "--fec-id", "BE0403170701", "--dir", str(out)]
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert (payload["copy"], payload["backend"], payload["profile"]) == ("AdminPW0001SOC", "mssql", profile)
    assert _databases(tds_server) == ["AdminPW0001SOC"]
    fec_files = sorted(out.glob("*FEC????????.txt"))
    assert [str(p) for p in fec_files] == [f["file"] for f in payload["fec"]]
    assert sorted(out.glob("*_DESCRIPTION.txt")) == [Path(f["description"]) for f in payload["fec"]]
    assert [p.name[-15:] for p in fec_files] == [f"FEC{y}1231.txt" for y in YEARS]
    assert all(f["debit_total"] == f["credit_total"] > 0 for f in payload["fec"])
    assert not list(out.glob("*.sqlite"))  # the embedded build stayed in a temporary directory
    engine = _engine(tds_server, "AdminPW0001SOC")
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(sa.text("SELECT code FROM fiscal_year ORDER BY id"))] == YEARS
        assert conn.execute(sa.text("SELECT DISTINCT kind FROM entry")).all() == [("REAL",)]
        assert naming.is_audit_copy(conn.execute(sa.text("SELECT code FROM dossier_info")).scalar())
    with Database.open_engine(engine, label="AdminPW0001SOC") as db:
        on_server = _digests(db)
    with Database.open_sqlite(_embedded_audit(home / dossier.location, tmp_path)) as lite:
        assert on_server == _digests(lite)  # same tables, same rows, as the embedded audit copy
    assert payload["rows"]["fiscal_year"] == 2 and payload["rows"]["entry_line"] > 0

    assert main(["audit", "001", "--years", "2024", "--to", profile]) == 2  # exists: refused, no work
    err = capsys.readouterr().err
    assert "AdminPW0001SOC already exists" in err and "Traceback" not in err
    with Database.open_engine(_engine(tds_server, "AdminPW0001SOC"), label="again") as db:
        assert _digests(db) == on_server  # left as it was


def test_failed_copy_drops_the_database_and_the_fec_files(  # type: ignore[no-untyped-def]
    tds_server, home: Path, tmp_path: Path, dossier: Dossier, monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = _profile(home, tds_server, monkeypatch)
    out = tmp_path / "fec"
    out.mkdir()

    def differs(*args: object) -> None:
        raise PackError("The copy of entry differs from the dossier.")

    monkeypatch.setattr(export_copy, "copy_tables", differs)
    with pytest.raises(PackError, match="differs"):
        audit.audit_to_server(home / dossier.location, YEARS, home=home, profile=profile,
                              database="AdminPW0001SOC", fec_directory=out, with_fec=True,
                              fec_id="BE0403170701")
    assert _databases(tds_server) == []
    assert list(out.iterdir()) == []


def test_sql_server_dossier_is_audited(  # type: ignore[no-untyped-def]
    tds_server, home: Path, tmp_path: Path, dossier: Dossier, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile = _profile(home, tds_server, monkeypatch)
    pbf = packwrite.export_package(dossier, home, tmp_path)
    on_server = packimport.import_package(pbf.path, home, number="5", to_profile=profile)
    assert on_server.location == "PW0005SOC"
    out = tmp_path / "out"
    out.mkdir()
    assert main(["audit", "005", "--years", ",".join(YEARS), "--simplified", "--dir", str(out)]) == 0
    expected = _embedded_audit(home / dossier.location, tmp_path)
    with Database.open_sqlite(out / "AdminPW0005SOC.sqlite") as got, Database.open_sqlite(expected) as want:
        assert _digests(got) == _digests(want)
    assert main(["audit", "005", "--years", ",".join(YEARS), "--simplified", "--to", profile]) == 0
    assert "AdminPW0005SOC" in _databases(tds_server)
    with Database.open_engine(_engine(tds_server, "AdminPW0005SOC"), label="x") as db, \
            Database.open_sqlite(expected) as want:
        assert _digests(db) == _digests(want)
    capsys.readouterr()


def test_imports_refuse_tax_audit_copies(  # type: ignore[no-untyped-def]
    tds_server, home: Path, tmp_path: Path, dossier: Dossier, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile = _profile(home, tds_server, monkeypatch)
    copy = _embedded_audit(home / dossier.location, tmp_path)
    assert main(["import", str(copy), "--number", "7"]) == 2
    assert "tax-audit copy" in capsys.readouterr().err
    renamed = tmp_path / "E001SOC.sqlite"  # renamed like an export copy: its code still says Admin
    shutil.copy(copy, renamed)
    with pytest.raises(BadInput, match="tax-audit copy"):
        export_copy.import_export_copy(renamed, home, number="7")
    audit.audit_to_server(home / dossier.location, YEARS, home=home, profile=profile, database="AdminPW0001SOC")
    assert main(["import", "AdminPW0001SOC", "--from", profile, "--number", "8"]) == 2
    assert "tax-audit copy" in capsys.readouterr().err
    tds_server.create_database("EPW0009SOC", sqlite_file=copy)  # renamed like an export copy on a server
    with pytest.raises(BadInput, match="tax-audit copy"):
        export_copy.import_export_database("EPW0009SOC", home, profile=profile, number="9")
    assert not (home / "007SOC.sqlite").exists()
    assert _databases(tds_server) == ["AdminPW0001SOC", "EPW0009SOC"]
    conn = sqlite3.connect(copy)
    assert conn.execute("SELECT count(*) FROM fiscal_year").fetchone() == (2,)
    conn.close()
