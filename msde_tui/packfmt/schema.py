"""``schema.json``: tables, columns and portable types (docs/FORMAT.md section 4)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from msde_tui.packfmt.errors import PackError

TYPES = ("integer", "bigint", "real", "decimal", "text", "blob", "date", "datetime", "boolean", "any")
ANY_TYPE = pa.struct(
    [
        pa.field("int", pa.int64()),
        pa.field("real", pa.float64()),
        pa.field("text", pa.string()),
        pa.field("blob", pa.binary()),
    ]
)


@dataclass
class ColumnSpec:
    name: str
    type: str
    nullable: bool = True
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    identity: bool = False

    def arrow_type(self) -> pa.DataType:
        kind = self.type
        if kind in ("integer", "bigint"):
            return pa.int64()
        if kind == "real":
            return pa.float64()
        if kind == "decimal":
            return pa.decimal128(self.precision or 38, self.scale or 0)
        if kind == "text":
            return pa.string()
        if kind == "blob":
            return pa.binary()
        if kind == "date":
            return pa.date32()
        if kind == "datetime":
            return pa.timestamp("us")
        if kind == "boolean":
            return pa.bool_()
        if kind == "any":
            return ANY_TYPE
        raise PackError(f"Column {self.name} has an unknown type {kind!r}.")


@dataclass
class TableSpec:
    name: str
    dir: str
    columns: list[ColumnSpec]
    primary_key: list[str] = field(default_factory=list)
    unique: list[dict[str, Any]] = field(default_factory=list)
    foreign_keys: list[dict[str, Any]] = field(default_factory=list)
    indexes: list[dict[str, Any]] = field(default_factory=list)
    sqlite_sql: str | None = None
    sqlite_sequence: int | None = None

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise PackError(f"Table {self.name} has no column {name}.")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def key(self) -> list[str]:
        """Primary key, else the first unique constraint whose columns are all NOT NULL."""
        if self.primary_key:
            return list(self.primary_key)
        for unique in self.unique:
            cols = list(unique.get("columns") or [])
            if cols and all(not self.column(c).nullable for c in cols):
                return cols
        return []

    def arrow_schema(self, columns: list[str] | None = None) -> pa.Schema:
        names = columns if columns is not None else self.column_names
        return pa.schema([pa.field(n, self.column(n).arrow_type()) for n in names])


@dataclass
class PackSchema:
    tables: list[TableSpec]
    sqlite_objects: list[dict[str, Any]] = field(default_factory=list)

    def table(self, name: str) -> TableSpec:
        for table in self.tables:
            if table.name == name:
                return table
        raise PackError(f"The packed file has no table {name!r}.")

    def to_json(self) -> dict[str, Any]:
        return {"tables": [asdict(t) for t in self.tables], "sqlite_objects": self.sqlite_objects}

    @classmethod
    def from_json(cls, raw: Any) -> PackSchema:
        try:
            tables = []
            for item in raw["tables"]:
                item = dict(item)
                columns = [ColumnSpec(**c) for c in item.pop("columns")]
                tables.append(TableSpec(columns=columns, **item))
            schema = cls(tables, list(raw.get("sqlite_objects") or []))
        except (KeyError, TypeError, ValueError) as exc:
            raise PackError(f"schema.json is damaged ({exc}).", "Use another copy of the packed file.") from exc
        names: set[str] = set()
        for table in schema.tables:
            if table.name in names:
                raise PackError(f"schema.json lists table {table.name!r} twice.")
            names.add(table.name)
            for col in table.columns:
                if col.type not in TYPES:
                    raise PackError(f"schema.json: column {table.name}.{col.name} has unknown type {col.type!r}.")
            for name in table.key:
                table.column(name)
        return schema

    def digest(self) -> str:
        """SHA-256 of the portable shape (names, types, keys) of every table."""
        shape = [
            {
                "name": t.name,
                "columns": [
                    {"name": c.name, "type": c.type, "precision": c.precision, "scale": c.scale}
                    for c in t.columns
                ],
                "primary_key": t.primary_key,
            }
            for t in sorted(self.tables, key=lambda t: t.name)
        ]
        text = json.dumps(shape, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()
