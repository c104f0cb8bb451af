"""Manifest constants and checks (docs/FORMAT.md sections 1 and 3)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from msde_tui.engine.errors import PackError

FORMAT = "msde-pack"
VERSION = "2.0"
MAJOR = 2  # 2.0: row hashes over 64-bit words (FORMAT.md section 7) instead of BLAKE2b
KINDS = ("PBF", "PTF", "PAF")
MAX_JSON = 64 << 20
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
    """Check format, version, kind and the members table; return the manifest."""
    if not isinstance(raw, dict):
        raise PackError(f"{where}: manifest.json is not a JSON object.", "The file is damaged or not a packed file.")
    if raw.get("format") != FORMAT:
        raise PackError(f"{where} is not an msde packed file (format {raw.get('format')!r}).")
    version = str(raw.get("version", ""))
    major = version.split(".")[0]
    if not major.isdigit():
        raise PackError(f"{where}: the format version {version!r} cannot be read.")
    if int(major) < MAJOR:
        raise PackError(
            f"{where} uses format version {version}, written by an early development build of msde "
            f"whose row digests this msde ({MAJOR}.x) does not compute.",
            "Pack the dossier again with this msde.",
        )
    if int(major) != MAJOR:
        raise PackError(
            f"{where} uses format version {version}; this msde reads version {MAJOR}.x only.",
            "Use an msde release that knows this version.",
        )
    if SELF_DIGEST in raw and raw[SELF_DIGEST] != manifest_digest(raw):
        raise PackError(
            f"{where}: manifest.json is damaged (its checksum does not match its content).",
            "Use another copy of the packed file; this one is damaged.",
        )
    kind = raw.get("kind")
    if kind not in KINDS:
        raise PackError(f"{where}: unknown kind {kind!r}.")
    if expected_kind and kind != expected_kind.upper():
        raise PackError(
            f"{where} is a {kind}, not a {expected_kind.upper()}.",
            f"Give a .{expected_kind.lower()} file for this operation.",
        )
    members = raw.get("members")
    if not isinstance(members, dict):
        raise PackError(f"{where}: manifest.json has no list of members.")
    for name, info in members.items():
        if not isinstance(info, dict) or not isinstance(info.get("size"), int) or not isinstance(
            info.get("sha256"), str
        ):
            raise PackError(f"{where}: the manifest entry of {name} is damaged.")
    return raw
