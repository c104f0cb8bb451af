"""CLI: ``msde auto`` applies the automatic-backup policy; ``msde auto policy`` edits it.

    msde auto [--dry-run] [--dossier D]...            back up what is due, rotate
    msde auto --install systemd|cron|taskscheduler    print the scheduler entry (--write installs it)
    msde auto --status                                the installed schedule: kind, next run, log
    msde auto --install KIND --status                 is the entry installed (Task Scheduler: its runs)
    msde auto --uninstall systemd|cron|taskscheduler  remove the entry
    msde auto status                                  the last run's outcome per dossier
    msde auto policy show [DOSSIER]                   the policy (global, or as it applies to one)
    msde auto policy set [--dossier D] --keep 3 ...   change the global policy or a dossier's
    msde auto policy unset --dossier D [SETTING]...   drop a dossier's overrides
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from msde_tui import osdep
from msde_tui.cli import selecting
from msde_tui.cli.common import State, console, emit, err_console, set_exit, state
from msde_tui.engine.auto import installed, schedule
from msde_tui.engine.auto import policy as policy_engine
from msde_tui.engine.auto import report as auto_report
from msde_tui.engine.auto.policy import AutoConfig, Policy
from msde_tui.engine.auto.records import AUTO_DIR
from msde_tui.engine.auto.schedule import KIND_WORDS, describe_rhythm
from msde_tui.engine.errors import BadInput
from msde_tui.engine.events import DossierResult
from msde_tui.engine.plans import AutoRunPlan
from msde_tui.engine.words import shown
from msde_tui.i18n import N_, _

HELP = N_(
    "Automatic backups (the document's Options: 'Opérationnelle', backups kept, delay in days, "
    "maximum of new movements, directory). Run by a scheduler: SQL Server Express has no SQL "
    "Server Agent, so use --install systemd|cron|taskscheduler to get the entry that runs "
    "'msde auto' (hourly by default); each run backs up, with verification, only the dossiers "
    "whose delay or movement count is reached, then keeps the N newest verified backups. "
    "SQL Server dossiers: the run never prompts; it takes the password from "
    "MSDE_PASSWORD_<PROFILE> (or MSDE_PASSWORD) in the scheduler's environment."
)

PASSWORD_NOTE = N_(
    "# SQL Server dossiers: msde auto takes the password from MSDE_PASSWORD_<PROFILE> (profile name "
    "upper-cased, other characters than A-Z/0-9 as _) or MSDE_PASSWORD, never from a file it writes."
)

auto_app = typer.Typer(name="auto", help=HELP, invoke_without_command=True, no_args_is_help=False)
policy_app = typer.Typer(name="policy", help=N_("Show or change the automatic-backup policy."), no_args_is_help=True)
auto_app.add_typer(policy_app)


@auto_app.callback()
def auto(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help=N_("Print each decision and why; change nothing.")),
    dossier: Annotated[list[str] | None, typer.Option("--dossier", "-d", help=N_("Only this dossier (repeatable)."))] = None,
    select_all: bool = typer.Option(False, "--all", help=N_("Every dossier of the list (the default).")),
    where: str = typer.Option(None, "--where", help=selecting.WHERE_HELP),
    install: str = typer.Option(
        None, "--install", metavar="systemd|cron|taskscheduler",
        help=N_("Print the scheduler entry that runs 'msde auto' (SQL Server Express has no Agent)."),
    ),
    write: bool = typer.Option(False, "--write", help=N_("With --install: install the entry where you have the right.")),
    every: str = typer.Option(
        "hour", "--every", metavar="hour|day|N",
        help=N_("With --install: how often the scheduler runs 'msde auto': every hour, every day, or every N hours "
                "(N = 2, 3, 4, 6, 8 or 12)."),
    ),
    at: str = typer.Option(
        None, "--at", metavar="HH:MM",
        help=N_("With --install: the first run's time (every N hours from it, around the clock); for every hour, "
                "its minute. Default: minute 17, or 02:17."),
    ),
    run_as: str = typer.Option(
        None, "--run-as", metavar="ACCOUNT",
        help=N_("With --install taskscheduler: the account the task runs as (DOMAIN\\user or SYSTEM; default: you)."),
    ),
    stored_password: bool = typer.Option(
        False, "--stored-password",
        help=N_("With --install taskscheduler --write: schtasks asks for the account's password and keeps it "
             "(needed for network shares)."),
    ),
    status: bool = typer.Option(
        False, "--status",
        help=N_("Is the schedule the wizard installs in place: its kind, next run and log (with --install KIND: "
             "that entry; Task Scheduler: how it ran)."),
    ),
    uninstall: str = typer.Option(None, "--uninstall", metavar="systemd|cron|taskscheduler", help=N_("Remove the scheduler entry.")),
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    st = state(ctx)
    if uninstall is not None:
        _uninstall(st, uninstall)
        return
    if install is not None and status:
        _scheduler_status(st, install)
        return
    if status:
        _installed_status(st)
        return
    if install is not None:
        if (run_as or stored_password) and install.strip().lower() != "taskscheduler":
            raise BadInput(_("--run-as and --stored-password go with --install taskscheduler."),
                           _("systemd and cron entries run as the user who installs them."))
        account = None  # elsewhere than Windows: the XML names no user (the one registering it)
        if run_as or osdep.HAS_TASK_SCHEDULER:
            account = schedule.TaskAccount(run_as or osdep.current_account(), stored_password)
        elif stored_password:
            raise BadInput(_("--stored-password needs --run-as here: this machine cannot tell the Windows account."),
                           _("E.g. --run-as OFFICE\\backup --stored-password"))
        _install(st, install, write=write, rhythm=schedule.Rhythm.parse(every, at), account=account)
        return
    if write:
        raise BadInput(_("--write goes with --install."), _("E.g. msde auto --install systemd --write"))
    if where:
        if dossier:
            raise BadInput(_("--dossier and --where cannot be used together."), _("Give one of them."))
        dossier = [d.code for d in selecting.choose(st, None, where=where)]
        if not dossier:
            emit(st, {"dossiers": [], "where": where},
                 _("No dossier matches --where {where}: nothing to do.").format(where=where))
            return
    _run(st, dry_run=dry_run, only=dossier or None)


def _base(path: str) -> str:
    """The file name of a local path or of a path on a SQL Server host (either separator)."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _out(text: str) -> None:
    """Print without re-wrapping: entries and paths must stay copy-pastable."""
    console.print(text, highlight=False, markup=False, soft_wrap=True)


def _emit(st: State, payload: dict[str, Any], human: str) -> None:
    if st.json:
        emit(st, payload)
    else:
        _out(human)


# ----------------------------------------------------------------------------- run


def _run(st: State, *, dry_run: bool, only: list[str] | None) -> None:
    """One run through the registered operation (``auto_run``): the same events and the same
    progress display as every other command; then what was written or deleted per dossier."""
    from msde_tui.cli.running import run_plan

    policy_engine.load(st.home)  # a config file that cannot be read is refused before anything
    total = len(only) if only else len(st.catalog().dossiers())
    if dry_run and not st.json:
        _out(_("Dry run: nothing is backed up, deleted or recorded."))
    plan = AutoRunPlan(only=tuple(only or ()), dry_run=dry_run)
    results = run_plan(st, plan, total=total)  # exit 1 when one failed; the run's own result is not counted
    run = next((r for r in results if r.dossier == "auto"), None)
    report = run.details.get("report") if run is not None else None
    if st.json:
        emit(st, report if isinstance(report, dict) else {"ok": False, "dossiers": []})
    else:
        dossiers = [r for r in results if r.dossier != "auto"]
        for result in dossiers:
            for line in _file_lines(result):
                _out(line)
        if not dossiers:
            _out(_("The dossier list is empty: nothing to do."))
        elif all(r.details.get("action") == "off" for r in dossiers):
            _out(_("Automatic backups are off. Turn them on with: msde auto policy set --enable"))


def _file_lines(result: DossierResult) -> list[str]:
    """What a dossier's run wrote or deleted (or, dry, would delete), one line each."""
    lines = [f"    {result.dossier}: " + _("wrote {file} (verified)").format(file=f) for f in result.files]
    for key, words in (("deleted", N_("deleted {file}")), ("would_delete", N_("would delete {file}"))):
        found = result.details.get(key)
        if isinstance(found, list):
            lines += [f"    {result.dossier}: " + _(words).format(file=_base(str(f))) for f in found]
    return lines


@auto_app.command("status", help=N_("The last run's outcome per dossier (recorded in the data dir)."))
def status(ctx: typer.Context) -> None:
    """The last run's outcome per dossier (recorded in the data dir)."""
    st = state(ctx)
    last = auto_report.load_last_run(st.home)
    if last is None:
        _emit(st, {"last_run": None}, _("No automatic backup run was recorded yet."))
        return
    lines = [_("Last run: {start} to {end} — {result}").format(
        start=last.get("started_at", "?"), end=last.get("finished_at", "?"),
        result=_("OK") if last.get("ok") else _("FAILED for some dossiers"))]
    for d in last.get("dossiers", []):
        lines.append(outcome_line(str(d.get("code")), str(d.get("action")), str(d.get("reason") or ""),
                                  bool(d.get("ok", True)), str(d.get("message") or "")))
        if d.get("last_verified_at"):
            lines.append("    " + _("last verified backup {when}: {file}").format(
                when=d.get("last_verified_at"), file=d.get("last_verified_file")))
    _emit(st, {"last_run": last}, "\n".join(lines))


# ----------------------------------------------------------------------------- install


def _kind(kind: str) -> str:
    kind = kind.strip().lower()
    if kind not in schedule.KINDS:
        raise BadInput(_("'{kind}' is not a scheduler.").format(kind=kind), _("Use systemd, cron or taskscheduler."))
    return kind


def _task_scheduler(what: str) -> None:
    if not osdep.HAS_TASK_SCHEDULER:
        raise BadInput(_("{option} taskscheduler needs Windows: this machine has no Task Scheduler.").format(option=what),
                       _("Run it on the Windows server where the task is registered."))


def _scheduler_status(st: State, kind: str) -> None:
    kind = _kind(kind)
    details = ""
    if kind == "taskscheduler":
        _task_scheduler("--status")
        found = osdep.task_state(schedule.TASK_NAME)
        registered, details = found.registered, found.details
        head = (_("The task '{name}' is installed.") if registered else
                _("The task '{name}' is not installed.")).format(name=schedule.TASK_NAME)
    elif kind == "cron":
        line = schedule.cron_entry()
        registered, details = line is not None, line or ""
        head = _("The msde-auto crontab line is installed.") if registered else _(
            "The msde-auto crontab line is not installed.")
    else:
        units = schedule.systemd_entry()
        registered = bool(units)
        details = "\n".join(str(p) for p in units)
        if units:
            details += "\n" + _("(systemctl --user list-timers {unit}.timer says when it runs)").format(
                unit=schedule.UNIT_NAME)
        head = (_("The {unit} systemd units are installed.") if registered else
                _("The {unit} systemd units are not installed.")).format(unit=schedule.UNIT_NAME)
    _emit(st, {"kind": kind, "registered": registered, "details": details},
          "\n".join([head, details] if registered and details else [head]))
    if not registered:
        set_exit(1)


# A dossier's action in words (the scheduler kinds and rhythms: engine.auto.schedule).
ACTION_WORDS = {"backup": N_("backup"), "skip": N_("skip"), "off": N_("off"), "error": N_("error")}


def outcome_line(code: str, action: str, reason: str, ok: bool, message: str) -> str:
    """One dossier's line of a run: its action and why (the engine's words, translated)."""
    why = " " + _("and") + " "
    reason = why.join(shown(part) for part in reason.split(" and ")) if reason else ""
    if action == "error":
        return _("{code}: error — {message}").format(code=code, message=shown(message))
    line = f"{code}: {_(ACTION_WORDS.get(action, action))} — {reason}"
    if action == "backup" and not ok:
        line += " — " + _("FAILED: {message}").format(message=shown(message))
    return line


def describe_schedule(found: installed.ScheduleState) -> str:
    """The same words as the wizard's settings screen."""
    if not found.installed:
        return _("No schedule is installed: automatic backups do not run. Tick 'Operational' in the "
                 "wizard, or: msde auto --install systemd|cron|taskscheduler --write")
    when = found.next_run.strftime("%Y-%m-%d %H:%M") if found.next_run else "-"
    return _("Automatic backups are scheduled ({kind}), {rhythm}.\nNext run: {when}.\nLog: {log}").format(
        kind=_(KIND_WORDS.get(found.kind, found.kind)), rhythm=describe_rhythm(found.rhythm), when=when,
        log=found.log)


def _installed_status(st: State) -> None:
    found = installed.state(st.home)
    _emit(st, found.as_dict(), describe_schedule(found))
    if not found.installed:
        set_exit(1)


def _uninstall(st: State, kind: str) -> None:
    kind = _kind(kind)
    follow = ""
    if kind == "taskscheduler":
        _task_scheduler("--uninstall")
        removed = osdep.remove_task(schedule.TASK_NAME)
        done = _("Deleted the task '{name}'.").format(name=schedule.TASK_NAME)
    elif kind == "cron":
        removed = schedule.remove_cron()
        done = _("Removed the msde-auto line from your crontab (other lines kept).")
    else:
        files, follow = schedule.remove_systemd()
        removed = bool(files)
        done = _("Deleted {files}. Now run:").format(files=", ".join(str(p) for p in files)) + f"\n  {follow}"
    _emit(st, {"kind": kind, "removed": removed, "next": follow if removed else ""},
          done if removed else _("No {kind} entry of msde auto was installed: nothing to remove.").format(kind=kind))


def _install(st: State, kind: str, *, write: bool, rhythm: schedule.Rhythm,
             account: schedule.TaskAccount | None) -> None:
    kind = _kind(kind)
    command = schedule.msde_command()
    home = os.environ.get("MSDE_HOME") and str(st.home) or None
    if home is None and st.home != _default_home():
        home = str(st.home)  # --home given: the entry must use the same data dir
    payload: dict[str, Any] = {"kind": kind, "rhythm": rhythm.describe(), "written": [], "next": ""}
    out: list[str] = []
    notes: list[str] = []
    if kind == "systemd":
        units = schedule.systemd_units(command, home, rhythm)
        payload["entries"] = units
        if write:
            found = installed.install(st.home, rhythm, kind, pass_home=home is not None)
            payload["written"] = [str(p) for p in schedule.systemd_entry()]
            out += [_("Wrote {file}").format(file=p) for p in payload["written"]] + [describe_schedule(found)]
        else:
            for name, text in units.items():
                out += [f"# ~/.config/systemd/user/{name}", text]
            out.append(_("# Install with --write, then: systemctl --user enable --now msde-auto.timer"))
            out.append(_("# SQL Server dossiers: put MSDE_PASSWORD_<PROFILE>=... in ~/.config/msde-tui/auto.env "
                         "yourself (chmod 600)."))
    elif kind == "cron":
        line = schedule.cron_line(command, home, rhythm)
        payload["entries"] = {"crontab": line}
        if write:
            found = installed.install(st.home, rhythm, kind, pass_home=home is not None)
            payload["written"] = ["crontab"]
            out += [_("Installed in your crontab (a previous msde-auto line was replaced):"),
                    schedule.cron_entry() or line, describe_schedule(found)]
        else:
            out += [line, _("# Install with --write (uses 'crontab -', keeps your other lines)."), _(PASSWORD_NOTE),
                    _("# Add a line MSDE_PASSWORD_<PROFILE>=... above it yourself with 'crontab -e'.")]
    else:
        text = schedule.task_xml(command, home, rhythm, account=account)
        payload["entries"] = {"msde-auto.xml": text}
        if write:
            path, create = schedule.install_taskscheduler(
                text, st.home / AUTO_DIR / "msde-auto.xml", account=account)
            payload["written"], payload["next"] = [str(path)], create
            out.append(_("Wrote {file} (UTF-16)").format(file=path))
            if account is None or not (account.stored_password or account.is_system):
                notes.append(_("# Runs whether the user is logged on or not, without a stored password: local "
                               "disks and SQL Server work, Windows network shares do not (--stored-password)."))
            if osdep.HAS_TASK_SCHEDULER and account is not None:
                osdep.register_task(path, schedule.TASK_NAME,
                                    password_account=account.user if account.stored_password else None)
                payload["registered"], payload["next"] = True, ""
                installed.record(st.home, kind, rhythm)  # what --status and the wizard read
                out += [_("Registered the task '{name}' ({rhythm}, as {account}).").format(
                            name=schedule.TASK_NAME, rhythm=describe_rhythm(rhythm), account=account.user),
                        _("Check it with: msde auto --install taskscheduler --status")]
            else:
                out += [_("Register it on the Windows server (as the account it runs as, or as an administrator):"),
                        f"  {create}"]
        else:
            # stdout holds the XML alone (so '> task.xml' is a well-formed file), declared in the
            # encoding it is printed in; --write saves the UTF-16 file; the notes go to stderr
            out.append(text.replace('encoding="UTF-16"', 'encoding="UTF-8"', 1).rstrip("\n"))
            notes = [_("# Save with --write (UTF-16), then register it with schtasks /Create /XML."),
                     _(PASSWORD_NOTE),
                     _("# Set it as a user environment variable of the account the task runs as "
                       "(setx MSDE_PASSWORD_<PROFILE> ...).")]
    _emit(st, payload, "\n".join(out))
    if notes and not st.json:
        err_console.print("\n".join(notes), highlight=False, markup=False, soft_wrap=True)


def _default_home() -> Path:
    import platformdirs

    from msde_tui.engine.paths import APP

    return Path(platformdirs.user_data_dir(APP, appauthor=False)).expanduser()


# ----------------------------------------------------------------------------- policy


def _policy_lines(config: AutoConfig, code: str | None, home: Path) -> list[str]:
    def fmt(p: Policy) -> list[str]:
        off = "  " + _("(off)")
        rows = [
            (_("operational (enabled)"), _("yes") if p.enabled else _("no")),
            (_("backups kept (keep)"), str(p.keep)),
            (_("delay in days (every_days)"), f"{p.every_days}{off if not p.every_days else ''}"),
            (_("new movements (max_movements)"), f"{p.max_movements}{off if not p.max_movements else ''}"),
            (_("directory"), str(p.target_dir(home))),
            (_("server directory (server_directory)"),
             p.server_directory or _("(the instance default backup directory)")),
            (_("test restore (test_restore)"),
             _("yes (SQL Server: scratch restore + DBCC CHECKDB)") if p.test_restore else _("no")),
        ]
        width = max(len(label) for label, _value in rows) + 2
        return [f"  {label:<{width}}{value}" for label, value in rows]

    if code:
        lines = [(_("Policy for {code} (overrides: {names})").format(code=code, names=", ".join(config.overrides[code]))
                  if code in config.overrides else _("Policy for {code} (the global policy)").format(code=code))]
        return lines + fmt(config.effective(code))
    lines = [_("Global policy")] + fmt(config.default)
    for c in sorted(config.overrides):
        values = ", ".join(f"{k} = {v!r}" for k, v in config.overrides[c].items())
        lines.append(_("Override {code}: {values}").format(code=c, values=values))
    return lines


def _resolve_code(st: State, ref: str) -> str:
    found = st.catalog().find(ref)
    if found is not None:
        return found.code
    return policy_engine.parse_code(ref).code  # a dossier not (yet) in the list, by code


@policy_app.command("show", help=N_("Show the global policy and the per-dossier overrides."))
def policy_show(
    ctx: typer.Context,
    dossier: str = typer.Argument(None, help=N_("Show the policy as it applies to this dossier.")),
) -> None:
    """Show the global policy and the per-dossier overrides."""
    st = state(ctx)
    config = policy_engine.load(st.home)
    code = _resolve_code(st, dossier) if dossier else None
    payload: dict[str, Any] = {
        "file": str(policy_engine.config_file(st.home)),
        "default": asdict(config.default),
        "overrides": config.overrides,
    }
    if code:
        payload["dossier"] = code
        payload["effective"] = asdict(config.effective(code))
    _emit(st, payload, "\n".join([*_policy_lines(config, code, st.home),
                                   _("(stored in {file})").format(file=payload["file"])]))


@policy_app.command("set", help=N_("Change the policy (global default, or one dossier's overrides with --dossier)."))
def policy_set(
    ctx: typer.Context,
    dossier: str = typer.Option(None, "--dossier", "-d", help=N_("Change this dossier's overrides, not the global policy.")),
    enabled: bool = typer.Option(None, "--enable/--disable", help=N_("Operational: automatic backups on or off.")),
    keep: int = typer.Option(None, "--keep", help=N_("Backups kept before the oldest is overwritten (1-999).")),
    every_days: int = typer.Option(None, "--every-days", help=N_("A backup is due after this many days (0 = off).")),
    max_movements: int = typer.Option(None, "--max-movements", help=N_("... or after this many new movements (0 = off).")),
    directory: str = typer.Option(None, "--dir", help=N_("Target directory of embedded dossiers' backups.")),
    server_directory: str = typer.Option(
        None, "--server-dir", help=N_("SQL Server dossiers: a directory on the SERVER host ('' = instance default).")),
    test_restore: bool = typer.Option(
        None, "--test-restore/--no-test-restore",
        help=N_("SQL Server dossiers: restore each new backup under a scratch name, DBCC CHECKDB it, drop it.")),
) -> None:
    """Change the policy (global default, or one dossier's overrides with --dossier)."""
    st = state(ctx)
    changes: dict[str, Any] = {
        k: v for k, v in {
            "enabled": enabled, "keep": keep, "every_days": every_days, "max_movements": max_movements,
            "directory": directory, "server_directory": server_directory,
            "test_restore": test_restore,
        }.items() if v is not None
    }
    if not changes:
        raise BadInput(_("Nothing to change."), _("Give at least one option, e.g. --enable --keep 3."))
    if changes.get("directory"):
        path = Path(changes["directory"]).expanduser()
        if not path.is_absolute():
            raise BadInput(_("'{path}' is not an absolute path.").format(path=changes["directory"]),
                           _("Give the full path of the backup directory."))
        changes["directory"] = str(path)
    config = policy_engine.load(st.home)
    code = _resolve_code(st, dossier) if dossier else None
    config = config.with_override(code, **changes) if code else config.with_default(**changes)
    path = policy_engine.save(config, st.home)
    _emit(st, {"file": str(path), "default": asdict(config.default), "overrides": config.overrides},
         "\n".join([*_policy_lines(config, code, st.home), _("Saved in {file}").format(file=path)]))


@policy_app.command("unset", help=N_("Drop a dossier's overrides: it follows the global policy again."))
def policy_unset(
    ctx: typer.Context,
    dossier: str = typer.Option(..., "--dossier", "-d", help=N_("The dossier whose overrides go.")),
    settings: Annotated[list[str] | None, typer.Argument(help=N_(
        "Settings to drop (enabled, keep, every_days, max_movements, directory, server_directory, "
        "test_restore); none = all."))] = None,
) -> None:
    """Drop a dossier's overrides: it follows the global policy again."""
    st = state(ctx)
    config = policy_engine.load(st.home)
    code = _resolve_code(st, dossier)
    config = config.without_override(code, *(settings or []))
    path = policy_engine.save(config, st.home)
    _emit(st, {"file": str(path), "default": asdict(config.default), "overrides": config.overrides},
         "\n".join([*_policy_lines(config, code, st.home), _("Saved in {file}").format(file=path)]))


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(auto_app)
