"""PBF/PTF on real SQLite: demo dossiers and odd hand-made databases, row for row."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import DossierChanged, DossierExists, MsdeError, PackError, WrongDossier
from msde_tui.engine.packs import packapply, packimport, packinfo, packwrite
from tests.dossier_files import masked

T0 = datetime(2026, 1, 1, 12, 0, 0)


def dump(path: Path) -> list[str]:
    """Every schema object and row (with its SQLite storage class) as SQL text."""
    conn = sqlite3.connect(path)
    try:
        lines = sorted(conn.iterdump())
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for table in tables:
            cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{table.replace(chr(34), chr(34) * 2)}")')]
            types = ", ".join(f'typeof("{c.replace(chr(34), chr(34) * 2)}")' for c in cols)
            q = table.replace('"', '""')
            lines += [repr(r) for r in conn.execute(f'SELECT {types} FROM "{q}" ORDER BY rowid')]
        return lines
    finally:
        conn.close()


ODD_SQL = [
    'CREATE TABLE "select" ("from" INTEGER PRIMARY KEY, "where" TEXT)',
    'CREATE TABLE "we""ird ]name" (id INTEGER PRIMARY KEY AUTOINCREMENT, "col ""q""" VARCHAR(20), ünï TEXT)',
    "CREATE TABLE nokey (a TEXT, b INTEGER, c REAL)",
    "CREATE TABLE composite (k1 TEXT NOT NULL, k2 INTEGER NOT NULL, v BLOB, PRIMARY KEY (k1, k2))",
    "CREATE TABLE money (id INTEGER PRIMARY KEY, amount DECIMAL(12,2), as_text TEXT, num NUMERIC, d DATE,"
    " ts DATETIME, flag BOOLEAN, untyped, big BIGINT, r REAL)",
    "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_k1 TEXT NOT NULL, parent_k2 INTEGER NOT NULL,"
    " FOREIGN KEY (parent_k1, parent_k2) REFERENCES composite (k1, k2) ON DELETE CASCADE)",
    "CREATE INDEX ix_money_d ON money (d)",
    "CREATE VIEW v_money AS SELECT id, amount FROM money",
    "CREATE TRIGGER tr_nokey AFTER INSERT ON nokey BEGIN UPDATE nokey SET c = c; END",
]


def make_odd(path: Path) -> None:
    conn = sqlite3.connect(path)
    for sql in ODD_SQL:
        conn.execute(sql)
    conn.execute('INSERT INTO "select" VALUES (1, NULL), (2, \'it''s\'), (9007199254740993, \'big\')')
    conn.executemany('INSERT INTO "we""ird ]name" ("col ""q""", ünï) VALUES (?, ?)',
                     [("a\"b", "日本語"), (None, "emoji 😀"), ("", "")])
    conn.execute('DELETE FROM "we""ird ]name" WHERE id = 3')  # AUTOINCREMENT counter stays at 3
    conn.executemany("INSERT INTO nokey VALUES (?, ?, ?)", [("x", 1, 1.5), ("x", 1, 1.5), (None, None, None)])
    conn.executemany("INSERT INTO composite VALUES (?, ?, ?)",
                     [("a", 1, b"\x00\xff\x00"), ("a", 2, None), ("b", 1, bytes(range(256)))])
    conn.executemany(
        "INSERT INTO money VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (1, "12.50", "0.10", 3, "2024-02-29", "2024-02-29 23:59:59.999999", 1, 42, 2**62, -0.0),
            (2, 7, "-1E+2", 2.5, None, "2000-01-01 00:00:00.000000", 0, "text", None, 1e300),
            (3, -0.01, None, "abc", "1999-12-31", None, None, b"\x01blob", -(2**63), 0.1),
            (4, None, "9" * 30, None, None, None, None, 1.25, None, None),
        ],
    )
    conn.executemany("INSERT INTO child (parent_k1, parent_k2) VALUES (?, ?)", [("a", 1), ("b", 1)])
    conn.commit()
    conn.close()


def register(home: Path, path: Path, number: str = "050", short: str = "ODD") -> Dossier:
    return Catalog(home).add(Dossier(number=number, short=short, company="Odd & Co", location=path.name))


@pytest.fixture
def demo(home: Path) -> Dossier:
    [dossier] = create_demo(home, dossiers=1, years=2, lines=1500)
    return dossier


def test_pbf_round_trip_demo(home: Path, demo: Dossier, tmp_path: Path) -> None:
    result = packwrite.export_package(demo, home, tmp_path, now=T0)
    assert result.kind == "PBF" and result.path.name == "001-SOC_20260101_120000.pbf"
    imported = packimport.import_package(result.path, home, number="9")
    # a copy under another number: its own identity, the original as its origin
    assert imported.code == "009SOC" and imported.guid != demo.guid and imported.origin == demo.guid
    assert Catalog(home).get("009").location == "009SOC.sqlite"
    assert dump(masked(home / "009SOC.sqlite")) == dump(masked(home / demo.location))
    again = packimport.import_package(result.path, home)  # first free number
    assert again.number == "002"


def test_taken_number_refused(home: Path, demo: Dossier, tmp_path: Path) -> None:
    result = packwrite.export_package(demo, home, tmp_path, now=T0)
    with pytest.raises(DossierExists, match="already taken"):
        packimport.import_package(result.path, home, number="1")
    assert sorted(p.name for p in home.glob("*.sqlite")) == ["001SOC.sqlite"]


def test_odd_tables_round_trip_exactly(home: Path, tmp_path: Path) -> None:
    source = home / "050ODD.sqlite"
    make_odd(source)
    dossier = register(home, source)
    result = packwrite.export_package(dossier, home, tmp_path, now=T0)
    info = packinfo.package_info(result.path)
    assert info["tables"]["nokey"]["rows"] == 3
    imported = packimport.import_package(result.path, home, number="51")
    assert dump(home / imported.location) == dump(source)


def test_encrypted_pbf_round_trip(home: Path, demo: Dossier, tmp_path: Path) -> None:
    result = packwrite.export_package(demo, home, tmp_path, passphrase="s3cret", now=T0)
    with pytest.raises(PackError, match="Wrong passphrase"):
        packimport.import_package(result.path, home, passphrase="nope")
    imported = packimport.import_package(result.path, home, number="7", passphrase="s3cret")
    assert dump(masked(home / imported.location)) == dump(masked(home / demo.location))


def test_corrupt_pbf_imports_nothing(home: Path, demo: Dossier, tmp_path: Path) -> None:
    result = packwrite.export_package(demo, home, tmp_path, now=T0)
    raw = bytearray(result.path.read_bytes())
    raw[len(raw) // 2] ^= 0x55
    result.path.write_bytes(bytes(raw))
    with pytest.raises(PackError, match="damaged"):
        packimport.import_package(result.path, home, number="9")
    assert Catalog(home).numbers() == {"001"}
    assert not list(home.glob("009*")) and not list(home.glob(".009*"))


def _edit(path: Path, *sql: str) -> None:
    conn = sqlite3.connect(path)
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.close()


def test_ptf_chain_brings_a_copy_up_to_date(home: Path, demo: Dossier, tmp_path: Path) -> None:
    first = packwrite.export_package(demo, home, tmp_path, partial=True, now=T0)
    assert first.kind == "PBF" and first.warning and "full PBF" in first.warning
    copy = packimport.import_package(first.path, home, number="9")
    src = home / demo.location
    _edit(src, "UPDATE entry_line SET label = 'corrigé' WHERE id IN (3, 4)",
          "DELETE FROM attachment WHERE id = (SELECT MAX(id) FROM attachment)",
          "INSERT INTO third_party (code, kind, name, country) VALUES ('NEW1', 'CUSTOMER', 'Nouveau', 'BE')")
    ptf1 = packwrite.export_package(demo, home, tmp_path, partial=True, now=datetime(2026, 1, 2))
    assert ptf1.kind == "PTF" and ptf1.warning is None
    assert ptf1.tables["entry_line"]["rows"] == 2 and ptf1.tables["attachment"]["deleted"] == 1
    assert ptf1.tables["third_party"]["rows"] == 1 and ptf1.tables["entry"]["rows"] == 0
    _edit(src, "UPDATE dossier_info SET company = 'Renamed SA'")
    ptf2 = packwrite.export_package(demo, home, tmp_path, partial=True, now=datetime(2026, 1, 3))
    # out of order: the copy is not in ptf2's base state
    with pytest.raises(PackError, match="not in the state this PTF follows"):
        packapply.apply_package(ptf2.path, home, dossier_ref="9")
    before = dump(home / copy.location)
    assert before != dump(src)
    packapply.apply_package(ptf1.path, home)  # found by GUID
    result = packapply.apply_package(ptf2.path, home, dossier_ref="009")
    assert result.upserted == 1
    assert dump(masked(home / copy.location)) == dump(masked(src))  # the copy keeps its own identity
    assert Catalog(home).get("009").guid == copy.guid and copy.guid != demo.guid
    with pytest.raises(PackError, match="not in the state"):
        packapply.apply_package(ptf2.path, home, dossier_ref="009")


def test_ptf_on_odd_tables_with_replace_and_composite_keys(home: Path, tmp_path: Path) -> None:
    source = home / "050ODD.sqlite"
    make_odd(source)
    dossier = register(home, source)
    base = packwrite.export_package(dossier, home, tmp_path, now=T0)
    copy = packimport.import_package(base.path, home, number="51")
    _edit(source, "INSERT INTO nokey VALUES ('new', 2, NULL)",
          "UPDATE composite SET v = X'0102' WHERE k1 = 'a' AND k2 = 2",
          "DELETE FROM child WHERE parent_k1 = 'b'",
          "DELETE FROM composite WHERE k1 = 'b'",
          "UPDATE money SET untyped = 3.5, amount = '99.99' WHERE id = 2")
    ptf = packwrite.export_package(dossier, home, tmp_path, partial=True, now=datetime(2026, 1, 2))
    assert ptf.tables["nokey"]["rows"] == 4  # replaced whole
    assert ptf.tables["composite"]["deleted"] == 1 and ptf.tables["composite"]["rows"] == 1
    packapply.apply_package(ptf.path, home, dossier_ref="51")
    assert dump(home / copy.location) == dump(source)


def test_ptf_on_keys_matched_by_their_encoding(home: Path, tmp_path: Path) -> None:
    """Real and boolean key columns are matched through their canonical encoding, not '='."""
    source = home / "060KEY.sqlite"
    conn = sqlite3.connect(source)
    conn.execute("CREATE TABLE rk (r REAL PRIMARY KEY, v TEXT)")
    conn.execute("CREATE TABLE bk (f BOOLEAN NOT NULL, n INTEGER NOT NULL, v TEXT, PRIMARY KEY (f, n))")
    conn.executemany("INSERT INTO rk VALUES (?, ?)", [(0.5, "a"), (-0.0, "zero"), (1e300, "big")])
    conn.executemany("INSERT INTO bk VALUES (?, ?, ?)", [(0, 1, "x"), (1, 1, "y")])
    conn.commit()
    conn.close()
    dossier = register(home, source, number="060", short="KEY")
    base = packwrite.export_package(dossier, home, tmp_path, now=T0)
    copy = packimport.import_package(base.path, home, number="61")
    _edit(source, "UPDATE rk SET v = 'changed' WHERE r = 0.5", "DELETE FROM rk WHERE r = 1e300",
          "INSERT INTO rk VALUES (2.25, 'new')", "UPDATE bk SET v = 'yy' WHERE f = 1 AND n = 1")
    ptf = packwrite.export_package(dossier, home, tmp_path, partial=True, now=datetime(2026, 1, 2))
    assert ptf.kind == "PTF"
    assert (ptf.tables["rk"]["rows"], ptf.tables["rk"]["deleted"]) == (2, 1)
    assert (ptf.tables["bk"]["rows"], ptf.tables["bk"]["deleted"]) == (1, 0)
    packapply.apply_package(ptf.path, home, dossier_ref="61")
    assert dump(home / copy.location) == dump(source)


def test_ptf_refused_on_another_dossier(home: Path, tmp_path: Path) -> None:
    dossiers = create_demo(home, dossiers=2, years=1, lines=200)
    packwrite.export_package(dossiers[0], home, tmp_path, now=T0)
    _edit(home / dossiers[0].location, "UPDATE entry SET label = 'x' WHERE id = 1")
    ptf = packwrite.export_package(dossiers[0], home, tmp_path, partial=True, now=datetime(2026, 1, 2))
    with pytest.raises(WrongDossier):
        packapply.apply_package(ptf.path, home, dossier_ref=dossiers[1].number)


def test_ptf_size_grows_with_changes_not_with_the_dossier(home: Path, tmp_path: Path) -> None:
    [big] = create_demo(home, dossiers=1, years=2, lines=50_000)
    full = packwrite.export_package(big, home, tmp_path, now=T0)
    _edit(home / big.location, "UPDATE entry_line SET label = 'one change' WHERE id = 777")
    ptf = packwrite.export_package(big, home, tmp_path, partial=True, now=datetime(2026, 1, 2))
    assert ptf.tables["entry_line"]["rows"] == 1
    assert ptf.size < 40_000 < full.size / 10


def test_schema_change_falls_back_to_pbf(home: Path, demo: Dossier, tmp_path: Path) -> None:
    packwrite.export_package(demo, home, tmp_path, now=T0)
    _edit(home / demo.location, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    result = packwrite.export_package(demo, home, tmp_path, partial=True, now=datetime(2026, 1, 2))
    assert result.kind == "PBF" and "changed" in (result.warning or "")


def test_value_that_cannot_be_packed_exactly(home: Path, tmp_path: Path) -> None:
    path = home / "050ODD.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, d DATE)")
    conn.execute("INSERT INTO t VALUES (1, 'next tuesday')")
    conn.commit()
    conn.close()
    dossier = register(home, path)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(PackError, match="next tuesday"):
        packwrite.export_package(dossier, home, out, now=T0)
    assert list(out.iterdir()) == []
    assert not [p for p in (home / "packstate").iterdir()]


@pytest.mark.posix_only  # names the synced file through /proc
def test_imported_file_is_on_disk_before_its_name_is(home: Path, demo: Dossier, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Written with syncing off for speed: its bytes are synced before the rename that makes
    it the dossier, and the directory after it (a power cut leaves no renamed half-file)."""
    import os

    pbf = packwrite.export_package(demo, home, tmp_path, now=T0)
    events: list[str] = []
    real_fsync, real_link = os.fsync, os.link

    def fsync(fd: int) -> None:
        events.append("fsync:" + os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    def link(src: str | Path, dst: str | Path, **kwargs: object) -> None:  # the no-replace publish
        events.append(f"link:{src}->{dst}")
        real_link(src, dst, **kwargs)  # type: ignore[arg-type] - the caller passes os.link's own keywords

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    imported = packimport.import_package(pbf.path, home, number="77")
    rename = next(i for i, e in enumerate(events) if e.startswith("link:") and e.endswith(imported.location))
    src = events[rename].split(":", 1)[1].split("->")[0]
    assert f"fsync:{src}" in events[:rename]
    assert f"fsync:{home}" in events[rename + 1:]


def _ptf_round_trip(home: Path, tmp_path: Path, create: str, rows: list[tuple[object, ...]],
                    *edits: tuple[str, ...]) -> list[packwrite.PackResult]:
    """PBF of a one-table dossier, imported as 51; then per group of edits a PTF, applied to 51."""
    source = home / "050ODD.sqlite"
    conn = sqlite3.connect(source)
    conn.execute(create)
    conn.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(rows[0]))})", rows)
    conn.commit()
    conn.close()
    dossier = register(home, source)
    base = packwrite.export_package(dossier, home, tmp_path, now=T0)
    copy = packimport.import_package(base.path, home, number="51")
    results = []
    for day, sql in enumerate(edits, 2):
        _edit(source, *sql)
        ptf = packwrite.export_package(dossier, home, tmp_path, partial=True, now=datetime(2026, 1, day))
        assert ptf.kind == "PTF"
        packapply.apply_package(ptf.path, home, dossier_ref="51")
        assert _rows(home / copy.location) == _rows(source)
        results.append(ptf)
    return results


def _rows(path: Path) -> list[str]:
    """Every row of t with the storage class of each value, in no particular order (a PRIMARY
    KEY that is no INTEGER PRIMARY KEY leaves rowids aside, as a PBF does)."""
    conn = sqlite3.connect(path)
    try:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(t)")]
        typed = ", ".join(f'"{c}", typeof("{c}")' for c in cols)
        return sorted(repr(r) for r in conn.execute(f"SELECT {typed} FROM t"))  # noqa: S608
    finally:
        conn.close()


@pytest.mark.parametrize(("create", "rows", "new"), [
    ("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)", [(1, "a"), (2, "b")], "(3, 'c')"),
    ("CREATE TABLE t (h INTEGER PRIMARY KEY, v TEXT)", [(1, "a"), (2, "b")], "(3, 'c')"),
    ("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)", [("1", "a"), ("2", "b")], "('3', 'c')"),
    ("CREATE TABLE t (k REAL PRIMARY KEY, v TEXT)", [(1.5, "a"), (2.5, "b")], "(3.5, 'c')"),
    ("CREATE TABLE t (h TEXT NOT NULL, k INTEGER NOT NULL, v TEXT, PRIMARY KEY (h, k))",
     [("x", 1, "a"), ("x", 2, "b")], "('y', 1, 'c')"),
])
def test_ptf_on_key_columns_named_like_the_state_columns(home: Path, tmp_path: Path, create: str,
                                                         rows: list[tuple[object, ...]], new: str) -> None:
    """The state files hold the key columns beside their own ``k`` and ``h`` columns."""
    [ptf] = _ptf_round_trip(home, tmp_path, create, rows, (
        "UPDATE t SET v = 'changed' WHERE rowid = 1", "DELETE FROM t WHERE rowid = 2", f"INSERT INTO t VALUES {new}"))
    assert (ptf.tables["t"]["rows"], ptf.tables["t"]["deleted"]) == (2, 1)


@pytest.mark.parametrize(("create", "rows"), [
    ("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)", [(1, "a"), (None, "b"), (None, "c"), (2, "d")]),
    ("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT)", [("1", "a"), (None, "b"), (None, "c"), ("2", "d")]),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY DESC, v TEXT)", [(1, "a"), (None, "b"), (None, "c"), (2, "d")]),
    ("CREATE TABLE t (a INT, b INT, v TEXT, PRIMARY KEY (a, b))", [(1, 1, "a"), (1, None, "b"), (None, None, "c"),
                                                                   (2, 2, "d")]),
])
def test_ptf_on_a_primary_key_holding_nulls(home: Path, tmp_path: Path, create: str,
                                            rows: list[tuple[object, ...]]) -> None:
    """SQLite lets a PRIMARY KEY other than INTEGER PRIMARY KEY hold NULLs, several of them: such
    rows cannot be matched by key, their table is replaced whole, until its state has no NULL key."""
    first, second, third = _ptf_round_trip(
        home, tmp_path, create, rows,
        ("UPDATE t SET v = 'changed' WHERE rowid IN (1, 2)", "DELETE FROM t WHERE rowid = 3"),
        ("DELETE FROM t WHERE rowid = 2", "UPDATE t SET v = 'again' WHERE rowid = 4"),  # no NULL key left
        ("UPDATE t SET v = 'third' WHERE rowid = 1",))
    assert first.tables["t"]["rows"] == 3 and second.tables["t"]["rows"] == 2  # replaced whole
    assert (third.tables["t"]["rows"], third.tables["t"]["deleted"]) == (1, 0)  # matched by key again


def test_state_file_of_an_earlier_layout_makes_the_table_replaced(home: Path, tmp_path: Path) -> None:
    """An earlier build stored a key column named k beside its own k and h: not read, replaced."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = home / "050ODD.sqlite"
    _edit(source, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    dossier = register(home, source)
    base = packwrite.export_package(dossier, home, tmp_path, now=T0)
    copy = packimport.import_package(base.path, home, number="51")
    [state] = (home / "packstate").glob("*/0000.parquet")
    ambiguous = pa.schema([("k", pa.int64()), ("k", pa.binary()), ("h", pa.uint64())])
    pq.write_table(pa.table([pa.array([1, 2]), pa.array([b"x", b"y"]), pa.array([0, 0], pa.uint64())],
                            schema=ambiguous), state)
    _edit(source, "UPDATE t SET v = 'changed' WHERE k = 1")
    ptf = packwrite.export_package(dossier, home, tmp_path, partial=True, now=datetime(2026, 1, 2))
    assert ptf.kind == "PTF" and ptf.tables["t"]["rows"] == 2  # replaced whole
    packapply.apply_package(ptf.path, home, dossier_ref="51")
    assert _rows(home / copy.location) == _rows(source)


def test_apply_refused_whole_when_a_unique_value_moved(home: Path, tmp_path: Path) -> None:
    """FORMAT 7's known limit: the upsert meets the deleted row's unique value; nothing changes."""
    source = home / "070UNQ.sqlite"
    conn = sqlite3.connect(source)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(1, "x"), (2, "y")])
    conn.commit()
    conn.close()
    dossier = register(home, source, number="070", short="UNQ")
    base = packwrite.export_package(dossier, home, tmp_path, now=T0)
    copy = packimport.import_package(base.path, home, number="71")
    before = dump(home / copy.location)
    _edit(source, "DELETE FROM t WHERE id = 1", "INSERT INTO t VALUES (3, 'x')")
    ptf = packwrite.export_package(dossier, home, tmp_path, partial=True, now=datetime(2026, 1, 2))
    with pytest.raises(MsdeError) as refused:
        packapply.apply_package(ptf.path, home, dossier_ref="71")
    assert "breaks a constraint" in str(refused.value) and "UNIQUE" in str(refused.value)
    assert "Nothing was changed" in (refused.value.hint or "")
    assert dump(home / copy.location) == before


def test_export_refused_when_the_dossier_changes_while_it_is_read(home: Path, demo: Dossier, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real_identity = packwrite.pack_identity

    def identity_then_a_commit(db, dossier):  # type: ignore[no-untyped-def]
        found = real_identity(db, dossier)
        _edit(home / demo.location, "UPDATE entry SET label = 'changed meanwhile' WHERE id = 1")
        return found

    monkeypatch.setattr(packwrite, "pack_identity", identity_then_a_commit)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(DossierChanged, match="changed while msde was reading it"):
        packwrite.export_package(demo, home, out, now=T0)
    assert list(out.iterdir()) == []
    monkeypatch.setattr(packwrite, "pack_identity", real_identity)
    assert packwrite.export_package(demo, home, out, now=T0).kind == "PBF"  # quiet again: it works


def test_ptf_fills_a_table_that_was_empty_at_the_pbf(home: Path, tmp_path: Path) -> None:
    source = home / "080EMP.sqlite"
    conn = sqlite3.connect(source)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.commit()
    conn.close()
    dossier = register(home, source, number="080", short="EMP")
    copy = packimport.import_package(packwrite.export_package(dossier, home, tmp_path, now=T0).path, home, number="81")
    _edit(source, "INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    ptf = packwrite.export_package(dossier, home, tmp_path, partial=True, now=datetime(2026, 1, 2))
    assert ptf.kind == "PTF" and ptf.tables["t"] == {"rows": 2, "chunks": 1, "deleted": 0}
    packapply.apply_package(ptf.path, home, dossier_ref="81")
    assert dump(home / copy.location) == dump(source)
