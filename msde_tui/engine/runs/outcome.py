"""The failed result of one dossier whose work raised: one function for the runner and the registry."""

from __future__ import annotations

import time

from msde_tui.engine.atomic import os_problem
from msde_tui.engine.errors import MsdeError
from msde_tui.engine.events import DossierResult


def failed(label: str, exc: BaseException, began: float | None = None) -> DossierResult:
    """The failed ``DossierResult`` of ``label`` for ``exc``, in plain words (never a traceback).

    A domain error gives its message and hint; a system error (read-only, full, not a
    directory) is said as such (``atomic.os_problem``); anything else is an unexpected error.
    ``began`` (a ``time.monotonic()``) gives the seconds spent, else 0.
    """
    if not isinstance(exc, MsdeError):
        exc = os_problem(exc) or exc
    seconds = 0.0 if began is None else round(time.monotonic() - began, 3)
    if isinstance(exc, MsdeError):
        return DossierResult(
            label,
            ok=False,
            message=exc.message,
            hint=exc.hint,
            seconds=seconds,
            details={
                "error": type(exc).__name__,
                "exit_code": exc.exit_code,
                "number": getattr(exc, "number", None),
                **({"wizard_hint": exc.wizard_hint} if exc.wizard_hint else {}),  # the wizard's words
            },
        )
    return DossierResult(
        label,
        ok=False,
        message=f"Unexpected error: {type(exc).__name__}: {exc}",
        hint="Nothing was reported valid for this dossier; try again, and report the problem if it persists.",
        seconds=seconds,
        details={"error": type(exc).__name__, "exit_code": 1},
    )
