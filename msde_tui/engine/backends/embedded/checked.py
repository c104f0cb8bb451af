"""Contents already through ``PRAGMA integrity_check``: not checked again byte for byte.

``integrity_check`` is a function of a file's bytes (and of the SQLite that runs it). Verify
always re-reads a backup and compares its SHA-256 with its proof; when that SHA-256 is one
whose bytes this data directory already saw pass ``integrity_check`` under the same SQLite
version, running it again could only give the same answer, so it is not run again. A dossier
that did not change is backed up into the same bytes every time, so in an office where most
dossiers did not change since yesterday most of ``msde backup --all``'s checks are already
done. Nothing else is skipped: the read-back, the SHA-256, the proof and identity checks run
every time (docs/OPERATIONS.md, "Verify").

The memo is ``<data dir>/integrity_checked.json``, written once per run (atomically); a lost
or damaged memo only means checks are run again. It lists SHA-256 digests only, never paths.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from msde_tui.engine.atomic import write_atomic

MEMO_FILE = "integrity_checked.json"
MEMO_FORMAT = 1
MAX_ENTRIES = 20000  # the most recent ones; ~1.4 MB of JSON at most


class IntegrityMemo:
    """SHA-256 digests of contents that passed ``integrity_check`` (this SQLite version)."""

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / MEMO_FILE
        self._lock = threading.Lock()
        self._digests: dict[str, None] = {}  # ordered: oldest first
        self._loaded = False
        self._changed = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if (not isinstance(raw, dict) or raw.get("format") != MEMO_FORMAT
                or raw.get("sqlite_version") != sqlite3.sqlite_version):
            return
        digests = raw.get("sha256")
        if isinstance(digests, list):
            self._digests = {d: None for d in digests if isinstance(d, str) and len(d) == 64}

    def known(self, sha256: str) -> bool:
        with self._lock:
            self._load()
            return sha256 in self._digests

    def add(self, sha256: str) -> None:
        with self._lock:
            self._load()
            self._digests.pop(sha256, None)
            self._digests[sha256] = None
            self._changed = True

    def save(self) -> None:
        """Write the memo if it changed (never raises: a memo not written costs only time)."""
        with self._lock:
            if not self._changed:
                return
            digests = list(self._digests)[-MAX_ENTRIES:]
            body = {"format": MEMO_FORMAT, "sqlite_version": sqlite3.sqlite_version, "sha256": digests}
            try:
                write_atomic(self.path, json.dumps(body, separators=(",", ":")).encode("utf-8"))
            except Exception:  # noqa: BLE001 - the memo is an optimisation only
                return
            self._changed = False
