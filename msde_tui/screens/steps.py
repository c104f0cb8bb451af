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


@dataclass(frozen=True)
class Back:
    """What a step dismisses with for Back: the plan with this screen's answers in it (so
    coming back to the step shows them). A bare None is Back keeping nothing."""

    plan: WizardPlan


StepResult = WizardPlan | Back | None
StepFactory = Callable[["WizardContext", WizardPlan, StepPosition], "Screen[StepResult]"]


def screen_class(dotted: str) -> Callable[..., Screen[StepResult]]:
    """The screen class named ``package.module.Class``, its module imported on first use (the
    later steps load after the first screen is painted)."""
    module, _, name = dotted.rpartition(".")
    found: Callable[..., Screen[StepResult]] = getattr(importlib.import_module(module), name)
    return found
