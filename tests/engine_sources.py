"""The engine's sources read as syntax trees, for the tests that check its messages and hints
(tests/unit/test_engine_refusals_words.py, tests/unit/test_wizard_hints.py)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from msde_tui import i18n

PACKAGES = ("engine", "packfmt")


def nodes(skip: tuple[str, ...] = ()) -> Iterator[tuple[str, ast.AST]]:
    """(where, node) of every node of the engine's and packfmt's modules (``skip``: file names
    left out); ``where`` is ``path:line``."""
    for package in PACKAGES:
        for path in sorted((i18n.PACKAGE_DIR / package).rglob("*.py")):
            if path.name in skip:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                where = f"{path.relative_to(i18n.PACKAGE_DIR)}:{getattr(node, 'lineno', 0)}"
                yield where, node


def text(node: ast.expr, value: str) -> str | None:
    """The text a literal or an f-string gives, each value written as ``value``; None for
    anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else value for v in node.values)
    return None
