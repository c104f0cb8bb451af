"""Where a wizard step stands (``StepPosition``) and what makes one (``StepFactory``).

The step screens and the operation list (``registry``) both import this module; it imports
neither, so the list can name the screens without the screens and the list importing each
other."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from msde_tui.engine.plans import WizardPlan

if TYPE_CHECKING:
    from textual.screen import Screen

    from msde_tui.screens.context import WizardContext


@dataclass(frozen=True)
class StepPosition:
    index: int  # 1-based
    total: int


StepFactory = Callable[["WizardContext", WizardPlan, StepPosition], "Screen[WizardPlan | None]"]


def screen_class(dotted: str) -> Callable[..., Screen[WizardPlan | None]]:
    """The screen class named ``package.module.Class``, its module imported on first use (the
    later steps load after the first screen is painted)."""
    module, _, name = dotted.rpartition(".")
    found: Callable[..., Screen[WizardPlan | None]] = getattr(importlib.import_module(module), name)
    return found
