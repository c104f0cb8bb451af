"""Progress events yielded by async operations. The TUI and the CLI consume the same events.

Every event names the dossier (its code, or a file name for verify of a loose file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Event:
    dossier: str


@dataclass(frozen=True)
class Started(Event):
    """Work on this dossier began; ``steps`` lists what will happen (e.g. backup, verify)."""

    operation: str
    steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step(Event):
    """A new step began for this dossier (``backup``, ``verify``, ``restore``, ``safety copy``...)."""

    step: str
    detail: str = ""


@dataclass(frozen=True)
class Progress(Event):
    """How far the current step is. Any field may be None when unknown."""

    percent: float | None = None
    bytes_done: int | None = None
    bytes_total: int | None = None
    mb_per_s: float | None = None
    eta_s: float | None = None
    rows_done: int | None = None
    rows_total: int | None = None


@dataclass(frozen=True)
class ServerMessage(Event):
    """An informational or error message as the server (or the embedded backend) said it."""

    text: str
    number: int | None = None
    severity: int | None = None


@dataclass(frozen=True)
class Statement(Event):
    """The exact T-SQL (or file action) about to run; for the log and the report."""

    text: str


@dataclass(frozen=True)
class DossierResult(Event):
    """Final outcome for one dossier. ``ok`` False carries ``message`` + ``hint``."""

    ok: bool
    message: str = ""
    hint: str = ""
    verified: bool = False
    files: tuple[str, ...] = ()
    seconds: float = 0.0
    details: dict[str, object] = field(default_factory=dict)


RUN_SUMMARY = "run_summary"
"""A ``DossierResult`` whose ``details`` holds this key (True) is a whole run's own summary
(the automatic run's report), not a dossier: it is neither shown nor counted as one."""

SKIPPED = "skipped"
"""A ``DossierResult`` whose ``details`` holds this key (True) is a dossier left alone on
purpose (an automatic backup not due, or off): neither done nor failed; ``message`` says why."""

Emit = Callable[[Event], None]
"""How synchronous engine work (run in a worker thread by ``runs.registry.in_thread``) reports:
it calls ``emit`` with the same events an async operation yields, named for its dossier."""
