"""Put an embedded dossier file of the data directory in the dossier list, or take one out: what
``msde add --file`` / ``msde remove`` do, for the wizard's file lists (the document's
Fichier/Import/Complet "add to the list" and "remove from the list").

The list only refers to files of the data directory (a file elsewhere is imported, i.e. copied
in, by the import operation); a file holding a dossier already listed (same GUID) is refused.
"""

from __future__ import annotations

from pathlib import Path

from msde_tui.engine import naming
from msde_tui.engine.backends.embedded import dossier as embedded
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BadInput, DossierExists

SQLITE_MAGIC = b"SQLite format 3\x00"


def data_dir_file(home: Path, raw: str | Path) -> str:
    """The file name of ``raw`` inside the data directory, or ``BadInput``."""
    home = Path(home).resolve()
    path = Path(raw)
    path = (home / path) if not path.is_absolute() and path.parent == Path(".") else path
    path = path.resolve()
    if path.parent != home:
        raise BadInput(
            f"{raw} is not in the data directory {home}.",
            "Import it (Import, complete) to copy it in, or copy the file into the data directory first.",
        )
    if not path.is_file():
        raise BadInput(f"There is no file {path.name} in {home}.", "Check the file name.")
    with path.open("rb") as handle:
        if handle.read(16) != SQLITE_MAGIC:
            raise BadInput(f"{path.name} is not an embedded dossier (not a SQLite file).")
    return path.name


def _short_from_name(stem: str) -> str:
    """SOC from 001SOC, E001SOC, 001SOC_CUT001 (letters and digits after the number)."""
    cut = naming.CUT_RE.match(stem)
    base = cut.group("base") if cut else stem
    base = naming.base_of_export(base) or base
    match = naming.CODE_RE.match(base.upper())
    return match.group("short") if match else "DOS"


def add_file(home: Path, file: str | Path, *, number: str | None = None, short: str | None = None,
             company: str | None = None) -> Dossier:
    """Add the embedded dossier file ``file`` (in the data directory) to the list.

    ``number`` defaults to the first free one; ``short`` to the file name's; ``company`` to the
    name the dossier itself holds.
    """
    catalog = Catalog(home)
    location = data_dir_file(home, file)
    conn = embedded.connect(Path(home) / location, readonly=True)
    try:
        guid = embedded.dossier_guid(conn)
        try:
            row = conn.execute("SELECT company FROM dossier_info").fetchone()
        except Exception:  # noqa: BLE001 - no dossier_info: the file name says the rest
            row = None
    finally:
        conn.close()
    twin = next((d for d in catalog.dossiers() if guid and d.guid == guid), None)
    if twin is not None:
        raise DossierExists(
            f"{location} holds the same dossier (GUID {guid}) as {twin.code}.",
            "To bring in a copy of a listed dossier, restore or import it.",
        )
    stem = location.removesuffix(".sqlite")
    name = (company or (str(row[0]) if row and row[0] else "") or stem).strip()
    record = Dossier(
        number=number or catalog.first_free_number(),
        short=(short or _short_from_name(stem)).upper(),
        company=name,
        location=location,
        guid=guid,
        status="cut" if naming.cut_origin(location) else "active",
    )
    return catalog.add(record)


def remove(home: Path, ref: str, *, delete_data: bool = False) -> Dossier:
    """Take a dossier out of the list; its file stays unless ``delete_data``."""
    return Catalog(home).remove(ref, delete_data=delete_data)
