"""Run a registered operation's plan from the CLI: the same events as the wizard and the jobs,
shown with the same Rich progress as ``msde backup`` (plain lines when not on a terminal,
nothing with ``--json``). The engine writes the audit-log line.
"""

from __future__ import annotations

from typing import Any

from msde_tui.cli.backup import run_and_show
from msde_tui.cli.common import State, set_exit
from msde_tui.engine import errors
from msde_tui.engine.events import DossierResult
from msde_tui.engine.runs import registry as runner
from msde_tui.i18n import _


def run_plan(st: State, plan: object, *, total: int | None = None) -> list[DossierResult]:
    """Run ``plan`` to its end, showing its progress; its results in order (exit 1 if one failed).

    ``total``: how many results the display counts to, when the plan's subjects do not say it
    (the automatic run: one per dossier of the list, and its own)."""
    definition = runner.of_plan(plan)
    results = run_and_show(st, definition.name.replace("_", " "), [runner.run(plan, st.home)],
                           total=len(definition.subjects(plan)) if total is None else total)
    if any(not r.ok for r in results):
        set_exit(1)
    return results


def error_of(result: DossierResult) -> errors.MsdeError:
    """The error a failed result stands for (its kind gives the exit code: 2 for bad input)."""
    kind = getattr(errors, str(result.details.get("error", "")), errors.MsdeError)
    if not (isinstance(kind, type) and issubclass(kind, errors.MsdeError)):
        kind = errors.MsdeError
    return kind(result.message, result.hint)


def run_one(st: State, plan: object) -> DossierResult:
    """Run a plan about one dossier or file; its result, or its error raised (plain words)."""
    results = run_plan(st, plan)
    if not results:
        raise errors.MsdeError(_("The operation ended without a result."))
    result = results[-1]
    if not result.ok:
        raise error_of(result)
    return result


def details(result: DossierResult) -> dict[str, Any]:
    """What the result carries for the CLI's own output (the engine's values, as they are)."""
    return dict(result.details)
