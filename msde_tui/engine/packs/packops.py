"""Packed files and export copies as runner operations: PBF/PTF, export copy, import, apply.

Each dossier (or file) gets ``Started``, the events the engine emits (a ``Step`` per table or
phase, ``Progress`` in rows: ``engine.reporting``), and one ``DossierResult`` carrying what the
CLI prints (``details``); the run writes one audit-log line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from msde_tui.engine import naming
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.events import DossierResult, Event
from msde_tui.engine.plans import ApplyPlan, ExportCopyPlan, ImportPlan, PackPlan
from msde_tui.engine.runs import registry as runner
from msde_tui.engine.runs.registry import (
    Description,
    Emit,
    Line,
    OperationDef,
    in_thread,
)
from msde_tui.i18n import _


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def where(record: Dossier, home: Path) -> str:
    """What an import or apply wrote: the dossier's file, or its database on the server."""
    return str(record.path(home)) if record.is_embedded else record.location


def _password(value: str) -> str | None:
    return value or None


# --------------------------------------------------------------------------- PBF / PTF


def run_pack(plan: PackPlan, home: Path) -> AsyncIterator[Event]:
    from msde_tui.engine.packs import packwrite

    def one(code: str) -> AsyncIterator[Event]:
        def work(emit: Emit) -> DossierResult:
            dossier = Catalog(home).get(code)
            directory = Path(plan.directory)
            directory.mkdir(parents=True, exist_ok=True)
            result = packwrite.export_package(
                dossier, home, directory, partial=plan.partial,
                passphrase=plan.passphrase or None, password=_password(plan.password),
                emit=emit,
            )
            rows = sum(t.get("rows", 0) for t in result.tables.values())
            deleted = sum(t.get("deleted", 0) for t in result.tables.values())
            message = f"{result.kind} {result.path.name} written and verified ({_size(result.size)})."
            if result.kind == "PTF":
                message += f" {rows:,} rows changed, {deleted:,} deleted."
            if result.warning:
                message += f" {result.warning}"
            if result.encrypted:
                message += " Encrypted."
            details = {"file": str(result.path), "kind": result.kind, "package_id": result.package_id,
                       "size": result.size, "tables": result.tables, "warning": result.warning,
                       "encrypted": result.encrypted, "rows": rows, "deleted": deleted}
            return DossierResult(code, ok=True, message=message, verified=True,
                                 files=(str(result.path),), details=details)

        return in_thread(code, "pack", ("pack", "verify"), work, step_progress=False)

    options = {"dir": plan.directory, "partial": plan.partial, "encrypt": bool(plan.passphrase)}
    return runner.audited(home, "pack", options, runner.one_by_one(plan.dossiers, one), plan.dossiers)


def describe_pack(plan: PackPlan, home: Path) -> Description:
    from msde_tui.engine.packs import packwrite

    catalog = Catalog(home)
    lines, actions, warnings = [], [], []
    for code in plan.dossiers:
        dossier = catalog.get(code)
        kind = "PBF"
        if plan.partial:
            try:
                previous = packwrite.previous_package(dossier, home, password=_password(plan.password))
            except Exception:  # noqa: BLE001 - unreadable now: the run says why
                previous = None
            if previous is None:
                warnings.append(_("No earlier packed file of {code} is known: the first partial "
                                  "export writes a complete packed backup file (PBF).").format(code=code))
            else:
                kind = "PTF"
        name = naming.packed_file_name(dossier.number, dossier.short, kind, _stamp_time())
        name = name.replace(naming.stamp(_stamp_time()), "YYYYMMDD_HHMMSS")
        what = _("write {kind} {file}, read it back and check it").format(kind=kind, file=name)
        if plan.passphrase:
            what += ", " + _("encrypted")
        lines.append(Line(code, what))
        actions.append(_("{code}: write {path} aside, verify every member, then rename it into place")
                       .format(code=code, path=str(Path(plan.directory) / name)))
    return Description(tuple(lines), "\n".join(actions) + "\n", tuple(warnings))


def _stamp_time() -> Any:
    from datetime import datetime

    return datetime(2000, 1, 1)


# --------------------------------------------------------------------------- export copy


def run_export_copy(plan: ExportCopyPlan, home: Path) -> AsyncIterator[Event]:
    from msde_tui.engine.packs import export_copy

    def one(code: str) -> AsyncIterator[Event]:
        def work(emit: Emit) -> DossierResult:
            dossier = Catalog(home).get(code)
            directory = Path(plan.directory) if plan.directory else None
            if plan.to == "embedded" and directory is not None:
                directory.mkdir(parents=True, exist_ok=True)
            result = export_copy.export_copy(
                dossier, home, to=plan.to, directory=directory, password=_password(plan.password),
                emit=emit,
            )
            rows = sum(result.tables.values())
            target = Path(result.target).name if result.backend == "embedded" else (
                f"{result.target} ({result.profile})")
            return DossierResult(code, ok=True, verified=True, files=(str(result.target),),
                                 message=f"Export copy {target} written and checked ({rows:,} rows).",
                                 details={"result": asdict(result), "rows": rows})

        return in_thread(code, "export", ("copy", "check"), work, step_progress=False)

    options = {"to": plan.to, "dir": plan.directory or None}
    return runner.audited(home, "export", options, runner.one_by_one(plan.dossiers, one), plan.dossiers)


def describe_export_copy(plan: ExportCopyPlan, home: Path) -> Description:
    catalog = Catalog(home)
    lines, actions, warnings = [], [], []
    for code in plan.dossiers:
        dossier = catalog.get(code)
        base = Path(dossier.location).stem if dossier.is_embedded else dossier.location
        name = naming.export_name(base)
        if plan.to == "embedded":
            target = Path(plan.directory or home) / f"{name}.sqlite"
            replaced = target.exists()
            what = (_("REPLACE the export copy {file}") if replaced else _("write the export copy {file}")) \
                .format(file=target.name)
            if replaced:
                warnings.append(_("{file} exists: it is replaced by the new copy.").format(file=target))
            actions.append(_("{code}: copy every table into {path} (built aside), count and compare "
                             "the rows, then rename it into place").format(code=code, path=target))
        else:
            what = _("write the database {db} on {profile}").format(db=name, profile=plan.to)
            actions.append(_("{code}: CREATE DATABASE [{db}] on {profile}, copy every table, count and "
                             "compare the rows").format(code=code, db=name, profile=plan.to))
        lines.append(Line(code, what))
    return Description(tuple(lines), "\n".join(actions) + "\n", tuple(warnings))


# --------------------------------------------------------------------------- import


def run_import(plan: ImportPlan, home: Path) -> AsyncIterator[Event]:
    from msde_tui.engine.packs import cutimport, export_copy, packimport

    label = Path(plan.file).name
    path = Path(plan.file)

    def work(emit: Emit) -> DossierResult:
        number = plan.number or None
        if plan.source == "database":
            record = export_copy.import_export_database(
                plan.file, home, profile=plan.from_profile, number=number, to=plan.to or None,
                password=_password(plan.password),
                emit=emit,
            )
        elif plan.source == "copy":
            record = export_copy.import_export_copy(path, home, number=number)
        elif plan.source == "cut":
            record = cutimport.import_cut_file(path, home, number=number)
        else:
            record = packimport.import_package(
                path, home, number=number, to_profile=None if plan.to == "embedded" else plan.to,
                passphrase=plan.passphrase or None, password=_password(plan.password),
                emit=emit,
            )
        written = where(record, home)
        return DossierResult(
            label, ok=True, verified=True, files=(written,),
            message=f"Imported as {record.code} ({record.company}); every row was checked.",
            details={"listed": record.code, "dossier": asdict(record) | {"code": record.code}},
        )

    options = {"file": plan.file, "number": plan.number or None, "to": plan.to, "source": plan.source,
               "from": plan.from_profile or None}
    return runner.audited(home, "import", options, in_thread(label, "import", ("read", "import", "check"), work, step_progress=False))


def describe_import(plan: ImportPlan, home: Path) -> Description:
    catalog = Catalog(home)
    number = catalog.free_number(plan.number or None)  # a taken number is refused here already
    label = Path(plan.file).name
    kind = {"database": _("export copy database"), "pbf": _("packed backup file"), "copy": _("export copy"), "cut": _("cut file")}.get(
        plan.source, plan.source)
    where_to = _("an embedded dossier in {home}").format(home=home) if plan.to == "embedded" else \
        _("a database on {profile}").format(profile=plan.to)
    lines = [Line(label, _("{kind} becomes the new dossier number {number} ({where})").format(
        kind=kind, number=number, where=where_to))]
    actions = [
        _("check every member of {file}").format(file=plan.file),
        _("build dossier {number} aside, load and compare every row, then publish it").format(number=number),
        _("add dossier {number} to the dossier list").format(number=number),
    ]
    return Description(tuple(lines), "\n".join(actions) + "\n", ())


# --------------------------------------------------------------------------- apply


def run_apply(plan: ApplyPlan, home: Path) -> AsyncIterator[Event]:
    from msde_tui.engine.packs import packapply

    label = plan.dossier or Path(plan.file).name

    def work(emit: Emit) -> DossierResult:
        result = packapply.apply_package(
            Path(plan.file), home, dossier_ref=plan.dossier or None, passphrase=plan.passphrase or None,
            password=_password(plan.password), emit=emit,
        )
        target = result.dossier
        return DossierResult(
            label, ok=True, verified=True, files=(where(target, home),),
            message=f"{target.code} is up to date with {Path(plan.file).name}: {result.upserted:,} rows "
                    f"written, {result.deleted:,} deleted.",
            details={"listed": target.code, "dossier": target.code, "package_id": result.package_id, "upserted": result.upserted,
                     "deleted": result.deleted, "replaced_tables": result.replaced_tables},
        )

    return runner.audited(home, "apply", {"file": plan.file},
                          in_thread(label, "apply", ("check", "apply", "check"), work, step_progress=False),
                          [plan.dossier] if plan.dossier else [])


def describe_apply(plan: ApplyPlan, home: Path) -> Description:
    if not plan.dossier:
        line = Line(Path(plan.file).name, _("CHANGE the dossier this PTF follows (found by its GUID)"))
        return Description((line,), _("check every member of {file}").format(file=plan.file) + "\n")
    dossier = Catalog(home).get(plan.dossier)
    lines = [Line(dossier.code, _("CHANGE {code} with the transfer file {file}").format(
        code=dossier.code, file=Path(plan.file).name))]
    actions = [
        _("check every member of {file}").format(file=plan.file),
        _("compare {code} with the state the PTF follows; refuse if it differs").format(code=dossier.code),
        _("in one transaction: write the changed rows, delete the deleted keys, check the result")
        .format(),
    ]
    warnings = [_("{code} ({company}) is changed: the rows of the PTF replace its rows.").format(
        code=dossier.code, company=dossier.company)]
    return Description(tuple(lines), "\n".join(actions) + "\n", tuple(warnings), (dossier.code,))


runner.register(OperationDef("pack", PackPlan, run_pack, describe_pack, lambda p: tuple(p.dossiers)))
runner.register(OperationDef("export_copy", ExportCopyPlan, run_export_copy, describe_export_copy,
                             lambda p: tuple(p.dossiers)))
runner.register(OperationDef("import", ImportPlan, run_import, describe_import,
                             lambda p: (Path(p.file).name,)))
runner.register(OperationDef("apply", ApplyPlan, run_apply, describe_apply,
                             lambda p: (p.dossier or Path(p.file).name,),
                             changes_data=True))
