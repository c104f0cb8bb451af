"""The dossier list (SPEC section 3), kept as ``dossiers.json`` in the data directory.

A record points either at an embedded file (``backend="embedded"``, ``location`` = file name
in the data directory), at a SQL Server database (``backend="mssql"``, ``profile`` = the
connection profile name, ``location`` = database name) or at an Access file
(``backend="access"``, ``location`` = its full path; msde only reads it). Removing a record never deletes data
unless ``delete_data=True`` is passed explicitly (embedded files only).

Several processes share the list (the wizard, a detached job, the CLI, ``msde auto``): every
change takes the file lock ``dossiers.json.lock``, reads the list again under it, changes it and
writes it back atomically before letting go, so no process writes over another's change.
The list is validated whole when read (docs/OPERATIONS.md "The dossier list"): a record of the
wrong type, a malformed number or a location outside the data directory makes it invalid
(``CatalogInvalid``), and an invalid list is never used in part.

Identity (docs/OPERATIONS.md "Dossier identity"): ``guid`` is the dossier's own GUID (the one in
its ``dossier_info``); a dossier made as a copy of another records where it came from in
``origin`` (that dossier's GUID) and ``origin_code`` (its internal code then); ``package`` is the
id of the last PBF imported or PTF applied into it (the base a next PTF must follow).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any, Literal

from msde_tui.engine import naming
from msde_tui.engine.atomic import remove_sqlite, write_atomic
from msde_tui.engine.errors import BadInput, Busy, CatalogInvalid, DossierExists, DossierNotFound

if TYPE_CHECKING:  # filelock loads with the first change: reading the list (msde list) takes no lock
    from filelock import FileLock

CATALOG_FILE = "dossiers.json"
LOCK_FILE = "dossiers.json.lock"
CATALOG_VERSION = 2  # 2: identity fields (origin, origin_code, package); version 1 lists are read as is
LOCK_TIMEOUT_S = 60.0
BACKENDS = ("embedded", "mssql", "access")
Backend = Literal["embedded", "mssql", "access"]


@dataclass(frozen=True)
class Dossier:
    number: str
    short: str
    company: str
    backend: Backend = "embedded"
    location: str = ""  # embedded: file name in the data dir; mssql: database name; access: full path
    profile: str | None = None  # mssql: connection profile name
    status: str = "active"  # active | restored | cut | export | ...
    guid: str | None = None
    origin: str | None = None  # GUID of the dossier this one was copied from
    origin_code: str | None = None  # that dossier's internal code when it was copied
    package: str | None = None  # id of the last PBF imported / PTF applied into it

    @property
    def code(self) -> str:
        return f"{self.number}{self.short}"

    @property
    def is_embedded(self) -> bool:
        return self.backend == "embedded"

    def path(self, home: Path) -> Path:
        """The embedded file of this dossier (always a file directly in the data directory)."""
        if not self.is_embedded:
            where = "an Access file" if self.backend == "access" else "on SQL Server"
            raise BadInput(f"Dossier {self.code} is {where}, not an embedded file.")
        if not is_plain_file_name(self.location):
            raise CatalogInvalid(
                f"Dossier {self.code} points at '{self.location}', which is not a file of the data directory.",
                "Correct or remove that entry of the dossier list; nothing was touched.",
            )
        return Path(home) / self.location


FIELDS = {f.name for f in fields(Dossier)}


def is_plain_file_name(name: str) -> bool:
    """A bare file name: no directory part, not '.' or '..', no drive, no control character."""
    if not name or name in (".", "..") or any(ord(c) < 32 for c in name):
        return False
    return PurePosixPath(name).name == name and PureWindowsPath(name).name == name


def is_plain_path(path: str) -> bool:
    """A path with no control character and no '..' part (an explicitly added file's path)."""
    return bool(path) and not any(ord(c) < 32 for c in path) and ".." not in Path(path).parts


def _invalid(file: Path, where: str, problem: str) -> CatalogInvalid:
    return CatalogInvalid(
        f"The dossier list {file} is not valid: {where} {problem}.",
        "Correct that entry or move the file aside (msde then starts an empty list); "
        "no dossier was touched.",
    )


def _text(value: object, *, optional: bool = False) -> bool:
    return (optional and value is None) or (isinstance(value, str) and len(value) <= 4096)


def parse_records(file: Path, raw: object) -> dict[str, Dossier]:
    """The records of a parsed ``dossiers.json``, or ``CatalogInvalid`` naming the first fault."""
    if not isinstance(raw, dict) or not isinstance(raw.get("dossiers"), list):
        raise _invalid(file, "it", 'is not an object with a "dossiers" list')
    version = raw.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= CATALOG_VERSION:
        raise CatalogInvalid(
            f"The dossier list {file} has version {version!r}, which this msde does not know.",
            "Use the msde that wrote it, or move the file aside; no dossier was touched.",
        )
    found: dict[str, Dossier] = {}
    for index, record in enumerate(raw["dossiers"], start=1):
        where = f"entry {index}"
        if not isinstance(record, dict):
            raise _invalid(file, where, "is not an object")
        unknown = sorted(set(record) - FIELDS)
        if unknown:
            raise _invalid(file, where, f"has unknown fields ({', '.join(map(str, unknown))})")
        for name in ("number", "short", "company", "location"):
            if not _text(record.get(name)):
                raise _invalid(file, where, f'has no text "{name}" (found {record.get(name)!r})')
        for name in ("backend", "status"):
            if name in record and not _text(record[name]):
                raise _invalid(file, where, f'has a "{name}" that is not text')
        for name in ("profile", "guid", "origin", "origin_code", "package"):
            if not _text(record.get(name), optional=True):
                raise _invalid(file, where, f'has a "{name}" that is not text')
        number, short = record["number"], record["short"]
        if not naming.NUMBER_RE.match(number) or number == "000":
            raise _invalid(file, where, f'has the number {number!r}, not three digits like "001"')
        if not naming.SHORT_RE.match(short):
            raise _invalid(file, where, f"has the short name {short!r}, not 1-12 capital letters or digits")
        where = f"dossier {number}{short}"
        backend = record.get("backend", "embedded")
        if backend not in BACKENDS:
            raise _invalid(file, where, f"has the backend {backend!r} (embedded, mssql or access)")
        location = record["location"]
        if backend == "embedded" and not is_plain_file_name(location):
            raise _invalid(file, where, f"points at {location!r}, which is not a file of the data directory")
        if backend == "mssql" and (not location.strip() or len(location) > 128):
            raise _invalid(file, where, "needs a database name of 1 to 128 characters")
        if backend == "access" and not (Path(location).is_absolute() and is_plain_path(location)):
            raise _invalid(file, where, f"points at {location!r}, not the full path of an Access file "
                                        "('msde add --file' records one)")
        if number in found:
            raise _invalid(file, where, f"uses the number {number}, already used by {found[number].code}")
        found[number] = Dossier(**record)
    return found


_locks: dict[str, FileLock] = {}
_locks_guard = threading.Lock()


def _file_lock(home: Path) -> FileLock:
    """One lock object per data directory in this process (re-entrant within a thread)."""
    from filelock import FileLock

    key = str(Path(home).resolve())
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = FileLock(Path(key) / LOCK_FILE, timeout=LOCK_TIMEOUT_S)
        return lock


class Catalog:
    """Load, change and save the dossier list. Every change is made under the list's file lock
    on a fresh reading of the list, and saved atomically at once."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.file = self.home / CATALOG_FILE
        self._dossiers: dict[str, Dossier] = {}
        self._load()

    def _load(self) -> None:
        if not self.file.exists():
            self._dossiers = {}
            return
        try:
            raw = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            raise CatalogInvalid(
                f"The dossier list {self.file} cannot be read ({exc}).",
                "Restore it from a backup or move it aside; no dossier file was touched.",
            ) from exc
        self._dossiers = parse_records(self.file, raw)

    @contextlib.contextmanager
    def locked(self) -> Iterator[Catalog]:
        """Hold the list's file lock, with the list read again under it; changes made inside
        (``add``, ``update``, ``change``, ``remove``) are saved before the lock is let go."""
        with self._hold():
            self._load()
            yield self

    @contextlib.contextmanager
    def _hold(self) -> Iterator[None]:
        from filelock import Timeout

        try:
            self.home.mkdir(parents=True, exist_ok=True)
            lock = _file_lock(self.home)
            lock.acquire()
        except Timeout as exc:
            raise Busy(
                f"The dossier list {self.file} stays locked by another msde process.",
                "Wait for the other operation to end (msde jobs), then run this again.",
                wizard_hint="Wait for the other operation to end (F5 lists the jobs), then run this again.",
            ) from exc
        except OSError as exc:
            raise BadInput(
                f"The dossier list {self.file} cannot be locked ({exc.strerror or exc}).",
                "Check that the data directory exists and can be written.",
            ) from exc
        try:
            yield
        finally:
            lock.release()

    def save(self) -> None:
        with self._hold():  # re-entrant: the changing methods hold it already
            payload = {
                "version": CATALOG_VERSION,
                "dossiers": [_record(d) for d in self.dossiers()],
            }
            write_atomic(self.file, json.dumps(payload, indent=2, ensure_ascii=False).encode())

    def dossiers(self) -> list[Dossier]:
        return [self._dossiers[n] for n in sorted(self._dossiers)]

    def __len__(self) -> int:
        return len(self._dossiers)

    def numbers(self) -> set[str]:
        return set(self._dossiers)

    def first_free_number(self) -> str:
        return naming.first_free_number(self.numbers())

    def get(self, ref: str) -> Dossier:
        """Find a dossier by number (``001``, ``1``) or code (``001SOC``)."""
        text = str(ref).strip().upper()
        if text.isdigit():
            number = naming.check_number(text)
            if number in self._dossiers:
                return self._dossiers[number]
        else:
            for dossier in self._dossiers.values():
                if dossier.code == text:
                    return dossier
        raise DossierNotFound(
            f"No dossier '{ref}' in the dossier list.",
            "Run 'msde list' to see the dossiers, or give its number (e.g. 001).",
        )

    def find(self, ref: str) -> Dossier | None:
        try:
            return self.get(ref)
        except (DossierNotFound, BadInput):
            return None

    def by_guid(self, guid: str | None) -> list[Dossier]:
        """The dossiers of the list whose own GUID is ``guid``."""
        return [d for d in self.dossiers() if guid and d.guid == guid]

    def free_number(self, number: str | None = None) -> str:
        """``number`` checked and free in the list (default: the first free one), or a
        DossierExists that names the dossier holding it and the first free number."""
        number = naming.check_number(number) if number else self.first_free_number()
        if number in self._dossiers:
            taken = self._dossiers[number]
            raise DossierExists(
                f"Number {number} is already taken by {taken.code} ({taken.company}).",
                f"Choose another number; the first free one is {self.first_free_number()}.",
            )
        return number

    def add(self, dossier: Dossier) -> Dossier:
        number = naming.check_number(dossier.number)
        short = naming.check_short(dossier.short)
        dossier = replace(dossier, number=number, short=short)
        if not dossier.location:
            raise BadInput(f"Dossier {dossier.code} has no location.")
        if dossier.is_embedded and not is_plain_file_name(dossier.location):
            raise BadInput(f"'{dossier.location}' is not a file name of the data directory.")
        with self.locked():
            self.free_number(number)
            for other in self._dossiers.values():
                if other.backend == dossier.backend and other.location == dossier.location and (
                    other.profile == dossier.profile
                ):
                    raise DossierExists(
                        f"{dossier.location} is already in the list as {other.code}.",
                        "A dossier can appear only once in the list.",
                    )
            self._dossiers[number] = dossier
            self.save()
        return dossier

    def update(self, dossier: Dossier) -> Dossier:
        """Replace the record of ``dossier.number`` by ``dossier`` (whole)."""
        with self.locked():
            if dossier.number not in self._dossiers:
                raise DossierNotFound(f"No dossier {dossier.number} in the dossier list.")
            self._dossiers[dossier.number] = dossier
            self.save()
        return dossier

    def change(self, ref: str, **changes: Any) -> Dossier:
        """Change some fields of a record, read again under the lock (other fields as they are now)."""
        with self.locked():
            return self.update(replace(self.get(ref), **changes))

    def rename(self, ref: str, *, company: str | None = None, short: str | None = None) -> Dossier:
        """Change the company name and/or the short name shown in the list (not the data)."""
        dossier = self.get(ref)
        if company is not None:
            if not company.strip():
                raise BadInput("The company name cannot be empty.")
            dossier = replace(dossier, company=company.strip())
        if short is not None:
            dossier = replace(dossier, short=naming.check_short(short))
        return self.update(dossier)

    def remove(self, ref: str, *, delete_data: bool = False) -> Dossier:
        """Remove from the list. The data stays unless ``delete_data`` (embedded files only)."""
        with self.locked():
            dossier = self.get(ref)
            if delete_data:
                if dossier.backend == "access":
                    raise BadInput(
                        f"{dossier.code} is an Access file ({dossier.location}); msde never deletes it.",
                        "Remove it from the list without deleting, and delete the file yourself.",
                    )
                if not dossier.is_embedded:
                    raise BadInput(
                        f"{dossier.code} is a SQL Server database; the tool never drops databases.",
                        "Drop it on the server yourself if that is really wanted.",
                    )
                path = dossier.path(self.home)  # a bare file name of the data directory, checked
                remove_sqlite(path)
            del self._dossiers[dossier.number]
            self.save()
        return dossier


def _record(dossier: Dossier) -> dict[str, Any]:
    """The JSON record: the identity fields only when set (a version-1 reader's shape otherwise)."""
    record = asdict(dossier)
    for name in ("origin", "origin_code", "package"):
        if record[name] is None:
            del record[name]
    return record
