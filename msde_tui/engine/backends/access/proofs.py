"""What an Access file holds, and the proof beside each Access backup (``<backup>.json``).

An inventory is every user table with its row count and the SHA-256 of the rows as the reader
gives them (``reader.lines``: one JSON line per row, in file order). It is taken by reading
every row of every table, so it proves the file can be read to its end. The proof of a backup
is its size, SHA-256, Access format and inventory; verify re-hashes the copy and takes the
inventory again, and both must equal the proof. "Movements" of an Access dossier (for the
automatic backups' third setting) are its rows across all tables.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from msde_tui import __version__
from msde_tui.engine.atomic import write_atomic
from msde_tui.engine.backends.access import reader
from msde_tui.engine.errors import BackupInvalid, Cancelled
from msde_tui.engine.proof import PROOF_DIGEST, proof_digest, proof_path

PROOF_KIND = "msde-access-backup"
PROOF_FORMAT = 1


@dataclass(frozen=True)
class TableFacts:
    rows: int
    sha256: str


def inventory(path: Path, progress: Callable[[str], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> dict[str, TableFacts]:
    """Read every row of every user table of ``path``: {table: (rows, SHA-256 of its lines)}."""
    found: dict[str, TableFacts] = {}
    for table in reader.tables(path):
        if progress is not None:
            progress(table)
        digest, rows = hashlib.sha256(), 0
        for line in reader.lines(path, table, should_stop):
            digest.update(line + b"\n")
            rows += 1
        if should_stop is not None and should_stop():
            raise Cancelled("Cancelled while reading the Access file.", "Nothing was changed.")
        found[table] = TableFacts(rows, digest.hexdigest())
    return found


def movements(facts: dict[str, TableFacts]) -> int:
    return sum(t.rows for t in facts.values())


@dataclass(frozen=True)
class AccessProof:
    file: str  # backup file name (no directory)
    sha256: str
    size: int
    access_format: str  # JET3, JET4, ACE12...
    code: str
    created_at: datetime
    source: str  # the Access file the backup was taken from (full path)
    tables: dict[str, TableFacts] = field(default_factory=dict)
    reader: str = ""
    tool_version: str = __version__
    company: str = ""  # the company name in the dossier list at backup time

    @property
    def movements(self) -> int:
        return movements(self.tables)

    def to_json(self) -> dict[str, object]:
        return {
            "kind": PROOF_KIND,
            "format": PROOF_FORMAT,
            "file": self.file,
            "sha256": self.sha256,
            "size": self.size,
            "access_format": self.access_format,
            "code": self.code,
            "company": self.company,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "source": self.source,
            "movements": self.movements,
            "tables": {n: {"rows": t.rows, "sha256": t.sha256} for n, t in self.tables.items()},
            "reader": self.reader,
            "tool_version": self.tool_version,
        }


def write(backup: Path, proof: AccessProof) -> Path:
    """Write the proof beside ``backup`` atomically (with its own checksum); return its path."""
    path = proof_path(backup)
    data = proof.to_json()
    data[PROOF_DIGEST] = proof_digest(data)
    write_atomic(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return path


def is_access_proof(backup: Path) -> bool:
    """True when the proof beside ``backup`` says it is an Access backup (no checks)."""
    try:
        raw = json.loads(proof_path(backup).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(raw, dict) and raw.get("kind") == PROOF_KIND


def read(backup: Path) -> AccessProof:
    """The proof beside ``backup``; BackupInvalid when missing, damaged or of another kind."""
    path = proof_path(backup)
    name = Path(backup).name
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupInvalid(
            f"The proof {path.name} of {name} is missing, so the backup cannot be trusted.",
            "Use another backup that has its .json proof beside it, or take a new backup.",
        ) from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BackupInvalid(f"The proof {path.name} cannot be read ({type(exc).__name__}).",
                            "The proof is damaged; use another backup or take a new one.") from exc
    if not isinstance(raw, dict) or raw.get("kind") != PROOF_KIND:
        raise BackupInvalid(f"{path.name} is not the proof of an Access backup.",
                            "Use another backup that has its .json proof beside it.")
    if raw.get(PROOF_DIGEST) != proof_digest(raw):
        raise BackupInvalid(
            f"The proof {path.name} is damaged (its checksum does not match its content).",
            "Use another backup that has an intact proof, or take a new backup.",
        )
    if raw.get("format") != PROOF_FORMAT:
        raise BackupInvalid(f"The proof {path.name} has format {raw.get('format')!r}.",
                            "Verify it with the version of msde that wrote it.")
    try:
        tables = {str(n): TableFacts(int(t["rows"]), str(t["sha256"]))
                  for n, t in dict(raw["tables"]).items()}
        return AccessProof(
            file=str(raw["file"]), sha256=str(raw["sha256"]).lower(), size=int(raw["size"]),
            access_format=str(raw["access_format"]), code=str(raw["code"]),
            created_at=datetime.fromisoformat(str(raw["created_at"])), source=str(raw["source"]),
            tables=tables, reader=str(raw.get("reader", "")),
            tool_version=str(raw.get("tool_version", "")), company=str(raw.get("company", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupInvalid(f"The proof {path.name} is incomplete or damaged (field {exc}).",
                            "Use another backup or take a new one.") from exc


def compare(found: dict[str, TableFacts], proof: AccessProof, name: str) -> None:
    """BackupInvalid naming the first table whose rows differ from the proof's."""
    if set(found) != set(proof.tables):
        missing = sorted(set(proof.tables) - set(found))
        extra = sorted(set(found) - set(proof.tables))
        raise BackupInvalid(
            f"{name} does not hold the tables its proof lists (missing: {', '.join(missing) or '-'}; "
            f"unexpected: {', '.join(extra) or '-'}).",
            "Do not use this backup; take a new one.",
        )
    for table, facts in proof.tables.items():
        if found[table] != facts:
            raise BackupInvalid(
                f"Table {table} of {name} reads back {found[table].rows} rows that differ from the "
                f"{facts.rows} rows of its proof.",
                "Do not use this backup; take a new one.",
            )
