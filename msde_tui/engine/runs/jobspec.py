"""What a detached job runs: its plan as JSON (the password and the plan's secrets left out:
they go through the runner's stdin pipe), its events as JSON lines, and the function that runs
the plan (a registered operation's, see ``engine.runner``, or backup / verify / restore).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from msde_tui.engine import events as ev
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BadInput
from msde_tui.engine.plans import (
    BackupOptions,
    BackupPlan,
    Connection,
    RestoreItem,
    RestorePlan,
    VerifyPlan,
    WizardPlan,
)

# ---------------------------------------------------------------------------------------------
# (de)serialization


def connection_to_dict(connection: Connection) -> dict[str, Any]:
    data = dataclasses.asdict(connection)
    data.pop("password", None)
    return data


def plan_to_dict(plan: WizardPlan) -> dict[str, Any]:
    """The plan as JSON-ready data, without the password."""
    return {
        "connection": connection_to_dict(plan.connection),
        "operation": plan.operation,
        "verify_after": plan.verify_after,
        "directory": plan.directory,
        "data_dir": plan.data_dir,
        "dossiers": [dataclasses.asdict(d) for d in plan.dossiers],
        "restore_items": [dataclasses.asdict(i) for i in plan.restore_items],
        "op": None if plan.op is None else op_registry().plan_to_dict(plan.op),
    }


def op_registry() -> Any:
    from msde_tui.engine.runs import registry as runner  # late: it loads the operations' modules

    return runner


def plan_from_dict(
    data: dict[str, Any], password: str = "", secrets: dict[str, str] | None = None
) -> WizardPlan:
    conn = dict(data.get("connection") or {})
    conn.pop("password", None)
    op = data.get("op")
    return WizardPlan(
        op=op_registry().plan_from_dict(op, secrets) if isinstance(op, dict) else None,
        connection=Connection(**conn, password=password),
        operation=str(data.get("operation", "backup")),
        verify_after=bool(data.get("verify_after", True)),
        directory=str(data.get("directory", "")),
        data_dir=str(data.get("data_dir", "")),
        dossiers=tuple(Dossier(**d) for d in data.get("dossiers", [])),
        restore_items=tuple(RestoreItem(**i) for i in data.get("restore_items", [])),
    )


_EVENT_TYPES: dict[str, type[ev.Event]] = {
    cls.__name__: cls
    for cls in (ev.Started, ev.Step, ev.Progress, ev.ServerMessage, ev.Statement, ev.DossierResult)
}


def event_to_dict(event: ev.Event, at: float | None = None) -> dict[str, Any]:
    data = dataclasses.asdict(event)
    data["type"] = type(event).__name__
    data["t"] = time.time() if at is None else at
    return data


def event_from_dict(data: dict[str, Any]) -> ev.Event | None:
    """Rebuild an event; None for an unknown type (a newer runner) so readers skip it."""
    cls = _EVENT_TYPES.get(str(data.get("type")))
    if cls is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in data.items() if k in names}
    for key in ("steps", "files"):
        if key in values and isinstance(values[key], list):
            values[key] = tuple(values[key])
    try:
        return cls(**values)
    except TypeError:
        return None


# ---------------------------------------------------------------------------------------------
# what a job runs


def to_operation_plan(plan: WizardPlan) -> BackupPlan | VerifyPlan | RestorePlan:
    """The engine plan of a wizard plan (backup, verify or restore)."""
    if plan.operation == "backup":
        if not plan.dossiers:
            raise BadInput("No dossier was chosen for the backup.", "Tick at least one dossier.")
        return BackupPlan(
            connection=plan.connection,
            dossiers=plan.dossiers,
            directory=plan.directory,
            options=BackupOptions(verify=plan.verify_after),
        )
    if plan.operation == "verify":
        files = tuple(item.source for item in plan.restore_items)
        if not files:
            raise BadInput("No backup was chosen to verify.", "Tick at least one backup.")
        return VerifyPlan(connection=plan.connection, files=files)
    if plan.operation == "restore":
        if not plan.restore_items:
            raise BadInput("No backup was chosen to restore.", "Tick at least one backup.")
        items = tuple(
            dataclasses.replace(item, data_dir=item.data_dir or plan.data_dir or None)
            for item in plan.restore_items
        )
        return RestorePlan(connection=plan.connection, items=items, verify_first=plan.verify_after)
    raise BadInput(f"The operation '{plan.operation}' cannot run as a job.")


Runner = Callable[[WizardPlan, Path], AsyncIterator[ev.Event]]


def _engine_runner(name: str) -> Runner:
    def run(plan: WizardPlan, home: Path) -> AsyncIterator[ev.Event]:
        from msde_tui.engine.runs import (
            runner as operations,  # late: keeps this module light to import
        )

        function = getattr(operations, name)
        return function(to_operation_plan(plan), home=home)

    return run


# Operation id -> what runs it. Later operations add their own entry here.
RUNNERS: dict[str, Runner] = {
    "backup": _engine_runner("run_backup"),
    "verify": _engine_runner("run_verify"),
    "restore": _engine_runner("run_restore"),
}


def _op_runner(plan: WizardPlan, home: Path) -> AsyncIterator[ev.Event]:
    return op_registry().run(plan.op, home)


def runner_for(plan: WizardPlan) -> Runner | None:
    """What runs this plan: its registered operation's plan, else a built-in runner."""
    if plan.op is not None:
        return _op_runner
    return RUNNERS.get(plan.operation)


def plan_subjects(plan: WizardPlan) -> tuple[str, ...]:
    """What the events of this plan are about: dossier codes or file names, in order."""
    if plan.op is not None:
        return tuple(op_registry().subjects(plan.op))
    if plan.operation == "backup":
        return tuple(d.code for d in plan.dossiers)
    if plan.operation == "restore":
        return tuple(f"{i.number}{i.short}" for i in plan.restore_items)
    return tuple(Path(i.source.replace("\\", "/")).name for i in plan.restore_items)
