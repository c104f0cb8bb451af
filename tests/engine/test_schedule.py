"""Scheduler entries for `msde auto`: systemd units, crontab line, Task Scheduler XML."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from msde_tui.engine.auto import schedule
from msde_tui.engine.auto.schedule import Rhythm
from msde_tui.engine.errors import BadInput, MsdeError

NS = {"t": schedule.TASK_NS}
ODD_HOME = "/srv/msde data/100% ok's $HOME"


def test_rhythm_parse() -> None:
    assert Rhythm.parse("hour", None) == Rhythm(1, 0, 17)
    assert Rhythm.parse("hour", "05") == Rhythm(1, 0, 5)
    assert Rhythm.parse("hour", "08:05") == Rhythm(1, 0, 5)  # every hour: the minute counts
    assert Rhythm.parse("day", "23:45") == Rhythm(24, 23, 45)
    assert Rhythm.parse("day", None) == Rhythm(24, 2, 17)
    assert Rhythm.parse("6", "8:17") == Rhythm.parse("6h", "08:17") == Rhythm(6, 8, 17)
    for every, at in [("day", "24:00"), ("day", "7"), ("week", None), ("hour", "x"), ("5", None),
                      ("0", None), ("48", "01:00"), ("6", "08:60"), ("6", "8:1:0"), ("day", "-1:00")]:
        with pytest.raises(BadInput):
            Rhythm.parse(every, at)


def test_msde_command_is_absolute_and_exists() -> None:
    command = schedule.msde_command()
    assert Path(command[0]).is_absolute() and Path(command[0]).exists()


# ----------------------------------------------------------------------------- systemd


def units_in(tmp_path: Path, home: str | None, rhythm: Rhythm) -> tuple[Path, Path]:
    units = schedule.systemd_units(schedule.msde_command(), home, rhythm)
    written, enable = schedule.install_systemd(units, tmp_path / "user")
    assert "systemctl --user enable --now msde-auto.timer" in enable
    service, timer = sorted(written)
    return service, timer


@pytest.mark.parametrize("home", [None, "/srv/msde", ODD_HOME])
@pytest.mark.parametrize("rhythm", [Rhythm(), Rhythm(24, 2, 30), Rhythm(6, 8, 17)])
def test_systemd_units_verify(tmp_path: Path, home: str | None, rhythm: Rhythm) -> None:
    service, timer = units_in(tmp_path, home, rhythm)
    text = service.read_text()
    assert "Type=oneshot" in text and "ExecStart=" in text and " \"auto\"" in text
    if home == ODD_HOME:
        assert 'Environment="MSDE_HOME=/srv/msde data/100%% ok\'s $HOME"' in text
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    result = subprocess.run([tool, "verify", str(service), str(timer)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "ignoring" not in result.stderr and "Unknown" not in result.stderr, result.stderr


def test_systemd_calendar_is_valid(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    for rhythm in (Rhythm(), Rhythm(24, 23, 5), Rhythm(6, 8, 17), Rhythm(2, 1, 0)):
        timer = schedule.systemd_units(schedule.msde_command(), None, rhythm)["msde-auto.timer"]
        calendar = next(line.split("=", 1)[1] for line in timer.splitlines() if line.startswith("OnCalendar="))
        result = subprocess.run([tool, "calendar", calendar], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        assert f"Normalized form: {calendar}" in result.stdout


@pytest.mark.posix_only  # file modes and geteuid
def test_systemd_write_refused_directory(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        blocker = tmp_path / "file"
        blocker.write_text("x")
        target = blocker / "user"  # a directory cannot be made under a file, even as root
    else:
        target = tmp_path / "ro"
        target.mkdir()
        target.chmod(stat.S_IRUSR | stat.S_IXUSR)
    with pytest.raises(MsdeError) as info:
        schedule.install_systemd({"msde-auto.service": "x"}, target)
    assert "Cannot write the systemd units" in info.value.message


# ----------------------------------------------------------------------------- cron

RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def parse_cron(line: str) -> tuple[list[str], str]:
    """Split a crontab line like cron does: 5 time fields, then the command."""
    parts = line.split(None, 5)
    assert len(parts) == 6, line
    fields, command = parts[:5], parts[5]
    for field, (low, high) in zip(fields, RANGES, strict=True):
        if field != "*":
            for value in field.split(","):
                assert value.isdigit() and low <= int(value) <= high, (field, low, high)
    return fields, command


def cron_to_shell(command: str) -> str:
    """cron's own step: an unescaped % ends the command; \\% is a literal %."""
    out, i = [], 0
    while i < len(command):
        if command[i] == "\\" and command[i + 1:i + 2] == "%":
            out.append("%")
            i += 2
            continue
        assert command[i] != "%", "bare % would cut the command"
        out.append(command[i])
        i += 1
    return "".join(out)


@pytest.mark.parametrize(("rhythm", "hours"), [(Rhythm(), "*"), (Rhythm(24, 3, 0), "3"),
                                               (Rhythm(6, 8, 17), "2,8,14,20")])
def test_cron_line_fields(rhythm: Rhythm, hours: str) -> None:
    line = schedule.cron_line(schedule.msde_command(), "/srv/msde", rhythm)
    fields, command = parse_cron(line)
    assert fields == [str(rhythm.minute), hours, "*", "*", "*"]
    assert command.endswith(schedule.CRON_MARKER)
    assert "MSDE_HOME=/srv/msde " in command


def test_cron_command_reaches_the_right_home(tmp_path: Path) -> None:
    """The command part, processed as cron and /bin/sh do, passes the odd home intact."""
    probe = tmp_path / "probe.py"
    probe.write_text("import os, sys\nprint(os.environ['MSDE_HOME'])\nprint(sys.argv[1:])\n")
    command = [sys.executable, str(probe)]
    line = schedule.cron_line(command, ODD_HOME)
    _fields, cmd = parse_cron(line)
    out = subprocess.run(["/bin/sh", "-c", cron_to_shell(cmd)], capture_output=True, text=True,
                         timeout=30, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [ODD_HOME, "['auto']"]


def test_merge_crontab_replaces_previous_msde_line() -> None:
    existing = "MAILTO=ops\n0 1 * * * /usr/bin/other-job\n5 * * * * /old/msde auto # msde-auto\n\n"
    merged = schedule.merge_crontab(existing, "17 * * * * /new/msde auto # msde-auto")
    assert merged == "MAILTO=ops\n0 1 * * * /usr/bin/other-job\n17 * * * * /new/msde auto # msde-auto\n"
    assert schedule.merge_crontab("", "L # msde-auto") == "L # msde-auto\n"


def fake_crontab(tmp_path: Path, initial: str | None) -> tuple[Path, Path]:
    """A stand-in `crontab` (none is installed here) keeping the table in a file, like the real one."""
    table = tmp_path / "table"
    if initial is not None:
        table.write_text(initial)
    exe = tmp_path / "bin" / "crontab"
    exe.parent.mkdir()
    exe.write_text(
        "#!/bin/sh\n"
        f'T="{table}"\n'
        'if [ "$1" = "-l" ]; then [ -f "$T" ] || { echo "no crontab for $(id -un)" >&2; exit 1; }; cat "$T"; exit 0; fi\n'
        'if [ "$1" = "-" ]; then cat > "$T"; exit 0; fi\n'
        "exit 2\n"
    )
    exe.chmod(0o755)
    return exe, table


@pytest.mark.posix_only  # the stand-in crontab is a shell script
@pytest.mark.parametrize("initial", [None, "0 1 * * * /usr/bin/other # keep me\n7 * * * * /x/msde auto # msde-auto\n"])
def test_install_cron_keeps_other_lines(tmp_path: Path, initial: str | None) -> None:
    exe, table = fake_crontab(tmp_path, initial)
    line = schedule.cron_line(schedule.msde_command(), None)
    schedule.install_cron(line, crontab=str(exe))
    schedule.install_cron(line, crontab=str(exe))  # twice: still one msde line
    lines = table.read_text().splitlines()
    assert lines.count(line) == 1
    assert sum(schedule.CRON_MARKER in x for x in lines) == 1
    if initial:
        assert lines[0] == "0 1 * * * /usr/bin/other # keep me"


@pytest.mark.posix_only  # the stand-in crontab is a shell script
def test_cron_entry_and_removal_keep_other_lines(tmp_path: Path) -> None:
    exe, table = fake_crontab(tmp_path, "0 1 * * * /usr/bin/other # keep me\n")
    assert schedule.cron_entry(str(exe)) is None
    assert schedule.remove_cron(str(exe)) is False
    line = schedule.cron_line(schedule.msde_command(), None)
    schedule.install_cron(line, crontab=str(exe))
    assert schedule.cron_entry(str(exe)) == line
    assert schedule.remove_cron(str(exe)) is True
    assert table.read_text().splitlines() == ["0 1 * * * /usr/bin/other # keep me"]
    assert schedule.cron_entry(str(exe)) is None


def test_systemd_entry_and_removal(tmp_path: Path) -> None:
    units = schedule.systemd_units(schedule.msde_command(), None)
    written, _ = schedule.install_systemd(units, tmp_path)
    (tmp_path / "other.timer").write_text("x")
    assert sorted(schedule.systemd_entry(tmp_path)) == sorted(written)
    removed, follow = schedule.remove_systemd(tmp_path)
    assert sorted(removed) == sorted(written) and "disable --now msde-auto.timer" in follow
    assert schedule.systemd_entry(tmp_path) == [] and (tmp_path / "other.timer").exists()
    assert schedule.remove_systemd(tmp_path)[0] == []


def test_install_cron_without_crontab(tmp_path: Path) -> None:
    with pytest.raises(MsdeError) as info:
        schedule.install_cron("x # msde-auto", crontab=str(tmp_path / "nope"))
    assert "not installed" in info.value.message


# ----------------------------------------------------------------------------- Task Scheduler


def split_windows_args(text: str) -> list[str]:
    """Windows' command-line splitting rules (backslashes before quotes, quotes toggle)."""
    args: list[str] = []
    cur: list[str] = []
    in_quotes = have = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            n = 0
            while i < len(text) and text[i] == "\\":
                n += 1
                i += 1
            if i < len(text) and text[i] == '"':
                cur.append("\\" * (n // 2))
                if n % 2:
                    cur.append('"')
                    i += 1
            else:
                cur.append("\\" * n)
            have = True
            continue
        if ch == '"':
            in_quotes = not in_quotes
            have = True
        elif ch in " \t" and not in_quotes:
            if have:
                args.append("".join(cur))
            cur, have = [], False
        else:
            cur.append(ch)
            have = True
        i += 1
    if have:
        args.append("".join(cur))
    return args


WIN_HOME = 'C:\\Data\\Msde "office" <&>\\'


@pytest.mark.parametrize("rhythm", [Rhythm(), Rhythm(24, 2, 30), Rhythm(6, 8, 17)])
def test_task_xml_well_formed(tmp_path: Path, rhythm: Rhythm) -> None:
    command = ["C:\\Program Files\\msde\\msde.exe"]
    text = schedule.task_xml(command, WIN_HOME, rhythm)
    path, create = schedule.install_taskscheduler(text, tmp_path / "msde-auto.xml")
    raw = path.read_bytes()
    assert raw[:2] == b"\xff\xfe"  # UTF-16 LE BOM, as the declaration says UTF-16
    assert raw.decode("utf-16").startswith('<?xml version="1.0" encoding="UTF-16"?>\r\n')
    root = ET.fromstring(raw)
    assert root.tag == f"{{{schedule.TASK_NS}}}Task" and root.get("version") == schedule.TASK_VERSION
    for required in ("t:RegistrationInfo", "t:Triggers/t:CalendarTrigger/t:StartBoundary",
                     "t:Triggers/t:CalendarTrigger/t:ScheduleByDay/t:DaysInterval",
                     "t:Principals/t:Principal/t:LogonType", "t:Settings/t:MultipleInstancesPolicy",
                     "t:Actions/t:Exec/t:Command", "t:Actions/t:Exec/t:Arguments"):
        assert root.find(required, NS) is not None, required
    assert root.findtext("t:Actions/t:Exec/t:Command", namespaces=NS) == command[0]
    arguments = root.findtext("t:Actions/t:Exec/t:Arguments", namespaces=NS) or ""
    assert split_windows_args(arguments) == ["--home", WIN_HOME, "auto"]
    boundary = root.findtext("t:Triggers/t:CalendarTrigger/t:StartBoundary", namespaces=NS)
    assert boundary and boundary.endswith(f"T{rhythm.run_hours()[0]:02d}:{rhythm.minute:02d}:00")
    repetition = root.find("t:Triggers/t:CalendarTrigger/t:Repetition/t:Interval", NS)
    if rhythm.hours == 24:
        assert repetition is None
    else:
        assert repetition is not None and repetition.text == f"PT{rhythm.hours}H"
    assert root.findtext("t:Settings/t:MultipleInstancesPolicy", namespaces=NS) == "IgnoreNew"
    # the command as Windows' own parser splits it back (quoted where it holds a space)
    assert create == subprocess.list2cmdline(
        ["schtasks", "/Create", "/TN", "msde-tui auto", "/XML", str(path), "/F"])


@pytest.mark.parametrize("word", ["plain", "a b", 'say "hi"', "ends\\", "C:\\x y\\", "\\\\srv\\share", ""])
def test_windows_quoting_round_trip(word: str) -> None:
    assert split_windows_args(schedule._windows_arg(word)) == [word]


def test_line_breaks_in_paths_refused() -> None:
    with pytest.raises(BadInput):
        schedule.cron_line(["/usr/bin/msde"], "/a\nb")
    with pytest.raises(BadInput):
        schedule.systemd_units(["relative/msde"], None)
