"""SQL Server restores as an office meets them (issue 13): a database left RESTORING, a
dossier open on a workstation, files holding several backup sets, striped backups, old and
new versions, space and file places. Every test runs against the TDS double, and against a
real server when MSDE_TEST_MSSQL names one (docs/OPERATIONS.md, "The real-server test
suite"); the few that need the double's hooks say so and skip there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from msde_tui.engine.events import Statement, Step
from msde_tui.engine.mssql import tsql
from msde_tui.engine.mssql.messages import translate
from msde_tui.engine.plans import RestoreItem
from tests.mssql_field import ROWS, Field, collect, result_of

DB = "PW0971FLD"
CHANGED = [(i, f"changé {i}") for i in range(1, 31)]


@pytest.fixture
async def field(mssql_target: Any) -> AsyncIterator[Field]:
    helper = Field(mssql_target)
    try:
        yield helper
    finally:
        await helper.close()


def item(source: str, **kw: Any) -> RestoreItem:
    return RestoreItem(source=source, number="971", short="FLD", **kw)


# -- 1. a database stuck RESTORING can be restored over (no safety copy of it) ------------------


async def test_restore_over_a_database_stuck_restoring_needs_no_safety_copy(field: Field) -> None:
    await field.seed(DB)
    path = await field.backup(DB)
    # a restore stopped half-way leaves the database RESTORING (unusable, cannot be backed up)
    await field.sql(
        f"RESTORE DATABASE {tsql.quote_ident(DB)} FROM DISK = {tsql.quote_literal(path)} "
        "WITH FILE = 1, REPLACE, NORECOVERY"
    )
    state = await field.sql(tsql.build_database_exists(DB))
    assert state[0]["state_desc"] == "RESTORING"

    backend = field.backend()
    try:
        events = await collect(backend.restore(item(path, replace=True)))
    finally:
        await backend.close()
    result = result_of(events)
    field.restored(result)
    assert result.ok, result
    assert result.details["safety_backup"] is None
    assert "RESTORING" in str(result.details["no_safety_reason"])
    said = [e.detail for e in events if isinstance(e, Step) and e.step == "safety copy"]
    assert said and "no safety copy" in said[0]
    assert not any(isinstance(e, Statement) and e.text.startswith("BACKUP") for e in events)
    assert await field.rows(DB) == ROWS


def test_927_is_said_in_plain_words() -> None:
    error = translate(
        927,
        "Database 'PW0001SOC' cannot be opened. It is in the middle of a restore.",
        context=None,
    )
    assert error.number == 927  # type: ignore[attr-defined]
    assert "in the middle of a restore (RESTORING)" in error.message
    assert "no safety copy is needed" in error.hint


# -- 4. sessions open on the database: consent, SINGLE_USER, back to MULTI_USER --------------


async def test_a_dossier_open_elsewhere_is_closed_only_with_consent(field: Field) -> None:
    await field.seed(DB)
    path = await field.backup(DB)
    await field.sql("UPDATE t SET label = N'pas sauvé'", DB)
    workstation = await field.open(DB)  # the accounting program on another workstation
    backend = field.backend()
    try:
        refused = result_of(await collect(backend.restore(item(path, replace=True))))
        assert not refused.ok and refused.details["number"] == 3101
        assert "in use by 1 other session" in refused.message
        assert "--close-sessions" in refused.hint
        assert refused.details["safety_backup"] is None  # refused before anything was written

        events = await collect(backend.restore(item(path, replace=True, close_sessions=True)))
    finally:
        await backend.close()
        await workstation.close()
    result = result_of(events)
    field.restored(result)
    assert result.ok and result.details["sessions_closed"], result
    sent = [e.text for e in events if isinstance(e, Statement)]
    single = next(i for i, s in enumerate(sent) if "SET SINGLE_USER WITH ROLLBACK IMMEDIATE" in s)
    restore = next(i for i, s in enumerate(sent) if s.startswith("RESTORE DATABASE"))
    assert single < restore
    assert await field.rows(DB) == ROWS
    access = await field.sql(f"SELECT user_access_desc FROM sys.databases WHERE name = N'{DB}'")
    assert access[0]["user_access_desc"] == "MULTI_USER"


async def test_multi_user_again_when_the_restore_fails(field: Field, tmp_path: Any) -> None:
    if field.real:
        pytest.skip("needs the double's hooks (a backup damaged after it was verified)")
    await field.seed(DB)
    path = await field.backup(DB)
    raw = bytearray(open(path, "rb").read())  # noqa: SIM115 - the double's file, on this disk
    raw[len(raw) // 2] ^= 0xFF
    open(path, "wb").write(bytes(raw))  # noqa: SIM115
    field.double.mark_in_use(DB)
    backend = field.backend()
    try:
        result = result_of(
            await collect(
                backend.restore(item(path, replace=True, close_sessions=True), verify_first=False)
            )
        )
    finally:
        await backend.close()
    field.restored(result)
    assert not result.ok and result.details["number"] == 3183
    assert field.double.instance.find(DB).user_access == "MULTI_USER"
    assert any("SET MULTI_USER" in b for b in field.double.batches)


def test_3101_hint_offers_to_close_the_sessions() -> None:
    error = translate(3101, "Exclusive access could not be obtained because the database is in use.")
    assert "--close-sessions" in error.hint
