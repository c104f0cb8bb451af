"""What a run did, per dossier: the report, and ``<home>/auto/last_run.json`` the wizard and
``msde auto --status`` read."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from msde_tui.engine.atomic import write_atomic
from msde_tui.engine.auto.decide import Action
from msde_tui.engine.auto.records import AUTO_DIR
from msde_tui.engine.events import SKIPPED, DossierResult

LAST_RUN_FILE = "last_run.json"


# ----------------------------------------------------------------------------- last run


@dataclass
class DossierOutcome:
    """What a run did for one dossier (kept in last_run.json for the wizard)."""

    code: str
    action: Action
    reason: str
    ok: bool = True
    message: str = ""
    hint: str = ""
    file: str | None = None
    verified: bool = False
    deleted: list[str] = field(default_factory=list)
    would_delete: list[str] = field(default_factory=list)
    last_verified_file: str | None = None
    last_verified_at: str | None = None
    at: str = ""
    # SQL Server with the policy's test_restore: the scratch restore's outcome (database,
    # checkdb "clean" or "damaged", page_verify), kept in last_run.json
    test_restore: dict[str, object] | None = None

    def result(self) -> DossierResult:
        """This outcome as the event every operation ends a dossier with (``{action}: {reason}``
        as the wizard's words know it, or the failure's message and hint)."""
        message = f"{self.action}: {self.reason}"
        if not self.ok:
            message = self.message or message
        return DossierResult(
            self.code, ok=self.ok, message=message, hint=self.hint if not self.ok else "",
            verified=self.verified, files=(self.file,) if self.file and self.ok else (),
            details={"action": str(self.action), "reason": self.reason, "deleted": list(self.deleted),
                     "would_delete": list(self.would_delete),
                     SKIPPED: self.ok and self.action in ("skip", "off")},
        )

    @property
    def text(self) -> str:
        line = f"{self.code}: {self.action} — {self.reason}"
        if self.action == "backup" and not self.ok:
            line += f" — FAILED: {self.message}"
        elif self.action == "error":
            line = f"{self.code}: error — {self.message}"
        return line


@dataclass
class RunReport:
    started_at: str
    finished_at: str = ""
    dry_run: bool = False
    dossiers: list[DossierOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(d.ok for d in self.dossiers)

    def to_json(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "dossiers": [asdict(d) for d in self.dossiers],
        }


def last_run_file(home: Path) -> Path:
    return Path(home) / AUTO_DIR / LAST_RUN_FILE


def save_last_run(home: Path, report: RunReport) -> None:
    data = json.dumps(report.to_json(), indent=2, ensure_ascii=False).encode("utf-8")
    write_atomic(last_run_file(home), data)


def load_last_run(home: Path) -> dict[str, Any] | None:
    """The last real (not dry) run's report, or None when there was none or it is unreadable."""
    path = last_run_file(home)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None
