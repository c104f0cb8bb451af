"""The schedule the wizard installs when "Operational" is ticked, and removes when it is not.

One entry per user, of the kind this machine runs: a systemd user timer where systemd runs the
user's session, else a crontab line; the Task Scheduler on Windows. The entries themselves are
built and written by ``schedule`` (and registered by the OS layer on Windows); this module only
chooses the kind, starts/stops it, and keeps a small record (``auto/schedule.json``: kind,
rhythm, log) so that the wizard and ``msde auto --status`` say the same thing: installed or
not, when the next run is, where its log goes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from msde_tui import osdep
from msde_tui.engine import auditlog
from msde_tui.engine.atomic import write_atomic
from msde_tui.engine.auto import schedule
from msde_tui.engine.auto.records import AUTO_DIR
from msde_tui.engine.errors import MsdeError

KIND_WORDS = {"systemd": "systemd user timer", "cron": "crontab line", "taskscheduler": "Task Scheduler task"}
RECORD_FILE = "schedule.json"
LOG_FILE = "scheduler.log"


@dataclass(frozen=True)
class ScheduleState:
    """What is installed: ``kind`` ("" when nothing), the rhythm in words, the next run and
    where the runs' output goes."""

    kind: str
    installed: bool
    rhythm: schedule.Rhythm
    next_run: datetime | None
    log: str

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind, "installed": self.installed, "rhythm": self.rhythm.describe(),
            "next_run": self.next_run.isoformat(timespec="minutes") if self.next_run else None,
            "log": self.log,
        }


def _systemctl(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str] | None:
    exe = shutil.which("systemctl")
    if exe is None:
        return None
    try:
        return subprocess.run([exe, "--user", *args], capture_output=True, text=True, timeout=timeout,
                              check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None


def machine_kind() -> str:
    """The scheduler of this machine: taskscheduler (Windows), systemd (a user manager answers)
    or cron."""
    if osdep.HAS_TASK_SCHEDULER:
        return "taskscheduler"
    answer = _systemctl("show-environment", timeout=5)  # a user manager answers at once
    return "systemd" if answer is not None and answer.returncode == 0 else "cron"


def log_path(home: Path) -> Path:
    return Path(home) / AUTO_DIR / LOG_FILE


def _record_path(home: Path) -> Path:
    return Path(home) / AUTO_DIR / RECORD_FILE


def next_run(rhythm: schedule.Rhythm, now: datetime | None = None) -> datetime:
    """When the scheduler next starts ``msde auto`` (systemd adds up to two minutes)."""
    now = (now or datetime.now()).replace(second=0, microsecond=0)
    hours = rhythm.run_hours()
    for hour in hours:
        candidate = now.replace(hour=hour, minute=rhythm.minute)
        if candidate > now:
            return candidate
    return now.replace(hour=hours[0], minute=rhythm.minute) + timedelta(days=1)


def _must(step: subprocess.CompletedProcess[str] | None, what: str) -> None:
    if step is None or step.returncode != 0:
        said = "" if step is None else (step.stderr or step.stdout or "").strip()
        raise MsdeError(
            f"'systemctl --user {what}' failed{': ' + said if said else ''}.",
            "Check that your user's systemd runs (loginctl enable-linger), or untick and use cron.",
        )


def install(home: Path, rhythm: schedule.Rhythm | None = None, kind: str | None = None, *,
            pass_home: bool = True) -> ScheduleState:
    """Install (or replace) the entry that runs ``msde auto`` for this data directory, and
    record it (``schedule.json``). The wizard and ``msde auto --install KIND --write`` both
    come here. ``pass_home`` False: the entry gives no ``--home`` (the default data dir)."""
    kind = kind or machine_kind()
    rhythm = rhythm or schedule.Rhythm()
    command = schedule.msde_command()
    data_dir = str(home) if pass_home else None
    log = log_path(home)
    log.parent.mkdir(parents=True, exist_ok=True)
    if kind == "systemd":
        units = schedule.systemd_units(command, data_dir, rhythm, log=str(log))
        schedule.install_systemd(units)
        _must(_systemctl("daemon-reload"), "daemon-reload")
        _must(_systemctl("enable", "--now", f"{schedule.UNIT_NAME}.timer"), "enable --now")
        # a timer already running (a schedule replaced by another time) takes its new OnCalendar
        _must(_systemctl("restart", f"{schedule.UNIT_NAME}.timer"), "restart")
    elif kind == "cron":
        schedule.install_cron(schedule.cron_line(command, data_dir, rhythm, log=str(log)))
    else:
        path = Path(home) / AUTO_DIR / "msde-auto.xml"
        schedule.install_taskscheduler(schedule.task_xml(command, data_dir, rhythm), path)
        osdep.register_task(path, schedule.TASK_NAME)
    return record(home, kind, rhythm)


def record(home: Path, kind: str, rhythm: schedule.Rhythm) -> ScheduleState:
    """Keep what was installed (``schedule.json``) and return the state it gives."""
    log = Path(home) / auditlog.LOG_FILE if kind == "taskscheduler" else log_path(home)
    _write_record(home, {"kind": kind, **rhythm.as_record(), "log": str(log)})
    return state(home)


def remember(home: Path, rhythm: schedule.Rhythm) -> None:
    """Keep the rhythm the user chose without installing anything (the wizard's time field
    keeps it when the user declines the install or unticks "Operational")."""
    data = _recorded(home)
    _write_record(home, {**data, **rhythm.as_record(), "kind": data.get("kind", "")})


def _write_record(home: Path, record: dict[str, object]) -> None:
    record.pop("every", None)  # the older form of the rhythm, replaced by "hours"
    write_atomic(_record_path(home), json.dumps(record, indent=2).encode("utf-8"))


def _recorded(home: Path) -> dict[str, object]:
    try:
        data = json.loads(_record_path(home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _present(kind: str) -> bool:
    if kind == "systemd":
        return bool(schedule.systemd_entry())
    if kind == "cron":
        try:
            return schedule.cron_entry() is not None
        except MsdeError:
            return False
    if kind == "taskscheduler" and osdep.HAS_TASK_SCHEDULER:
        return osdep.task_state(schedule.TASK_NAME).registered
    return False


def state(home: Path, now: datetime | None = None) -> ScheduleState:
    """What is installed now (the recorded kind, checked against the scheduler itself)."""
    data = _recorded(home)
    kind = str(data.get("kind") or "")
    try:
        rhythm = schedule.Rhythm.from_record(data)
    except (MsdeError, ValueError):
        rhythm = schedule.Rhythm()
    installed = bool(kind) and _present(kind)
    return ScheduleState(
        kind=kind if installed else "", installed=installed, rhythm=rhythm,
        next_run=next_run(rhythm, now) if installed else None,
        log=str(data.get("log") or log_path(home)),
    )


def remove(home: Path) -> bool:
    """Remove the installed entry (whatever its kind); False when there was none."""
    kind = str(_recorded(home).get("kind") or machine_kind())
    removed = False
    if kind == "systemd":
        if schedule.systemd_entry():
            _systemctl("disable", "--now", f"{schedule.UNIT_NAME}.timer")  # stopped before deleted
            files, _follow = schedule.remove_systemd()
            removed = bool(files)
            _systemctl("daemon-reload")
    elif kind == "cron":
        removed = schedule.remove_cron()
    elif osdep.HAS_TASK_SCHEDULER:
        removed = osdep.remove_task(schedule.TASK_NAME)
    if _record_path(home).exists():  # nothing installed now; the chosen rhythm is kept
        try:
            _write_record(home, {**_recorded(home), "kind": ""})
        except OSError as exc:
            raise MsdeError(f"Cannot write {_record_path(home)} ({exc.strerror or exc}).") from exc
    return removed
