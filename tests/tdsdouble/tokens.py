"""Encoders for the TDS token stream the double sends (MS-TDS 2.2.7).

Pure functions from Python values to bytes; no sockets here. Only the subset a SQL Server
answering a SQL batch needs: LOGINACK, ENVCHANGE, INFO/ERROR, COLMETADATA, ROW, DONE*,
RETURNSTATUS, and the TYPE_INFO / value encodings of the column types in :class:`SqlType`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

# Token types
LOGINACK = 0xAD
ENVCHANGE = 0xE3
INFO = 0xAB
ERROR = 0xAA
COLMETADATA = 0x81
ROW = 0xD1
DONE = 0xFD
DONEPROC = 0xFE
DONEINPROC = 0xFF
RETURNSTATUS = 0x79

# DONE status bits
DONE_FINAL = 0x00
DONE_MORE = 0x01
DONE_ERROR = 0x02
DONE_INXACT = 0x04
DONE_COUNT = 0x10
DONE_ATTN = 0x20

# ENVCHANGE types
ENV_DATABASE = 1
ENV_LANGUAGE = 2
ENV_PACKETSIZE = 4
ENV_COLLATION = 7
ENV_BEGIN_TRAN = 8
ENV_COMMIT_TRAN = 9
ENV_ROLLBACK_TRAN = 10

# SQL_Latin1_General_CP1_CI_AS: LCID 0x0409, flags 0xD0 (ignore case/kana/width), sort id 52.
DEFAULT_COLLATION = bytes([0x09, 0x04, 0xD0, 0x00, 0x34])

PLP_NULL = 0xFFFFFFFFFFFFFFFF


def b_varchar(text: str) -> bytes:
    """B_VARCHAR: one byte length in characters, then UCS-2."""
    data = text.encode("utf-16-le")
    return struct.pack("<B", len(data) // 2) + data


def us_varchar(text: str) -> bytes:
    """US_VARCHAR: two byte length in characters, then UCS-2."""
    data = text.encode("utf-16-le")
    return struct.pack("<H", len(data) // 2) + data


def loginack(tds_version: int, program: str, version: tuple[int, int, int]) -> bytes:
    major, minor, build = version
    body = (
        b"\x01"  # interface: SQL_TSQL
        + struct.pack(">I", tds_version)
        + b_varchar(program)
        + bytes([major, minor, (build >> 8) & 0xFF, build & 0xFF])
    )
    return struct.pack("<BH", LOGINACK, len(body)) + body


def envchange_text(kind: int, new: str, old: str = "") -> bytes:
    body = bytes([kind]) + b_varchar(new) + b_varchar(old)
    return struct.pack("<BH", ENVCHANGE, len(body)) + body


def envchange_bytes(kind: int, new: bytes, old: bytes = b"") -> bytes:
    body = bytes([kind, len(new)]) + new + bytes([len(old)]) + old
    return struct.pack("<BH", ENVCHANGE, len(body)) + body


def message(
    token: int,
    number: int,
    text: str,
    *,
    severity: int,
    state: int = 1,
    server: str = "",
    proc: str = "",
    line: int = 1,
) -> bytes:
    """An INFO (severity <= 10) or ERROR token."""
    body = (
        struct.pack("<iBB", number, state, severity)
        + us_varchar(text)
        + b_varchar(server)
        + b_varchar(proc)
        + struct.pack("<i", line)
    )
    return struct.pack("<BH", token, len(body)) + body


def done(status: int = DONE_FINAL, count: int = 0, *, token: int = DONE, curcmd: int = 0) -> bytes:
    return struct.pack("<BHHQ", token, status, curcmd, count)


def returnstatus(value: int) -> bytes:
    return struct.pack("<Bi", RETURNSTATUS, value)


# ---------------------------------------------------------------------------------------------
# Column types


class Kind(IntEnum):
    INT = 0x26  # INTN
    BIT = 0x68  # BITN
    FLOAT = 0x6D  # FLTN
    NVARCHAR = 0xE7
    VARBINARY = 0xA5  # BIGVARBINARY
    DATETIME2 = 0x2A
    DATE = 0x28
    DECIMAL = 0x6A  # DECIMALN


@dataclass(frozen=True)
class SqlType:
    """A column type as sent in COLMETADATA.

    ``size``: bytes for INT (1/2/4/8) and FLOAT (4/8); maximum characters for NVARCHAR and
    bytes for VARBINARY, ``None`` meaning (MAX) and sent as PLP; unused otherwise.
    """

    kind: Kind
    size: int | None = None
    precision: int = 18
    scale: int = 0

    @property
    def name(self) -> str:
        k = self.kind
        if k is Kind.INT:
            return {1: "tinyint", 2: "smallint", 4: "int", 8: "bigint"}[self.size or 4]
        if k is Kind.FLOAT:
            return "real" if self.size == 4 else "float"
        if k is Kind.NVARCHAR:
            return f"nvarchar({'max' if self.size is None else self.size})"
        if k is Kind.VARBINARY:
            return f"varbinary({'max' if self.size is None else self.size})"
        if k is Kind.DECIMAL:
            return f"decimal({self.precision},{self.scale})"
        return k.name.lower()


INT = SqlType(Kind.INT, 4)
BIGINT = SqlType(Kind.INT, 8)
SMALLINT = SqlType(Kind.INT, 2)
TINYINT = SqlType(Kind.INT, 1)
BIT = SqlType(Kind.BIT)
FLOAT = SqlType(Kind.FLOAT, 8)
DATETIME2 = SqlType(Kind.DATETIME2, scale=7)
DATE = SqlType(Kind.DATE)
NVARCHAR_MAX = SqlType(Kind.NVARCHAR, None)
VARBINARY_MAX = SqlType(Kind.VARBINARY, None)


def nvarchar(size: int | None) -> SqlType:
    return SqlType(Kind.NVARCHAR, size)


def varbinary(size: int | None) -> SqlType:
    return SqlType(Kind.VARBINARY, size)


def decimal_type(precision: int = 18, scale: int = 0) -> SqlType:
    return SqlType(Kind.DECIMAL, precision=precision, scale=scale)


@dataclass(frozen=True)
class Column:
    name: str
    type: SqlType
    nullable: bool = True


def _decimal_bytes(precision: int) -> int:
    if precision <= 9:
        return 5
    if precision <= 19:
        return 9
    if precision <= 28:
        return 13
    return 17


def _time_bytes(scale: int) -> int:
    return 3 if scale <= 2 else 4 if scale <= 4 else 5


def type_info(t: SqlType) -> bytes:
    k = t.kind
    if k in (Kind.INT, Kind.FLOAT):
        return bytes([k, t.size or 4])
    if k is Kind.BIT:
        return bytes([k, 1])
    if k is Kind.NVARCHAR:
        max_bytes = 0xFFFF if t.size is None else t.size * 2
        return struct.pack("<BH", k, max_bytes) + DEFAULT_COLLATION
    if k is Kind.VARBINARY:
        return struct.pack("<BH", k, 0xFFFF if t.size is None else t.size)
    if k is Kind.DATETIME2:
        return bytes([k, t.scale])
    if k is Kind.DATE:
        return bytes([k])
    if k is Kind.DECIMAL:
        return bytes([k, _decimal_bytes(t.precision), t.precision, t.scale])
    raise ValueError(f"unsupported type {t}")


def colmetadata(columns: Sequence[Column]) -> bytes:
    out = bytearray(struct.pack("<BH", COLMETADATA, len(columns)))
    for col in columns:
        flags = 0x0001 if col.nullable else 0x0000  # fNullable
        flags |= 0x0008  # fUpdateable = read/write
        out += struct.pack("<IH", 0, flags)
        out += type_info(col.type)
        out += b_varchar(col.name)
    return bytes(out)


def _plp(data: bytes | None) -> bytes:
    if data is None:
        return struct.pack("<Q", PLP_NULL)
    out = struct.pack("<Q", len(data))
    if data:
        out += struct.pack("<I", len(data)) + data
    return out + struct.pack("<I", 0)


_EPOCH = dt.date(1, 1, 1)


def _date3(value: dt.date) -> bytes:
    return (value - _EPOCH).days.to_bytes(3, "little")


def value(t: SqlType, v: Any) -> bytes:
    """The encoding of one value of type ``t`` inside a ROW token."""
    k = t.kind
    if k is Kind.NVARCHAR:
        if v is None:
            return _plp(None) if t.size is None else b"\xff\xff"
        data = str(v).encode("utf-16-le")
        return _plp(data) if t.size is None else struct.pack("<H", len(data)) + data
    if k is Kind.VARBINARY:
        if v is None:
            return _plp(None) if t.size is None else b"\xff\xff"
        data = bytes(v)
        return _plp(data) if t.size is None else struct.pack("<H", len(data)) + data
    if v is None:
        return b"\x00"
    if k is Kind.INT:
        size = t.size or 4
        return bytes([size]) + int(v).to_bytes(size, "little", signed=size != 1)
    if k is Kind.BIT:
        return b"\x01" + (b"\x01" if v else b"\x00")
    if k is Kind.FLOAT:
        return (
            b"\x08" + struct.pack("<d", float(v))
            if t.size != 4
            else b"\x04" + struct.pack("<f", float(v))
        )
    if k is Kind.DATE:
        if isinstance(v, dt.datetime):
            v = v.date()
        return b"\x03" + _date3(v)
    if k is Kind.DATETIME2:
        if not isinstance(v, dt.datetime):
            v = dt.datetime(v.year, v.month, v.day)
        midnight = v.replace(hour=0, minute=0, second=0, microsecond=0)
        micros = (v - midnight) // dt.timedelta(microseconds=1)
        ticks = micros * 10**t.scale // 10**6
        tb = _time_bytes(t.scale)
        return bytes([tb + 3]) + ticks.to_bytes(tb, "little") + _date3(v.date())
    if k is Kind.DECIMAL:
        d = decimal.Decimal(v).scaleb(t.scale).to_integral_value(rounding=decimal.ROUND_HALF_EVEN)
        size = _decimal_bytes(t.precision)
        magnitude = int(abs(d)).to_bytes(size - 1, "little")
        return bytes([size, 0 if d < 0 else 1]) + magnitude
    raise ValueError(f"unsupported type {t}")


def row(columns: Sequence[Column], values: Sequence[Any]) -> bytes:
    out = bytearray([ROW])
    for col, v in zip(columns, values, strict=True):
        out += value(col.type, v)
    return bytes(out)
