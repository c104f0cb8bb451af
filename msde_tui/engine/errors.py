"""Domain errors. Each carries a plain-words message and what to do about it.

The CLI and the TUI print ``str(error)`` (message + hint) and never a traceback. A hint that
names a CLI command or flag comes with ``wizard_hint``, the same advice in the wizard's words
(its fields and operations): the wizard shows that one, the CLI the hint.
Exit code 2 for ``BadInput`` and its subclasses (bad usage or input), 1 otherwise.
"""

from __future__ import annotations

from msde_tui.packfmt.errors import DiskFull, MsdeError, PackError, UnsafePath

__all__ = [
    "BackupInvalid", "BadInput", "BadPath", "Busy", "Cancelled", "ConnectionFailed", "DiskFull", "DossierChanged",
    "DossierDamaged", "DossierExists", "DossierNotFound", "MsdeError", "PackError", "ServerBackupDamaged",
    "ServerDiskFull", "ServerError", "UnsafePath", "WrongDossier",
]


class BadInput(MsdeError):
    """The user asked for something that cannot be: a malformed number, a missing file..."""

    exit_code = 2


class BadPath(BadInput):
    """A path given (or the data directory) cannot be used as what it should be."""


class DossierNotFound(BadInput):
    """No dossier with that number or code in the dossier list."""


class DossierExists(BadInput):
    """The number, code or database is already taken."""


class DossierDamaged(MsdeError):
    """The dossier's own data fails its integrity checks."""


class BackupInvalid(MsdeError):
    """A backup or its proof is missing, truncated, corrupt or not what it claims."""


class WrongDossier(MsdeError):
    """A file belongs to another dossier than the one it is applied to."""


class ServerError(MsdeError):
    """SQL Server refused or failed; ``number`` is the server's error number."""

    def __init__(self, message: str, hint: str = "", number: int | None = None) -> None:
        super().__init__(message, hint)
        self.number = number


class ConnectionFailed(ServerError):
    """Cannot reach or log in to the server."""


class Cancelled(MsdeError):
    """The user cancelled; nothing was changed."""


class Busy(MsdeError):
    """Another run holds the lock."""


class DossierChanged(MsdeError):
    """Another program wrote to the dossier while msde read it as one state; nothing was written."""


class ServerBackupDamaged(BackupInvalid, ServerError):
    """SQL Server found a backup damaged or unreadable (3241, 3242, 3183, 3189, 3203)."""


class ServerDiskFull(DiskFull, ServerError):
    """SQL Server ran out of disk space on its own host (3202/112, 3257)."""


class SchedulerFailed(MsdeError):
    """The OS scheduler (Task Scheduler's schtasks, crontab, systemd) refused a command."""


class FecRefused(BadInput):
    """A FEC cannot be written as asked: an open year, entries never validated, an archived
    year without its PAF, or a dossier without SIREN and no identifier given."""


class CatalogInvalid(BadInput):
    """The dossier list (dossiers.json) is unreadable or holds an invalid record; it is not used."""


class AccessReaderMissing(MsdeError):
    """The Access reader (mdbtools) is not installed, so an Access file cannot be read."""


class AccessFileInUse(MsdeError):
    """An Access file has its lock file (.ldb/.laccdb) beside it: Access may be writing it."""


class AccessUnreadable(MsdeError):
    """The Access reader cannot read a file, a table or a value exactly."""
