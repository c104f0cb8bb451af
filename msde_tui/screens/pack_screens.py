"""The export and import operations of the wizard: Export (complete), Export (partial), Import
(complete) and Import (partial), each a form -> summary -> progress (a detached job).

The forms live in ``export_screens`` and ``import_screens`` (their common frame in
``pack_common``); the work itself is registered in ``engine.packops``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msde_tui.engine.plans import WizardPlan
from msde_tui.i18n import N_
from msde_tui.screens import registry
from msde_tui.screens.export_screens import ExportScreen, PartialExportScreen
from msde_tui.screens.import_screens import SOURCES, ApplyScreen, ImportScreen
from msde_tui.screens.pack_common import EMBEDDED, PackStep, PickList, entry_line
from msde_tui.screens.steps import StepPosition

__all__ = [
    "EMBEDDED", "SOURCES", "ApplyScreen", "ExportScreen", "ImportScreen", "PackStep",
    "PartialExportScreen", "PickList", "entry_line", "register",
]


def _step(cls: type[PackStep]) -> Callable[[Any, WizardPlan, StepPosition], PackStep]:
    def factory(ctx: Any, plan: WizardPlan, pos: StepPosition) -> PackStep:
        return cls(ctx, plan, pos)

    return factory


def register() -> None:
    """Offer Export, Export partial, Import and Import partial (on every connection)."""
    common: dict[str, Any] = {"asks_verify": False, "asks_directory": False}
    then = (registry.summary_step, registry.progress_step)
    registry.register(registry.Operation(
        id="export",
        label=N_("Export (complete)"),
        steps=(_step(ExportScreen), *then),  # type: ignore[arg-type]
        help=N_("A complete copy E<name> of dossiers, or with 'Backup files' a PBF of each."),
        **common,
    ))
    registry.register(registry.Operation(
        id="export_partial",
        label=N_("Export (partial)"),
        steps=(_step(PartialExportScreen), *then),  # type: ignore[arg-type]
        help=N_("A PTF of what changed since the last PBF/PTF (the first time: a PBF)."),
        **common,
    ))
    registry.register(registry.Operation(
        id="import",
        label=N_("Import (complete)"),
        steps=(_step(ImportScreen), *then),  # type: ignore[arg-type]
        help=N_("A PBF, an export copy or a cut file becomes a new dossier of the list."),
        **common,
    ))
    registry.register(registry.Operation(
        id="apply",
        label=N_("Import (partial)"),
        steps=(_step(ApplyScreen), *then),  # type: ignore[arg-type]
        help=N_("Bring a dossier up to date with a PTF."),
        **common,
    ))
