"""The dossier list (SPEC section 3), kept as ``dossiers.json`` in the data directory.

A record points either at an embedded file (``backend="embedded"``, ``location`` = file name
in the data directory), at a SQL Server database (``backend="mssql"``, ``profile`` = the
connection profile name, ``location`` = database name) or at an Access file
(``backend="access"``, ``location`` = its full path; msde only reads it). Removing a record never deletes data
unless ``delete_data=True`` is passed explicitly (embedded files only).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

from msde_tui.engine import naming
from msde_tui.engine.atomic import write_atomic
from msde_tui.engine.errors import BadInput, DossierExists, DossierNotFound

CATALOG_FILE = "dossiers.json"
CATALOG_VERSION = 1
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

    @property
    def code(self) -> str:
        return f"{self.number}{self.short}"

    @property
    def is_embedded(self) -> bool:
        return self.backend == "embedded"

    def path(self, home: Path) -> Path:
        """The embedded file of this dossier."""
        if not self.is_embedded:
            raise BadInput(f"Dossier {self.code} is on SQL Server, not an embedded file.")
        return home / self.location


class Catalog:
    """Load, change and save the dossier list. Every change is saved atomically at once."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.file = self.home / CATALOG_FILE
        self._dossiers: dict[str, Dossier] = {}
        if self.file.exists():
            self._load()

    def _load(self) -> None:
        try:
            raw = json.loads(self.file.read_text(encoding="utf-8"))
            records = raw["dossiers"]
            self._dossiers = {r["number"]: Dossier(**r) for r in records}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BadInput(
                f"The dossier list {self.file} cannot be read ({exc}).",
                "Restore it from a backup or move it aside; no dossier file was touched.",
            ) from exc

    def save(self) -> None:
        payload = {
            "version": CATALOG_VERSION,
            "dossiers": [asdict(d) for d in self.dossiers()],
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
        if dossier.number not in self._dossiers:
            raise DossierNotFound(f"No dossier {dossier.number} in the dossier list.")
        self._dossiers[dossier.number] = dossier
        self.save()
        return dossier

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
            path = dossier.path(self.home)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        del self._dossiers[dossier.number]
        self.save()
        return dossier
