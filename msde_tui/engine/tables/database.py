"""Schema-agnostic reading and writing of any database's tables (SQLite files or SQL Server).

``Database`` wraps one DB-API connection (``tables.connection``): ``reflect()`` describes every
table in the portable vocabulary of docs/FORMAT.md (``tables.reflection``); ``read()`` streams a
table as Arrow record batches typed by that vocabulary, so every backend yields the same values
and the same row digests (``tables.reads``, ADBC and DB-API); ``insert``, ``upsert`` and
``delete_keys`` write them back (``tables.writes``); ``tables.convert`` converts the values.
Reflection goes through SQLAlchemy's inspector; rows go through the raw DB-API cursor (fast,
and one snapshot per ``begin()``) or ADBC for SQLite files.
"""

from __future__ import annotations

from msde_tui.engine.tables.reads import Reads
from msde_tui.engine.tables.reflection import Reflection
from msde_tui.engine.tables.writes import Writes


class Database(Reflection, Reads, Writes):
    """One open connection to a dossier database (``dialect`` = "sqlite" or "mssql")."""
