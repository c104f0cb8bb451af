"""Plans of Access operations (no I/O here; built by the CLI or the wizard, run by the engine)."""

from __future__ import annotations

from dataclasses import dataclass, field

from msde_tui.engine.catalog import Dossier


@dataclass(frozen=True)
class ConvertPlan:
    """Convert the Access dossier ``dossier`` into a new dossier listed as ``number``.

    ``to`` is "embedded" or a SQL Server connection profile name; ``password`` is its
    password, held in memory only ("" = MSDE_PASSWORD). ``number`` None = the first
    free one; ``short``/``company`` None = the Access dossier's.
    """

    dossier: Dossier
    to: str = "embedded"
    number: str | None = None
    short: str | None = None
    company: str | None = None
    force: bool = False
    password: str = field(default="", repr=False, metadata={"secret": True})  # memory only, never in a file or a log
