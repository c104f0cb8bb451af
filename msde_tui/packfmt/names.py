"""Member names of the container (docs/FORMAT.md section 2): build them and refuse tricks."""

from __future__ import annotations

import re

from msde_tui.packfmt.errors import PackError

_SAFE_RE = re.compile(r"^[A-Za-z0-9_.\-/]+$")
_LABEL_RE = re.compile(r"[^A-Za-z0-9_]")
MANIFEST = "manifest.json"
SCHEMA = "schema.json"
CONTENT = "content.json"
DATA = "data"
DELETED = "deleted"
EXTRA = "extra"


def table_dir(index: int, name: str, *, encrypted: bool = False) -> str:
    """``0007-entry_line`` (or ``0007`` in encrypted files, which hide table names)."""
    if encrypted:
        return f"{index:04d}"
    label = _LABEL_RE.sub("", name)[:40]
    return f"{index:04d}-{label}" if label else f"{index:04d}"


def chunk_name(area: str, directory: str, number: int) -> str:
    return f"{area}/{directory}/{number:05d}.parquet"


def check_member_name(name: str) -> str:
    """Return ``name`` if it is a safe relative member name, else raise ``PackError``."""
    bad = (
        not name
        or len(name) > 255
        or "\\" in name
        or name.startswith("/")
        or (len(name) > 1 and name[1] == ":")
        or not _SAFE_RE.match(name)
        or any(part in ("", ".", "..") for part in name.split("/"))
    )
    if bad:
        raise PackError(
            f"The packed file holds a member with a forbidden name: {name!r}.",
            "The file was not made by msde or was tampered with; nothing was extracted.",
        )
    return name
