"""Small helpers the SQL Server modules share: values read from result rows, and a failed
operation's events and result details."""

from __future__ import annotations

from typing import Any

from msde_tui.engine.backends.base import ServerFacts
from msde_tui.engine.errors import MsdeError
from msde_tui.engine.events import Event, ServerMessage

NO_COMPRESSION_EDITIONS = (4,)  # Express; Web edition is detected by name


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


def as_int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def compression_for(facts: ServerFacts, asked: bool | None) -> bool | None:
    """What to put in the BACKUP statement: True/False/None (omit). Never on Express or Web."""
    allowed = (
        facts.engine_edition not in NO_COMPRESSION_EDITIONS
        and facts.engine_edition is not None
        and ("web" not in facts.edition.lower())
    )
    if not allowed:
        return None
    return True if asked is None else asked


def failure_events(exc: MsdeError, code: str) -> list[Event]:
    """The server's error messages behind ``exc``, as events (before the failed result)."""
    return [
        ServerMessage(code, m.text, m.number, m.severity)
        for m in getattr(exc, "server_messages", ())
        if m.is_error
    ]


def error_details(exc: MsdeError) -> dict[str, object]:
    return {
        "error": type(exc).__name__,
        "exit_code": exc.exit_code,
        "number": getattr(exc, "number", None),
    }
