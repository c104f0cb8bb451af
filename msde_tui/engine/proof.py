"""The proof file beside each embedded backup: ``<backup>.json``.

A proof says what the backup file must be (size, SHA-256) and what it holds (the dossier's
GUID and code, the number of entries at backup time). Verify re-reads the backup and compares
it with its proof; a backup without a readable proof is never reported valid.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from msde_tui import __version__
from msde_tui.engine import naming
from msde_tui.engine.atomic import write_atomic
from msde_tui.engine.errors import BackupInvalid, Cancelled

PROOF_FORMAT = 1
PROOF_KIND = "msde-embedded-backup"
PROOF_DIGEST = "proof_sha256"  # the proof's own checksum (absent in the first proofs written)
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Proof:
    file: str  # backup file name (no directory)
    sha256: str
    size: int
    guid: str | None
    code: str
    created_at: datetime
    movements: int  # entries in the dossier at backup time
    source: str  # dossier file name the backup was taken from
    tool_version: str = __version__
    sqlite_version: str = sqlite3.sqlite_version
    format: int = PROOF_FORMAT
    kind: str = PROOF_KIND

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat(timespec="seconds")
        return data


def proof_digest(raw: dict[str, object]) -> str:
    """SHA-256 of a proof's canonical JSON (keys sorted, no spaces) without ``proof_sha256``.

    It protects the fields verify cannot check against the file itself (creation time,
    movement counter, source, code): a damaged proof is refused instead of misleading the
    automatic-backup rotation or the technician.
    """
    body = {k: v for k, v in raw.items() if k != PROOF_DIGEST}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def proof_path(backup: Path) -> Path:
    backup = Path(backup)
    return backup.with_name(naming.proof_name(backup.name))


def proof_bytes(proof: Proof) -> bytes:
    """The proof file's content (with its own checksum)."""
    data = proof.to_json()
    data[PROOF_DIGEST] = proof_digest(data)
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_proof(backup: Path, proof: Proof) -> Path:
    """Write the proof beside ``backup`` atomically; return its path."""
    path = proof_path(backup)
    write_atomic(path, proof_bytes(proof))
    return path


def read_proof(backup: Path) -> Proof:
    """Read the proof beside ``backup``; a missing or unreadable proof raises ``BackupInvalid``."""
    path = proof_path(backup)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupInvalid(
            f"The proof {path.name} of {Path(backup).name} is missing, so the backup cannot be trusted.",
            "Use another backup that has its .json proof beside it, or take a new backup.",
        ) from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BackupInvalid(
            f"The proof {path.name} cannot be read ({exc.__class__.__name__}).",
            "The proof is damaged; use another backup or take a new one.",
        ) from exc
    if not isinstance(raw, dict) or raw.get("kind") != PROOF_KIND:
        raise BackupInvalid(
            f"{path.name} is not a proof of an embedded backup.",
            "Use another backup that has its .json proof beside it, or take a new backup.",
        )
    if PROOF_DIGEST in raw and raw[PROOF_DIGEST] != proof_digest(raw):
        raise BackupInvalid(
            f"The proof {path.name} is damaged (its checksum does not match its content).",
            "Use another backup that has an intact proof, or take a new backup.",
        )
    if raw.get("format") != PROOF_FORMAT:
        raise BackupInvalid(
            f"The proof {path.name} has format {raw.get('format')!r}; this tool reads format {PROOF_FORMAT}.",
            "Verify it with the version of msde that wrote it.",
        )
    try:
        sha = str(raw["sha256"]).lower()
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise ValueError("sha256")
        return Proof(
            file=str(raw["file"]),
            sha256=sha,
            size=int(raw["size"]),
            guid=None if raw.get("guid") is None else str(raw["guid"]),
            code=str(raw["code"]),
            created_at=datetime.fromisoformat(str(raw["created_at"])),
            movements=int(raw["movements"]),
            source=str(raw["source"]),
            tool_version=str(raw.get("tool_version", "")),
            sqlite_version=str(raw.get("sqlite_version", "")),
            format=PROOF_FORMAT,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupInvalid(
            f"The proof {path.name} is incomplete or damaged (field {exc}).",
            "Use another backup or take a new one.",
        ) from exc


def sha256_file(
    path: Path,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[str, int]:
    """(SHA-256 hex digest, size) of a file read in chunks. ``progress(bytes_done)`` per chunk."""
    digest = hashlib.sha256()
    done = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if should_stop is not None and should_stop():
                raise Cancelled("Cancelled while reading the backup.", "Nothing was changed.")
            if progress is not None:
                progress(done)
    return digest.hexdigest(), done
