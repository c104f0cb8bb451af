"""The OS layer (msde_tui/osdep): nothing else tests the OS, and the Windows side is checked
here through its inputs and outputs (creation flags, command lines, console decisions, the
task XML against Microsoft's schema)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from msde_tui import osdep
from msde_tui.cli import main
from msde_tui.engine.auto import schedule
from msde_tui.engine.errors import SchedulerFailed
from msde_tui.osdep import posix, windows

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "msde_tui"
OS_MODULES = {"fcntl", "msvcrt", "pwd", "grp", "termios", "winreg", "_winapi"}
TASK_XSD = Path(__file__).parents[1] / "schemas" / "task-scheduler.xsd"


# ----------------------------------------------------------------------------- the layer


def os_tests_in(source: str) -> list[str]:
    """What a module does that only the OS layer may: test os.name / sys.platform /
    platform.system(), import an OS-only module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in (("os", "name"), ("sys", "platform"), ("platform", "system")):
                found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names
                      if a.name.split(".")[0] in OS_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in OS_MODULES:
                found.append(f"line {node.lineno}: from {node.module} import")
            elif node.module in ("os", "sys") and any(a.name in ("name", "platform") for a in node.names):
                found.append(f"line {node.lineno}: from {node.module} import name/platform")
    return found


def test_the_checker_sees_each_kind_of_os_test() -> None:
    for bad in ("import os\nif os.name == 'nt': pass", "import sys\nX = sys.platform",
                "import fcntl", "from msvcrt import locking", "import pwd, json",
                "from os import name", "import platform\nplatform.system()", "import termios"):
        assert os_tests_in(bad), bad
    assert os_tests_in("import os\nos.environ.get('NAME')\nos.path.name = 1") == []


def test_no_module_outside_the_os_layer_tests_the_os() -> None:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if PACKAGE / "osdep" in path.parents:
            continue
        found = os_tests_in(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}, f"move these into msde_tui/osdep: {offenders}"


def test_both_sides_offer_the_same_functions() -> None:
    names = ("NAME", "HAS_TASK_SCHEDULER", "spawn_detached", "request_stop", "on_stop_request",
             "ignore_hangup", "make_private", "executable_name", "current_account",
             "console_profile", "prepare_console_streams")
    for side in (posix, windows):
        assert all(hasattr(side, n) for n in names), side.NAME
    assert osdep.SIDE == ("windows" if os.name == "nt" else "posix")


# ----------------------------------------------------------------------------- detached jobs


class FakePopen:
    """Records what Popen was asked; refuses the first call when told to (a job object
    that forbids breaking away answers ERROR_ACCESS_DENIED)."""

    def __init__(self, refuse: BaseException | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.refuse = refuse

    def __call__(self, command: list[str], **kwargs: Any) -> str:
        self.calls.append({"command": command, **kwargs})
        if self.refuse is not None and len(self.calls) == 1:
            raise self.refuse
        return "child"


def test_windows_runner_is_detached_outside_the_session_job() -> None:
    popen = FakePopen()
    assert windows.spawn_detached(["py", "-m", "x"], popen=popen, stdin=-1) == "child"
    (call,) = popen.calls
    assert call["creationflags"] == 0x00000008 | 0x00000200 | 0x01000000  # DETACHED, GROUP, BREAKAWAY
    assert call["command"] == ["py", "-m", "x"] and call["stdin"] == -1
    assert "start_new_session" not in call


def access_denied() -> OSError:
    """What CreateProcess's ERROR_ACCESS_DENIED looks like when Python maps it to EINVAL."""
    error = OSError(22, "Access is denied")
    error.winerror = 5  # type: ignore[attr-defined]  # set by Python on Windows
    return error


@pytest.mark.parametrize("refusal", [PermissionError(13, "denied"), access_denied()])
def test_windows_runner_stays_in_a_job_that_forbids_breaking_away(refusal: OSError) -> None:
    popen = FakePopen(refuse=refusal)
    windows.spawn_detached(["py"], popen=popen)
    assert [c["creationflags"] for c in popen.calls] == [0x01000208, 0x00000208]


def test_windows_other_creation_errors_are_not_retried() -> None:
    popen = FakePopen(refuse=FileNotFoundError(2, "no python"))
    with pytest.raises(FileNotFoundError):
        windows.spawn_detached(["py"], popen=popen)
    assert len(popen.calls) == 1


def test_windows_cancel_goes_through_the_cancel_file_only() -> None:
    assert windows.request_stop(os.getpid()) is False  # nothing sent (os.kill would kill it)


def test_posix_runner_gets_a_session_of_its_own() -> None:
    popen = FakePopen()
    posix.spawn_detached(["python3"], popen=popen)
    assert popen.calls[0]["start_new_session"] is True and "creationflags" not in popen.calls[0]


@pytest.mark.posix_only
def test_posix_detached_child_leaves_our_session() -> None:
    code = "import os; print(os.getsid(0))"
    child = posix.spawn_detached([sys.executable, "-c", code], stdout=subprocess.PIPE)
    out, _ = child.communicate(timeout=60)
    assert int(out) == child.pid != os.getsid(0)


# ----------------------------------------------------------------------------- processes


def test_pid_alive() -> None:
    assert osdep.pid_alive(os.getpid())
    assert not osdep.pid_alive(0) and not osdep.pid_alive(-1)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=60)
    assert not osdep.pid_alive(child.pid)
    # a process started after the pid file was written is another one with the same number
    assert not osdep.pid_alive(os.getpid(), started_by=time.time() - 3600 * 24 * 365 * 30)


@pytest.mark.posix_only
def test_a_zombie_is_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 60
    while osdep.pid_alive(child.pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # exited but not reaped: a zombie
    assert not osdep.pid_alive(child.pid)
    child.wait(timeout=10)


def test_exclusive_lock(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "x.lock"
    with osdep.ExclusiveLock(path) as first:
        assert first.held
        with pytest.raises(osdep.LockBusy):
            osdep.ExclusiveLock(path).acquire()
    with osdep.ExclusiveLock(path):
        pass


# ----------------------------------------------------------------------------- files


@pytest.mark.posix_only
def test_posix_private_file(tmp_path: Path) -> None:
    target = tmp_path / "secret"
    target.write_text("x")
    target.chmod(0o644)
    posix.make_private(target)
    assert target.stat().st_mode & 0o777 == 0o600


def test_windows_private_file_command(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        calls.append(command)
        return subprocess.CompletedProcess(command, 0, b"", b"")

    target = tmp_path / "audit log.jsonl"
    windows.make_private(target, run=run, account="OFFICE\\tech")
    assert calls == [["icacls", str(target), "/inheritance:r", "/grant:r", "OFFICE\\tech:(F)",
                      "/grant:r", "*S-1-5-18:(F)", "/grant:r", "*S-1-5-32-544:(F)", "/Q"]]

    def refuse(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess(command, 5, b"", b"Access is denied.")

    with pytest.raises(PermissionError, match="Access is denied"):
        windows.make_private(target, run=refuse, account="OFFICE\\tech")


def test_names_and_accounts() -> None:
    assert windows.executable_name("msde") == "msde.exe" and posix.executable_name("msde") == "msde"
    assert windows.current_account({"USERDOMAIN": "OFFICE", "USERNAME": "tech"}) == "OFFICE\\tech"
    assert windows.current_account({"USERNAME": "tech"}) == "tech"


# ----------------------------------------------------------------------------- console


@pytest.mark.parametrize(("env", "vt", "ascii_borders", "colors_off"), [
    ({"WT_SESSION": "abc"}, True, False, False),                # Windows Terminal
    ({}, True, True, False),                                    # conhost (an RDP console)
    ({}, False, True, True),                                    # a console without VT sequences
    ({"TERM": "xterm-256color"}, True, False, False),           # an SSH client through OpenSSH
    ({"TERM": "dumb"}, True, True, True),
])
def test_windows_console_profile(env: dict[str, str], vt: bool, ascii_borders: bool, colors_off: bool) -> None:
    profile = windows.console_profile(env, vt=vt)
    assert (profile.ascii_borders, profile.colors_off) == (ascii_borders, colors_off)


@pytest.mark.parametrize(("term", "ascii_borders", "colors_off"), [
    ("xterm-256color", False, False), ("linux", True, False), ("dumb", True, True), ("", False, False),
])
def test_posix_console_profile(term: str, ascii_borders: bool, colors_off: bool) -> None:
    profile = posix.console_profile({"TERM": term})
    assert (profile.ascii_borders, profile.colors_off) == (ascii_borders, colors_off)


def test_the_wizard_follows_the_console_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    from msde_tui import app

    monkeypatch.setattr(osdep, "console_profile", lambda env: windows.console_profile(env, vt=False))
    assert app.wants_ascii({}) and app.wants_no_color({})
    assert not app.wants_ascii({"MSDE_ASCII": "0"})  # the technician's word wins
    assert not app.wants_ascii({"WT_SESSION": "1"}) and not app.wants_no_color({"WT_SESSION": "1"})


# ----------------------------------------------------------------------------- Task Scheduler


@pytest.fixture(scope="module")
def task_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(TASK_XSD))


ACCOUNTS = [None, schedule.TaskAccount("OFFICE\\tech"), schedule.TaskAccount("OFFICE\\tech", True),
            schedule.TaskAccount("SYSTEM"), schedule.TaskAccount("nt authority\\system")]


@pytest.mark.parametrize("account", ACCOUNTS)
@pytest.mark.parametrize("rhythm", [schedule.Rhythm(), schedule.Rhythm(24, 23, 59), schedule.Rhythm(4, 1, 5)])
def test_task_xml_is_valid_against_microsofts_schema(
    task_schema: xmlschema.XMLSchema, account: schedule.TaskAccount | None, rhythm: schedule.Rhythm
) -> None:
    command = ["C:\\Program Files\\msde\\Scripts\\msde.exe"]
    text = schedule.task_xml(command, "D:\\Données msde & co", rhythm, account=account)
    task_schema.validate(schedule.task_xml_bytes(text).decode("utf-16"))
    data = task_schema.to_dict(text)
    principal = data["Principals"]["Principal"]
    if account is None:
        assert principal["LogonType"] == "S4U" and "UserId" not in principal
    elif account.is_system:
        assert principal["UserId"] == "S-1-5-18" and "LogonType" not in principal
    else:
        assert principal["UserId"] == "OFFICE\\tech"
        assert principal["LogonType"] == ("Password" if account.stored_password else "S4U")
    assert data["Actions"]["Exec"][0]["Arguments"] == '--home "D:\\Données msde & co" auto'


def test_the_schema_refuses_what_task_scheduler_would(task_schema: xmlschema.XMLSchema) -> None:
    good = schedule.task_xml(["C:\\m\\msde.exe"], None, schedule.Rhythm())
    swapped = good.replace("      <Enabled>true</Enabled>\n", "").replace(
        "      </ScheduleByDay>\n", "      </ScheduleByDay>\n      <Enabled>true</Enabled>\n")
    assert not task_schema.is_valid(swapped)  # a trigger's parts in the wrong order
    assert not task_schema.is_valid(good.replace("<LogonType>S4U<", "<LogonType>Service<"))
    assert not task_schema.is_valid(good.replace('version="1.3"', 'version="1.2"'))


def test_task_account_names_are_checked() -> None:
    with pytest.raises(Exception, match="not an account name"):
        schedule.task_xml(["C:\\m\\msde.exe"], None, account=schedule.TaskAccount("a<b"))


class FakeSchtasks:
    """schtasks as seen through its command lines: a registry of one task."""

    def __init__(self, registered: bool = False, refuse: bool = False) -> None:
        self.registered = registered
        self.refuse = refuse
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def __call__(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        self.calls.append((command, kwargs))
        verb = command[1]
        if self.refuse:
            return subprocess.CompletedProcess(command, 1, b"", b"ERROR: Access is denied.")
        if verb == "/Create":
            self.registered = True
            return subprocess.CompletedProcess(command, 0, b"SUCCESS: created.", b"")
        if verb == "/Query":
            if not self.registered:
                return subprocess.CompletedProcess(command, 1, b"", b"ERROR: cannot find the file.")
            return subprocess.CompletedProcess(command, 0, b"TaskName: \\msde-tui auto\r\nLast Result: 0", b"")
        if verb == "/Delete":
            self.registered = False
            return subprocess.CompletedProcess(command, 0, b"SUCCESS", b"")
        raise AssertionError(command)


def test_schtasks_command_lines(tmp_path: Path) -> None:
    xml = tmp_path / "msde-auto.xml"
    fake = FakeSchtasks()
    assert windows.register_task(xml, "msde-tui auto", run=fake) == [
        "schtasks", "/Create", "/TN", "msde-tui auto", "/XML", str(xml), "/F"]
    assert fake.calls[-1][1].get("capture_output") is True
    state = windows.task_state("msde-tui auto", run=fake)
    assert state.registered and "Last Result: 0" in state.details
    assert fake.calls[-1][0] == ["schtasks", "/Query", "/TN", "msde-tui auto", "/V", "/FO", "LIST"]
    assert windows.remove_task("msde-tui auto", run=fake) is True
    assert fake.calls[-1][0] == ["schtasks", "/Delete", "/TN", "msde-tui auto", "/F"]
    assert not windows.task_state("msde-tui auto", run=fake).registered
    assert windows.remove_task("msde-tui auto", run=fake) is False


def test_schtasks_asks_the_password_itself(tmp_path: Path) -> None:
    fake = FakeSchtasks()
    command = windows.register_task(tmp_path / "t.xml", "msde-tui auto", password_account="OFFICE\\tech", run=fake)
    assert command[-4:] == ["/RU", "OFFICE\\tech", "/RP", "*"]  # typed at schtasks' prompt
    assert "capture_output" not in fake.calls[-1][1]  # its prompt reaches the console


def test_schtasks_refusal_is_one_plain_error(tmp_path: Path) -> None:
    with pytest.raises(SchedulerFailed) as info:
        windows.register_task(tmp_path / "t.xml", "msde-tui auto", run=FakeSchtasks(refuse=True))
    assert "Access is denied" in info.value.message and info.value.hint

    def missing(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        raise FileNotFoundError(2, "schtasks")

    with pytest.raises(SchedulerFailed, match="Windows only"):
        windows.task_state("msde-tui auto", run=missing)


@pytest.fixture
def on_windows(monkeypatch: pytest.MonkeyPatch) -> FakeSchtasks:
    """The CLI as on Windows, with schtasks replaced by FakeSchtasks."""
    fake = FakeSchtasks()
    monkeypatch.setattr(osdep, "HAS_TASK_SCHEDULER", True)
    monkeypatch.setattr(osdep, "register_task", lambda *a, **k: windows.register_task(*a, **k, run=fake))
    monkeypatch.setattr(osdep, "task_state", lambda *a, **k: windows.task_state(*a, **k, run=fake))
    monkeypatch.setattr(osdep, "remove_task", lambda *a, **k: windows.remove_task(*a, **k, run=fake))
    return fake


def test_cli_registers_status_and_removes_the_task(
    home: Path, on_windows: FakeSchtasks, task_schema: xmlschema.XMLSchema, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["auto", "--install", "taskscheduler", "--write", "--run-as", "OFFICE\\tech"]) == 0
    out = capsys.readouterr().out
    assert "Registered the task 'msde-tui auto'" in out and "OFFICE\\tech" in out
    xml = home / "auto" / "msde-auto.xml"
    command = next(c for c, _ in on_windows.calls if c[1] == "/Create")  # then a /Query: the record
    assert command[:6] == ["schtasks", "/Create", "/TN", "msde-tui auto", "/XML", str(xml)]
    text = xml.read_bytes().decode("utf-16")
    task_schema.validate(text)
    assert task_schema.to_dict(text)["Principals"]["Principal"]["UserId"] == "OFFICE\\tech"

    assert main(["--json", "auto", "--install", "taskscheduler", "--status"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["registered"] is True and "Last Result" in payload["details"]

    assert main(["auto", "--uninstall", "taskscheduler"]) == 0
    assert "Deleted the task" in capsys.readouterr().out
    assert main(["auto", "--install", "taskscheduler", "--status"]) == 1
    assert "The task 'msde-tui auto' is not installed" in capsys.readouterr().out
    assert main(["auto", "--uninstall", "taskscheduler"]) == 0
    assert "nothing to remove" in capsys.readouterr().out


def test_cli_without_task_scheduler(home: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(osdep, "HAS_TASK_SCHEDULER", False)
    assert main(["auto", "--install", "taskscheduler", "--write"]) == 0
    out = capsys.readouterr().out
    assert "Register it on the Windows server" in out and "schtasks /Create" in out
    assert main(["auto", "--install", "taskscheduler", "--status"]) == 2
    assert "needs Windows" in capsys.readouterr().err
    assert main(["auto", "--uninstall", "taskscheduler"]) == 2
    assert main(["auto", "--uninstall", "launchd"]) == 2


def test_the_audit_log_is_made_private_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from msde_tui.engine import auditlog

    made: list[Path] = []
    monkeypatch.setattr(auditlog, "make_private", made.append)
    for _ in range(2):
        auditlog.append(tmp_path, auditlog.Record("backup", ["001SOC"]), started=time.time())
    assert made == [tmp_path / auditlog.LOG_FILE]
    assert len((tmp_path / auditlog.LOG_FILE).read_text(encoding="utf-8").splitlines()) == 2


@pytest.mark.posix_only
def test_the_audit_log_is_the_owners_only(tmp_path: Path) -> None:
    from msde_tui.engine import auditlog

    old = os.umask(0)  # even with a permissive umask
    try:
        auditlog.append(tmp_path, auditlog.Record("backup", ["001SOC"]), started=time.time())
    finally:
        os.umask(old)
    assert (tmp_path / auditlog.LOG_FILE).stat().st_mode & 0o777 == 0o600


def test_windows_replace_waits_for_a_reader_to_let_go(tmp_path: Path) -> None:
    tries: list[int] = []
    pauses: list[float] = []

    def replace(source: Path | str, target: Path | str) -> None:
        tries.append(1)
        if len(tries) < 3:
            raise PermissionError(13, "The process cannot access the file")  # WinError 32
        os.replace(source, target)

    (tmp_path / "new").write_text("new")
    (tmp_path / "list.json").write_text("old")
    windows.replace_file(tmp_path / "new", tmp_path / "list.json", replace=replace, sleep=pauses.append)
    assert (tmp_path / "list.json").read_text() == "new" and len(tries) == 3 and len(pauses) == 2

    def never(source: Path | str, target: Path | str) -> None:
        raise PermissionError(13, "denied")

    pauses.clear()
    with pytest.raises(PermissionError):
        windows.replace_file("a", "b", replace=never, sleep=pauses.append)
    assert len(pauses) == windows.REPLACE_ATTEMPTS - 1  # bounded: about five seconds


def test_atomic_writes_go_through_the_os_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from msde_tui import osdep
    from msde_tui.engine import atomic

    seen: list[Path] = []
    monkeypatch.setattr(osdep, "replace_file", lambda s, t: (seen.append(Path(t)), os.replace(s, t)))
    atomic.write_atomic(tmp_path / "x.json", b"{}")
    assert seen == [tmp_path / "x.json"] and (tmp_path / "x.json").read_bytes() == b"{}"


def test_run_as_is_for_the_task_scheduler_only(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["auto", "--install", "cron", "--run-as", "root"]) == 2
    assert "--run-as and --stored-password go with --install taskscheduler" in capsys.readouterr().err


def test_cli_status_and_uninstall_for_systemd(home: Path, tmp_path: Path, fakes: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from tests.fake_schedulers import SYSTEMCTL, make_tool

    make_tool(fakes, "systemctl", SYSTEMCTL)  # --write enables the timer (never the real systemd)
    assert main(["auto", "--install", "systemd", "--status"]) == 1
    assert "not installed" in capsys.readouterr().out
    assert main(["auto", "--install", "systemd", "--write"]) == 0
    assert main(["auto", "--install", "systemd", "--status"]) == 0
    assert "msde-auto.timer" in capsys.readouterr().out
    assert main(["auto", "--uninstall", "systemd"]) == 0
    assert "systemctl --user disable --now msde-auto.timer" in capsys.readouterr().out
    assert not (tmp_path / "config" / "systemd" / "user" / "msde-auto.timer").exists()


def test_xml_printed_elsewhere_names_no_local_user(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(osdep, "HAS_TASK_SCHEDULER", False)
    assert main(["--json", "auto", "--install", "taskscheduler"]) == 0
    assert "<UserId>" not in json.loads(capsys.readouterr().out)["entries"]["msde-auto.xml"]
    assert main(["--json", "auto", "--install", "taskscheduler", "--run-as", "OFFICE\\backup"]) == 0
    assert "<UserId>OFFICE\\backup</UserId>" in json.loads(capsys.readouterr().out)["entries"]["msde-auto.xml"]
    assert main(["auto", "--install", "taskscheduler", "--stored-password"]) == 2


def test_a_colourless_console_starts_the_wizard_in_no_color(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from msde_tui import app

    cleared = ("NO_COLOR", "ESCDELAY", "TEXTUAL_ANIMATIONS", "TERM", "WT_SESSION")
    # a copy, put back after the test: main() writes NO_COLOR and ESCDELAY into it
    monkeypatch.setattr(os, "environ", {k: v for k, v in os.environ.items() if k not in cleared})
    started: list[bool] = []
    monkeypatch.setattr(app.MsdeApp, "run", lambda self: started.append(self.no_color))
    monkeypatch.setattr(osdep, "console_profile", lambda env: windows.console_profile(env, vt=True))
    app.main(["--home", str(tmp_path)])
    assert started == [False] and "NO_COLOR" not in os.environ
    monkeypatch.setattr(osdep, "console_profile", lambda env: windows.console_profile(env, vt=False))
    app.main(["--home", str(tmp_path)])
    assert started == [False, True]
