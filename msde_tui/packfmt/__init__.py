"""The packed-file container (PBF, PTF, PAF). Specification: docs/FORMAT.md.

``PackWriter`` writes a file (bounded memory, manifest last, read back before it gets its
final name); ``PackReader`` opens one and checks every member before its bytes are used.
Every problem is a ``msde_tui.packfmt.errors.PackError``. The package stands alone: it imports
nothing from the rest of msde (tests/unit/test_layers.py checks it).

The names below load on first use, so that importing ``msde_tui.packfmt.errors`` (which every
error of msde derives from) does not load pyarrow.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "FORMAT": "manifest",
    "VERSION": "manifest",
    "ColumnSpec": "schema",
    "Digest": "digest",
    "PackReader": "reader",
    "PackSchema": "schema",
    "PackWriter": "writer",
    "TableSpec": "schema",
    "key_bytes": "digest",
    "row_hashes": "digest",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
