"""CLI commands: archive / unarchive (PAF), cut (fiscal-year cut), audit (tax-audit transfer)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from msde_tui import units
from msde_tui.cli import selecting
from msde_tui.cli.common import (
    State,
    console,
    cut_from,
    cut_note,
    emit,
    listing,
    set_exit,
    state,
)
from msde_tui.cli.running import details as result_details
from msde_tui.cli.running import error_of, run_one, run_plan
from msde_tui.engine import naming, selection
from msde_tui.engine.accounting import ledger
from msde_tui.engine.backends.access.guard import refuse_access
from msde_tui.engine.errors import BadInput, MsdeError
from msde_tui.engine.lifecycle import cut as cut_engine
from msde_tui.engine.lifecycle import paf as paf_engine
from msde_tui.engine.lifecycle import tax_audit as audit_engine
from msde_tui.engine.lifecycle import years as years_engine
from msde_tui.engine.lifecycle.lifeops import embedded as embedded_dossier
from msde_tui.engine.plans import ArchivePlan, AuditPlan, CutPlan, UnarchivePlan
from msde_tui.engine.words import shown
from msde_tui.i18n import N_, _

DOSSIERS_ARGUMENT = typer.Argument(None, help=N_("Dossier numbers (001) or codes (001SOC); or --where."))


def register(app: typer.Typer) -> None:
    app.command("archive")(archive)
    app.command("unarchive")(unarchive)
    app.command("cut")(cut)
    app.command("audit")(audit)


# --------------------------------------------------------------------------- helpers


def _emit(st: State, payload: dict[str, Any], human: str | None = None) -> None:
    """JSON with --json; else the human text, unwrapped (paths stay whole on 80 columns)."""
    if st.json or human is None:
        emit(st, payload)
    else:
        console.print(human, highlight=False, markup=False, soft_wrap=True)


def _directory(raw: str) -> Path:
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise BadInput(_("The directory {directory} does not exist.").format(directory=path),
                       _("Create it or give another --dir."))
    return path


@ledger.translate_db_errors
def _error(exc: MsdeError) -> dict[str, Any]:
    return {"ok": False, "error": exc.message, "hint": exc.hint}


# --------------------------------------------------------------------------- archive


def archive(
    ctx: typer.Context,
    dossiers: list[str] = DOSSIERS_ARGUMENT,
    directory: str = typer.Option(..., "--dir", help=N_("Where the PAF files are written.")),
    years: str = typer.Option(None, "--years", help=N_("Fiscal years to archive, e.g. 2015,2016.")),
    older_than: int = typer.Option(
        years_engine.DEFAULT_AGE, "--older-than", help=N_("Default choice: closed years ended at least this many years ago.")
    ),
    select_all: bool = typer.Option(False, "--all", help=N_("Tick every closed year of every dossier (\"Select\").")),
    dry_run: bool = typer.Option(False, "--dry-run", help=N_("Only show which years would be archived.")),
    where: str = typer.Option(None, "--where", help=N_(
        "Dossiers matching a filter: a number range (001-099), profile=NAME, changed (since "
        "the last backup); terms of different kinds must all hold. Here --where all picks "
        "every embedded dossier (--all picks the years).")),
) -> None:
    """Archive fiscal years into a PAF per dossier, then replace them by one balance entry each."""
    st = state(ctx)
    if where:
        dossiers = [d.code for d in selecting.choose(st, dossiers, where=where) if d.is_embedded]
        if not dossiers:
            _emit(st, {"results": [], "where": where},
                  _("No embedded dossier matches --where {where}: nothing to do.").format(where=where))
            return
    elif not dossiers:
        raise BadInput(_("Which dossiers? Name them (001 002...), or use --where."), selection.HINT)
    if years and select_all:
        raise BadInput(_("--years and --all cannot be used together."), _("Give one of them."))
    if older_than < 0:
        raise BadInput(_("--older-than cannot be negative."), _("Give a number of years, e.g. 7."))
    out = _directory(directory)
    catalog = st.catalog()
    wanted = ledger.parse_years(years)
    results: list[dict[str, Any]] = []
    to_archive: dict[str, dict[str, Any]] = {}
    failed = False
    exit_codes: set[int] = set()
    for ref in dossiers:
        item: dict[str, Any] = {"dossier": ref}
        try:
            dossier, path = embedded_dossier(catalog, ref)
            item["dossier"] = dossier.code
            all_years = ledger.years_of(path)
            if wanted:
                chosen = [y.code for y in all_years if y.code in wanted or str(y.end.year) in wanted]
                missing = [w for w in wanted if not any(w in (y.code, str(y.end.year)) for y in all_years)]
                if missing:
                    raise BadInput(
                        _("{code} has no fiscal year {years}.").format(code=dossier.code, years=", ".join(missing)),
                        _("Its years: {years}.").format(years=", ".join(y.code for y in all_years)),
                    )
            elif select_all:
                chosen = [y.code for y in years_engine.archivable(all_years)]
            else:
                chosen = [y.code for y in years_engine.default_years(all_years, date.today(), older_than)]
            item["years"] = chosen
            if not chosen:
                item.update(ok=True, skipped=True, message="No fiscal year to archive.")
            elif dry_run:
                item.update(ok=True, dry_run=True)
            else:
                to_archive[dossier.code] = item
        except MsdeError as exc:
            failed = True
            exit_codes.add(exc.exit_code)
            item.update(_error(exc))
        results.append(item)
    if to_archive:
        plan = ArchivePlan(str(out), tuple((code, tuple(item["years"])) for code, item in to_archive.items()))
        for result in run_plan(st, plan):
            item = to_archive[result.dossier]
            if not result.ok:
                failed = True
                exit_codes.add(error_of(result).exit_code)
                item.update(ok=False, error=result.message, hint=result.hint)
                continue
            d = result_details(result)
            item.update(ok=True, paf=d["paf"], verified=result.verified, size=d["size"],
                        seconds=round(result.seconds, 3), archived=d["archived"])
    if failed:  # 2 when every failure was bad input (no such year...), else 1
        set_exit(1 if 1 in exit_codes else 2)
    if st.json:
        _emit(st, {"ok": not failed, "results": results})
        return
    for item in results:
        if not item.get("ok"):
            console.print(_("{code}: FAILED — {error} {hint}").format(
                code=item["dossier"], error=shown(item["error"]), hint=shown(item["hint"] or "")).rstrip(),
                highlight=False, markup=False, soft_wrap=True)
        elif item.get("skipped"):
            console.print(_("{code}: nothing to archive.").format(code=item["dossier"]),
                          highlight=False, markup=False, soft_wrap=True)
        elif item.get("dry_run"):
            console.print(_("{code}: would archive {years}.").format(code=item["dossier"], years=", ".join(item["years"])),
                          highlight=False, markup=False, soft_wrap=True)
        else:
            console.print(
                _("{code}: archived {years} into {file} (verified).").format(
                    code=item["dossier"], years=", ".join(item["years"]), file=item["paf"]),
                highlight=False,
                markup=False,
                soft_wrap=True,
            )


def unarchive(
    ctx: typer.Context,
    file: str = typer.Argument(..., help=N_("The .paf file.")),
    dossier: str = typer.Option(
        None, "--dossier", help=N_("Dossier to import into: the one it came from or a copy made after it (default: the one it came from).")
    ),
    years: str = typer.Option(None, "--years", help=N_("Only these archived years (default: all of them).")),
    delete: bool = typer.Option(False, "--delete", help=N_("Delete the PAF once all its years are back.")),
    show: bool = typer.Option(False, "--show", help=N_("Only show the archived years the PAF holds.")),
) -> None:
    """Import a PAF back into the dossier it came from: every detail returns, the balance entry goes."""
    st = state(ctx)
    info = paf_engine.read_paf_info(Path(file))
    if show:
        years_list = [
            {"code": y["code"], "start": y["start"], "end": y["end"], "rows": y["rows"]} for y in info.years
        ]
        _emit(
            st,
            {"paf": str(info.path), "dossier": info.code, "guid": info.guid, "years": years_list},
            "\n".join([_("{file}: archive of {code}").format(file=info.path.name, code=info.code)] + [
                f"  {y['code']}  {y['start']} – {y['end']}  " + _(
                    "{entries} entries, {lines} lines, {attachments} attachments").format(
                    entries=y["rows"]["entry"], lines=y["rows"]["entry_line"],
                    attachments=y["rows"]["attachment"])
                for y in years_list
            ]),
        )
        return
    code = embedded_dossier(st.catalog(), dossier)[0].code if dossier else ""
    plan = UnarchivePlan(((str(info.path), tuple(ledger.parse_years(years) or ())),), delete=delete, dossier=code)
    result = run_one(st, plan)
    d = result_details(result)
    payload = {"ok": True} | {k: d[k] for k in ("dossier", "paf", "years", "entries", "lines", "attachments",
                                                "paf_deleted")} | {"seconds": round(result.seconds, 3)}
    values = {"code": d["dossier"], "years": ", ".join(d["years"]), "entries": d["entries"],
              "lines": d["lines"], "attachments": d["attachments"]}
    _emit(
        st,
        payload,
        (_("{code}: fiscal years {years} are back ({entries} entries, {lines} lines, {attachments} "
           "attachments); the PAF was deleted.") if d["paf_deleted"] else
         _("{code}: fiscal years {years} are back ({entries} entries, {lines} lines, {attachments} "
           "attachments); the PAF was kept.")).format(**values),
    )


# --------------------------------------------------------------------------- cut


def cut(
    ctx: typer.Context,
    dossier: str = typer.Argument(None, help=N_("Dossier number (001) or code (001SOC).")),
    keep_from: str = typer.Option(None, "--keep-from", help=N_("First fiscal year to keep; earlier ones move out.")),
    clean_references: bool = typer.Option(
        False, "--clean-references", help=N_("Delete third parties that only the moved years used.")
    ),
    list_only: bool = typer.Option(False, "--list", help=N_("List the dossiers with at least --min-years years.")),
    min_years: int = typer.Option(cut_engine.DEFAULT_MIN_YEARS, "--min-years", help=N_("Threshold for --list.")),
) -> None:
    """Move the fiscal years before --keep-from into a new dossier <code>_CUTnnn."""
    st = state(ctx)
    catalog = st.catalog()
    if list_only:
        if min_years < 1:
            raise BadInput(_("--min-years must be at least 1."))
        found = cut_engine.candidates(catalog, min_years)
        rows = [
            {
                "dossier": c.dossier.code,
                "company": c.dossier.company,
                "years": len(c.years),
                "first": c.years[0].code,
                "last": c.years[-1].code,
                "cut_from": cut_from(c.dossier),
            }
            for c in found
        ]
        if st.json:
            _emit(st, {"min_years": min_years, "dossiers": rows})
            return
        if not rows:
            console.print(_("No dossier has {count} fiscal years or more.").format(count=min_years))
            return
        table = listing(_("Dossier"), _("Company"), _("Years"), _("First"), _("Last"), _("Origin"))
        for r, c in zip(rows, found, strict=True):
            table.add_row(*(str(r[k]) for k in ("dossier", "company", "years", "first", "last")),
                          cut_note(c.dossier))
        console.print(table)
        return
    if not dossier or not keep_from:
        raise BadInput(_("Give a dossier and --keep-from YEAR (or --list)."),
                       _("Example: msde cut 001 --keep-from 2020"))
    code = catalog.get(dossier).code
    d = result_details(run_one(st, CutPlan(code, keep_from, clean_references=clean_references)))
    _emit(
        st,
        {"ok": True} | {k: d[k] for k in ("dossier", "cut", "cut_file", "cut_number", "cut_listed", "moved_years", "kept_years",
                                          "rows", "third_parties_deleted", "verified")}
        | {"seconds": round(float(d.get("seconds", 0.0)), 3)},
        _("{code}: fiscal years {moved} moved to dossier {listed} (file {file}, verified); {code} keeps "
          "{kept}.").format(code=d["dossier"], moved=", ".join(d["moved_years"]), listed=d["cut_listed"],
                            file=Path(d["cut_file"]).name, kept=", ".join(d["kept_years"]))
        + (" " + _("{count} unused third parties deleted.").format(count=d["third_parties_deleted"])
           if clean_references else ""),
    )


# --------------------------------------------------------------------------- audit


def audit(
    ctx: typer.Context,
    dossier: str = typer.Argument(..., help=N_("Dossier number (001) or code (001SOC).")),
    years: str = typer.Option(..., "--years", help=N_("Fiscal years asked for, e.g. 2022,2023.")),
    directory: str | None = typer.Option(
        None, "--dir", help=N_("Where the Admin file (with --to embedded) and the FEC files go.")
    ),
    simplified: bool = typer.Option(False, "--simplified", help=N_("Real entries only (no simulations).")),
    no_attachments: bool = typer.Option(False, "--no-attachments", help=N_("Leave attached documents out.")),
    with_fec: bool = typer.Option(False, "--fec", help=N_("Also write one FEC file per fiscal year.")),
    encoding: str = typer.Option("utf-8", "--encoding", help=N_("FEC encoding: utf-8 or iso-8859-15.")),
    fec_id: str = typer.Option(
        None, "--fec-id",
        help=N_("FEC file-name identifier for a dossier without French SIREN (the one the "
        "requesting administration uses): a FEC is a French format."),
    ),
    provisional: bool = typer.Option(
        False, "--provisional", help=N_("Accept an open year or entries never validated: the FEC is named _PROVISOIRE.")
    ),
    paf: str = typer.Option(
        None, "--paf", help=N_("The PAF (or its directory) of archived years asked for: their entries come from it.")
    ),
    to: str = typer.Option(
        "embedded", "--to",
        help=N_("embedded (a file Admin<code>.sqlite in --dir) or a connection profile "
        "(database AdminPW0001SOC on that server)."),
    ),
) -> None:
    """Tax-audit transfer: a copy Admin<code> of the years asked for (never restorable), + FEC."""
    st = state(ctx)
    if directory is None and (to == "embedded" or with_fec):
        raise BadInput(
            _("--dir is needed for the FEC files.") if to != "embedded"
            else _("--dir is needed (where the Admin file goes)."),
            _("Give an existing directory with --dir."),
        )
    out = _directory(directory) if directory is not None else None
    from msde_tui.engine.accounting import fec

    fec.check_encoding(encoding)
    catalog = st.catalog()
    target = catalog.get(dossier)
    passwords: dict[str, str] = {}

    def password_of(profile_name: str) -> str:
        if profile_name not in passwords:
            from msde_tui.cli.server import ask_password
            from msde_tui.engine.backends.mssql import profiles

            passwords[profile_name] = ask_password(profiles.get(profile_name, st.home))
        return passwords[profile_name]

    if target.is_embedded:
        embedded_dossier(catalog, dossier)
        source_password = None
    else:
        refuse_access(target, "the tax-audit transfer")
        if not target.profile:
            raise BadInput(_("Dossier {code} has no connection profile.").format(code=target.code),
                           _("Fix the dossier list."))
        source_password = password_of(target.profile)
    to_server = to != "embedded"
    database = audit_engine.server_database(target.number, target.short) if to_server else None
    server_password = password_of(to) if to_server else None
    plan = AuditPlan(target.code, tuple(ledger.parse_years(years)), str(out) if out else "", to=to,
                     simplified=simplified, attachments=not no_attachments, fec=with_fec, encoding=encoding,
                     fec_id=fec_id or "", provisional=provisional, paf=str(Path(paf).expanduser()) if paf else "",
                     password=server_password or "", source_password=source_password or "")
    result: audit_engine.AuditResult = result_details(run_one(st, plan))["result"]
    payload = {"ok": True} | audit_engine.describe(result)
    copy = (_("database {database} on {profile}").format(database=database, profile=to) if database
            else str(result.path))
    years_text = ", ".join(result.years)
    if simplified:
        years_text += _(", real entries only")
    if no_attachments:
        years_text += _(", without attachments")
    lines = [
        _("{code}: tax-audit copy {copy} written and verified (years {years}).").format(
            code=result.dossier, copy=copy, years=years_text),
        shown(naming.NOT_RESTORABLE),
    ]
    for f in result.fec_files:
        lines.append(
            _("FEC {file}: {entries} entries, {lines} lines, debit = credit = {total}; described in "
              "{description}.").format(
                file=f.path.name + (" " + _("(PROVISIONAL)") if f.provisional else ""),
                entries=f.entries, lines=f.lines, total=units.decimal(f.debit_total / 100, 2),
                description=f.description.name if f.description else "-")
        )
    lines += [_("Warning: {warning}").format(warning=shown(w)) for w in result.warnings]
    _emit(st, payload, "\n".join(lines))
