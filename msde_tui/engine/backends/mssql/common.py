"""Small helpers the SQL Server modules share: values read from result rows, a failed
operation's events and result details, and clean-up that a repeated cancel cannot cut short."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
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


async def despite_cancel(work: Awaitable[object]) -> None:
    """Run clean-up ``work`` to its end even when the caller is cancelled again meanwhile.

    A job's runner cancels its task every quarter second until the job ends
    (engine/runs/jobs.py); the KILL of a cancelled statement and the deletion of what it left
    must not be cut short by the second cancel. The caller's first cancellation is already
    on its way (this runs in a ``finally``) and goes on once ``work`` is done.
    """
    task = asyncio.ensure_future(work)
    while not task.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)
    if not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]
