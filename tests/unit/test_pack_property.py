"""Property test: arbitrary table contents survive PBF export + import exactly."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.packs import packimport, packwrite

texts = st.text(max_size=12)
rows = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1)),
        st.one_of(st.none(), texts),
        st.one_of(st.none(), st.binary(max_size=16)),
        st.one_of(st.none(), st.floats(allow_nan=False)),
        st.one_of(st.none(), st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)),
        st.one_of(st.none(), st.dates(min_value=date(1, 1, 1))),
        st.one_of(st.none(), st.datetimes(min_value=datetime(1000, 1, 1))),
        st.one_of(st.none(), st.integers(-5, 5), texts, st.binary(max_size=4), st.floats(allow_nan=False)),
    ),
    max_size=12,
)


def _contents(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        cols = "a, typeof(a), b, c, d, typeof(d), e, typeof(e), f, g, h, typeof(h)"
        return conn.execute(f"SELECT id, {cols} FROM t ORDER BY id").fetchall()
    finally:
        conn.close()


@settings(max_examples=25, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=rows)
def test_arbitrary_rows_round_trip(data: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        path = home / "060ANY.sqlite"
        conn = sqlite3.connect(path)
        conn.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a BIGINT, b TEXT, c BLOB, d REAL, e DECIMAL(12,2),"
            " f DATE, g DATETIME, h)"
        )
        conn.executemany(
            "INSERT INTO t (a, b, c, d, e, f, g, h) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (a, b, c, d, None if e is None else str(Decimal(e)), None if f is None else f.isoformat(),
                 None if g is None else g.isoformat(sep=" ", timespec="microseconds"), h)
                for a, b, c, d, e, f, g, h in data
            ],
        )
        conn.commit()
        conn.close()
        dossier = Catalog(home).add(Dossier(number="060", short="ANY", company="Any", location=path.name))
        result = packwrite.export_package(dossier, home, home)
        imported = packimport.import_package(result.path, home, number="61")
        assert _contents(home / imported.location) == _contents(path)
