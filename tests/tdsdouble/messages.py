"""The SQL Server messages the double sends: number -> (severity, English text).

Texts follow sys.messages (``%ls``/``%d`` placeholders written as ``{}`` here). Keep one
place for them so tests and the engine's message translation are checked against the same
strings.
"""

from __future__ import annotations

from dataclasses import dataclass

CATALOG: dict[int, tuple[int, str]] = {
    # logins, databases
    18456: (14, "Login failed for user '{}'."),
    4060: (11, 'Cannot open database "{}" requested by the login. The login failed.'),
    5701: (0, "Changed database context to '{}'."),
    5703: (0, "Changed language setting to {}."),
    911: (16, "Database '{}' does not exist. Make sure that the name is entered correctly."),
    1801: (16, "Database '{}' already exists. Choose a different database name."),
    3701: (
        11,
        "Cannot drop the database '{}', because it does not exist or you do not have permission.",
    ),
    3702: (16, 'Cannot drop database "{}" because it is currently in use.'),
    5069: (16, "ALTER DATABASE statement failed."),
    226: (16, "{} statement not allowed within multi-statement transaction."),
    3902: (16, "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION."),
    3903: (16, "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION."),
    15247: (16, "User does not have permission to perform this action."),
    1827: (
        16,
        "CREATE DATABASE or ALTER DATABASE failed because the resulting cumulative database "
        "size would exceed your licensed limit of {} MB per database.",
    ),
    # parsing / generic SQL
    102: (15, "Incorrect syntax near '{}'."),
    156: (15, "Incorrect syntax near the keyword '{}'."),
    137: (15, 'Must declare the scalar variable "{}".'),
    208: (16, "Invalid object name '{}'."),
    207: (16, "Invalid column name '{}'."),
    2812: (16, "Could not find stored procedure '{}'."),
    # identity columns
    544: (
        16,
        "Cannot insert explicit value for identity column in table '{}' when IDENTITY_INSERT "
        "is set to OFF.",
    ),
    545: (
        16,
        "Explicit value must be specified for identity column in table '{}' either when "
        "IDENTITY_INSERT is set to ON or when a replication user is inserting into a NOT FOR "
        "REPLICATION identity column.",
    ),
    8101: (
        16,
        "An explicit value for the identity column in table '{}' can only be specified when a "
        "column list is used and IDENTITY_INSERT is ON.",
    ),
    8106: (16, "Table '{}' does not have the identity property. Cannot perform SET operation."),
    8107: (
        16,
        "IDENTITY_INSERT is already ON for table '{}'. Cannot perform SET operation for table '{}'.",
    ),
    1088: (
        16,
        'Cannot find the object "{}" because it does not exist or you do not have permissions.',
    ),
    # backup / restore
    3211: (10, "{} percent processed."),
    4035: (10, "Processed {} pages for database '{}', file '{}' on file {}."),
    3014: (10, "{} successfully processed {} pages in {} seconds ({} MB/sec)."),
    3262: (10, "The backup set on file {} is valid."),
    3013: (16, "{} is terminating abnormally."),
    3021: (16, "Cannot perform a backup or restore operation within a transaction."),
    3201: (16, "Cannot open backup device '{}'. Operating system error {}."),
    3241: (
        16,
        "The media family on device '{}' is incorrectly formed. "
        "SQL Server cannot process this media family.",
    ),
    3203: (16, 'Read on "{}" failed: {}'),
    3183: (
        16,
        'RESTORE detected an error on page ({}:{}) in database "{}" as read from the backup set.',
    ),
    3187: (
        16,
        "RESTORE WITH CHECKSUM cannot be specified because the backup set does not contain "
        "checksum information.",
    ),
    3154: (
        16,
        "The backup set holds a backup of a database other than the existing '{}' database.",
    ),
    3169: (
        16,
        "The database was backed up on a server running version {}. That version is "
        "incompatible with this server, which is running version {}. Either restore the "
        "database on a server that supports the backup, or use a backup that is compatible "
        "with this server.",
    ),
    1834: (16, "The file '{}' cannot be overwritten.  It is being used by database '{}'."),
    3156: (
        16,
        "File '{}' cannot be restored to '{}'. Use WITH MOVE to identify a valid location for the file.",
    ),
    3119: (
        16,
        "Problems were identified while planning for the RESTORE statement. "
        "Previous messages provide details.",
    ),
    5133: (16, 'Directory lookup for the file "{}" failed with the operating system error {}.'),
    3234: (
        16,
        "Logical file '{}' is not part of database '{}'. "
        "Use RESTORE FILELISTONLY to list the logical file names.",
    ),
    927: (14, "Database '{}' cannot be opened. It is in the middle of a restore."),
    942: (14, "Database '{}' cannot be opened because it is offline."),
    262: (14, "{} permission denied in database '{}'."),
    3132: (
        16,
        "The media set has {} media families but only {} are provided. All members must be "
        "provided.",
    ),
    8939: (
        16,
        "Table error: Object ID {}, index ID 1, partition ID {}, alloc unit ID {} (type In-row "
        "data), page (1:{}). Test (IS_OFF (BUF_IOERR, pBUF->bstat)) failed. Values are 2057 and -4.",
    ),
    8989: (
        10,
        "CHECKDB found {} allocation errors and {} consistency errors in database '{}'.",
    ),
    3101: (16, "Exclusive access could not be obtained because the database is in use."),
    1844: (16, "{} is not supported on {}."),
    3206: (
        16,
        "No entry in sysdevices for backup device '{}'. Update sysdevices and rerun statement.",
    ),
}

OS_ERRORS = {
    2: "2(The system cannot find the file specified.)",
    3: "3(The system cannot find the path specified.)",
    5: "5(Access is denied.)",
    38: "38(Reached the end of the file.)",
    112: "112(There is not enough space on the disk.)",
}


@dataclass(frozen=True)
class Msg:
    number: int
    severity: int
    text: str
    state: int = 1


def msg(number: int, *args: object, state: int = 1) -> Msg:
    severity, template = CATALOG[number]
    return Msg(number, severity, template.format(*args), state)


class SqlError(Exception):
    """Ends the current statement with these messages (the last is usually 3013)."""

    def __init__(self, *messages: Msg) -> None:
        super().__init__("; ".join(f"{m.number}: {m.text}" for m in messages))
        self.messages = messages
