"""SQL Server message parsing (progress) and error translation into plain words."""

from __future__ import annotations

import pytest

from msde_tui.engine.backends.mssql import messages as m
from msde_tui.engine.backends.mssql.driver import _pymssql_error, odbc_error, odbc_message
from msde_tui.engine.errors import (
    BackupInvalid,
    ConnectionFailed,
    DiskFull,
    ServerBackupDamaged,
    ServerError,
)
from msde_tui.engine.events import Progress, ServerMessage

TEXTS = {
    3211: "10 percent processed.",
    4035: "Processed 344 pages for database 'PW0001SOC', file 'PW0001SOC' on file 1.",
    3014: "BACKUP DATABASE successfully processed 346 pages in 0.120 seconds (22.509 MB/sec).",
    3262: "The backup set on file 1 is valid.",
    3201: "Cannot open backup device 'C:\\Nope\\x.bak'. Operating system error 3(The system cannot find the path specified.).",
    3013: "BACKUP DATABASE is terminating abnormally.",
    3241: "The media family on device '/b/x.bak' is incorrectly formed. SQL Server cannot process this media family.",
    3183: 'RESTORE detected an error on page (1:7) in database "PW0001SOC" as read from the backup set.',
    3203: 'Read on "/b/x.bak" failed: 23(Data error (cyclic redundancy check).)',
    3154: "The backup set holds a backup of a database other than the existing 'PW0002SOC' database.",
    3169: "The database was backed up on a server running version 16.00.4135. That version is incompatible with this server, which is running version 15.00.2000. Either restore the database on a server that supports the backup, or use a backup that is compatible with this server.",
    1834: "The file '/d/PW0001SOC.mdf' cannot be overwritten.  It is being used by database 'PW0001SOC'.",
    5133: 'Directory lookup for the file "D:\\Data\\x.mdf" failed with the operating system error 2(The system cannot find the file specified.).',
    3101: "Exclusive access could not be obtained because the database is in use.",
    15247: "User does not have permission to perform this action.",
    18456: "Login failed for user 'sa'.",
    1827: "CREATE DATABASE or ALTER DATABASE failed because the resulting cumulative database size would exceed your licensed limit of 10240 MB per database.",
    3187: "RESTORE WITH CHECKSUM cannot be specified because the backup set does not contain checksum information.",
}


@pytest.mark.parametrize(("number", "text"), sorted(TEXTS.items()))
def test_identify_finds_the_number_from_the_text(number: int, text: str) -> None:
    assert m.identify(text) == number


def test_identify_unknown() -> None:
    assert m.identify("Changed database context to 'master'.") is None


def test_progress_parsing() -> None:
    assert m.percent(m.message(None, 0, "  5 percent processed. ")) == 5
    assert m.percent(m.message(3211, 0, "100 percent processed.")) == 100
    assert m.percent(m.message(4035, 0, TEXTS[4035])) is None
    rate = m.throughput(m.message(None, 0, TEXTS[3014]))
    assert rate == m.Throughput("BACKUP DATABASE", 346, 0.12, 22.509)
    assert rate.bytes == 346 * 8192
    restore = m.throughput(
        m.message(
            None,
            0,
            "RESTORE DATABASE successfully processed 10 pages in 1.5 seconds (0.052 MB/sec).",
        )
    )
    assert (
        restore is not None and restore.operation == "RESTORE DATABASE" and restore.seconds == 1.5
    )
    assert m.file_pages(m.message(None, 0, TEXTS[4035])) == m.FilePages(
        344, "PW0001SOC", "PW0001SOC"
    )
    assert m.verified_file(m.message(None, 0, TEXTS[3262])) == 1
    assert m.verified_file(m.message(None, 0, "The backup set on file 2 is valid.")) == 2
    assert m.verified_file(m.message(None, 0, TEXTS[4035])) is None


def test_events_for_progress_and_throughput() -> None:
    events = m.events_for(m.message(None, 0, "35 percent processed."), "001SOC")
    assert events[0] == ServerMessage("001SOC", "35 percent processed.", 3211, 0)
    assert events[1] == Progress("001SOC", percent=35.0)
    events = m.events_for(m.message(None, 0, TEXTS[3014]), "001SOC")
    progress = events[1]
    assert isinstance(progress, Progress) and progress.mb_per_s == 22.509
    assert progress.bytes_done == 346 * 8192
    assert len(m.events_for(m.message(None, 0, TEXTS[4035]), "x")) == 1


def errors(*numbers: int) -> list[m.SqlMessage]:
    return [m.SqlMessage(n, 16, TEXTS[n]) for n in numbers]


# -- translation -------------------------------------------------------------------------------

CTX = m.Context(
    operation="backup",
    host="srv",
    user="sa",
    database="PW0001SOC",
    service_account="NT SERVICE\\MSSQL$SQLEXPRESS",
)


def test_3201_access_denied_names_the_service_account_and_directory() -> None:
    text = "Cannot open backup device 'D:\\Locked\\x.bak'. Operating system error 5(Access is denied.)."
    err = m.translate(
        3201, text, messages=[m.SqlMessage(3201, 16, text), *errors(3013)], context=CTX
    )
    assert type(err) is ServerError and err.number == 3201
    assert (
        err.message
        == "The SQL Server service account (NT SERVICE\\MSSQL$SQLEXPRESS) cannot write to D:\\Locked."
    )
    assert "write access" in err.hint and "NT SERVICE\\MSSQL$SQLEXPRESS" in err.hint


def test_3201_missing_directory() -> None:
    err = m.translate(3201, TEXTS[3201], messages=errors(3201, 3013), context=CTX)
    assert err.number == 3201
    assert "C:\\Nope" in err.message and "does not exist" in err.message
    assert "SQL Server host" in err.message


def test_3201_missing_file_when_reading() -> None:
    text = "Cannot open backup device '/b/x.bak'. Operating system error 2(The system cannot find the file specified.)."
    err = m.translate(3201, text, context=m.Context(operation="restore"))
    assert "backup file /b/x.bak does not exist" in err.message


def test_3201_disk_full() -> None:
    text = "Cannot open backup device '/b/x.bak'. Operating system error 112(There is not enough space on the disk.)."
    assert isinstance(m.translate(3201, text, context=CTX), DiskFull)


def test_3013_is_never_the_cause_when_the_real_error_is_known() -> None:
    # the driver raised 3013 (e.g. last message), but the batch said 3201 first
    err = m.translate(3013, TEXTS[3013], messages=errors(3201, 3013), context=CTX)
    assert err.number == 3201
    # pymssql-style: messages without numbers, identified from their text
    unnumbered = [m.message(None, 16, TEXTS[3201]), m.message(None, 16, TEXTS[3013])]
    assert m.translate(3013, TEXTS[3013], messages=unnumbered, context=CTX).number == 3201
    # 3013 alone still gives a plain message, not a crash
    alone = m.translate(3013, TEXTS[3013], context=CTX)
    assert alone.number == 3013 and "error log" in alone.hint


@pytest.mark.parametrize("number", [3241, 3183, 3203])
def test_damaged_media(number: int) -> None:
    err = m.translate(
        number,
        TEXTS[number],
        messages=errors(number, 3013),
        context=m.Context("verify", path="/b/x.bak"),
    )
    assert isinstance(err, ServerBackupDamaged) and isinstance(err, BackupInvalid)
    assert err.number == number and "/b/x.bak" in err.message


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (3154, "another database"),
        (3159, "log was not backed up"),
        (3169, "newer SQL Server"),
        (1834, "used by another database"),
        (5133, "cannot find the directory"),
        (3101, "in use"),
        (15247, "permission"),
        (1827, "Express size limit of 10 GB"),
        (3187, "without checksums"),
    ],
)
def test_translation_table(number: int, words: str) -> None:
    text = TEXTS.get(number, 'The tail of the log for the database "X" has not been backed up.')
    err = m.translate(number, text, messages=errors(number) if number in TEXTS else (), context=CTX)
    assert type(err) is ServerError
    assert err.number == number
    assert words in err.message
    assert err.hint  # always says what to do


def test_3169_names_both_versions() -> None:
    err = m.translate(3169, TEXTS[3169], context=CTX)
    assert "16.00.4135" in err.message and "15.00.2000" in err.message


def test_login_failed() -> None:
    err = m.translate(18456, TEXTS[18456], context=m.Context("connect", host="srv", user="sa"))
    assert isinstance(err, ConnectionFailed) and err.number == 18456
    assert err.message == "SQL Server at srv refused the login for user 'sa'."
    assert "password" in err.hint


def test_network_errors_from_pymssql() -> None:
    exc = Exception(
        (
            20009,
            b"DB-Lib error message 20009, severity 9:\nUnable to connect: TDS server is unavailable or "
            b"does not exist (127.0.0.1)\nNet-Lib error during Connection refused (111)\n",
        )
    )
    number, text = _pymssql_error(exc)
    assert number == 20009
    err = m.translate(number, text, context=m.Context("connect", host="127.0.0.1", port=1))
    assert isinstance(err, ConnectionFailed)
    assert (
        err.message == "Cannot connect to SQL Server at 127.0.0.1:1: nothing answers on that port."
    )
    assert "firewall" in err.hint


def test_pymssql_error_keeps_the_server_text() -> None:
    exc = Exception(
        (18456, b"Login failed for user 'sa'.DB-Lib error message 20018, severity 14:\nGeneral")
    )
    assert _pymssql_error(exc) == (18456, "Login failed for user 'sa'.")


def test_odbc_messages_and_errors() -> None:
    msg = odbc_message(
        (
            "[01000] (3211)",
            "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]10 percent processed.",
        )
    )
    assert msg == m.SqlMessage(3211, 0, "10 percent processed.")
    exc = Exception(
        "42000",
        "[42000] [FreeTDS][SQL Server]Cannot open backup device '/x/y.bak'. Operating system error 5(Access is denied.). (3201) "
        "[42000] [FreeTDS][SQL Server]BACKUP DATABASE is terminating abnormally. (3013)",
    )
    number, text, found = odbc_error(exc)
    assert number == 3201 and text.startswith("Cannot open backup device")
    assert [f.number for f in found] == [3201, 3013]


def test_unknown_error_keeps_the_server_words() -> None:
    err = m.translate(50000, "Something odd.", context=CTX)
    assert err.message == "SQL Server said: Something odd." and err.number == 50000


def test_service_account_guess() -> None:
    assert m.service_account_guess("SQLEXPRESS", "\\") == "NT SERVICE\\MSSQL$SQLEXPRESS"
    assert m.service_account_guess(None, "\\") == "NT SERVICE\\MSSQLSERVER"
    assert m.service_account_guess(None, "/") == "the 'mssql' user"


class _FakeOdbcCursor:
    """Stands in for a pyodbc cursor: one message per result set, like Microsoft's driver."""

    def __init__(self) -> None:
        self.sets = [
            (
                [
                    (
                        "[01000] (3211)",
                        "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]50 percent processed.",
                    )
                ],
                None,
            ),
            (
                [
                    (
                        "[01000] (3211)",
                        "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]100 percent processed.",
                    )
                ],
                None,
            ),
            ([], ([("n",)], [(1,)])),
            (
                [
                    (
                        "[01000] (3014)",
                        "[SQL Server]BACKUP DATABASE successfully processed 9 pages in 0.1 seconds (1.0 MB/sec).",
                    )
                ],
                None,
            ),
        ]
        self.index = 0
        self.executed = ""

    def _load(self) -> None:
        self.messages, result = self.sets[self.index]
        self.description, self._rows = (result[0], result[1]) if result else (None, [])

    def execute(self, sql: str) -> None:
        self.executed = sql
        self._load()

    def fetchall(self) -> list[tuple[int]]:
        return self._rows

    def nextset(self) -> bool:
        self.index += 1
        if self.index >= len(self.sets):
            self.messages, self.description = [], None
            return False
        self._load()
        return True

    def close(self) -> None:
        pass


def test_odbc_loop_consumes_every_result_set_in_order() -> None:
    from msde_tui.engine.backends.mssql.driver import _OdbcLike

    cursor = _FakeOdbcCursor()

    class Conn:
        def cursor(self) -> _FakeOdbcCursor:
            return cursor

    seen: list[m.SqlMessage] = []
    results = _OdbcLike(Conn()).run("BACKUP DATABASE [x] TO DISK = N'/b'", seen.append)
    assert [s.number for s in seen] == [3211, 3211, 3014]
    assert [m.percent(s) for s in seen[:2]] == [50, 100]
    assert results == [[{"n": 1}]]
    assert cursor.index == len(cursor.sets)  # nextset() was called until it returned False


def test_connection_failures_are_shown_in_french() -> None:
    """The first screen's SQL Server errors in the user's language (engine/words.py)."""
    from msde_tui import i18n
    from msde_tui.engine.words import shown

    refused = m.translate(20009, "Unable to connect: Adaptive Server is unavailable or does not "
                          "exist (127.0.0.1:1) Net-Lib error during Connection refused (111)",
                          context=m.Context(operation="connect", host="127.0.0.1", port=1))
    login = m.translate(18456, "Login failed for user 'sa'.",
                        context=m.Context(operation="connect", host="srv", port=1433, user="sa"))
    i18n.setup("fr")
    try:
        assert shown(refused.message) == (
            "Impossible de se connecter au SQL Server 127.0.0.1:1 : rien ne répond sur ce port.")
        assert shown(refused.hint) == (
            "Vérifiez le nom du serveur et le port, que le service SQL Server tourne, et que le "
            "pare-feu laisse passer le port (1433, ou le port de l'instance nommée). SQL Server "
            "Express s'installe avec TCP/IP désactivé : activez-le dans le Gestionnaire de "
            "configuration SQL Server (Protocoles pour SQLEXPRESS, TCP/IP) et redémarrez le service.")
        assert shown(login.message) == "SQL Server srv a refusé la connexion de l'utilisateur 'sa'."
        assert shown(login.hint).startswith("Vérifiez le nom d'utilisateur et le mot de passe")
    finally:
        i18n.setup("en")
