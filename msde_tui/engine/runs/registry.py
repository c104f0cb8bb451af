"""Every operation, registered once: name -> plan type -> async run, words and exact actions.

One contract for all of them: an immutable plan in, ``AsyncIterator[Event]`` out (``events``:
``Started``, ``Step``, ``Progress``, exactly one ``DossierResult`` per dossier or file), and
one audit-log line written here, by the engine, whoever started the work. The wizard (summary,
progress), the CLI and the detached job runner (``engine.jobs``) find an operation through
this module only:

- ``run(plan, home)``: the event stream;
- ``describe(plan, home)``: what will happen, in words (which dossiers, which years, which files
  written, replaced or deleted), the exact actions (F3) and the codes to type to confirm;
- ``subjects(plan)``: the labels of the results, known before the work starts;
- ``plan_to_dict`` / ``plan_from_dict``: a plan as JSON for a job, its secrets left out.

The operations whose engine functions are synchronous (packed files, export copies, archive,
cut, tax-audit transfer) are wrapped by ``in_thread``: the work runs in a worker thread and
reports through ``emit`` (``events.Emit``) with the same events an async operation yields.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_type_hints

from msde_tui.engine import auditlog
from msde_tui.engine.errors import BadInput, Cancelled
from msde_tui.engine.events import DossierResult, Emit, Event, Progress, Started, Step
from msde_tui.engine.runs.outcome import failed


@dataclass(frozen=True)
class Line:
    subject: str
    what: str


@dataclass(frozen=True)
class Description:
    """What a plan will do, before it runs. Reading it changes nothing."""

    lines: tuple[Line, ...]
    actions: str  # the exact file actions or T-SQL, one per line (F3)
    warnings: tuple[str, ...] = ()
    confirm: tuple[str, ...] = ()  # dossier codes to type before data is changed or removed


@dataclass(frozen=True)
class OperationDef:
    name: str
    plan_type: type
    run: Callable[[Any, Path], AsyncIterator[Event]]
    describe: Callable[[Any, Path], Description]
    subjects: Callable[[Any], tuple[str, ...]]
    changes_data: bool = False  # changes or removes data: the summary asks a confirmation


_REGISTRY: dict[str, OperationDef] = {}
# Modules whose import registers their operations (each calls ``register``).
MODULES = ("msde_tui.engine.runs.basicops", "msde_tui.engine.packs.packops", "msde_tui.engine.lifecycle.lifeops",
           "msde_tui.engine.auto.autoops", "msde_tui.engine.backends.access.accessops")
_loaded = False
_lock = threading.Lock()


def register(definition: OperationDef) -> None:
    _REGISTRY[definition.name] = definition


def _load() -> None:
    global _loaded
    with _lock:
        if not _loaded:
            for name in MODULES:
                importlib.import_module(name)
            _loaded = True


def names() -> list[str]:
    _load()
    return list(_REGISTRY)


def get(name: str) -> OperationDef:
    _load()
    if name not in _REGISTRY:
        raise BadInput(f"There is no operation '{name}'.", f"Operations: {', '.join(_REGISTRY)}.")
    return _REGISTRY[name]


def of_plan(plan: object) -> OperationDef:
    _load()
    for definition in _REGISTRY.values():
        if type(plan) is definition.plan_type:
            return definition
    raise BadInput(f"No operation runs a {type(plan).__name__}.")


def run(plan: object, home: Path) -> AsyncIterator[Event]:
    return of_plan(plan).run(plan, Path(home))


def describe(plan: object, home: Path) -> Description:
    return of_plan(plan).describe(plan, Path(home))


def subjects(plan: object) -> tuple[str, ...]:
    return of_plan(plan).subjects(plan)


# --------------------------------------------------------------------------- plans as JSON


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)  # a record in a plan (the Access dossier to convert)
    return value


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def plan_to_dict(plan: object) -> dict[str, Any]:
    """The plan as JSON-ready data, its secret fields (passphrases, passwords) left out."""
    definition = of_plan(plan)
    data: dict[str, Any] = {"operation": definition.name}
    for f in dataclasses.fields(plan):  # type: ignore[arg-type]
        if not f.metadata.get("secret"):
            data[f.name] = _plain(getattr(plan, f.name))
    return data


def secrets_of(plan: object) -> dict[str, str]:
    """The secret fields of a plan that are set (sent to a job through its stdin pipe)."""
    if not dataclasses.is_dataclass(plan):
        return {}
    return {
        f.name: getattr(plan, f.name)
        for f in dataclasses.fields(plan)
        if f.metadata.get("secret") and getattr(plan, f.name)
    }


def plan_from_dict(data: dict[str, Any], secrets: dict[str, str] | None = None) -> object:
    definition = get(str(data.get("operation")))
    known = {f.name: f for f in dataclasses.fields(definition.plan_type)}
    values = {k: _tuples(v) for k, v in data.items() if k in known and not known[k].metadata.get("secret")}
    hints = get_type_hints(definition.plan_type)
    for name, value in values.items():
        if isinstance(value, dict) and dataclasses.is_dataclass(hints.get(name)):
            values[name] = hints[name](**value)  # the record _plain wrote as a dict
    for name, value in (secrets or {}).items():
        if name in known and known[name].metadata.get("secret"):
            values[name] = str(value)
    return definition.plan_type(**values)


# --------------------------------------------------------------------------- adapters


async def in_thread(
    label: str,
    operation: str,
    steps: tuple[str, ...],
    work: Callable[[Emit], DossierResult],
    *,
    step_progress: bool = True,
) -> AsyncIterator[Event]:
    """``Started``, the events ``work`` emits from its thread, then its one ``DossierResult``.

    ``steps`` are the step names the work reports in order: reaching one gives a ``Progress``
    with the share of steps done before it — unless ``step_progress`` is False, for work that
    emits its own ``Progress`` within each step (``lifecycle.report``, ``packs.reporting``).

    ``work`` runs in a worker thread and calls ``emit`` from there; an ``MsdeError`` (or any
    exception) becomes a failed result for ``label``.

    Cancelling the consumer (F8, ``msde jobs cancel``, SIGTERM of a job) stops the work at its
    next ``Progress``: ``emit`` raises ``Cancelled`` there, inside the work, whose clean-up then
    runs as for any failure (nothing built aside is published, a transaction is rolled back).
    Work reports ``Progress`` only while nothing is published yet (moving rows or bytes); past
    that point it emits ``Step`` events only, and so runs to its end.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    stop = threading.Event()

    def emit(event: Event) -> None:
        if stop.is_set() and isinstance(event, Progress):
            raise Cancelled("Cancelled; nothing half-done was kept.", "Run it again when you are ready.")
        if event.dossier != label:  # the work's events are this subject's, whatever it names them
            event = dataclasses.replace(event, dossier=label)
        loop.call_soon_threadsafe(queue.put_nowait, event)

    def body() -> DossierResult:
        try:
            return work(emit)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    started = time.monotonic()
    yield Started(label, operation, steps)
    future = loop.run_in_executor(None, body)
    cancelled = False
    reached: set[str] = set()
    while True:
        try:
            event = await queue.get()
        except asyncio.CancelledError:
            # A thread cannot be killed: it is asked to stop at its next Progress (see above);
            # its true result (cancelled, or done if it was past that point) is given, then the
            # run stops before the next one.
            cancelled = True
            stop.set()
            continue
        if event is None:
            break
        yield event
        if step_progress and isinstance(event, Step) and event.step in steps and event.step not in reached:
            reached.add(event.step)  # how far, from the step reached (once per step)
            yield Progress(label, percent=round(100.0 * steps.index(event.step) / len(steps), 1))
    while not future.done():
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            cancelled = True
        except Exception:  # noqa: BLE001, S110 - read below, as the dossier's result
            pass
    try:
        result = future.result()
    except Exception as exc:  # noqa: BLE001 - the dossier's result says it in words
        result = failed(label, exc)
    yield dataclasses.replace(result, dossier=label, seconds=round(time.monotonic() - started, 3))
    if cancelled:
        raise asyncio.CancelledError


async def audited(
    home: Path,
    operation: str,
    options: dict[str, Any],
    events: AsyncIterator[Event],
    dossiers: Iterable[str] = (),
) -> AsyncIterator[Event]:
    """``events`` passed through, and one audit-log line when they end (or are cancelled)."""
    record = auditlog.Record(operation=operation, dossiers=list(dossiers), options=dict(options))
    started = time.time()
    results: list[DossierResult] = []
    finished = False
    try:
        async for event in events:
            if isinstance(event, DossierResult):
                results.append(event)
            yield event
        finished = True
    finally:
        ok = sum(r.ok for r in results)
        bad = len(results) - ok
        if not finished:
            record.result = "cancelled"
        elif bad:
            record.result = "partial" if ok else "failed"
        listed = [str(r.details.get("listed")) for r in results if r.ok and r.details.get("listed")]
        record.dossiers = list(dict.fromkeys([*record.dossiers, *listed])) or [r.dossier for r in results]
        record.message = "; ".join(f"{r.dossier}: {r.message}" for r in results if not r.ok)
        record.files = [f for r in results if r.ok for f in r.files]
        with contextlib.suppress(OSError):
            auditlog.append(Path(home), record, started=started)


async def one_by_one(
    items: Iterable[Any], make: Callable[[Any], AsyncIterator[Event]]
) -> AsyncIterator[Event]:
    """The events of each item's stream in turn (one dossier's failure never stops the next)."""
    for item in items:
        async for event in make(item):
            yield event
