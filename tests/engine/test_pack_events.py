"""The events of pack, import, apply and export copy: a Step per table, Progress counted in rows
(never going back, ending at every row), one result (what the wizard and the CLI make of them:
tests/tui/test_rows_progress.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from msde_tui.engine import events as ev
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.plans import ApplyPlan, ExportCopyPlan, ImportPlan, PackPlan
from msde_tui.engine.runs import registry

BIG = 100_000  # rows of the big table: several batches of 32,768


def make(home: Path) -> Dossier:
    """A dossier of three tables: a big one (several batches), a small one and an empty one."""
    path = home / "060BIG.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, label TEXT, amount REAL)")
    conn.execute("CREATE TABLE small (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("CREATE TABLE empty (id INTEGER PRIMARY KEY)")
    conn.executemany("INSERT INTO big VALUES (?, ?, ?)", ((i, f"row {i}", i / 7) for i in range(BIG)))
    conn.executemany("INSERT INTO small VALUES (?, ?)", [(1, "a"), (2, "b"), (3, "c")])
    conn.commit()
    conn.close()
    return Catalog(home).add(Dossier(number="060", short="BIG", company="Big SA", location=path.name))


def run(plan: object, home: Path) -> list[ev.Event]:
    async def collect() -> list[ev.Event]:
        return [event async for event in registry.run(plan, home)]

    return asyncio.run(collect())


def check(events: list[ev.Event], label: str, step: str, total: int) -> ev.DossierResult:
    """Every event named ``label``; ``step`` announced per table with its rows; its Progress
    never goes back and ends with every row done; exactly one result, last, and it is OK."""
    assert {e.dossier for e in events} == {label}
    results = [e for e in events if isinstance(e, ev.DossierResult)]
    assert len(results) == 1 and events[-1] is results[0] and results[0].ok, results
    every = [e.percent for e in events if isinstance(e, ev.Progress)]
    assert every == sorted(every), every  # never back, whoever reports it
    progress = [e for e in events if isinstance(e, ev.Progress) and e.rows_done is not None]
    assert len(progress) >= 3  # the big table reports each of its batches (two at least)
    done = [p.rows_done for p in progress]
    percent = [p.percent for p in progress]
    assert all(p.rows_total == total for p in progress)
    assert done == sorted(done) and percent == sorted(percent), (done, percent)
    assert done[-1] == total and percent[-1] == 100.0
    first, last = events.index(progress[0]), events.index(progress[-1])
    steps = [e for e in events[first:last] if isinstance(e, ev.Step)]
    assert {s.step for s in steps} <= {step}  # no other step in between: one step, all tables
    return results[0]


def test_pack_then_import_report_rows(home: Path, tmp_path: Path) -> None:
    dossier = make(home)
    events = run(PackPlan((dossier.code,), str(tmp_path)), home)
    result = check(events, dossier.code, "pack", BIG + 3)
    details = [e.detail for e in events if isinstance(e, ev.Step) and e.step == "pack"]
    assert details == [f"big: {BIG:,} rows", "empty: 0 rows", "small: 3 rows"]
    steps = [e.step for e in events if isinstance(e, ev.Step)]
    assert steps[-1] == "verify" and result.verified

    pbf = result.files[0]
    events = run(ImportPlan(pbf, number="061"), home)
    label = Path(pbf).name
    check(events, label, "import", BIG + 3)
    steps = [e.step for e in events if isinstance(e, ev.Step)]
    assert steps[0] == "read" and steps[-1] == "check"
    with sqlite3.connect(home / "061BIG.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM big").fetchone()[0] == BIG


def test_apply_and_export_copy_report_rows(home: Path, tmp_path: Path) -> None:
    dossier = make(home)
    first = run(PackPlan((dossier.code,), str(tmp_path)), home)[-1]
    assert isinstance(first, ev.DossierResult) and first.ok
    imported = run(ImportPlan(first.files[0], number="062"), home)[-1]
    assert isinstance(imported, ev.DossierResult) and imported.ok
    with sqlite3.connect(home / dossier.location) as conn:
        conn.execute("UPDATE big SET label = 'changed' WHERE id < 70000")  # two row groups of changes
        conn.execute("DELETE FROM small WHERE id = 1")
    conn.close()
    ptf = run(PackPlan((dossier.code,), str(tmp_path), partial=True), home)[-1]
    assert isinstance(ptf, ev.DossierResult) and ptf.details["kind"] == "PTF"

    events = run(ApplyPlan(ptf.files[0], "062"), home)
    result = check(events, "062", "apply", 70_000 + 1)  # rows written, then the key deleted
    assert (result.details["upserted"], result.details["deleted"]) == (70_000, 1)

    out = tmp_path / "copies"
    out.mkdir()
    events = run(ExportCopyPlan((dossier.code,), directory=str(out)), home)
    check(events, dossier.code, "copy", BIG + 2)
    assert [e.step for e in events if isinstance(e, ev.Step)][-1] == "check"
