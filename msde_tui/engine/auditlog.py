"""The audit log: one JSON line per operation in ``<home>/audit.log.jsonl`` (SPEC section 6).

Each line: time, user, host, operation, dossiers, options, result, duration, files written.
Options are scrubbed of anything that looks like a secret before they are written.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from msde_tui.osdep import current_account, make_private

LOG_FILE = "audit.log.jsonl"
SECRET_WORDS = ("password", "passphrase", "secret", "token", "pwd")


def _user() -> str:
    return current_account()  # DOMAIN\\user on Windows, the login name (or uid) on POSIX


def scrub(options: dict[str, Any]) -> dict[str, Any]:
    """Copy of ``options`` with every secret-looking key removed."""
    clean: dict[str, Any] = {}
    for key, value in options.items():
        if any(word in key.lower() for word in SECRET_WORDS):
            continue
        clean[key] = scrub(value) if isinstance(value, dict) else value
    return clean


@dataclass
class Record:
    operation: str
    dossiers: list[str]
    options: dict[str, Any] = field(default_factory=dict)
    result: str = "ok"  # ok | failed | partial | cancelled
    message: str = ""
    files: list[str] = field(default_factory=list)


def append(home: Path, record: Record, *, started: float, ended: float | None = None) -> None:
    """Append one line for ``record`` (one write call, so concurrent writers don't interleave)."""
    ended = time.time() if ended is None else ended
    line = {
        "time": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "user": _user(),
        "host": socket.gethostname(),
        "operation": record.operation,
        "dossiers": record.dossiers,
        "options": scrub(record.options),
        "result": record.result,
        "message": record.message,
        "duration_s": round(ended - started, 3),
        "files": record.files,
    }
    data = (json.dumps(line, ensure_ascii=False, default=str) + "\n").encode()
    path = Path(home) / LOG_FILE
    new = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    if new:  # who did what on which dossier: the owner's only (mode 600, or Windows' ACL)
        with contextlib.suppress(OSError):
            make_private(path)


@contextmanager
def audited(home: Path, operation: str, dossiers: list[str], options: dict[str, Any] | None = None) -> Iterator[Record]:
    """Log an operation when the block ends; an exception marks it failed (and propagates)."""
    record = Record(operation=operation, dossiers=list(dossiers), options=dict(options or {}))
    started = time.time()
    try:
        yield record
    except BaseException as exc:
        record.result = "cancelled" if isinstance(exc, (KeyboardInterrupt,)) else "failed"
        record.message = record.message or str(exc)
        append(home, record, started=started)
        raise
    append(home, record, started=started)


def read(home: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The logged lines, oldest first (the last ``limit`` when given). Bad lines are skipped."""
    path = Path(home) / LOG_FILE
    if not path.exists():
        return []
    lines: list[dict[str, Any]] = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines[-limit:] if limit else lines
