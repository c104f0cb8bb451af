""""Automatic backups: run now": one run of the automatic-backup policy as a detached job.

No choice screen: the operation screen makes the plan (``AutoRunPlan``), the summary says what
the run does, the progress screen follows the job (``engine.lifeops``).
"""

from __future__ import annotations

from msde_tui.engine.plans import AutoRunPlan, Connection, WizardPlan
from msde_tui.i18n import N_
from msde_tui.screens import registry


def _plan(plan: WizardPlan) -> AutoRunPlan:
    return AutoRunPlan()


def register() -> None:
    registry.register(registry.Operation(
        id="auto_run",
        label=N_("Automatic backups: run now"),
        steps=(registry.summary_step, registry.progress_step),
        help=N_("Apply the automatic-backup policy now, as the scheduler does (a background job)."),
        asks_verify=False,
        asks_directory=False,
        available=lambda connection: isinstance(connection, Connection) and connection.is_embedded,
        make_plan=_plan,
    ))
