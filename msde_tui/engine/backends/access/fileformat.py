"""Recognise an Access file by its content (the Jet/ACE header), never by its extension.

Page 0 of every Jet/ACE database starts with ``00 01 00 00``, then ``Standard Jet DB\\0``
(Jet 3 and 4) or ``Standard ACE DB\\0`` (Access 2007 and later); the byte at offset 0x14 is
the version (0 = JET3 / Access 97, 1 = JET4 / Access 2000-2003, 2 = ACE12 / Access 2007,
3 = ACE14 / 2010, 4 = ACE15 / 2013, 5 = ACE16 / 2016+), as mdbtools' ``mdb-ver`` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from msde_tui.engine.errors import BadInput

MAGIC = b"\x00\x01\x00\x00"
JET_ID = b"Standard Jet DB\x00"
ACE_ID = b"Standard ACE DB\x00"
VERSION_OFFSET = 0x14
HEADER_SIZE = VERSION_OFFSET + 1
VERSIONS = {0: "JET3", 1: "JET4", 2: "ACE12", 3: "ACE14", 4: "ACE15", 5: "ACE16"}


@dataclass(frozen=True)
class AccessFile:
    path: Path
    format: str  # JET3, JET4, ACE12, ...
    size: int

    @property
    def suffix(self) -> str:
        """The usual extension of this format: ``.mdb`` (Jet) or ``.accdb`` (ACE)."""
        return ".mdb" if self.format.startswith("JET") else ".accdb"

    @property
    def lock_file(self) -> Path:
        """The lock file Access keeps beside an open database (``x.ldb`` / ``x.laccdb``)."""
        return lock_file(self.path, self.format)

    def describe(self) -> str:
        return f"Access {self.format} file, {human_size(self.size)}"


def format_of_header(header: bytes) -> str | None:
    """JET3/JET4/ACE12/... for a Jet/ACE header, None for anything else."""
    if len(header) < HEADER_SIZE or header[:4] != MAGIC:
        return None
    ident = header[4:20]
    if ident not in (JET_ID, ACE_ID):
        return None
    version = header[VERSION_OFFSET]
    if ident == JET_ID and version not in (0, 1):
        return None
    return VERSIONS.get(version, f"ACE (version {version})")


def sniff(path: Path) -> str | None:
    """The Access format of ``path``, or None when it is not an Access file (or unreadable)."""
    try:
        with open(path, "rb") as handle:
            return format_of_header(handle.read(HEADER_SIZE))
    except OSError:
        return None


def open_access(path: Path) -> AccessFile:
    """``path`` as an Access file, or BadInput saying what it is not."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise BadInput(f"There is no file {path}.", "Check the path and the file name.")
    found = sniff(path)
    if found is None:
        raise BadInput(
            f"{path.name} is not a Microsoft Access database (no Jet/ACE header).",
            "Give a .mdb or .accdb file made by Access.",
        )
    return AccessFile(path.resolve(), found, path.stat().st_size)


def lock_file(path: Path, access_format: str) -> Path:
    """Where Access puts its lock file for ``path``: same name, ``.ldb`` (Jet) or ``.laccdb``."""
    path = Path(path)
    return path.with_suffix(".ldb" if access_format.startswith("JET") else ".laccdb")


def lock_files(path: Path) -> list[Path]:
    """The lock files present beside ``path`` (either kind: a renamed file may keep the other)."""
    path = Path(path)
    return [p for p in (path.with_suffix(".ldb"), path.with_suffix(".laccdb")) if p.exists()]


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"
