"""Backup, verify and restore in the runner's registry (their runs are in ``engine.operations``).

The wizard's summary of these three reads the server's facts and the backup headers
(``screens.actions``); the words here are what the registry offers without them (the CLI and
the job list).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from msde_tui.engine.events import Event
from msde_tui.engine.plans import BackupPlan, RestorePlan, VerifyPlan
from msde_tui.engine.runs import registry as runner
from msde_tui.engine.runs.registry import Description, Line, OperationDef
from msde_tui.i18n import _


def _name(file: str) -> str:
    return Path(file.replace("\\", "/")).name


def run_backup(plan: BackupPlan, home: Path) -> AsyncIterator[Event]:
    from msde_tui.engine.runs import runner as operations

    return operations.run_backup(plan, home=home)


def run_verify(plan: VerifyPlan, home: Path) -> AsyncIterator[Event]:
    from msde_tui.engine.runs import runner as operations

    return operations.run_verify(plan, home=home)


def run_restore(plan: RestorePlan, home: Path) -> AsyncIterator[Event]:
    from msde_tui.engine.runs import runner as operations

    return operations.run_restore(plan, home=home)


def describe_backup(plan: BackupPlan, home: Path) -> Description:
    what = _("back up to {dir}").format(dir=plan.directory)
    if plan.options.verify:
        what += ", " + _("then verify")
    return Description(tuple(Line(d.code, what) for d in plan.dossiers), "")


def describe_verify(plan: VerifyPlan, home: Path) -> Description:
    return Description(tuple(Line(_name(f), _("read back and check")) for f in plan.files), "")


def describe_restore(plan: RestorePlan, home: Path) -> Description:
    from msde_tui.engine.catalog import Catalog

    catalog = Catalog(home)
    lines, confirm = [], []
    for item in plan.items:
        existing = catalog.find(item.number)
        if existing is not None:
            confirm.append(existing.code)
            what = _("REPLACE {code} with {file}").format(code=existing.code, file=_name(item.source))
        else:
            what = _("new dossier {code} from {file}").format(code=f"{item.number}{item.short}",
                                                               file=_name(item.source))
        lines.append(Line(f"{item.number}{item.short}", what))
    return Description(tuple(lines), "", (), tuple(confirm))


runner.register(OperationDef("backup", BackupPlan, run_backup, describe_backup,
                             lambda p: tuple(d.code for d in p.dossiers)))
runner.register(OperationDef("verify", VerifyPlan, run_verify, describe_verify,
                             lambda p: tuple(_name(f) for f in p.files)))
runner.register(OperationDef("restore", RestorePlan, run_restore, describe_restore,
                             lambda p: tuple(f"{i.number}{i.short}" for i in p.items), changes_data=True))
