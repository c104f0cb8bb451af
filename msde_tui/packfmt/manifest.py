"""Manifest constants and checks (docs/FORMAT.md sections 1 and 3)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from msde_tui.packfmt.errors import PackError
from msde_tui.packfmt.validate import MANIFEST_SCHEMA, check_schema

FORMAT = "msde-pack"
VERSION = "2.1"
MAJOR = 2  # 2.0: row hashes over 64-bit words (FORMAT.md section 7) instead of BLAKE2b
# 2.1: the clear manifest of an encrypted file is authenticated under its key (FORMAT.md section 8)
KINDS = ("PBF", "PTF", "PAF")
MAX_JSON = 8 << 20  # manifest.json, schema.json, content.json
CHUNK_ROWS = 1_000_000
CHUNK_BYTES = 128 << 20
ROW_GROUP_ROWS = 65_536


SELF_DIGEST = "manifest_sha256"


def manifest_digest(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest's canonical JSON, without its own ``manifest_sha256`` field.

    Canonical: keys sorted, UTF-8, no spaces (``separators=(",", ":")``), as read back by a
    JSON parser — so the digest does not depend on how the file was indented.
    """
    body = {k: v for k, v in manifest.items() if k != SELF_DIGEST}
    body = json.loads(json.dumps(body, default=str))
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tool_version() -> str:
    try:
        from importlib.metadata import version

        return version("msde-tui")
    except Exception:  # noqa: BLE001 - running from a source tree without metadata
        return "0"


def check_kind(kind: str) -> str:
    kind = kind.upper()
    if kind not in KINDS:
        raise PackError(f"Unknown packed-file kind {kind!r}.", "Use PBF, PTF or PAF.")
    return kind


def check_manifest(raw: Any, *, expected_kind: str | None, where: str) -> dict[str, Any]:
    """Check format, version, the schema of every field (validate.MANIFEST_SCHEMA), the
    manifest's own checksum and its kind; return the manifest."""
    if not isinstance(raw, dict):
        raise PackError(f"{where}: manifest.json is not a JSON object.", "The file is damaged or not a packed file.")
    if raw.get("format") != FORMAT:
        shown = repr(raw.get("format"))[:60]
        raise PackError(f"{where} is not an msde packed file (format {shown}).")
    version = raw.get("version")
    match = re.fullmatch(r"([0-9]{1,6})\.([0-9]{1,6})", version) if isinstance(version, str) else None
    if match is None:
        raise PackError(f"{where}: the format version {repr(version)[:60]} cannot be read.")
    major = int(match.group(1))
    if major < MAJOR:
        raise PackError(
            f"{where} uses format version {version}, written by an early development build of msde "
            f"whose row digests this msde ({MAJOR}.x) does not compute.",
            "Pack the dossier again with this msde.",
        )
    if major != MAJOR:
        raise PackError(
            f"{where} uses format version {version}; this msde reads version {MAJOR}.x only.",
            "Use an msde release that knows this version.",
        )
    if SELF_DIGEST in raw and raw[SELF_DIGEST] != manifest_digest(raw):
        raise PackError(
            f"{where}: manifest.json is damaged (its checksum does not match its content).",
            "Use another copy of the packed file; this one is damaged.",
        )
    check_schema(raw, MANIFEST_SCHEMA, f"{where}: manifest.json")
    kind = raw["kind"]
    if expected_kind and kind != expected_kind.upper():
        raise PackError(
            f"{where} is a {kind}, not a {expected_kind.upper()}.",
            f"Give a .{expected_kind.lower()} file for this operation.",
        )
    if not raw.get("encryption") and not isinstance(raw.get("content"), dict):
        raise PackError(f"{where}: the manifest has no content block.", "Use another copy of the packed file.")
    return raw


def minor(manifest: dict[str, Any]) -> int:
    """The minor format version of a checked manifest (2.0 -> 0, 2.1 -> 1)."""
    return int(str(manifest["version"]).split(".")[1])
