"""The packed-file container (PBF, PTF, PAF). Specification: docs/FORMAT.md.

``PackWriter`` writes a file (bounded memory, manifest last, read back before it gets its
final name); ``PackReader`` opens one and checks every member before its bytes are used.
Every problem is a ``msde_tui.engine.errors.PackError``.
"""

from msde_tui.packfmt.digest import Digest, key_bytes, row_hashes
from msde_tui.packfmt.manifest import FORMAT, VERSION
from msde_tui.packfmt.reader import PackReader
from msde_tui.packfmt.schema import ColumnSpec, PackSchema, TableSpec
from msde_tui.packfmt.writer import PackWriter

__all__ = [
    "FORMAT",
    "VERSION",
    "ColumnSpec",
    "Digest",
    "PackReader",
    "PackSchema",
    "PackWriter",
    "TableSpec",
    "key_bytes",
    "row_hashes",
]
