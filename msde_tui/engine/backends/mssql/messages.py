"""SQL Server messages: progress parsing and error translation into plain words.

Informational messages (severity <= 10; SQL Server sends severity 10 as 0) arrive while a
statement runs: 3211 ``N percent processed.``, 4035 ``Processed N pages for database …``,
3014 ``… successfully processed N pages in S seconds (R MB/sec).``, 3262 ``The backup set on
file N is valid.``. pymssql's message handler gives no message number, so ``identify`` finds
it from the (English) text; the driver sets ``SET LANGUAGE us_english`` so the texts match.

``translate`` turns a failure into one of the project's errors with a message a technician
understands and what to do. 3013 (``… is terminating abnormally``) always follows the real
error and is never reported as the cause when the real one is known.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from msde_tui.engine.backends.mssql.hints import connect_failure
from msde_tui.engine.backends.mssql.releases import NEWEST_MAJOR
from msde_tui.engine.errors import (
    ConnectionFailed,
    MsdeError,
    ServerBackupDamaged,
    ServerDiskFull,
    ServerError,
)
from msde_tui.engine.events import Event, Progress, ServerMessage

# -- messages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SqlMessage:
    """One message from the server, informational or error. ``number`` None when unknown."""

    number: int | None
    severity: int
    text: str
    state: int = 0

    @property
    def is_error(self) -> bool:
        return self.severity > 10


# Patterns for the numbers pymssql's handler does not give us (English texts from sys.messages).
_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = tuple(
    (number, re.compile(pattern, re.IGNORECASE | re.DOTALL))
    for number, pattern in (
        (3211, r"^\s*\d+ percent processed\.?\s*$"),
        (4035, r"^Processed \d+ pages for database "),
        (3014, r"successfully processed \d+ pages in [\d.]+ seconds"),
        (3262, r"^The backup set on file \d+ is valid\."),
        (3201, r"Cannot open backup device "),
        (3013, r"is terminating abnormally\."),
        (3241, r"media family on device .* is incorrectly formed"),
        (3242, r"is not a valid Microsoft Tape Format backup set"),
        (3203, r"^Read on .* failed"),
        (3202, r"^Write on .* failed"),
        (3183, r"RESTORE detected an error on page"),
        (3189, r"Damage to the backup set was detected"),
        (3154, r"backup set holds a backup of a database other than the existing"),
        (3159, r"tail of the log for the database .* has not been backed up"),
        (3169, r"was backed up on a server running version"),
        (1834, r"cannot be overwritten\.\s+It is being used by database"),
        (5133, r"Directory lookup for the file .* failed with the operating system error"),
        (3101, r"Exclusive access could not be obtained"),
        (927, r"cannot be opened\. It is in the middle of a restore"),
        (942, r"cannot be opened because it is offline"),
        (3132, r"The media set has \d+ media families but only \d+ are provided"),
        (3043, r"^BACKUP .* detected an error on page"),
        (824, r"logical consistency-based I/O error"),
        (823, r"The operating system returned error .* to SQL Server during a (?:read|write)"),
        (8939, r"^Table error: "),
        (8928, r"^Object ID \d+, index ID .* could not be processed"),
        (8989, r"^CHECKDB found \d+ allocation errors and \d+ consistency errors"),
        (15247, r"User does not have permission to perform this action"),
        (18456, r"Login failed for user"),
        (1827, r"would exceed your licensed limit"),
        (1844, r"is not supported on .*Edition"),
        (3187, r"RESTORE WITH CHECKSUM cannot be specified because the backup set does not"),
        (3257, r"insufficient free space on disk volume"),
        (262, r"permission denied in database"),
        (229, r"permission was denied on the object"),
        (911, r"^Database '.*' does not exist"),
        (3156, r"cannot be restored to .* Use WITH MOVE"),
        (3634, r"The operating system returned the error .* while attempting"),
    )
)


def identify(text: str) -> int | None:
    """The message number of a known SQL Server message text, else None."""
    for number, pattern in _PATTERNS:
        if pattern.search(text):
            return number
    return None


def message(number: int | None, severity: int, text: str, state: int = 0) -> SqlMessage:
    """Build a ``SqlMessage``, finding the number from the text when the driver did not say."""
    text = text.strip()
    if not number:
        number = identify(text)
    return SqlMessage(number, severity, text, state)


_PERCENT_RE = re.compile(r"^\s*(\d+) percent processed", re.IGNORECASE)
_THROUGHPUT_RE = re.compile(
    r"^(?P<op>.*?) successfully processed (?P<pages>\d+) pages in (?P<secs>[\d.]+) seconds "
    r"\((?P<rate>[\d.]+) MB/sec\)",
    re.IGNORECASE,
)
_PAGES_RE = re.compile(
    r"^Processed (?P<pages>\d+) pages for database '(?P<db>.*)', file '(?P<file>.*)' on file (?P<n>\d+)",
    re.IGNORECASE,
)
_VERIFIED_RE = re.compile(r"^The backup set on file (\d+) is valid\.", re.IGNORECASE)


@dataclass(frozen=True)
class Throughput:
    """Message 3014: what finished, how many pages, how long, how fast."""

    operation: str
    pages: int
    seconds: float
    mb_per_s: float

    @property
    def bytes(self) -> int:
        return self.pages * 8192


@dataclass(frozen=True)
class FilePages:
    """Message 4035: pages processed for one database file."""

    pages: int
    database: str
    logical_file: str


def percent(msg: SqlMessage) -> int | None:
    """3211 ``N percent processed.`` -> N."""
    if msg.number not in (3211, None):
        return None
    match = _PERCENT_RE.match(msg.text)
    return int(match[1]) if match else None


def throughput(msg: SqlMessage) -> Throughput | None:
    """3014 -> Throughput."""
    match = _THROUGHPUT_RE.search(msg.text)
    if not match or msg.number not in (3014, None):
        return None
    return Throughput(
        operation=match["op"].strip(),
        pages=int(match["pages"]),
        seconds=float(match["secs"]),
        mb_per_s=float(match["rate"]),
    )


def file_pages(msg: SqlMessage) -> FilePages | None:
    """4035 -> FilePages."""
    match = _PAGES_RE.match(msg.text)
    if not match or msg.number not in (4035, None):
        return None
    return FilePages(int(match["pages"]), match["db"], match["file"])


def verified_file(msg: SqlMessage) -> int | None:
    """3262 ``The backup set on file N is valid.`` -> N (the only proof VERIFYONLY passed)."""
    if msg.number not in (3262, None):
        return None
    match = _VERIFIED_RE.match(msg.text)
    return int(match[1]) if match else None


def events_for(msg: SqlMessage, dossier: str) -> list[Event]:
    """Events for one informational message: always a ServerMessage, plus Progress for 3211/3014."""
    events: list[Event] = [ServerMessage(dossier, msg.text, msg.number, msg.severity)]
    pct = percent(msg)
    if pct is not None:
        events.append(Progress(dossier, percent=float(pct)))
    rate = throughput(msg)
    if rate is not None:
        events.append(
            Progress(
                dossier,
                percent=100.0,
                bytes_done=rate.bytes,
                bytes_total=rate.bytes,
                mb_per_s=rate.mb_per_s,
                eta_s=0.0,
            )
        )
    return events


# -- error translation ---------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What we were doing when the server failed, to name things in the message."""

    operation: str = "query"  # connect | backup | verify | restore | headeronly | list | query
    host: str = ""
    port: int | None = None
    user: str = ""
    database: str = ""
    path: str = ""  # the backup file (server path)
    directory: str = ""  # the directory (server path)
    service_account: str = ""  # e.g. NT SERVICE\MSSQL$SQLEXPRESS
    server_version: str = ""  # the server's ProductVersion, once known (e.g. 15.0.2000.5)

    @property
    def server(self) -> str:
        if self.host and self.port and self.port != 1433:
            return f"{self.host}:{self.port}"
        return self.host or "the server"

    @property
    def account(self) -> str:
        if self.service_account:
            return f"the SQL Server service account ({self.service_account})"
        return "the SQL Server service account"


_OS_ERROR_RE = re.compile(r"operating system error (\d+)", re.IGNORECASE)
_DEVICE_RE = re.compile(r"backup device '(?P<device>.*?)'\.", re.IGNORECASE)
_VERSION_RE = re.compile(
    r"running version (?P<theirs>[\d.]+).*?running version (?P<ours>[\d.]+)", re.DOTALL
)
_LIMIT_RE = re.compile(r"licensed limit of (?P<mb>\d+) MB", re.IGNORECASE)
_NET_NUMBERS = {20002, 20003, 20004, 20006, 20009, 20017, 20047, 20020, 20014}
INFO_MAX_SEVERITY = 10


def _int_in(text: str) -> int | None:
    """``… returned the error '3(The system cannot find …)' …`` -> 3."""
    match = re.search(r"error '(\d+)\(", text)
    return int(match[1]) if match else None


def os_error(text: str) -> int | None:
    """``… Operating system error 5(Access is denied.).`` -> 5."""
    match = _OS_ERROR_RE.search(text)
    return int(match[1]) if match else None


def _dirname(path: str) -> str:
    parts = re.split(r"[\\/]", path)
    if len(parts) <= 1:
        return path
    sep = "\\" if "\\" in path else "/"
    head = sep.join(parts[:-1])
    return head + sep if head.endswith(":") or not head else head


def pick_cause(
    messages: Sequence[SqlMessage], number: int | None = None, text: str = ""
) -> SqlMessage:
    """The real error: the first error message that is not 3013, else the driver's own."""
    errors = [m for m in messages if m.is_error]
    for msg in errors:
        if msg.number != 3013:
            return msg
    if number is not None and number != 3013:
        return SqlMessage(number, 16, text)
    if errors:
        return errors[0]
    return SqlMessage(number, 16, text)


def translate(
    number: int | None,
    text: str,
    *,
    messages: Sequence[SqlMessage] = (),
    context: Context | None = None,
) -> MsdeError:
    """The project's error for a server failure, with a plain-words message and what to do.

    ``number``/``text`` are what the driver raised; ``messages`` every message of the batch in
    order (their errors win over a bare 3013).
    """
    ctx = context or Context()
    if number is None and text:
        number = identify(text)
    cause = pick_cause(messages, number, text)
    num = cause.number
    said = cause.text.strip()
    where = ctx.server

    if num in _NET_NUMBERS or (num is None and ctx.operation == "connect"):
        return connect_failure(num, text or said, ctx)
    if num == 18456:
        return ConnectionFailed(
            f"SQL Server at {where} refused the login for user '{ctx.user}'.",
            "Check the user name and password (MSDE_PASSWORD or the prompt), and that the "
            "server accepts SQL Server logins (mixed authentication mode).",
            number=18456,
        )
    if num == 3201:
        return _device(cause, ctx)
    if num == 3634:
        code = os_error(said) or _int_in(said)
        folder = ctx.directory or "the directory"
        if code == 5:
            return ServerError(
                f"{_cap(ctx.account)} cannot read {folder}.",
                f"Give {ctx.account} read access to {folder}, or choose another directory.",
                number=3634,
            )
        if code in (2, 3):
            return ServerError(
                f"The directory {folder} does not exist on the SQL Server host.",
                "Directories are on the server's machine, not this one; pick one that exists there.",
                number=3634,
            )
    if num == 5133:
        return ServerError(
            f"SQL Server cannot find the directory for a database file ({said}).",
            "Choose a data directory that exists on the server host, e.g. the instance's "
            "default data path.",
            number=5133,
        )
    if num == 1834:
        return ServerError(
            "A file the restore would write is used by another database.",
            "Restore under a new dossier number so new file names are used, or remove the other "
            "database first.",
            number=1834,
        )
    if num == 3156:
        return ServerError(
            f"A database file cannot be restored where the backup says ({said}).",
            "Choose another data directory on the server.",
            number=3156,
        )
    if num == 3241 and ctx.operation == "headeronly" and _older(ctx):
        device = ctx.path or "the backup file"
        return ServerError(
            f"This SQL Server ({ctx.server_version}) cannot read {device}: it was most likely "
            "made by a newer SQL Server (an older server cannot even read a newer backup's "
            "header), or it is damaged.",
            "Restore it on a server of the same or a newer version than the one that made it; "
            "if the newest SQL Server cannot read it either, the file is damaged.",
            number=3241,
        )
    if num in (3241, 3242, 3183, 3189, 3203):
        device = ctx.path or "the backup file"
        what = {
            3241: "is not a SQL Server backup or is damaged (its media family is incorrectly formed)",
            3242: "is not a valid SQL Server backup",
            3183: "is damaged: a page inside failed its checksum",
            3189: "is damaged",
            3203: "could not be read (read error on the server's disk)",
        }[num]
        return ServerBackupDamaged(
            f"The backup {device} {what}.",
            "Do not rely on it: take a new backup, or use an older backup that verifies.",
            number=num,
        )
    if num == 3202:
        device = ctx.path or "the backup file"
        if os_error(said) == 112:
            return ServerDiskFull(
                f"The server's disk is full while writing {device}.",
                "Free space in that directory on the server, or choose another directory.",
                number=3202,
            )
        return ServerError(
            f"SQL Server could not write {device} ({said}).",
            "Check the disk or share on the server, then try again.",
            number=3202,
        )
    if num == 3257:
        return ServerDiskFull(
            "There is not enough free space on the server's disk for the restored database.",
            "Free space on the server or choose another data directory.",
            number=3257,
        )
    if num == 3154:
        return ServerError(
            f"The backup holds another database than the existing '{ctx.database}'.",
            "Restore it under a new dossier number, or confirm replacing the existing dossier.",
            number=3154,
        )
    if num == 3159:
        return ServerError(
            f"SQL Server refuses to overwrite '{ctx.database}': the end of its log was not backed up.",
            "Restore under a new dossier number, or confirm replacing the existing dossier "
            "(a safety backup is taken first).",
            number=3159,
        )
    if num == 3169:
        match = _VERSION_RE.search(said)
        versions = f" ({match['theirs']} on the backup, {match['ours']} here)" if match else ""
        if match and _version_tuple(match["theirs"]) < _version_tuple(match["ours"]):
            return ServerError(
                f"The backup was made by a SQL Server too old for this one{versions}.",
                "SQL Server 2016 and later restore backups from 2008 on, 2012/2014 from 2005 "
                "on: restore it first on an intermediate version, back it up there, and "
                "restore that backup here.",
                number=3169,
            )
        return ServerError(
            f"The backup was made by a newer SQL Server than this one{versions}.",
            "Restore it on a server of the same or a newer version; a backup never goes to an "
            "older version.",
            number=3169,
        )
    if num == 3101:
        return ServerError(
            f"The database '{ctx.database}' is in use, so SQL Server cannot restore over it.",
            "Close the accounting program on every workstation, or agree to close the other "
            "sessions (--close-sessions; the wizard asks on the summary), then try again.",
            number=3101,
        )
    if num in (927, 942):
        state = "in the middle of a restore (RESTORING)" if num == 927 else "OFFLINE"
        return ServerError(
            f"The database '{ctx.database}' is {state}: it cannot be opened or backed up.",
            "Restore a backup over it (no safety copy is needed: it holds nothing usable), or "
            "bring it online on the server.",
            number=num,
        )
    if num == 3132:
        return ServerError(
            f"The backup {ctx.path or ''} is one part of a backup striped over several files "
            f"({said}).".replace("  ", " "),
            "All the files of the backup are needed together: put them side by side on the "
            "server and restore from all of them, or use a backup made to a single file.",
            number=3132,
        )
    if num in (3043, 823, 824):
        return ServerBackupDamaged(
            f"The database '{ctx.database}' is damaged on the server's disk ({said}).".replace(
                "database '' ", "database "
            ),
            "Do not rely on new backups of it: run DBCC CHECKDB on the server, check the disk, "
            "and restore the last backup that passes a test restore.",
            number=num,
        )
    if num == 8989 or num in _CHECKDB_ERRORS:
        return ServerBackupDamaged(
            f"DBCC CHECKDB found the database '{ctx.database}' damaged ({said}).",
            "Do not rely on this backup: its data is not sound even though its pages read "
            "back. Use an older backup that passes a test restore, and check the source "
            "database with DBCC CHECKDB.",
            number=num,
        )
    if num in (15247, 262, 229):
        return ServerError(
            f"The login '{ctx.user}' does not have the permission for this ({said}).",
            "See which operations it may run with 'msde server rights'; restoring and "
            "verifying need CREATE DATABASE permission (dbcreator or sysadmin), backing up "
            "needs db_backupoperator on the database, browsing and deleting server files "
            "sysadmin.",
            number=num,
        )
    if num == 1827:
        match = _LIMIT_RE.search(said)
        limit = f" of {int(match['mb']) // 1024} GB" if match else ""
        return ServerError(
            f"The database would exceed the SQL Server Express size limit{limit}.",
            "Archive or cut old fiscal years to make the dossier smaller, or use a paid edition.",
            number=1827,
        )
    if num == 1844:
        return ServerError(
            f"This SQL Server edition does not support what was asked ({said}).",
            "Run the backup without compression (Express never compresses).",
            number=1844,
        )
    if num == 3187:
        return ServerError(
            "The backup was taken without checksums, so it cannot be verified with them.",
            "Verify it without checksums, or take a new backup (msde always adds CHECKSUM).",
            number=3187,
        )
    if num == 911:
        return ServerError(
            f"The database '{ctx.database}' does not exist on {where}.",
            "Refresh the dossier list; the database may have been renamed or removed.",
            number=911,
        )
    if num == 3013:
        verb = {"backup": "backup", "restore": "restore", "verify": "verification"}.get(
            ctx.operation, "operation"
        )
        return ServerError(
            f"SQL Server stopped the {verb} without saying why ({said}).",
            "Look at the SQL Server error log on the server for the message just before.",
            number=3013,
        )
    return ServerError(
        f"SQL Server said: {said}" if said else "SQL Server failed without a message.",
        "Check the statement and the server's error log.",
        number=num,
    )


_CHECKDB_ERRORS = {8928, 8939, 8946, 8976, 8978, 2533, 2534, 8906}


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:2])


def _older(ctx: Context) -> bool:
    """The server is older than the newest SQL Server (a newer one may have made the file)."""
    major = _version_tuple(ctx.server_version)[:1]
    return bool(major) and major[0] < NEWEST_MAJOR


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _device(cause: SqlMessage, ctx: Context) -> MsdeError:
    match = _DEVICE_RE.search(cause.text)
    device = match["device"] if match else ctx.path
    directory = ctx.directory or (_dirname(device) if device else "")
    code = os_error(cause.text)
    reading = ctx.operation in ("verify", "restore", "headeronly")
    if code == 5:
        if reading:
            return ServerError(
                f"{_cap(ctx.account)} cannot read {device}.",
                f"Give {ctx.account} read access to {directory}, or copy the backup to a "
                "directory it can read.",
                number=3201,
            )
        return ServerError(
            f"{_cap(ctx.account)} cannot write to {directory}.",
            f"Give {ctx.account} write access to {directory}, or choose a directory it can write.",
            number=3201,
        )
    if code in (2, 3):
        if reading and code == 2:
            return ServerError(
                f"The backup file {device} does not exist on the server.",
                "Backup paths are on the SQL Server host, not on this computer; browse the "
                "server's directories and pick the file there.",
                number=3201,
            )
        return ServerError(
            f"The directory {directory} does not exist on the SQL Server host.",
            "Paths are resolved by the SQL Server service on its own machine: create the "
            "directory there, or choose one that exists (e.g. the instance's default backup path).",
            number=3201,
        )
    if code == 112:
        return ServerDiskFull(
            f"The server's disk is full: {device} cannot be written.",
            "Free space there or choose another directory on the server.",
            number=3201,
        )
    if code == 32:
        return ServerError(
            f"The file {device} is in use by another program on the server.",
            "Wait for the other backup or copy to end, or choose another file name.",
            number=3201,
        )
    if code in (53, 67, 1326, 1219):
        return ServerError(
            f"{_cap(ctx.account)} cannot reach the network path {directory}.",
            f"Check that the share exists and that {ctx.account} (not your own account) may "
            "use it.",
            number=3201,
        )
    return ServerError(
        f"SQL Server cannot open the backup device {device} ({cause.text}).",
        "Check the path on the server and the service account's rights there.",
        number=3201,
    )


def service_account_guess(instance: str | None, sep: str) -> str:
    """The usual service account of an instance: ``NT SERVICE\\MSSQL$SQLEXPRESS``, ``mssql``."""
    if sep == "/":
        return "the 'mssql' user"
    if instance and instance.upper() != "MSSQLSERVER":
        return f"NT SERVICE\\MSSQL${instance}"
    return "NT SERVICE\\MSSQLSERVER"


def is_info(severity: int) -> bool:
    return severity <= INFO_MAX_SEVERITY
