"""Type conversion between the databases' values and the portable types of docs/FORMAT.md.

``portable_type`` names a reflected column's portable type and ``sa_type`` gives the column type
to create for one; ``to_arrow`` / ``from_arrow`` convert a column of DB-API values to and from
its Arrow type, exactly (a value that cannot be kept exactly is refused in words); the ADBC
helpers do the same for the Arrow-native SQLite paths (reading and bulk ingest).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects import mssql as mssql_types

from msde_tui.engine.errors import PackError
from msde_tui.packfmt.schema import ColumnSpec

# ---------------------------------------------------------------------- type mapping


def portable_type(kind: Any, *, table: str, column: str, dialect: str) -> ColumnSpec:
    if isinstance(kind, sa.types.NullType):
        return ColumnSpec(column, "any")
    if isinstance(kind, sa.Boolean):
        return ColumnSpec(column, "boolean")
    if isinstance(kind, sa.BigInteger):
        return ColumnSpec(column, "bigint")
    if isinstance(kind, sa.Integer):
        return ColumnSpec(column, "integer")
    if isinstance(kind, sa.Float):
        return ColumnSpec(column, "real")
    if isinstance(kind, sa.Numeric):
        if kind.precision is None:
            if dialect == "sqlite":
                return ColumnSpec(column, "any")
            return ColumnSpec(column, "decimal", precision=38, scale=kind.scale or 0)
        return ColumnSpec(column, "decimal", precision=kind.precision, scale=kind.scale or 0)
    if isinstance(kind, sa.DateTime):
        return ColumnSpec(column, "datetime")
    if isinstance(kind, sa.Date):
        return ColumnSpec(column, "date")
    if isinstance(kind, sa.types._Binary):
        return ColumnSpec(column, "blob", length=getattr(kind, "length", None))
    if isinstance(kind, sa.Uuid):
        return ColumnSpec(column, "text", length=36)
    if isinstance(kind, sa.String):
        length = kind.length if isinstance(kind.length, int) and kind.length > 0 else None
        return ColumnSpec(column, "text", length=length)
    if isinstance(kind, sa.Time):
        return ColumnSpec(column, "text", length=16)
    if dialect == "mssql" and type(kind).__name__ in ("MONEY", "SMALLMONEY"):
        return ColumnSpec(column, "decimal", precision=19, scale=4)
    if isinstance(kind, mssql_types.SQL_VARIANT):
        return ColumnSpec(column, "any")
    raise PackError(
        f"Column {table}.{column} has type {kind!r}, which msde cannot pack exactly.",
        "Tell the maintainers which type it is; no file was written.",
    )


class Untyped(sa.types.UserDefinedType):  # type: ignore[type-arg]
    """A SQLite column declared without a type (each value keeps its own storage class)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return ""


def sa_type(col: ColumnSpec, dialect: str, *, keyed: bool) -> Any:
    kind = col.type
    if kind == "integer":
        return sa.Integer()
    if kind == "bigint":
        return sa.BigInteger()
    if kind == "real":
        return sa.Float(precision=53)
    if kind == "decimal":
        return sa.Numeric(col.precision or 38, col.scale or 0)
    if kind == "text":
        if dialect == "mssql":
            length = col.length if col.length and col.length <= 4000 else None
            if length is None and keyed:
                length = 450
            return mssql_types.NVARCHAR(length) if length else mssql_types.NVARCHAR()
        return sa.String(col.length) if col.length else sa.Text()
    if kind == "blob":
        return sa.LargeBinary()
    if kind == "date":
        return sa.Date()
    if kind == "datetime":
        return mssql_types.DATETIME2(precision=6) if dialect == "mssql" else sa.DateTime()
    if kind == "boolean":
        return sa.Boolean(create_constraint=False)
    if kind == "any":
        return mssql_types.SQL_VARIANT() if dialect == "mssql" else Untyped()
    raise PackError(f"Unknown portable type {kind!r}.")


# ---------------------------------------------------------------------- value conversion



def _bad(table: str, col: ColumnSpec, value: Any, why: str = "") -> PackError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return PackError(
        f"Table {table}, column {col.name} ({col.type}) holds {shown}{why}; msde cannot pack it exactly.",
        "Correct that value in the dossier (or declare the column without a type) and pack again.",
    )


def _to_decimal(value: Any, col: ColumnSpec, table: str) -> Decimal | None:
    if value is None:
        return None
    try:
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, int | str):
            number = Decimal(value)
        else:
            raise _bad(table, col, value)
        scale = col.scale or 0
        exact = number.quantize(Decimal(1).scaleb(-scale))
    except (InvalidOperation, ValueError) as exc:
        raise _bad(table, col, value) from exc
    if exact != number:
        raise _bad(table, col, value, f" (more than {scale} decimals)")
    return exact


def _any_value(value: Any, col: ColumnSpec, table: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return {"int": value, "real": None, "text": None, "blob": None}
    if isinstance(value, float):
        return {"int": None, "real": value, "text": None, "blob": None}
    if isinstance(value, str):
        return {"int": None, "real": None, "text": value, "blob": None}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"int": None, "real": None, "text": None, "blob": bytes(value)}
    if isinstance(value, Decimal):
        return {"int": None, "real": None, "text": str(value), "blob": None}
    if isinstance(value, datetime | date):
        return {"int": None, "real": None, "text": value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat(), "blob": None}
    raise _bad(table, col, value)


_NONE = type(None)


def to_arrow(values: list[Any], col: ColumnSpec, table: str) -> pa.Array:
    """Convert one column of DB-API values to the Arrow type of its portable type, exactly."""
    kind = col.type
    arrow_type = col.arrow_type()
    kinds = set(map(type, values)) - {_NONE}

    def refuse(*allowed: type) -> None:
        for value in values:
            if value is not None and type(value) not in allowed:
                raise _bad(table, col, value)

    try:
        if kind in ("integer", "bigint"):
            if kinds - {int}:
                refuse(int)
            return pa.array(values, arrow_type)
        if kind == "real":
            if kinds - {float}:
                refuse(float, int)
                values = [None if v is None else float(v) for v in values]
            return pa.array(values, arrow_type)
        if kind == "text":
            if kinds - {str}:
                refuse(str, uuid.UUID, time)
                values = [v if v is None or isinstance(v, str) else str(v) for v in values]
            return pa.array(values, arrow_type)
        if kind == "blob":
            if kinds - {bytes}:
                refuse(bytes, bytearray, memoryview)
                values = [None if v is None else bytes(v) for v in values]
            return pa.array(values, arrow_type)
        if kind in ("date", "datetime"):
            if kinds <= {str}:
                try:
                    return pc.cast(pa.array(values, pa.string()), arrow_type)
                except pa.ArrowInvalid as exc:
                    raise _bad(table, col, _first_unparsable(values, arrow_type), " (not a valid date/time)") from exc
            if kind == "date":
                refuse(date, datetime)
                values = [v.date() if isinstance(v, datetime) else v for v in values]
            else:
                refuse(date, datetime)
                values = [datetime(v.year, v.month, v.day) if type(v) is date else v for v in values]
                for v in values:
                    if v is not None and v.tzinfo is not None:
                        raise _bad(table, col, v, " (a time zone)")
            return pa.array(values, arrow_type)
        if kind == "boolean":
            if kinds - {bool}:
                refuse(bool, int)
                if any(v not in (0, 1) for v in values if v is not None):
                    raise _bad(table, col, next(v for v in values if v is not None and v not in (0, 1)))
                values = [None if v is None else bool(v) for v in values]
            return pa.array(values, arrow_type)
        if kind == "decimal":
            return pa.array([_to_decimal(v, col, table) for v in values], arrow_type)
        if kind == "any":
            return pa.array([_any_value(v, col, table) for v in values], arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise PackError(
            f"Table {table}, column {col.name}: a value cannot be packed as {kind} ({exc}).",
            "Correct that value in the dossier and pack again.",
        ) from exc
    raise PackError(f"Unknown portable type {kind!r} for {table}.{col.name}.")


def sqlite_affinity(declared: str) -> str:
    """The type affinity SQLite gives a column declared with this type (datatype3 section 3.1)."""
    declared = declared.upper()
    if "INT" in declared:
        return "INTEGER"
    if any(word in declared for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in declared or not declared:
        return "BLOB"
    if any(word in declared for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


ADBC_CLASSES = {  # portable type -> the one SQLite storage class the ADBC path accepts
    "integer": "integer", "bigint": "integer", "boolean": "integer", "real": "real",
    "text": "text", "date": "text", "datetime": "text", "blob": "blob",
}


ADBC_SOURCE = {  # portable type -> the Arrow type ADBC gives for its one storage class
    "integer": pa.int64(), "bigint": pa.int64(), "boolean": pa.int64(), "real": pa.float64(),
    "text": pa.string(), "date": pa.string(), "datetime": pa.string(), "blob": pa.binary(),
}



def adbc_column(array: pa.Array, col: ColumnSpec, table: str) -> pa.Array:
    """One column from ADBC (one storage class, checked) as the Arrow type of its portable type;
    the conversions are those of ``to_arrow`` (ISO text parsed by Arrow, 0/1 as booleans)."""
    arrow_type = col.arrow_type()
    if array.type == arrow_type:
        if pa.types.is_string(arrow_type):
            try:
                array.validate(full=True)  # UTF-8 checked, as the DB-API path decodes it
            except pa.ArrowInvalid as exc:
                raise PackError(f"Table {table}, column {col.name} holds text that is not valid UTF-8.",
                                "Correct that value in the dossier and pack again.") from exc
        return array
    if array.type != ADBC_SOURCE[col.type]:
        raise PackError(f"Table {table}, column {col.name}: the SQLite reader gave {array.type} values.",
                        "Pack again; if it happens again, tell the maintainers.")
    if col.type in ("date", "datetime"):
        try:
            return pc.cast(array, arrow_type)
        except pa.ArrowInvalid:
            return to_arrow(array.to_pylist(), col, table)  # raises the DB-API path's message
    return pc.cast(array, arrow_type)  # boolean: 0/1 checked in SQL


INGEST_TYPES = {  # portable type -> the Arrow type bound by ADBC ingest (what ``insert`` binds)
    "integer": pa.int64(), "bigint": pa.int64(), "boolean": pa.int64(), "real": pa.float64(),
    "text": pa.string(), "date": pa.string(), "datetime": pa.string(), "decimal": pa.string(),
    "blob": pa.binary(),
}



def ingest_column(array: pa.Array, col: ColumnSpec) -> pa.Array:
    """``from_arrow``'s SQLite conversions, kept in Arrow."""
    target = INGEST_TYPES[col.type]
    if array.type == target:
        return array
    return pc.cast(array, target)


def _first_unparsable(values: list[Any], arrow_type: pa.DataType) -> Any:
    for value in values:
        if value is None:
            continue
        try:
            pc.cast(pa.array([value], pa.string()), arrow_type)
        except pa.ArrowInvalid:
            return value
    return None


def from_arrow(array: pa.Array, col: ColumnSpec, dialect: str) -> list[Any]:
    """DB-API parameter values for one column."""
    kind = col.type
    if kind == "any":
        out: list[Any] = []
        for item in array.to_pylist():
            if item is None:
                out.append(None)
            else:
                out.append(next((v for v in (item["int"], item["real"], item["text"], item["blob"]) if v is not None), None))
        return out
    if dialect == "sqlite":
        if kind in ("date", "datetime", "decimal"):
            return pc.cast(array, pa.string()).to_pylist()
        if kind == "boolean":
            return pc.cast(array, pa.int64()).to_pylist()
    if kind == "datetime":
        # pymssql writes a datetime parameter to the millisecond; text keeps the microseconds
        # (SQL Server converts it to datetime2 exactly)
        return [v.isoformat(sep=" ") if v is not None and v.microsecond % 1000 else v for v in array.to_pylist()]
    return array.to_pylist()
