"""Archive, archive import, fiscal-year cut and tax-audit transfer as runner operations (the
automatic run is ``engine.auto.autoops``).

Archive, archive import, cut and the tax-audit transfer run in a worker thread
(``registry.in_thread``) and report through its ``emit`` (``engine.reporting``: steps, and rows
counted within a step, already named for the run's subject); each dossier (or PAF) ends with
one ``DossierResult`` whose ``details`` carry what the CLI prints, and the run writes one
audit-log line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from msde_tui.engine import identity, naming
from msde_tui.engine.backends.access.guard import refuse_access
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BadInput, DossierNotFound
from msde_tui.engine.events import DossierResult, Event
from msde_tui.engine.plans import ArchivePlan, AuditPlan, CutPlan, UnarchivePlan
from msde_tui.engine.runs import registry as runner
from msde_tui.engine.runs.registry import Description, Emit, Line, OperationDef, in_thread
from msde_tui.i18n import _

# The steps each engine function reports, in order (the progress screen's phases).
ARCHIVE_STEPS = ("read", "write", "verify", "replace", "check", "commit", "done")
UNARCHIVE_STEPS = ("verify", "read", "restore", "check", "commit", "done", "delete")
CUT_STEPS = ("check", "copy", "verify", "remove", "commit", "done")
AUDIT_STEPS = ("copy", "verify", "fec", "done", "server")


def embedded(catalog: Catalog, ref: str) -> tuple[Dossier, Path]:
    """An embedded dossier of the list, its identity settled (``identity.settle``), and its file
    (refused in words otherwise)."""
    dossier = catalog.get(ref)
    refuse_access(dossier, "an archive, a cut or a tax-audit transfer")
    if not dossier.is_embedded:
        raise BadInput(
            f"{dossier.code} is a SQL Server dossier; archive, cut and audit work on embedded "
            "dossiers for now.",
            "Export it to an embedded dossier first (msde export).",
            wizard_hint="Export it first (operation 'Export (complete)'), then import that export copy "
                        "(operation 'Import (complete)'): it becomes an embedded dossier.",
        )
    path = dossier.path(catalog.home)
    if not path.is_file():
        raise DossierNotFound(f"The file of {dossier.code} ({path}) is missing.", "Check the dossier list.")
    return identity.settle(catalog.home, dossier), path


def paf_target(home: Path, paf: Path) -> Dossier:
    """The dossier an archive file goes back into when none is chosen: the one whose own GUID
    it carries, or its one copy if that dossier has left the list (identity.owner_of)."""
    from msde_tui.engine.lifecycle.paf import read_paf_info

    info = read_paf_info(paf)
    found = identity.owner_of(Catalog(home), info.guid)
    if found is None:
        raise DossierNotFound(
            f"{paf.name} is an archive of dossier {info.code}, which is not in the dossier list.",
            "Add that dossier to the list (import or restore it) and run this again.",
        )
    return found


# --------------------------------------------------------------------------- archive


def run_archive(plan: ArchivePlan, home: Path) -> AsyncIterator[Event]:
    from msde_tui.engine.lifecycle import archive

    def one(item: tuple[str, tuple[str, ...]]) -> AsyncIterator[Event]:
        code, years = item

        def work(emit: Emit) -> DossierResult:
            dossier, path = embedded(Catalog(home), code)
            result = archive.archive_dossier(
                path, list(years), Path(plan.directory), number=dossier.number, short=dossier.short,
                emit=emit, label=code,
            )
            return DossierResult(
                code, ok=True, verified=result.verified, files=(str(result.paf),),
                message=f"{', '.join(years)} archived in {result.paf.name}.",
                details={"paf": str(result.paf), "size": result.size, "years": list(years),
                         "archived": [dataclasses.asdict(y) for y in result.years]},
            )

        return in_thread(code, "archive", ARCHIVE_STEPS, work, step_progress=False)

    options = {"years": {c: list(y) for c, y in plan.years}, "dir": plan.directory}
    codes = [c for c, _y in plan.years]
    return runner.audited(home, "archive", options, runner.one_by_one(plan.years, one), codes)


def describe_archive(plan: ArchivePlan, home: Path) -> Description:
    catalog = Catalog(home)
    lines, actions, warnings = [], [], []
    for code, years in plan.years:
        dossier = catalog.get(code)
        lines.append(Line(code, _("archive {years} into a PAF in {dir}; their entries are REPLACED by "
                                  "one balance entry per year").format(years=", ".join(years), dir=plan.directory)))
        actions.append(_("{code}: write {file} aside with every entry, line and attachment of {years}, "
                         "read it back and check it").format(
            code=code, file=f"{dossier.number}-{dossier.short}_YYYYMMDD_HHMMSS.paf", years=", ".join(years)))
        actions.append(_("{code}: in one transaction, DELETE those entries and INSERT one balance entry "
                         "per year; check the balances are unchanged").format(code=code))
    if plan.years:
        warnings.append(_("Archiving REMOVES the details of these years from the dossiers (Archive "
                          "import puts them back)."))
    return Description(tuple(lines), "\n".join(actions) + "\n", tuple(warnings),
                       tuple(c for c, _y in plan.years))


# --------------------------------------------------------------------------- archive import


def run_unarchive(plan: UnarchivePlan, home: Path) -> AsyncIterator[Event]:
    from msde_tui.engine.lifecycle import unarchive
    from msde_tui.engine.lifecycle.paf import read_paf_info

    def one(item: tuple[str, tuple[str, ...]]) -> AsyncIterator[Event]:
        paf, years = item
        label = Path(paf).name

        def work(emit: Emit) -> DossierResult:
            info = read_paf_info(Path(paf))
            target = Catalog(home).get(plan.dossier) if plan.dossier else paf_target(home, Path(paf))
            target, path = embedded(Catalog(home), target.code)
            identity.check_line(target, info.guid, info.path.name, info.code)  # refused in words, nothing touched
            result = unarchive.unarchive(path, Path(paf), years=list(years) or None, delete=plan.delete,
                                       emit=emit, label=label, accept=identity.line(target))
            return DossierResult(
                # the files as they are now: the dossier changed, and the PAF unless it was deleted
                label, ok=True, verified=True, files=(str(path),) + (() if result.paf_deleted else (paf,)),
                message=f"{target.code}: {', '.join(result.years)} back from {label}.",
                details={"listed": target.code, "dossier": result.dossier, "paf": str(result.paf),
                         "years": list(result.years), "entries": result.entries, "lines": result.lines,
                         "attachments": result.attachments, "paf_deleted": result.paf_deleted},
            )

        return in_thread(label, "unarchive", UNARCHIVE_STEPS, work, step_progress=False)

    options = {"pafs": {p: list(y) or "all" for p, y in plan.items}, "delete": plan.delete}
    return runner.audited(home, "unarchive", options, runner.one_by_one(plan.items, one))


def describe_unarchive(plan: UnarchivePlan, home: Path) -> Description:
    from msde_tui.engine.lifecycle.paf import read_paf_info

    lines, actions, warnings, confirm = [], [], [], []
    for paf, years in plan.items:
        target = Catalog(home).get(plan.dossier) if plan.dossier else paf_target(home, Path(paf))
        if plan.dossier:  # a dossier the user chose: refused here, in words, as the run refuses it
            info = read_paf_info(Path(paf))
            identity.check_line(target, info.guid, info.path.name, info.code)
        confirm.append(target.code)
        chosen = ", ".join(years) if years else _("every archived year")
        lines.append(Line(Path(paf).name, _("put {years} back into {code}; its balance entries are "
                                            "REPLACED by the details").format(years=chosen, code=target.code)))
        actions.append(_("check {file} against its digests and against {code}").format(file=paf, code=target.code))
        actions.append(_("{code}: in one transaction, DELETE the balance entries and INSERT every entry, "
                         "line and attachment of {years}").format(code=target.code, years=chosen))
        if plan.delete:
            actions.append(_("DELETE {file} once all its years are back").format(file=paf))
            warnings.append(_("{file} is DELETED once all its years are back.").format(file=Path(paf).name))
    return Description(tuple(lines), "\n".join(actions) + "\n", tuple(warnings), tuple(dict.fromkeys(confirm)))


# --------------------------------------------------------------------------- cut


def run_cut(plan: CutPlan, home: Path) -> AsyncIterator[Event]:
    from msde_tui.engine.lifecycle import cut

    label = plan.dossier

    def work(emit: Emit) -> DossierResult:
        result = cut.cut(home, plan.dossier, plan.keep_from, clean_references=plan.clean_references,
                         emit=emit, label=label)
        listed = f"{result.catalog_number}{Catalog(home).get(result.catalog_number).short}" \
            if result.catalog_number else result.cut_code
        message = (f"{', '.join(result.years)} moved to dossier {listed} (file {result.cut_path.name}, "
                   f"verified); {result.dossier} keeps {', '.join(result.kept_years)}.")
        if plan.clean_references:
            message += f" {result.third_parties_deleted} unused third parties deleted."
        return DossierResult(
            label, ok=True, verified=result.verified, files=(str(result.cut_path),), message=message,
            details={"dossier": result.dossier, "cut": result.cut_code, "cut_file": str(result.cut_path),
                     "cut_number": result.catalog_number, "cut_listed": listed, "moved_years": list(result.years),
                     "kept_years": list(result.kept_years), "rows": result.rows,
                     "third_parties_deleted": result.third_parties_deleted, "verified": result.verified,
                     "seconds": result.seconds},
        )

    options = {"keep_from": plan.keep_from, "clean_references": plan.clean_references}
    return runner.audited(home, "cut", options, in_thread(label, "cut", CUT_STEPS, work, step_progress=False),
                          [label])


def describe_cut(plan: CutPlan, home: Path) -> Description:
    from msde_tui.engine.accounting import ledger

    dossier, path = embedded(Catalog(home), plan.dossier)
    years = ledger.years_of(path)
    first = [y for y in years if y.code == plan.keep_from] or [
        y for y in years if str(y.end.year) == plan.keep_from]
    if len(first) != 1:
        raise BadInput(f"No single fiscal year '{plan.keep_from}' in {dossier.code}.",
                       f"Name one of its fiscal years: {', '.join(y.code for y in years) or 'none'}.")
    moved = [y.code for y in years if y.start < first[0].start]
    kept = [y.code for y in years if y.start >= first[0].start]
    if not moved:
        raise BadInput(f"Fiscal year {first[0].code} is the dossier's first year; there is nothing to cut.",
                       "Name a later year as the first year to keep.")
    lines = [Line(dossier.code, _("move {moved} into a new dossier {code}_CUTnnn; {code} keeps {kept}").format(
        moved=", ".join(moved) or "-", code=dossier.code, kept=", ".join(kept) or "-"))]
    actions = [
        _("copy {code} with only {moved} into {file} (built aside), compare every table").format(
            code=dossier.code, moved=", ".join(moved) or "-", file=f"{Path(dossier.location).stem}_CUTnnn.sqlite"),
        _("add the cut dossier to the list under the first free number"),
        _("{code}: DELETE the entries of {moved}").format(code=dossier.code, moved=", ".join(moved) or "-"),
    ]
    warnings = [_("{code} LOSES {moved}: they live on in the cut dossier only.").format(
        code=dossier.code, moved=", ".join(moved) or "-")]
    if plan.clean_references:
        actions.append(_("{code}: DELETE the third parties no longer used").format(code=dossier.code))
    return Description(tuple(lines), "\n".join(actions) + "\n", tuple(warnings), (dossier.code,))


# --------------------------------------------------------------------------- tax-audit transfer


def run_audit(plan: AuditPlan, home: Path) -> AsyncIterator[Event]:
    from msde_tui.engine.lifecycle import tax_audit as audit

    label = plan.dossier

    def work(emit: Emit) -> DossierResult:
        target = Catalog(home).get(plan.dossier)
        out = Path(plan.directory) if plan.directory else None
        common: dict[str, Any] = {"simplified": plan.simplified, "attachments": plan.attachments,
                                  "with_fec": plan.fec, "encoding": plan.encoding,
                                  "fec_id": plan.fec_id or None, "provisional": plan.provisional,
                                  "paf": Path(plan.paf) if plan.paf else None,
                                  "emit": emit, "label": label}
        base = Path(target.location).stem if target.is_embedded else target.location
        database = audit.server_database(target.number, target.short) if plan.to != "embedded" else None
        with audit.dossier_file(target, home, password=plan.source_password or None) as path:
            if database is not None:
                result = audit.audit_to_server(path, list(plan.years), home=home, profile=plan.to,
                                               database=database, password=plan.password or None,
                                               fec_directory=out, **common)
            else:
                if out is None:
                    raise BadInput("The tax-audit copy needs a directory.", "Give an existing directory.")
                result = audit.audit_dossier(path, list(plan.years), out, base=base, **common)
        copy = f"{plan.to}: {database}" if database else str(result.path)
        files = (copy, *(str(f.path) for f in result.fec_files),
                 *(str(f.description) for f in result.fec_files if f.description))
        message = (f"tax-audit copy {database + ' on ' + plan.to if database else result.path.name} written "
                   f"and verified. {naming.NOT_RESTORABLE}")
        for f in result.fec_files:
            message += f" FEC {f.path.name}{' (provisional)' if f.provisional else ''}."
        for warning in result.warnings:
            message += f" Warning: {warning}"
        return DossierResult(label, ok=True, verified=result.verified, files=files, message=message,
                             details={"describe": audit.describe(result), "result": result})

    options = {"years": list(plan.years), "dir": plan.directory or None, "to": plan.to,
               "simplified": plan.simplified, "attachments": plan.attachments, "fec": plan.fec,
               "encoding": plan.encoding, "fec_id": plan.fec_id or None, "provisional": plan.provisional,
               "paf": plan.paf or None}
    return runner.audited(home, "audit", options,
                          in_thread(label, "audit", AUDIT_STEPS, work, step_progress=False), [label])


def describe_audit(plan: AuditPlan, home: Path) -> Description:
    dossier = Catalog(home).get(plan.dossier)
    years = ", ".join(plan.years)
    if plan.to == "embedded":
        base = Path(dossier.location).stem if dossier.is_embedded else dossier.location
        target = str(Path(plan.directory) / f"Admin{base}.sqlite")
    else:
        from msde_tui.engine.lifecycle import tax_audit as audit

        target = f"{audit.server_database(dossier.number, dossier.short)} ({plan.to})"
    what = _("tax-audit copy of {years} to {target}").format(years=years, target=target)
    if plan.fec:
        what += ", " + _("FEC files in {dir}").format(dir=plan.directory)
    actions = [_("copy {years} of {code} into {target} (built aside), check it").format(
        years=years, code=dossier.code, target=target)]
    if plan.simplified:
        actions.append(_("real entries only (no simulations)"))
    if not plan.attachments:
        actions.append(_("without the attached documents"))
    if plan.fec:
        actions.append(_("write one FEC file per fiscal year in {dir} ({encoding})").format(
            dir=plan.directory, encoding=plan.encoding))
    warnings = (_("This copy is for the tax administration only; it is never restored."),)
    return Description((Line(dossier.code, what),), "\n".join(actions) + "\n", warnings)


runner.register(OperationDef("archive", ArchivePlan, run_archive, describe_archive,
                             lambda p: tuple(c for c, _y in p.years), changes_data=True))
runner.register(OperationDef("unarchive", UnarchivePlan, run_unarchive, describe_unarchive,
                             lambda p: tuple(Path(f).name for f, _y in p.items), changes_data=True))
runner.register(OperationDef("cut", CutPlan, run_cut, describe_cut, lambda p: (p.dossier,), changes_data=True))
runner.register(OperationDef("audit", AuditPlan, run_audit, describe_audit, lambda p: (p.dossier,)))
