"""What a packed file holds: its header read without a passphrase, or every member checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from msde_tui.engine.errors import PackError
from msde_tui.packfmt.digest import Digest, row_hashes
from msde_tui.packfmt.reader import PackReader


def package_header(path: Path) -> dict[str, Any]:
    """What a packed file's manifest says, read without a passphrase through the one reader
    (container, size limits and manifest schema checked): the CLI and the wizard ask this
    whether a file is encrypted and what to list it as. An encrypted file's ``dossier`` is None
    (its content is encrypted; the clear fields are authenticated only once the key is known)."""
    with PackReader(path, header_only=True) as reader:
        return _described(path, reader)


def _described(path: Path, reader: PackReader) -> dict[str, Any]:
    """What a packed file says of itself (its header, manifest and content description)."""
    return {
        "file": str(path),
        "kind": reader.kind,
        "package_id": reader.manifest.get("package_id"),
        "created_at": reader.manifest.get("created_at"),
        "encrypted": reader.encrypted,
        "dossier": reader.content.get("dossier"),
        "source": reader.content.get("source"),
        "base_package": _base_package(reader.content),
        "tables": reader.content.get("tables"),
    }


def package_info(path: Path, *, passphrase: str | None = None, verify: bool = True) -> dict[str, Any]:
    """Open a packed file, check every member (``verify``) and return what it holds."""
    with PackReader(path, passphrase=passphrase) as reader:
        if verify:
            reader.verify()
            if reader.kind == "PBF":
                _check_pbf_digests(reader)
        return _described(path, reader) | {"verified": verify}


def check_passphrase(path: Path, passphrase: str | None) -> None:
    """Refuse (``PackError`` in words) a passphrase that does not open the packed file at
    ``path``: the key is derived and the encrypted manifest opened, no member is read (the
    wizard asks this when the passphrase is typed, before the summary)."""
    with PackReader(path, passphrase=passphrase):
        pass


def _base_package(content: dict[str, Any]) -> str | None:
    """The package id a PTF follows (``content.ptf.base.package_id``), None for other kinds."""
    ptf = content.get("ptf")
    base = ptf.get("base") if isinstance(ptf, dict) else None
    value = base.get("package_id") if isinstance(base, dict) else None
    return value if isinstance(value, str) else None


def _check_pbf_digests(reader: PackReader) -> None:
    """A PBF's rows against the digests its state records (FORMAT §7), as an import checks
    them once loaded: verify and import accept the same files."""
    tables = (reader.content.get("state") or {}).get("tables") or {}
    for table in reader.schema.tables:
        digest = Digest()
        for batch in reader.batches(table):
            digest.add(row_hashes(batch, table))
        if tables.get(table.name) != digest.as_json():
            raise PackError(f"{reader.where}: the rows of table {table.name} do not match their digest.",
                            "Use another copy of the packed file; this one is damaged.")
