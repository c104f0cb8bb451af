"""SQL Server restores as an office meets them (issue 13): a database left RESTORING, a
dossier open on a workstation, files holding several backup sets, striped backups, old and
new versions, space and file places. Every test runs against the TDS double, and against a
real server when MSDE_TEST_MSSQL names one (docs/OPERATIONS.md, "The real-server test
suite"); the few that need the double's hooks say so and skip there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest

from msde_tui.engine.backends.mssql import tsql
from msde_tui.engine.backends.mssql.messages import translate
from msde_tui.engine.events import Statement, Step
from msde_tui.engine.plans import BackupOptions, RestoreItem
from tests.mssql_field import ROWS, Field, collect, dossier_of, result_of

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


# -- 6. several backup sets in one file; striped backups ---------------------------------------


async def file_with_two_sets(field: Field, name: str) -> str:
    """A file holding two full sets of DB (ROWS, then CHANGED), appended as SSMS does."""
    backend = field.backend()
    try:
        facts = await backend.facts()
    finally:
        await backend.close()
    path = tsql.server_path_join(facts.default_backup_path, name, facts.path_separator)
    field.files.append(path)
    await field.seed(DB)
    sql = f"BACKUP DATABASE {tsql.quote_ident(DB)} TO DISK = {tsql.quote_literal(path)} WITH CHECKSUM"
    await field.sql(sql + ", INIT")
    await field.sql("DELETE FROM t", DB)
    values = ", ".join(f"({i}, {tsql.quote_literal(label)})" for i, label in CHANGED)
    await field.sql(f"INSERT INTO t (id, label) VALUES {values}", DB)
    await field.sql(sql)  # NOINIT: appended as set 2
    return path


async def test_a_file_with_several_sets_lists_them_and_restores_the_one_chosen(
    field: Field,
) -> None:
    path = await file_with_two_sets(field, "PW0971FLD_two_sets.bak")
    backend = field.backend()
    try:
        refused = result_of(await collect(backend.restore(item(path, replace=True))))
        assert not refused.ok and refused.details["exit_code"] == 2
        assert "holds 2 full backup sets" in refused.message
        assert "set 1: full backup of PW0971FLD" in refused.message
        assert "set 2: full backup of PW0971FLD" in refused.message
        assert "--position" in refused.hint

        preview = await backend.restore_preview(item(path, replace=True, position=1))
        assert preview.summary()["position"] == 1 and len(preview.summary()["sets"]) == 2

        events = await collect(backend.restore(item(path, replace=True, position=1)))
        verified = result_of(await collect(backend.verify(path)))
        one = result_of(await collect(backend.verify(path, position=2)))
    finally:
        await backend.close()
    result = result_of(events)
    field.restored(result)
    assert result.ok and result.details["position"] == 1, result
    sent = [e.text for e in events if isinstance(e, Statement)]
    assert any(s.startswith("RESTORE VERIFYONLY") and "FILE = 1" in s for s in sent)
    assert any(s.startswith("RESTORE DATABASE") and "FILE = 1" in s for s in sent)
    assert await field.rows(DB) == ROWS  # set 1, not the last one
    # verify checks every set and reports each one's identity; --position checks one
    assert verified.ok and [s["position"] for s in verified.details["sets"]] == [1, 2]
    assert "2 backup sets valid" in verified.message
    assert one.ok and [s["position"] for s in one.details["sets"]] == [2]


async def test_one_file_of_a_striped_backup_says_all_files_are_needed(field: Field) -> None:
    backend = field.backend()
    try:
        facts = await backend.facts()
    finally:
        await backend.close()
    sep = facts.path_separator
    parts = [
        tsql.server_path_join(facts.default_backup_path, f"PW0971FLD_stripe{i}.bak", sep)
        for i in (1, 2)
    ]
    field.files.extend(parts)
    await field.seed(DB)
    disks = ", ".join(f"DISK = {tsql.quote_literal(p)}" for p in parts)
    await field.sql(f"BACKUP DATABASE {tsql.quote_ident(DB)} TO {disks} WITH CHECKSUM, INIT")
    backend = field.backend()
    try:
        result = result_of(await collect(backend.restore(item(parts[0], replace=True))))
    finally:
        await backend.close()
    assert not result.ok and result.details["number"] == 3132, result
    assert "striped over several files" in result.message
    assert "All the files of the backup are needed together" in result.hint


# -- 7. test restore: scratch database, DBCC CHECKDB, drop --------------------------------------


async def test_verify_with_a_test_restore_reports_checkdb_and_drops_the_scratch(
    field: Field,
) -> None:
    await field.seed(DB)
    path = await field.backup(DB)
    backend = field.backend()
    try:
        events = await collect(backend.verify(path, test_restore=True))
    finally:
        await backend.close()
    result = result_of(events)
    assert result.ok, result
    (test,) = result.details["test_restore"]  # type: ignore[misc]
    assert test["restored"] and test["checkdb"] == "clean" and test["page_verify"] == "CHECKSUM"
    sent = [e.text for e in events if isinstance(e, Statement)]
    assert any(s.startswith(f"RESTORE DATABASE [{test['database']}]") for s in sent)
    assert any(s.startswith("DBCC CHECKDB") for s in sent)
    left = await field.sql("SELECT name FROM sys.databases WHERE name LIKE N'msde_testrestore_%'")
    assert left == []  # the scratch database is gone


async def test_a_backup_of_damaged_data_verifies_but_fails_the_test_restore(
    field: Field, tmp_path: Any
) -> None:
    if field.real:
        pytest.skip("needs the double's hooks (a database file damaged under the server)")
    source = tmp_path / "damaged.sqlite"
    with sqlite3.connect(source) as db:
        db.execute("PRAGMA page_size = 8192")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, label TEXT)")
        db.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x" * 300) for i in range(400)])
        db.execute("CREATE INDEX t_label ON t(label)")
    db.close()
    raw = bytearray(source.read_bytes())
    raw[3 * 8192 + 200 : 3 * 8192 + 260] = b"\xff" * 60  # a b-tree page: structure, not bytes
    source.write_bytes(bytes(raw))
    field.double.create_database(DB, sqlite_file=source)
    field.made.append(DB)
    backend = field.backend()
    try:
        facts = await backend.facts()
        plain = result_of(await collect(backend.backup(dossier_of(DB), facts.default_backup_path, BackupOptions())))
        tested = result_of(await collect(backend.verify(plain.files[0], test_restore=True)))
    finally:
        await backend.close()
    assert plain.ok and plain.verified  # VERIFYONLY: the pages read back as written
    assert not tested.ok and tested.details["error"] == "ServerBackupDamaged"
    assert "test restore" in tested.message and "DBCC CHECKDB reported" in tested.message
    names = [d.name for d in field.double.instance.databases.values()]
    assert not any(n.startswith("msde_testrestore_") for n in names)


async def test_torn_page_detection_is_warned_about(field: Field) -> None:
    await field.seed(DB)
    await field.sql(f"ALTER DATABASE {tsql.quote_ident(DB)} SET PAGE_VERIFY TORN_PAGE_DETECTION")
    path = await field.backup(DB, test_restore=True)
    backend = field.backend()
    try:
        result = result_of(await collect(backend.verify(path, test_restore=True)))
    finally:
        await backend.close()
    (test,) = result.details["test_restore"]  # type: ignore[misc]
    assert test["page_verify"] == "TORN_PAGE_DETECTION"
    assert "not CHECKSUM" in str(test["warning"])


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (3043, "BACKUP 'PW0001SOC' detected an error on page (1:153) in file '/d/PW0001SOC.mdf'."),
        (824, "SQL Server detected a logical consistency-based I/O error: incorrect checksum."),
        (823, "The operating system returned error 21 to SQL Server during a read at offset."),
    ],
)
def test_damage_on_the_server_disk_is_said_plainly(number: int, text: str) -> None:
    error = translate(number, text)
    assert error.number == number  # type: ignore[attr-defined]
    assert "damaged on the server's disk" in error.message and "DBCC CHECKDB" in error.hint


# -- 2. old and new backups: exact major.minor, MSDE/2000 refused, 3241 on an older server ------


async def backup_made_by(field: Field, version: str) -> str:
    """A backup made by a double pretending to be SQL Server ``version``."""
    field.double.set_facts(version=version)
    await field.seed(DB)
    return await field.backup(DB)


async def test_a_2008_r2_backup_is_refused_by_a_2008_server_before_trying(field: Field) -> None:
    if field.real:
        pytest.skip("needs the double's hooks (servers of two versions)")
    path = await backup_made_by(field, "10.50.6000.34")
    field.double.set_facts(version="10.0.6000.29")
    backend = field.backend()
    try:
        result = result_of(await collect(backend.restore(item(path, replace=True))))
    finally:
        await backend.close()
    assert not result.ok and result.details["number"] == 3169, result
    assert "newer SQL Server, SQL Server 2008 R2 (10.50.6000)" in result.message
    assert "this one, SQL Server 2008 (10.0.6000.29)" in result.message
    assert not any(b.startswith("RESTORE DATABASE") for b in field.double.batches)


async def test_an_msde_backup_is_refused_by_2022_with_the_way_round(field: Field) -> None:
    if field.real:
        pytest.skip("needs the double's hooks (an MSDE 2000 backup)")
    path = await backup_made_by(field, "8.0.2039.0")
    field.double.set_facts(version="16.0.4135.4")
    backend = field.backend()
    try:
        preview = await backend.restore_preview(item(path, replace=True))
        result = result_of(await collect(backend.restore(item(path, replace=True))))
    finally:
        await backend.close()
    assert not result.ok and result.details["number"] == 3169
    assert "made by SQL Server 2000 / MSDE (8.0.2039), too old for SQL Server 2022" in result.message
    assert "restores backups from SQL Server 2008 on" in result.message
    assert "SQL Server 2005 to 2008 R2" in result.hint
    assert preview.problems and preview.problems[0].message == result.message
    assert not any(b.startswith("RESTORE DATABASE") for b in field.double.batches)


async def test_an_older_server_lists_a_newer_backup_as_newer_not_damaged(field: Field) -> None:
    if field.real:
        pytest.skip("needs the double's hooks (servers of two versions)")
    path = await backup_made_by(field, "16.0.4135.4")
    field.double.set_facts(version="15.0.2000.5")
    backend = field.backend()
    try:
        listed = await backend.backups_in(str(field.double.backup_dir))
    finally:
        await backend.close()
    (info,) = [b for b in listed if b.file == path]
    assert "most likely made by a newer SQL Server" in info.problem
    assert "damaged" not in info.problem.split(",")[0]


def test_3169_for_a_too_old_backup_is_not_called_newer() -> None:
    error = translate(
        3169,
        "The database was backed up on a server running version 8.00.2039. That version is "
        "incompatible with this server, which is running version 16.00.4135. Either restore "
        "the database on a server that supports the backup, or use a backup that is "
        "compatible with this server.",
    )
    assert "too old for this one" in error.message and "newer" not in error.message


# -- 9. space and places -----------------------------------------------------------------------


async def test_a_restore_without_room_in_the_data_folder_is_refused_before_it_starts(
    field: Field,
) -> None:
    if field.real:
        pytest.skip("needs the double's hooks (a nearly full disk)")
    await field.seed(DB)
    path = await field.backup(DB)
    field.double.set_free(field.double.data_dir, 4096)
    mark = len(field.double.batches)
    backend = field.backend()
    try:
        preview = await backend.restore_preview(RestoreItem(source=path, number="974", short="FLD"))
        result = result_of(
            await collect(backend.restore(RestoreItem(source=path, number="974", short="FLD")))
        )
    finally:
        await backend.close()
    assert not result.ok and result.details["error"] == "ServerDiskFull"
    assert f"in {field.double.data_dir} on the server" in result.message
    assert "needed, 0.0 MB free" in result.message
    (data,) = [s for s in preview.space if s.what.startswith("data")]
    assert data.free == 4096 and data.needed > 4096 and not data.enough
    sent = field.double.batches[mark:]
    assert not any(b.startswith(("RESTORE DATABASE", "RESTORE VERIFYONLY")) for b in sent)


async def test_the_safety_copy_folder_is_checked_too(field: Field) -> None:
    if field.real:
        pytest.skip("needs the double's hooks (a nearly full disk)")
    await field.seed(DB)
    path = await field.backup(DB)
    field.double.set_free(field.double.backup_dir, 1)
    backend = field.backend()
    try:
        result = result_of(await collect(backend.restore(item(path, replace=True))))
    finally:
        await backend.close()
    assert not result.ok and result.details["error"] == "ServerDiskFull"
    assert "for the safety copy of PW0971FLD" in result.message
    assert not any(b.startswith("BACKUP DATABASE") and "before_restore" in b for b in field.double.batches)


async def test_a_replace_restore_keeps_the_files_where_they_are(field: Field) -> None:
    await field.seed(DB)
    path = await field.backup(DB)
    backend = field.backend()
    try:
        facts = await backend.facts()
        elsewhere = facts.default_backup_path  # a folder the service account may write
        first = result_of(
            await collect(
                backend.restore(
                    RestoreItem(source=path, number="974", short="FLD", data_dir=elsewhere)
                )
            )
        )
        field.restored(first)
        assert first.ok, first
        where = "SELECT physical_name FROM sys.master_files WHERE database_id = DB_ID(N'PW0974FLD') ORDER BY file_id"
        before = [r["physical_name"] for r in await field.sql(where)]
        again = result_of(
            await collect(
                backend.restore(RestoreItem(source=path, number="974", short="FLD", replace=True))
            )
        )
        field.restored(again)
    finally:
        await backend.close()
    assert again.ok, again
    after = [r["physical_name"] for r in await field.sql(where)]
    assert after == before and all(p.startswith(elsewhere) for p in after)
    assert [m[1] for m in again.details["moves"]] == before  # type: ignore[union-attr]
