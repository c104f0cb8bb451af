"""The operations the wizard offers, and the steps each one walks after the operation screen.

The driver (``MsdeApp.drive``) only knows this list: Connection -> Operation -> the chosen
operation's own steps. A later operation (export, packed files, archive, cut, audit transfer,
automatic backups) adds an ``Operation`` here with its step factories and is offered on the
operation screen without touching the driver.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from msde_tui.engine.plans import Connection, WizardPlan
from msde_tui.i18n import N_
from msde_tui.screens.steps import StepFactory, StepPosition, StepResult, screen_class

if TYPE_CHECKING:
    from textual.screen import Screen

    from msde_tui.screens.context import WizardContext


@dataclass(frozen=True)
class Operation:
    id: str
    label: str  # English, marked with N_; translated when shown
    steps: tuple[StepFactory, ...]  # after the operation screen; the last one runs the work
    help: str = ""
    asks_verify: bool = True  # the "Verify after" box
    asks_directory: bool = True
    shows_directory: bool = True  # the directory row (a form may start from it); False: no use
    directory_label: str = N_("Directory of the backups")
    asks_data_dir: bool = False  # restore: where the data files go
    writes_directory: bool = False  # files go into the directory: it must take them
    available: Callable[[Connection], bool] = lambda connection: True
    # An operation with no choice screen: its plan, made from the wizard's (then summary, progress).
    make_plan: Callable[[WizardPlan], object] | None = None


def _dossiers(ctx: WizardContext, plan: WizardPlan, pos: StepPosition) -> Screen[StepResult]:
    return screen_class("msde_tui.screens.dossiers.DossiersScreen")(ctx, plan, pos)


def _backups(ctx: WizardContext, plan: WizardPlan, pos: StepPosition) -> Screen[StepResult]:
    return screen_class("msde_tui.screens.backups.BackupsScreen")(ctx, plan, pos)


def _summary(ctx: WizardContext, plan: WizardPlan, pos: StepPosition) -> Screen[StepResult]:
    return screen_class("msde_tui.screens.summary.SummaryScreen")(ctx, plan, pos)


def _progress(ctx: WizardContext, plan: WizardPlan, pos: StepPosition) -> Screen[StepResult]:
    return screen_class("msde_tui.screens.progress.ProgressScreen")(ctx, plan=plan, position=pos)


# The last two steps of every operation: what will happen, then the detached job.
summary_step = _summary
progress_step = _progress


OPERATIONS: list[Operation] = [
    Operation(
        id="backup",
        label=N_("Backup"),
        steps=(_dossiers, _summary, _progress),
        help=N_("Back up dossiers into a directory (on the server host for SQL Server)."),
        directory_label=N_("Directory where the backups go"),
        writes_directory=True,
    ),
    Operation(
        id="restore",
        label=N_("Restore"),
        steps=(_backups, _summary, _progress),
        help=N_("Restore backups found in a directory as new or existing dossiers."),
        directory_label=N_("Directory where the backups are"),
        asks_data_dir=True,
    ),
    Operation(
        id="verify",
        label=N_("Verify"),
        steps=(_backups, _summary, _progress),
        help=N_("Read backups back and check them, without restoring anything."),
        asks_verify=False,
        directory_label=N_("Directory where the backups are"),
    ),
]


BUILTIN = ("backup", "restore", "verify")

# Modules that add operations: each has a ``register()`` calling ``register(Operation(...))``.
# A later issue adds its module name here (one line); a module not installed is skipped.
EXTENSION_MODULES: list[str] = [
    "msde_tui.screens.auto_screen",
    "msde_tui.screens.lifecycle_screens",
    "msde_tui.screens.pack_screens",
    "msde_tui.screens.auto_run",
    "msde_tui.screens.access_screens",
]
_loaded = False
_lock = threading.Lock()


def load_extensions() -> None:
    """Import the extension modules once and let them register their operations.

    Safe to call from a thread. The modules import the engine only where they use it, so
    loading them is quick (tests/unit/test_layers.py keeps it so).
    """
    global _loaded
    with _lock:
        if _loaded:
            return
        for name in EXTENSION_MODULES:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name == name:
                    continue
                raise
            module.register()
        _loaded = True


def operations() -> list[Operation]:
    """Every operation offered, built-in ones first."""
    load_extensions()
    return list(OPERATIONS)


def register(operation: Operation) -> None:
    """Offer one more operation (replaces one with the same id)."""
    for index, existing in enumerate(OPERATIONS):
        if existing.id == operation.id:
            OPERATIONS[index] = operation
            return
    OPERATIONS.append(operation)


def get(operation_id: str) -> Operation:
    for operation in OPERATIONS if operation_id in BUILTIN else operations():
        if operation.id == operation_id:
            return operation
    return OPERATIONS[0]


def _operation(ctx: WizardContext, plan: WizardPlan, pos: StepPosition) -> Screen[StepResult]:
    # imported after the first screen
    return screen_class("msde_tui.screens.operation.OperationScreen")(ctx, plan, pos)


# Connection, operation, the operation's form, summary, progress: the total every step shows,
# whatever the operation (one without a form skips number 3; the settings of automatic backups
# are its step 3 and its last).
WIZARD_STEPS = 5


def position(plan: WizardPlan, index: int) -> StepPosition:
    """The step number shown for ``steps_for(plan)[index]`` (0-based), out of WIZARD_STEPS."""
    step = steps_for(plan)[index]
    if step is summary_step:
        return StepPosition(WIZARD_STEPS - 1, WIZARD_STEPS)
    if step is progress_step:
        return StepPosition(WIZARD_STEPS, WIZARD_STEPS)
    return StepPosition(min(index + 1, WIZARD_STEPS - 2), WIZARD_STEPS)


def steps_for(plan: WizardPlan) -> list[StepFactory]:
    """Every step of the wizard for this plan: connection, operation, then the operation's."""
    return [screen_class("msde_tui.screens.connection.ConnectionScreen"), _operation,
            *get(plan.operation).steps]
