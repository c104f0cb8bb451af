"""One exception -> failed result function, shared by the runner and the operation registry."""

from __future__ import annotations

import asyncio
import errno
import time

from msde_tui.engine.errors import DossierNotFound
from msde_tui.engine.events import DossierResult, Emit
from msde_tui.engine.runs import registry
from msde_tui.engine.runs.outcome import failed


def test_a_domain_error_keeps_its_words_and_exit_code() -> None:
    result = failed("001SOC", DossierNotFound("Dossier 001 is not in the list.", "Run 'msde list'."),
                    time.monotonic() - 1)
    assert not result.ok and result.message == "Dossier 001 is not in the list."
    assert result.hint == "Run 'msde list'." and result.details["error"] == "DossierNotFound"
    assert result.details["exit_code"] == 2 and result.seconds >= 1


def test_a_system_error_is_said_in_words_and_a_bug_as_unexpected() -> None:
    denied = failed("x", PermissionError(errno.EACCES, "Permission denied", "/srv/b"))
    assert denied.details["error"] == "UnsafePath" and "/srv/b" in denied.message
    bug = failed("x", KeyError("k"))
    assert bug.message == "Unexpected error: KeyError: 'k'" and bug.details["exit_code"] == 1
    assert "Traceback" not in bug.message and bug.seconds == 0.0


def test_the_registry_thread_adapter_gives_the_same_result_as_the_runner() -> None:
    def work(_emit: Emit) -> DossierResult:
        raise PermissionError(errno.EROFS, "Read-only file system", "/mnt/ro")

    async def collect() -> list[object]:
        return [e async for e in registry.in_thread("001SOC", "pack", ("pack",), work)]

    last = asyncio.run(collect())[-1]
    assert isinstance(last, DossierResult)
    same = failed("001SOC", PermissionError(errno.EROFS, "Read-only file system", "/mnt/ro"))
    assert (last.message, last.hint, last.details) == (same.message, same.hint, same.details)
