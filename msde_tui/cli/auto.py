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
from msde_tui.engine.auto.policy import FIELD_NAMES, AutoConfig, Policy
from msde_tui.engine.auto.records import AUTO_DIR
from msde_tui.engine.errors import BadInput
from msde_tui.engine.events import DossierResult
from msde_tui.engine.plans import AutoRunPlan

HELP = (
    "Automatic backups (the document's Options: 'Opérationnelle', backups kept, delay in days, "
    "maximum of new movements, directory). Run by a scheduler: SQL Server Express has no SQL "
    "Server Agent, so use --install systemd|cron|taskscheduler to get the entry that runs "
    "'msde auto' (hourly by default); each run backs up, with verification, only the dossiers "
    "whose delay or movement count is reached, then keeps the N newest verified backups. "
    "SQL Server dossiers: the run never prompts; it takes the password from "
    "MSDE_PASSWORD_<PROFILE> (or MSDE_PASSWORD) in the scheduler's environment."
)

PASSWORD_NOTE = (
    "# SQL Server dossiers: msde auto takes the password from MSDE_PASSWORD_<PROFILE> (profile name "
    "upper-cased, other characters than A-Z/0-9 as _) or MSDE_PASSWORD, never from a file it writes."
)

auto_app = typer.Typer(name="auto", help=HELP, invoke_without_command=True, no_args_is_help=False)
policy_app = typer.Typer(name="policy", help="Show or change the automatic-backup policy.", no_args_is_help=True)
auto_app.add_typer(policy_app)


@auto_app.callback()
def auto(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print each decision and why; change nothing."),
    dossier: Annotated[list[str] | None, typer.Option("--dossier", "-d", help="Only this dossier (repeatable).")] = None,
    select_all: bool = typer.Option(False, "--all", help="Every dossier of the list (the default)."),
    where: str = typer.Option(None, "--where", help=selecting.WHERE_HELP),
    install: str = typer.Option(
        None, "--install", metavar="systemd|cron|taskscheduler",
        help="Print the scheduler entry that runs 'msde auto' (SQL Server Express has no Agent).",
    ),
    write: bool = typer.Option(False, "--write", help="With --install: install the entry where you have the right."),
    every: str = typer.Option(
        "hour", "--every", metavar="hour|day|N",
        help="With --install: how often the scheduler runs 'msde auto': every hour, every day, or every N hours "
             "(N = 2, 3, 4, 6, 8 or 12).",
    ),
    at: str = typer.Option(
        None, "--at", metavar="HH:MM",
        help="With --install: the first run's time (every N hours from it, around the clock); for every hour, "
             "its minute. Default: minute 17, or 02:17.",
    ),
    run_as: str = typer.Option(
        None, "--run-as", metavar="ACCOUNT",
        help="With --install taskscheduler: the account the task runs as (DOMAIN\\user or SYSTEM; default: you).",
    ),
    stored_password: bool = typer.Option(
        False, "--stored-password",
        help="With --install taskscheduler --write: schtasks asks for the account's password and keeps it "
             "(needed for network shares).",
    ),
    status: bool = typer.Option(
        False, "--status",
        help="Is the schedule the wizard installs in place: its kind, next run and log (with --install KIND: "
             "that entry; Task Scheduler: how it ran).",
    ),
    uninstall: str = typer.Option(None, "--uninstall", metavar="systemd|cron|taskscheduler", help="Remove the scheduler entry."),
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
            raise BadInput("--run-as and --stored-password go with --install taskscheduler.",
                           "systemd and cron entries run as the user who installs them.")
        account = None  # elsewhere than Windows: the XML names no user (the one registering it)
        if run_as or osdep.HAS_TASK_SCHEDULER:
            account = schedule.TaskAccount(run_as or osdep.current_account(), stored_password)
        elif stored_password:
            raise BadInput("--stored-password needs --run-as here: this machine cannot tell the Windows account.",
                           "E.g. --run-as OFFICE\\backup --stored-password")
        _install(st, install, write=write, rhythm=schedule.Rhythm.parse(every, at), account=account)
        return
    if write:
        raise BadInput("--write goes with --install.", "E.g. msde auto --install systemd --write")
    if where:
        if dossier:
            raise BadInput("--dossier and --where cannot be used together.", "Give one of them.")
        dossier = [d.code for d in selecting.choose(st, None, where=where)]
        if not dossier:
            emit(st, {"dossiers": [], "where": where}, f"No dossier matches --where {where}: nothing to do.")
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
        _out("Dry run: nothing is backed up, deleted or recorded.")
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
            _out("The dossier list is empty: nothing to do.")
        elif all(r.details.get("action") == "off" for r in dossiers):
            _out("Automatic backups are off. Turn them on with: msde auto policy set --enable")


def _file_lines(result: DossierResult) -> list[str]:
    """What a dossier's run wrote or deleted (or, dry, would delete), one line each."""
    lines = [f"    {result.dossier}: wrote {f} (verified)" for f in result.files]
    for key, word in (("deleted", "deleted"), ("would_delete", "would delete")):
        found = result.details.get(key)
        if isinstance(found, list):
            lines += [f"    {result.dossier}: {word} {_base(str(f))}" for f in found]
    return lines


@auto_app.command("status")
def status(ctx: typer.Context) -> None:
    """The last run's outcome per dossier (recorded in the data dir)."""
    st = state(ctx)
    last = auto_report.load_last_run(st.home)
    if last is None:
        _emit(st, {"last_run": None}, "No automatic backup run was recorded yet.")
        return
    lines = [f"Last run: {last.get('started_at', '?')} to {last.get('finished_at', '?')}"
             f" — {'OK' if last.get('ok') else 'FAILED for some dossiers'}"]
    for d in last.get("dossiers", []):
        line = f"{d.get('code')}: {d.get('action')} — {d.get('reason')}"
        if not d.get("ok", True):
            line += f" — FAILED: {d.get('message')}"
        lines.append(line)
        if d.get("last_verified_at"):
            lines.append(f"    last verified backup {d.get('last_verified_at')}: {d.get('last_verified_file')}")
    _emit(st, {"last_run": last}, "\n".join(lines))


# ----------------------------------------------------------------------------- install


def _kind(kind: str) -> str:
    kind = kind.strip().lower()
    if kind not in schedule.KINDS:
        raise BadInput(f"'{kind}' is not a scheduler.", "Use systemd, cron or taskscheduler.")
    return kind


def _task_scheduler(what: str) -> None:
    if not osdep.HAS_TASK_SCHEDULER:
        raise BadInput(f"{what} taskscheduler needs Windows: this machine has no Task Scheduler.",
                       "Run it on the Windows server where the task is registered.")


def _scheduler_status(st: State, kind: str) -> None:
    kind = _kind(kind)
    details = ""
    if kind == "taskscheduler":
        _task_scheduler("--status")
        found = osdep.task_state(schedule.TASK_NAME)
        registered, details, name = found.registered, found.details, f"The task '{schedule.TASK_NAME}'"
    elif kind == "cron":
        line = schedule.cron_entry()
        registered, details, name = line is not None, line or "", "The msde-auto crontab line"
    else:
        units = schedule.systemd_entry()
        registered, name = bool(units), f"The {schedule.UNIT_NAME} systemd units"
        details = "\n".join(str(p) for p in units)
        if units:
            details += f"\n(systemctl --user list-timers {schedule.UNIT_NAME}.timer says when it runs)"
    head = f"{name} {'is' if kind != 'systemd' else 'are'} {'installed' if registered else 'not installed'}."
    _emit(st, {"kind": kind, "registered": registered, "details": details},
          "\n".join([head, details] if registered and details else [head]))
    if not registered:
        set_exit(1)


def describe_schedule(found: installed.ScheduleState) -> str:
    """The same words as the wizard's settings screen (in English)."""
    if not found.installed:
        return ("No schedule is installed: automatic backups do not run. Tick 'Operational' in the "
                "wizard, or: msde auto --install systemd|cron|taskscheduler --write")
    when = found.next_run.strftime("%Y-%m-%d %H:%M") if found.next_run else "-"
    return (f"Automatic backups are scheduled ({installed.KIND_WORDS.get(found.kind, found.kind)}), "
            f"{found.rhythm.describe()}.\nNext run: {when}.\nLog: {found.log}")


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
        done = f"Deleted the task '{schedule.TASK_NAME}'."
    elif kind == "cron":
        removed = schedule.remove_cron()
        done = "Removed the msde-auto line from your crontab (other lines kept)."
    else:
        files, follow = schedule.remove_systemd()
        removed = bool(files)
        done = "Deleted " + ", ".join(str(p) for p in files) + f". Now run:\n  {follow}"
    _emit(st, {"kind": kind, "removed": removed, "next": follow if removed else ""},
          done if removed else f"No {kind} entry of msde auto was installed: nothing to remove.")


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
            out += [f"Wrote {p}" for p in payload["written"]] + [describe_schedule(found)]
        else:
            for name, text in units.items():
                out += [f"# ~/.config/systemd/user/{name}", text]
            out.append("# Install with --write, then: systemctl --user enable --now msde-auto.timer")
            out.append("# SQL Server dossiers: put MSDE_PASSWORD_<PROFILE>=... in ~/.config/msde-tui/auto.env "
                       "yourself (chmod 600).")
    elif kind == "cron":
        line = schedule.cron_line(command, home, rhythm)
        payload["entries"] = {"crontab": line}
        if write:
            found = installed.install(st.home, rhythm, kind, pass_home=home is not None)
            payload["written"] = ["crontab"]
            out += ["Installed in your crontab (a previous msde-auto line was replaced):",
                    schedule.cron_entry() or line, describe_schedule(found)]
        else:
            out += [line, "# Install with --write (uses 'crontab -', keeps your other lines).", PASSWORD_NOTE,
                    "# Add a line MSDE_PASSWORD_<PROFILE>=... above it yourself with 'crontab -e'."]
    else:
        text = schedule.task_xml(command, home, rhythm, account=account)
        payload["entries"] = {"msde-auto.xml": text}
        if write:
            path, create = schedule.install_taskscheduler(
                text, st.home / AUTO_DIR / "msde-auto.xml", account=account)
            payload["written"], payload["next"] = [str(path)], create
            out.append(f"Wrote {path} (UTF-16)")
            if account is None or not (account.stored_password or account.is_system):
                notes.append("# Runs whether the user is logged on or not, without a stored password: local "
                             "disks and SQL Server work, Windows network shares do not (--stored-password).")
            if osdep.HAS_TASK_SCHEDULER and account is not None:
                osdep.register_task(path, schedule.TASK_NAME,
                                    password_account=account.user if account.stored_password else None)
                payload["registered"], payload["next"] = True, ""
                installed.record(st.home, kind, rhythm)  # what --status and the wizard read
                out += [f"Registered the task '{schedule.TASK_NAME}' ({rhythm.describe()}, as {account.user}).",
                        "Check it with: msde auto --install taskscheduler --status"]
            else:
                out += ["Register it on the Windows server (as the account it runs as, or as an administrator):",
                        f"  {create}"]
        else:
            # stdout holds the XML alone (so '> task.xml' is a well-formed file), declared in the
            # encoding it is printed in; --write saves the UTF-16 file; the notes go to stderr
            out.append(text.replace('encoding="UTF-16"', 'encoding="UTF-8"', 1).rstrip("\n"))
            notes = ["# Save with --write (UTF-16), then register it with schtasks /Create /XML.",
                     PASSWORD_NOTE,
                     "# Set it as a user environment variable of the account the task runs as "
                     "(setx MSDE_PASSWORD_<PROFILE> ...)."]
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
        return [
            f"  operational (enabled)  {'yes' if p.enabled else 'no'}",
            f"  backups kept (keep)    {p.keep}",
            f"  every_days             {p.every_days}{'  (off)' if not p.every_days else ''}",
            f"  max_movements          {p.max_movements}{'  (off)' if not p.max_movements else ''}",
            f"  directory              {p.target_dir(home)}",
            f"  server_directory       {p.server_directory or '(the instance default backup directory)'}",
            f"  test_restore           {'yes (SQL Server: scratch restore + DBCC CHECKDB)' if p.test_restore else 'no'}",
        ]

    if code:
        lines = [f"Policy for {code}" + (" (overrides: " + ", ".join(config.overrides[code]) + ")"
                                         if code in config.overrides else " (the global policy)")]
        return lines + fmt(config.effective(code))
    lines = ["Global policy"] + fmt(config.default)
    for c in sorted(config.overrides):
        values = ", ".join(f"{k} = {v!r}" for k, v in config.overrides[c].items())
        lines.append(f"Override {c}: {values}")
    return lines


def _resolve_code(st: State, ref: str) -> str:
    found = st.catalog().find(ref)
    if found is not None:
        return found.code
    return policy_engine.parse_code(ref).code  # a dossier not (yet) in the list, by code


@policy_app.command("show")
def policy_show(
    ctx: typer.Context,
    dossier: str = typer.Argument(None, help="Show the policy as it applies to this dossier."),
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
    _emit(st, payload, "\n".join([*_policy_lines(config, code, st.home), f"(stored in {payload['file']})"]))


@policy_app.command("set")
def policy_set(
    ctx: typer.Context,
    dossier: str = typer.Option(None, "--dossier", "-d", help="Change this dossier's overrides, not the global policy."),
    enabled: bool = typer.Option(None, "--enable/--disable", help="Operational: automatic backups on or off."),
    keep: int = typer.Option(None, "--keep", help="Backups kept before the oldest is overwritten (1-999)."),
    every_days: int = typer.Option(None, "--every-days", help="A backup is due after this many days (0 = off)."),
    max_movements: int = typer.Option(None, "--max-movements", help="... or after this many new movements (0 = off)."),
    directory: str = typer.Option(None, "--dir", help="Target directory of embedded dossiers' backups."),
    server_directory: str = typer.Option(
        None, "--server-dir", help="SQL Server dossiers: a directory on the SERVER host ('' = instance default)."),
    test_restore: bool = typer.Option(
        None, "--test-restore/--no-test-restore",
        help="SQL Server dossiers: restore each new backup under a scratch name, DBCC CHECKDB it, drop it."),
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
        raise BadInput("Nothing to change.", "Give at least one option, e.g. --enable --keep 3.")
    if changes.get("directory"):
        path = Path(changes["directory"]).expanduser()
        if not path.is_absolute():
            raise BadInput(f"'{changes['directory']}' is not an absolute path.",
                           "Give the full path of the backup directory.")
        changes["directory"] = str(path)
    config = policy_engine.load(st.home)
    code = _resolve_code(st, dossier) if dossier else None
    config = config.with_override(code, **changes) if code else config.with_default(**changes)
    path = policy_engine.save(config, st.home)
    _emit(st, {"file": str(path), "default": asdict(config.default), "overrides": config.overrides},
         "\n".join([*_policy_lines(config, code, st.home), f"Saved in {path}"]))


@policy_app.command("unset")
def policy_unset(
    ctx: typer.Context,
    dossier: str = typer.Option(..., "--dossier", "-d", help="The dossier whose overrides go."),
    settings: Annotated[list[str] | None, typer.Argument(help=f"Settings to drop ({', '.join(FIELD_NAMES)}); none = all.")] = None,
) -> None:
    """Drop a dossier's overrides: it follows the global policy again."""
    st = state(ctx)
    config = policy_engine.load(st.home)
    code = _resolve_code(st, dossier)
    config = config.without_override(code, *(settings or []))
    path = policy_engine.save(config, st.home)
    _emit(st, {"file": str(path), "default": asdict(config.default), "overrides": config.overrides},
         "\n".join([*_policy_lines(config, code, st.home), f"Saved in {path}"]))


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(auto_app)
