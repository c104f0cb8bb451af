"""BACKUP / RESTORE (placeholder)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.tdsdouble.response import Response
from tests.tdsdouble.sql import Cursor, syntax_error

if TYPE_CHECKING:
    from tests.tdsdouble.session import Session


def run_backup(session: Session, cur: Cursor, resp: Response, more: int) -> None:
    raise syntax_error(cur.peek())


def run_restore(session: Session, cur: Cursor, resp: Response, more: int) -> None:
    raise syntax_error(cur.peek())
