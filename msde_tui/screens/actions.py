"""What a plan will do, in words and in exact T-SQL or file actions, plus its warnings.

Pure functions (no I/O, no Textual): the summary screen gathers the facts (server facts, sizes,
free space, backup headers) and this module turns plan + facts into text. File names carry
the time of the run, shown here as YYYYMMDD_HHMMSS; the report of the run has the real ones
(the engine's Statement events).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from msde_tui.engine import naming
from msde_tui.engine.backends.base import BackupInfo, ServerFacts
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.plans import RestoreItem, WizardPlan, restore_database
from msde_tui.engine.textsafe import one_line
from msde_tui.i18n import _
from msde_tui.screens.widgets import human_size

STAMP = "YYYYMMDD_HHMMSS"
NEAR_LIMIT = 0.8


@dataclass(frozen=True)
class Facts:
    """What the summary knows about the target when it is shown."""

    server: ServerFacts | None = None
    free_bytes: int | None = None
    sizes: dict[str, int] = field(default_factory=dict)  # dossier code -> bytes
    backups: dict[str, BackupInfo] = field(default_factory=dict)  # file -> header
    existing: dict[str, Dossier] = field(default_factory=dict)  # number -> dossier in the list


@dataclass(frozen=True)
class Line:
    subject: str
    what: str


@dataclass(frozen=True)
class Summary:
    lines: tuple[Line, ...]
    actions: str
    warnings: tuple[str, ...]
    replaced: tuple[Dossier, ...]  # dossiers a restore overwrites (confirm by typing the code)


def _sep(facts: Facts, plan: WizardPlan) -> str:
    if plan.connection.is_embedded:
        return "\\" if "\\" in plan.directory and "/" not in plan.directory else "/"
    return facts.server.path_separator if facts.server else "\\"


def _join(directory: str, name: str, sep: str) -> str:
    return directory + name if directory.endswith(("/", "\\")) else directory + sep + name


def _base(path: str) -> str:
    return path.replace("\\", "/").rstrip("/").split("/")[-1]


def _tsql() -> object | None:
    try:
        from msde_tui.engine.backends.mssql import tsql
    except ImportError:
        return None
    return tsql


def summarize(plan: WizardPlan, facts: Facts) -> Summary:
    if plan.operation == "backup":
        return _backup(plan, facts)
    if plan.operation == "restore":
        return _restore(plan, facts)
    return _verify(plan, facts)


# -- backup


def _backup(plan: WizardPlan, facts: Facts) -> Summary:
    sep = _sep(facts, plan)
    lines: list[Line] = []
    actions: list[str] = []
    warnings: list[str] = []
    verify = plan.verify_after
    tsql = _tsql()
    for dossier in plan.dossiers:
        if plan.connection.is_embedded:
            target = _join(plan.directory, f"{dossier.code}_{STAMP}.sqlite.bak", sep)
            lines.append(
                Line(dossier.code, _("back up to {file}").format(file=_base(target))
                     + (", " + _("then verify") if verify else ""))
            )
            actions.append(f"-- {dossier.code} {one_line(dossier.company)}")
            actions.append(
                _("copy {source} with the SQLite online backup API to {target}").format(
                    source=dossier.location, target=target
                )
            )
            actions.append(
                _("write the proof {proof} (SHA-256, size, dossier GUID, movements)").format(
                    proof=naming.proof_name(target)
                )
            )
            if verify:
                actions.append(
                    _("verify {target}: SHA-256 against the proof, PRAGMA integrity_check, "
                      "dossier identity").format(target=target)
                )
        else:
            database = dossier.location
            target = _join(plan.directory, f"{database}_{STAMP}.bak", sep)
            lines.append(
                Line(dossier.code, _("BACKUP DATABASE {db} to {file}").format(db=database, file=_base(target))
                     + (", " + _("then RESTORE VERIFYONLY") if verify else ""))
            )
            actions.append(f"-- {dossier.code} {one_line(dossier.company)}")
            express = bool(facts.server and facts.server.is_express)
            options = plan_options(plan)
            compression = None if express else options.compression  # type: ignore[attr-defined]
            if compression is None and not express:
                compression = True
            if tsql is not None:
                actions.append(
                    tsql.build_backup(  # type: ignore[attr-defined]
                        database, target, copy_only=options.copy_only,  # type: ignore[attr-defined]
                        compression=compression, stats=options.stats,  # type: ignore[attr-defined]
                    ) + ";"
                )
                if verify:
                    actions.append(tsql.build_verifyonly(target) + ";")  # type: ignore[attr-defined]
            limit = facts.server.size_limit_bytes if facts.server else None
            size = facts.sizes.get(dossier.code)
            if limit and size and size >= NEAR_LIMIT * limit:
                warnings.append(
                    _("{code} uses {size} of the {limit} Express limit.").format(
                        code=dossier.code, size=human_size(size), limit=human_size(limit)
                    )
                )
        actions.append("")
    needed = sum(facts.sizes.get(d.code, 0) for d in plan.dossiers)
    if facts.free_bytes is not None and needed and needed > facts.free_bytes:
        warnings.append(
            _("The directory has {free} free; the backups need about {needed}.").format(
                free=human_size(facts.free_bytes), needed=human_size(needed)
            )
        )
    return Summary(tuple(lines), "\n".join(actions).rstrip() + "\n", tuple(warnings), ())


def plan_options(plan: WizardPlan) -> object:
    from msde_tui.engine.plans import BackupOptions, BackupPlan
    from msde_tui.engine.runs.jobs import to_operation_plan

    engine_plan = to_operation_plan(plan)
    return engine_plan.options if isinstance(engine_plan, BackupPlan) else BackupOptions()


# -- restore


def _restore(plan: WizardPlan, facts: Facts) -> Summary:
    lines: list[Line] = []
    actions: list[str] = []
    warnings: list[str] = []
    replaced: list[Dossier] = []
    tsql = _tsql()
    for item in plan.restore_items:
        code = f"{item.number}{item.short}"
        info = facts.backups.get(item.source)
        existing = facts.existing.get(item.number)
        if existing is not None:
            replaced.append(existing)
            warnings.append(
                _("Number {number} is {code} ({company}): restoring REPLACES it. A safety copy "
                  "is taken first.").format(number=item.number, code=existing.code, company=one_line(existing.company))
            )
            what = _("REPLACE {code} with {file}").format(code=existing.code, file=_base(item.source))
        else:
            what = _("new dossier {code} from {file}").format(code=code, file=_base(item.source))
        if plan.verify_after:
            what = _("verify, then") + " " + what
        lines.append(Line(code, what))
        actions.append(f"-- {code} <- {item.source}")
        if plan.connection.is_embedded:
            actions.extend(_embedded_restore_actions(plan, item, existing))
        else:
            actions.extend(_server_restore_actions(plan, item, existing, facts, tsql))
        if info is not None and facts.server and not plan.connection.is_embedded:
            if info.version_major and info.version_major > facts.server.version_major:
                warnings.append(
                    _("{file} was made by a newer SQL Server (version {theirs}); this server "
                      "(version {ours}) cannot restore it.").format(
                        file=_base(item.source), theirs=info.version_major,
                        ours=facts.server.version_major,
                    )
                )
            limit = facts.server.size_limit_bytes
            if limit and info.size_bytes >= limit:
                warnings.append(
                    _("{file} holds {size}: more than the {limit} Express limit.").format(
                        file=_base(item.source), size=human_size(info.size_bytes),
                        limit=human_size(limit),
                    )
                )
        if info is not None and not info.has_checksums and plan.verify_after:
            warnings.append(
                _("{file} has no checksums: verify can only check that it is readable.").format(
                    file=_base(item.source)
                )
            )
        actions.append("")
    needed = sum(i.size_bytes for i in (facts.backups.get(x.source) for x in plan.restore_items) if i)
    if facts.free_bytes is not None and needed > facts.free_bytes:
        warnings.append(
            _("The directory has {free} free; the restored dossiers need about {needed}.").format(
                free=human_size(facts.free_bytes), needed=human_size(needed)
            )
        )
    return Summary(tuple(lines), "\n".join(actions).rstrip() + "\n", tuple(warnings), tuple(replaced))


def _embedded_restore_actions(plan: WizardPlan, item: RestoreItem, existing: Dossier | None) -> list[str]:
    target = naming.embedded_file_name(f"{item.number}{item.short}")
    out = []
    if plan.verify_after:
        out.append(_("verify {file} against its proof (SHA-256, integrity check)").format(file=item.source))
    if existing is not None:
        out.append(_("safety copy of {file} before replacing it").format(file=existing.location))
    out.append(_("copy {file} to a temporary file, then replace {target} atomically").format(
        file=item.source, target=target))
    out.append(_("add {code} to the dossier list").format(code=f"{item.number}{item.short}"))
    if existing is not None and existing.location != target:
        out.append(_("remove {file}, no longer listed (its safety copy stays)").format(file=existing.location))
    return out


def _server_restore_actions(
    plan: WizardPlan, item: RestoreItem, existing: Dossier | None, facts: Facts, tsql: object | None
) -> list[str]:
    database = item.database or restore_database(item.number, item.short, existing)
    sep = facts.server.path_separator if facts.server else "\\"
    data_dir = item.data_dir or plan.data_dir or (facts.server.default_data_path if facts.server else "")
    out: list[str] = []
    if tsql is not None:
        out.append(tsql.build_headeronly(item.source) + ";")  # type: ignore[attr-defined]
        out.append(tsql.build_filelistonly(item.source) + ";")  # type: ignore[attr-defined]
        if plan.verify_after:
            out.append(
                tsql.build_verifyonly(item.source) + ";  -- " + _("with MOVE as below")  # type: ignore[attr-defined]
            )
        if existing is not None:
            # where the engine writes it: the server's default backup directory
            where = facts.server.default_backup_path if facts.server else plan.directory
            safety = _join(where, f"{tsql.file_stem(database)}_{STAMP}_before_restore.bak", sep)  # type: ignore[attr-defined]
            out.append(
                tsql.build_backup(database, safety, copy_only=True) + ";  -- " + _("safety copy")  # type: ignore[attr-defined]
            )
        stem = tsql.file_stem(database)  # type: ignore[attr-defined]
        moves = [
            ("<data>", _join(data_dir, f"{stem}.mdf", sep)),
            ("<log>", _join(data_dir, f"{stem}_log.ldf", sep)),
        ]
        out.append(
            tsql.build_restore(database, item.source, moves, replace=existing is not None) + ";"  # type: ignore[attr-defined]
        )
        out.append("-- " + _("<data> and <log> are the logical names FILELISTONLY reads."))
    out.append(_("add {code} to the dossier list").format(code=f"{item.number}{item.short}"))
    return out


# -- verify


def _verify(plan: WizardPlan, facts: Facts) -> Summary:
    lines: list[Line] = []
    actions: list[str] = []
    warnings: list[str] = []
    tsql = _tsql()
    for item in plan.restore_items:
        name = _base(item.source)
        lines.append(Line(name, _("read back and check")))
        if plan.connection.is_embedded:
            actions.append(
                _("verify {file}: SHA-256 against the proof, PRAGMA integrity_check, dossier "
                  "identity").format(file=item.source)
            )
        elif tsql is not None:
            actions.append(tsql.build_verifyonly(item.source) + ";")  # type: ignore[attr-defined]
        info = facts.backups.get(item.source)
        if info is not None and not info.has_checksums:
            warnings.append(
                _("{file} has no checksums: verify can only check that it is readable.").format(file=name)
            )
    return Summary(tuple(lines), "\n".join(actions).rstrip() + "\n", tuple(warnings), ())
