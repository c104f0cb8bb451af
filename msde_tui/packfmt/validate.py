"""Hostile JSON: bounded parsing and the manifest's schema (docs/FORMAT.md sections 3 and 9).

A packed file may come from anyone. Its JSON members are parsed only after a scan that bounds
their nesting depth and their number of values, with integers of at most 20 digits and no NaN,
Infinity or repeated key; the manifest is then checked against ``MANIFEST_SCHEMA`` (types,
ranges, sizes) before any field of it is used. Every reader of a packed file goes through
``PackReader``, which goes through here, so that import, apply, verify, pack-info and the
wizard's lists accept exactly the same files.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import numpy as np

from msde_tui.packfmt.errors import PackError

MAX_DEPTH = 32
MAX_VALUES = 1_000_000
MAX_INT_DIGITS = 20
MAX_COUNT = 1 << 48  # rows, deleted keys, bytes: far beyond any dossier, far below an overflow
_DAMAGED = "Use another copy of the packed file; this one is damaged."

_HEX64 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_COUNT = {"type": "integer", "minimum": 0, "maximum": MAX_COUNT}
_SHORT = {"type": "string", "maxLength": 200}
_MEMBER = {
    "type": "object",
    "required": ["size", "sha256"],
    "properties": {"size": _COUNT, "sha256": _HEX64},
}
_TABLE = {
    "type": "object",
    "properties": {
        "rows": _COUNT,
        "deleted": _COUNT,
        "chunks": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
        "rows_digest": {"type": "string", "maxLength": 256},
    },
}
_TEXT = {"type": ["string", "null"], "maxLength": 500}
_DOSSIER = {
    "type": "object",
    "properties": {
        "guid": {"type": ["string", "null"], "maxLength": 64},
        "code": {"type": ["string", "null"], "maxLength": 40},
        "number": {"type": ["string", "null"], "pattern": "^[0-9]{3}$"},
        "short": {"type": ["string", "null"], "pattern": "^[A-Z0-9]{1,12}$"},
        "name": _TEXT,
        "company": _TEXT,
    },
}
_STATE = {
    "type": "object",
    "properties": {
        "row_hash": {"type": ["string", "null"], "maxLength": 64},
        "schema_digest": {"type": ["string", "null"], "maxLength": 128},
        "tables": {
            "type": "object",
            "maxProperties": 10_000,
            "additionalProperties": {
                "type": "object",
                "required": ["rows", "digest"],
                "properties": {"rows": _COUNT, "digest": {"type": "string", "pattern": "^[0-9a-f]{16}$"}},
            },
        },
    },
}
CONTENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tables": {"type": "object", "minProperties": 1, "maxProperties": 10_000, "additionalProperties": _TABLE},
        "dossier": {"oneOf": [{"type": "null"}, _DOSSIER]},
        "source": {"type": ["object", "null"]},
        "state": {"oneOf": [{"type": "null"}, _STATE]},
        "ptf": {"type": ["object", "null"]},
        "paf": {"type": ["object", "null"]},
        "members": {"type": "object", "maxProperties": 200_000, "additionalProperties": _MEMBER},
    },
    "required": ["tables"],
}
ENCRYPTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["cipher", "kdf", "salt", "n", "r", "p", "segment_size", "key_check"],
    "properties": {
        "cipher": {"const": "AES-256-GCM"},
        "kdf": {"const": "scrypt"},
        "salt": {"type": "string", "minLength": 4, "maxLength": 88},
        "n": {"type": "integer", "minimum": 2, "maximum": 1 << 20},
        "r": {"type": "integer", "minimum": 1, "maximum": 32},
        "p": {"type": "integer", "minimum": 1, "maximum": 16},
        "segment_size": {"type": "integer", "minimum": 1024, "maximum": 64 << 20},
        "key_check": _HEX64,
        "manifest_mac": _HEX64,
    },
}
MANIFEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["format", "version", "kind", "members"],
    "properties": {
        "format": {"const": "msde-pack"},
        "version": {"type": "string", "pattern": "^[0-9]{1,6}\\.[0-9]{1,6}$"},
        "kind": {"enum": ["PBF", "PTF", "PAF"]},
        "package_id": {"type": "string", "maxLength": 64},
        "created_at": {"type": "string", "maxLength": 64},
        "tool": {"type": "object", "properties": {"name": _SHORT, "version": _SHORT}},
        "encryption": {"oneOf": [{"type": "null"}, ENCRYPTION_SCHEMA]},
        "content": CONTENT_SCHEMA,
        "members": {
            "type": "object",
            "maxProperties": 200_000,
            "propertyNames": {"maxLength": 200},
            "additionalProperties": _MEMBER,
        },
        "manifest_sha256": _HEX64,
    },
}
_VALIDATORS = {
    id(schema): jsonschema.Draft202012Validator(schema) for schema in (MANIFEST_SCHEMA, CONTENT_SCHEMA)
}


def _scan(data: bytes, where: str) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH or holding more than MAX_VALUES values, before
    the parser (which recurses and allocates) sees it. Strings are blanked out first."""
    raw = np.frombuffer(data, dtype=np.uint8)
    quote = raw == ord('"')
    if quote.any():
        backslash = raw == ord("\\")
        # a quote is escaped when preceded by an odd run of backslashes
        # the length of the run of backslashes ending just before each byte
        index = np.arange(raw.size)
        last_other = np.maximum.accumulate(np.where(backslash, -1, index))
        run = np.zeros(raw.size, dtype=np.int64)
        run[1:] = index[:-1] - last_other[:-1]
        escaped = (run % 2 == 1) & quote
        real = quote & ~escaped
        inside = (np.cumsum(real) % 2 == 1) & ~real
    else:
        inside = np.zeros(raw.shape, dtype=bool)
    opening = ((raw == ord("[")) | (raw == ord("{"))) & ~inside
    closing = ((raw == ord("]")) | (raw == ord("}"))) & ~inside
    steps = opening.astype(np.int32) - closing.astype(np.int32)
    if steps.size and int(np.cumsum(steps).max(initial=0)) > MAX_DEPTH:
        raise PackError(f"{where} is nested deeper than {MAX_DEPTH} levels.", _DAMAGED)
    separators = int((((raw == ord(",")) | (raw == ord(":"))) & ~inside).sum())
    if separators > MAX_VALUES:
        raise PackError(f"{where} holds more than {MAX_VALUES:,} values.", _DAMAGED)


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits")
    return int(text)


def _parse_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a number")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a key is repeated")
    return out


def load_json(data: bytes, where: str) -> Any:
    """Parse a JSON member with bounded depth, values and integers; PackError if it is not."""
    _scan(data, where)
    try:
        return json.loads(
            data.decode("utf-8"),
            parse_int=_parse_int,
            parse_constant=_parse_constant,
            object_pairs_hook=_pairs,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PackError(f"{where} is not valid JSON ({str(exc)[:200]}).", _DAMAGED) from exc


def check_schema(value: Any, schema: dict[str, Any], where: str) -> None:
    """Refuse ``value`` unless it matches ``schema``; the message names the first wrong field."""
    validator = _VALIDATORS.get(id(schema)) or jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        field = "/".join(str(p) for p in error.absolute_path)[:200] or "(top)"
        raise PackError(f"{where}: the field {field} is wrong ({error.message[:200]}).", _DAMAGED)
