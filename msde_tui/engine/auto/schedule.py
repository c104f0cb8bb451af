"""Entries that run ``msde auto`` from the OS scheduler (SQL Server Express has no Agent).

- systemd (Linux): a user service + timer pair, ``msde-auto.service`` / ``msde-auto.timer``.
- cron: one crontab line, tagged with ``# msde-auto`` so a later install replaces it.
- Windows Task Scheduler: a task XML (UTF-16, as ``schtasks /Create /XML`` expects).

The scheduler only sets the rhythm at which the policy is looked at (``Rhythm``: hourly by default,
so that the movement trigger is noticed the same day; or every N hours, or daily, from a time); ``msde auto`` itself decides per dossier whether a
backup is due. Everything here is pure text generation except ``install_*`` which write files or
call ``crontab``. Passwords are never put in an entry: SQL Server dossiers read
``MSDE_PASSWORD_<PROFILE>`` (profile name upper-cased, other characters than A-Z/0-9 as ``_``)
or ``MSDE_PASSWORD`` from an environment file the technician creates (systemd) or use the
scheduler's own means (a ``NAME=value`` line in the crontab, a user environment variable).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath, PureWindowsPath
from xml.sax.saxutils import escape

from msde_tui.engine.atomic import write_atomic
from msde_tui.engine.errors import BadInput, MsdeError
from msde_tui.i18n import N_, _
from msde_tui.osdep import create_task_command, executable_name

UNIT_NAME = "msde-auto"
CRON_MARKER = "# msde-auto"
TASK_NAME = "msde-tui auto"
TASK_NS = "http://schemas.microsoft.com/windows/2004/02/mit/task"
TASK_VERSION = "1.3"  # Windows 7 / Server 2008 R2 and later; the schema tests/ validates against
SYSTEM_SID = "S-1-5-18"
SYSTEM_NAMES = ("system", "nt authority\\system", SYSTEM_SID.lower())
KINDS = ("systemd", "cron", "taskscheduler")


INTERVALS = (1, 2, 3, 4, 6, 8, 12, 24)  # hours that divide a day: every day runs at the same times
TIME_HINT = "Type the time as HH:MM, e.g. 02:17."


@dataclass(frozen=True)
class Rhythm:
    """When the scheduler starts ``msde auto``: at ``hour:minute`` and every ``hours`` hours from
    there, around the clock (1 = every hour at that minute, 24 = once a day).

    ``hours`` divides 24, so every day has the same run times and the three schedulers say the
    same thing: a systemd ``OnCalendar`` and a crontab line list those hours, a Task Scheduler
    trigger starts at the first of them and repeats every ``hours`` hours for the day.
    """

    hours: int = 1
    hour: int = 0
    minute: int = 17

    def __post_init__(self) -> None:
        if self.hours not in INTERVALS:
            raise BadInput(f"Every {self.hours} hours is not a rhythm the scheduler can keep.",
                           "Use 1, 2, 3, 4, 6, 8, 12 or 24 hours (24 = once a day).")
        if not (0 <= self.hour <= 23 and 0 <= self.minute <= 59):
            raise BadInput(f"{self.hour}:{self.minute:02d} is not a time of day.", TIME_HINT)
        if self.hours == 1:
            object.__setattr__(self, "hour", 0)  # every hour: only the minute matters

    @classmethod
    def parse(cls, every: str, at: str | None) -> Rhythm:
        """``every`` = hour | day | a number of hours (``6`` or ``6h``); ``at`` = "HH:MM" (the
        first run; for every hour, "MM" alone will do). Without ``at``: minute 17 of every hour,
        else from 02:17."""
        word = every.strip().lower()
        hours = {"hour": 1, "hourly": 1, "day": 24, "daily": 24}.get(word)
        if hours is None:
            digits = word[:-1] if word.endswith("h") else word
            if not digits.isdigit():
                raise BadInput(f"'{every}' is not a rhythm.", "Use hour, day or a number of hours (e.g. 6).")
            hours = int(digits)
        hour, minute = (0 if hours == 1 else 2), 17
        if at:
            hour, minute = parse_time(at, minute_alone=hours == 1)
        return cls(hours=hours, hour=hour, minute=minute)

    @classmethod
    def from_record(cls, data: dict[str, object]) -> Rhythm:
        """From a saved record (``hours``, or the older ``every`` = hour|day)."""
        hours = data.get("hours")
        if hours is None:
            hours = 24 if data.get("every") == "day" else 1
        return cls(int(str(hours)), int(str(data.get("hour", 2))), int(str(data.get("minute", 17))))

    def as_record(self) -> dict[str, int]:
        return {"hours": self.hours, "hour": self.hour, "minute": self.minute}

    @property
    def at(self) -> str:
        """The first run's time as typed: HH:MM."""
        return f"{self.hour:02d}:{self.minute:02d}"

    def run_hours(self) -> list[int]:
        """The hours of the day a run starts at (at ``minute``), in the day's order."""
        return sorted((self.hour + k * self.hours) % 24 for k in range(24 // self.hours))

    def times(self) -> list[str]:
        """The run times from the first one typed, around the clock: ["08:17", "14:17", ...]."""
        ordered = [(self.hour + k * self.hours) % 24 for k in range(24 // self.hours)]
        return [f"{h:02d}:{self.minute:02d}" for h in ordered]

    def describe(self) -> str:
        if self.hours == 1:
            return f"every hour at minute {self.minute:02d}"
        if self.hours == 24:
            return f"every day at {self.at}"
        if self.hours >= 4:
            return f"every {self.hours} hours from {self.at} ({', '.join(self.times())})"
        return f"every {self.hours} hours from {self.at} ({24 // self.hours} runs a day)"

# The scheduler kinds and a rhythm in words, as the wizard's settings screen and `msde auto`
# say them (translated when called).
KIND_WORDS = {"systemd": N_("systemd user timer"), "cron": N_("crontab line"),
              "taskscheduler": N_("Task Scheduler task")}


def describe_rhythm(rhythm: Rhythm) -> str:
    """``rhythm`` in the user's words: every hour at minute 17, every day at 02:17..."""
    if rhythm.hours == 1:
        return _("every hour at minute {minute:02d}").format(minute=rhythm.minute)
    if rhythm.hours == 24:
        return _("every day at {hour:02d}:{minute:02d}").format(hour=rhythm.hour, minute=rhythm.minute)
    if rhythm.hours >= 4:
        return _("every {hours} hours from {at} ({times})").format(
            hours=rhythm.hours, at=rhythm.at, times=", ".join(rhythm.times()))
    return _("every {hours} hours from {at} ({count} runs a day)").format(
        hours=rhythm.hours, at=rhythm.at, count=24 // rhythm.hours)



def parse_time(text: str, *, minute_alone: bool = False) -> tuple[int, int]:
    """(hour, minute) from "HH:MM" (or "H:MM"; "MM" alone when ``minute_alone``)."""
    parts = text.strip().split(":")
    if not all(p.isdigit() and len(p) <= 2 for p in parts):
        raise BadInput(f"'{text}' is not a time.", TIME_HINT)
    numbers = [int(p) for p in parts]
    if len(numbers) == 2:
        hour, minute = numbers
    elif len(numbers) == 1 and minute_alone:
        hour, minute = 0, numbers[0]
    else:
        raise BadInput(f"'{text}' is not a time.", TIME_HINT)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise BadInput(f"'{text}' is not a time of day.", TIME_HINT)
    return hour, minute


# ----------------------------------------------------------------------------- command


def msde_command() -> list[str]:
    """Absolute command that runs the ``msde`` CLI of this installation."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name.lower() in ("msde", "msde.exe") and argv0.exists():
        return [str(argv0.resolve())]
    beside = Path(sys.executable).parent / executable_name("msde")
    if beside.exists():
        return [str(beside.absolute())]
    found = shutil.which("msde")
    if found:
        return [str(Path(found).resolve())]
    return [str(Path(sys.executable).absolute()), "-c", "from msde_tui.cli import entry; entry()"]


def _check_args(command: list[str], home: str | None) -> None:
    for part in [*command, home or ""]:
        if any(ch in part for ch in "\x00\r\n"):
            raise BadInput("A path holds a line break or NUL.", "Install msde and its data dir under plain paths.")
    if not command or not (PurePosixPath(command[0]).is_absolute() or PureWindowsPath(command[0]).is_absolute()):
        raise BadInput(f"'{command[0] if command else ''}' is not an absolute path to msde.")


# ----------------------------------------------------------------------------- systemd


def _hours_field(rhythm: Rhythm, form: str) -> str:
    """The hour field of an OnCalendar or crontab line: * (every hour) or the list of hours."""
    return "*" if rhythm.hours == 1 else ",".join(form % h for h in rhythm.run_hours())



def _systemd_quote(word: str) -> str:
    """One ExecStart word: double-quoted, with systemd's specifiers (% and $) escaped."""
    text = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{text}"'


def systemd_units(command: list[str], home: str | None, rhythm: Rhythm = Rhythm(),
                  log: str | None = None) -> dict[str, str]:
    """``{"msde-auto.service": text, "msde-auto.timer": text}`` (systemd --user units);
    with ``log``, the runs' output is appended to that file (else it goes to the journal)."""
    _check_args([*command, log] if log else command, home)
    exec_start = " ".join(_systemd_quote(w) for w in [*command, "auto"])
    service = [
        "[Unit]",
        "Description=msde automatic backups (msde auto)",
        "",
        "[Service]",
        "Type=oneshot",
    ]
    if home:
        env = f"MSDE_HOME={home}".replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
        service.append(f'Environment="{env}"')
    service += [
        "# SQL Server dossiers: put MSDE_PASSWORD_<PROFILE>=... (or MSDE_PASSWORD=... for every",
        "# profile) in this file yourself (chmod 600); msde never writes a password anywhere.",
        "EnvironmentFile=-%h/.config/msde-tui/auto.env",
        f"ExecStart={exec_start}",
        "Nice=10",
        "IOSchedulingClass=idle",
    ]
    if log:
        target = log.replace("%", "%%")
        service += [f"StandardOutput=append:{target}", f"StandardError=append:{target}"]
    service.append("")
    calendar = f"*-*-* {_hours_field(rhythm, '%02d')}:{rhythm.minute:02d}:00"
    timer = [
        "[Unit]",
        f"Description=Run msde auto {rhythm.describe()}",
        "",
        "[Timer]",
        f"OnCalendar={calendar}",
        "Persistent=true",
        "RandomizedDelaySec=120",
        f"Unit={UNIT_NAME}.service",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ]
    return {f"{UNIT_NAME}.service": "\n".join(service), f"{UNIT_NAME}.timer": "\n".join(timer)}


def systemd_user_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def install_systemd(units: dict[str, str], directory: Path | None = None) -> tuple[list[Path], str]:
    """Write the unit files; return them and the command that enables the timer."""
    directory = directory or systemd_user_dir()
    written: list[Path] = []
    try:
        for name, text in units.items():
            path = directory / name
            write_atomic(path, text.encode("utf-8"))
            written.append(path)
    except OSError as exc:
        raise MsdeError(
            f"Cannot write the systemd units into {directory} ({exc.strerror or exc}).",
            "Check the rights on that directory, or copy the printed units there yourself.",
        ) from exc
    enable = (
        f"systemctl --user daemon-reload && systemctl --user enable --now {UNIT_NAME}.timer"
        "  # and once: loginctl enable-linger \"$USER\" (runs while logged out)"
    )
    return written, enable


# ----------------------------------------------------------------------------- cron


def cron_line(command: list[str], home: str | None, rhythm: Rhythm = Rhythm(),
              log: str | None = None) -> str:
    """One crontab line (5 time fields + a /bin/sh command), tagged with ``# msde-auto``;
    with ``log``, the run's output is appended to that file (else cron mails it)."""
    _check_args([*command, log] if log else command, home)
    hour = _hours_field(rhythm, "%d")
    words = [shlex.quote(w) for w in [*command, "auto"]]
    shell = " ".join(words)
    if home:
        shell = f"MSDE_HOME={shlex.quote(home)} {shell}"
    if log:
        shell = f"{shell} >> {shlex.quote(log)} 2>&1"
    shell = shell.replace("%", "\\%")  # cron turns a bare % into a newline
    return f"{rhythm.minute} {hour} * * * {shell} {CRON_MARKER}"


def merge_crontab(existing: str, line: str) -> str:
    """The crontab with every previous msde-auto line replaced by ``line`` (others kept)."""
    kept = [raw for raw in existing.splitlines() if not raw.rstrip().endswith(CRON_MARKER)]
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join([*kept, line]) + "\n"


def _crontab(command: list[str], table: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run crontab with its own stdin (never the terminal's), within 30 s (``MsdeError`` else)."""
    try:
        return subprocess.run(command, input=table if table is not None else "", capture_output=True,
                              text=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        raise MsdeError(f"'{' '.join(['crontab', *command[1:]])}' did not answer within 30 seconds.",
                        "Nothing was changed; edit it yourself with 'crontab -e'.") from None
    except OSError as exc:
        raise MsdeError(f"'crontab' could not be started: {exc.strerror or exc}.",
                        "Install cron (e.g. sudo apt-get install cron), then try again.") from None


def _read_crontab(crontab: str) -> tuple[str, str]:
    """(the crontab command's path, the user's current table or "")."""
    exe = shutil.which(crontab)
    if exe is None:
        raise MsdeError(
            "The 'crontab' command is not installed on this machine.",
            "Install cron (e.g. sudo apt-get install cron), then try again.",
        )
    current = _crontab([exe, "-l"])
    if current.returncode != 0 and "no crontab" not in (current.stderr or "").lower():
        raise MsdeError(
            f"'crontab -l' failed: {(current.stderr or '').strip() or current.returncode}.",
            "Check that you may use cron (cron.allow / cron.deny), or install the printed line yourself.",
        )
    return exe, current.stdout if current.returncode == 0 else ""


def _write_crontab(exe: str, table: str) -> None:
    result = _crontab([exe, "-"], table)
    if result.returncode != 0:
        raise MsdeError(
            f"'crontab -' refused the new table: {(result.stderr or '').strip() or result.returncode}.",
            "Nothing was changed; edit it yourself with 'crontab -e'.",
        )


def install_cron(line: str, crontab: str = "crontab") -> str:
    """Install ``line`` into the user's crontab through ``crontab -`` (other lines kept)."""
    exe, existing = _read_crontab(crontab)
    merged = merge_crontab(existing, line)
    _write_crontab(exe, merged)
    return merged


def cron_entry(crontab: str = "crontab") -> str | None:
    """The msde-auto line of the user's crontab, if there is one."""
    _, existing = _read_crontab(crontab)
    lines = [raw for raw in existing.splitlines() if raw.rstrip().endswith(CRON_MARKER)]
    return lines[-1] if lines else None


def remove_cron(crontab: str = "crontab") -> bool:
    """Remove the msde-auto line(s), keep every other line; False when there was none."""
    exe, existing = _read_crontab(crontab)
    kept = [raw for raw in existing.splitlines() if not raw.rstrip().endswith(CRON_MARKER)]
    if len(kept) == len(existing.splitlines()):
        return False
    _write_crontab(exe, "\n".join(kept) + "\n" if kept else "")
    return True


def systemd_entry(directory: Path | None = None) -> list[Path]:
    """The msde-auto unit files present in the systemd user directory."""
    directory = directory or systemd_user_dir()
    return [p for p in (directory / f"{UNIT_NAME}.service", directory / f"{UNIT_NAME}.timer") if p.exists()]


def remove_systemd(directory: Path | None = None) -> tuple[list[Path], str]:
    """Delete the unit files; return them and the command that stops the timer."""
    removed = systemd_entry(directory)
    for path in removed:
        try:
            path.unlink()
        except OSError as exc:
            raise MsdeError(f"Cannot delete {path} ({exc.strerror or exc}).") from exc
    return removed, (f"systemctl --user disable --now {UNIT_NAME}.timer; systemctl --user daemon-reload")


# ----------------------------------------------------------------------------- Task Scheduler


def _windows_arg(word: str) -> str:
    """Quote one argument the way Windows' command-line parser splits it back."""
    if word and not any(ch in word for ch in ' \t"'):
        return word
    out, slashes = ['"'], 0
    for ch in word:
        if ch == "\\":
            slashes += 1
            continue
        if ch == '"':
            out.append("\\" * (slashes * 2 + 1) + '"')
        else:
            out.append("\\" * slashes + ch)
        slashes = 0
    out.append("\\" * (slashes * 2) + '"')
    return "".join(out)


@dataclass(frozen=True)
class TaskAccount:
    """Who the task runs as.

    - a user (``DOMAIN\\user``) without a stored password (S4U, the default): runs whether
      the user is logged on or not, reaches local files and SQL Server over TCP with a SQL
      login, but not Windows network shares;
    - the same with ``stored_password``: Task Scheduler keeps the password (typed at
      schtasks' own prompt) and the task reaches network shares too;
    - ``SYSTEM`` (LocalSystem): no password at all; its profile is not the technician's, so
      give the data directory with --home and the SQL password as a system variable.
    """

    user: str
    stored_password: bool = False

    @property
    def is_system(self) -> bool:
        return self.user.strip().lower() in SYSTEM_NAMES

    def principal_xml(self) -> str:
        if self.is_system:
            return (
                '    <Principal id="Author">\n'
                f"      <UserId>{SYSTEM_SID}</UserId>\n"
                "      <RunLevel>HighestAvailable</RunLevel>\n"
                "    </Principal>\n"
            )
        logon = "Password" if self.stored_password else "S4U"
        return (
            '    <Principal id="Author">\n'
            f"      <UserId>{escape(self.user)}</UserId>\n"
            f"      <LogonType>{logon}</LogonType>\n"
            "      <RunLevel>LeastPrivilege</RunLevel>\n"
            "    </Principal>\n"
        )


def task_xml(
    command: list[str],
    home: str | None,
    rhythm: Rhythm = Rhythm(),
    *,
    start: date | None = None,
    account: TaskAccount | None = None,
) -> str:
    """The Task Scheduler XML (text; encode with ``task_xml_bytes`` for the file).

    Elements follow the order of Microsoft's schema (tests/schemas/task-scheduler.xsd): a
    trigger's Enabled, StartBoundary, Repetition, then its schedule.
    """
    _check_args(command, home)
    if account is not None and (not account.user.strip() or any(ch in account.user for ch in "\x00\r\n<>")):
        raise BadInput(f"'{account.user}' is not an account name.", "Use DOMAIN\\user, .\\user or SYSTEM.")
    args = [*command[1:]]
    if home:
        args += ["--home", home]
    args.append("auto")
    start = start or date(2026, 1, 1)
    boundary = f"{start.isoformat()}T{rhythm.run_hours()[0]:02d}:{rhythm.minute:02d}:00"
    repetition = ""
    if rhythm.hours < 24:  # from the day's first run, every N hours for the day
        repetition = (
            "      <Repetition>\n"
            f"        <Interval>PT{rhythm.hours}H</Interval>\n"
            "        <Duration>P1D</Duration>\n"
            "        <StopAtDurationEnd>false</StopAtDurationEnd>\n"
            "      </Repetition>\n"
        )
    arguments = escape(" ".join(_windows_arg(a) for a in args))
    principal = account.principal_xml() if account is not None else (
        '    <Principal id="Author">\n'
        "      <LogonType>S4U</LogonType>\n"
        "      <RunLevel>LeastPrivilege</RunLevel>\n"
        "    </Principal>\n"
    )
    return (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        f'<Task version="{TASK_VERSION}" xmlns="{TASK_NS}">\n'
        "  <RegistrationInfo>\n"
        f"    <Description>msde automatic backups (msde auto), {escape(rhythm.describe())}. "
        "SQL Server Express has no Agent: this task plays its role.</Description>\n"
        f"    <URI>\\{escape(TASK_NAME)}</URI>\n"
        "  </RegistrationInfo>\n"
        "  <Triggers>\n"
        "    <CalendarTrigger>\n"
        "      <Enabled>true</Enabled>\n"
        f"      <StartBoundary>{boundary}</StartBoundary>\n"
        f"{repetition}"
        "      <ScheduleByDay>\n"
        "        <DaysInterval>1</DaysInterval>\n"
        "      </ScheduleByDay>\n"
        "    </CalendarTrigger>\n"
        "  </Triggers>\n"
        "  <Principals>\n"
        f"{principal}"
        "  </Principals>\n"
        "  <Settings>\n"
        "    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n"
        "    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n"
        "    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>\n"
        "    <StartWhenAvailable>true</StartWhenAvailable>\n"
        "    <Enabled>true</Enabled>\n"
        "    <ExecutionTimeLimit>PT12H</ExecutionTimeLimit>\n"
        "  </Settings>\n"
        '  <Actions Context="Author">\n'
        "    <Exec>\n"
        f"      <Command>{escape(command[0])}</Command>\n"
        f"      <Arguments>{arguments}</Arguments>\n"
        "    </Exec>\n"
        "  </Actions>\n"
        "</Task>\n"
    )


def task_xml_bytes(text: str) -> bytes:
    """UTF-16 little-endian with a BOM and CRLF line ends, as the declaration says."""
    return text.replace("\n", "\r\n").encode("utf-16")


def install_taskscheduler(text: str, path: Path, account: TaskAccount | None = None) -> tuple[Path, str]:
    """Write the task XML to ``path``; return it and the schtasks command that registers it."""
    try:
        write_atomic(path, task_xml_bytes(text))
    except OSError as exc:
        raise MsdeError(
            f"Cannot write {path} ({exc.strerror or exc}).",
            "Check the rights on that directory.",
        ) from exc
    password_account = account.user if account is not None and account.stored_password else None
    return path, subprocess.list2cmdline(create_task_command(path, TASK_NAME, password_account=password_account))
