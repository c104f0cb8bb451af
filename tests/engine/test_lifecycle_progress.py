"""Archive, archive import, cut and the tax-audit transfer report one way: ``Step`` and
``Progress`` events through ``emit``, named for the run's subject, rows counted within a step
and never going backwards (engine/reporting.py, tested alone in tests/engine/test_reporting.py)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.events import DossierResult, Event, Progress, Started, Step
from msde_tui.engine.lifecycle import archive, copying
from msde_tui.engine.plans import ArchivePlan, AuditPlan, CutPlan, UnarchivePlan
from msde_tui.engine.runs import registry
from tests.dossier_files import demo_file


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_file(tmp_path_factory.mktemp("tpl"), years=6)


@pytest.fixture
def listed(template: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The template as dossier 001SOC of the list; rows read in small batches, so that a step
    moves its rows in many steps of progress."""
    monkeypatch.setattr(archive, "BATCH", 97)
    monkeypatch.setattr(copying, "BATCH", 97)
    path = home / "001SOC.sqlite"
    shutil.copy(template, path)
    (guid,) = sqlite3.connect(path).execute("SELECT guid FROM dossier_info").fetchone()
    Catalog(home).add(Dossier(number="001", short="SOC", company="Soc", location=path.name, guid=guid))
    return path


async def events_of(plan: object, home: Path) -> list[Event]:
    return [event async for event in registry.run(plan, home)]


def steps_and_progress(events: list[Event], subject: str) -> list[tuple[str, list[Progress]]]:
    """Each step the run reported, with the progress reported inside it. Checks on the way that
    every event names ``subject``, the run ends with one successful result, and every progress
    counts rows and never goes back within its step."""
    assert isinstance(events[0], Started) and isinstance(events[-1], DossierResult), events
    assert events[-1].ok, events[-1]
    assert {e.dossier for e in events} == {subject}
    out: list[tuple[str, list[Progress]]] = []
    for event in events[1:-1]:
        if isinstance(event, Step):
            out.append((event.step, []))
        elif isinstance(event, Progress):
            assert out, f"{event} before any step"
            assert event.rows_total is not None and event.rows_done is not None, event  # rows, not step shares
            out[-1][1].append(event)
    for step, progress in out:
        for a, b in zip(progress, progress[1:], strict=False):
            assert b.rows_total == a.rows_total, step
            assert b.rows_done >= a.rows_done and b.percent >= a.percent, (step, a, b)  # type: ignore[operator]
    return out


def counted(progress: list[Progress]) -> int:
    """The rows a step moved: its progress ends at 100 %, every row counted."""
    assert progress, "no progress in a step that moves rows"
    last = progress[-1]
    assert last.percent == 100.0 and last.rows_done == last.rows_total, last
    assert len(progress) > 2  # counted as it went, not only announced
    return int(last.rows_total or 0)


async def test_archive_then_import_report_rows_named_for_their_subject(listed: Path, home: Path,
                                                                       tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    events = await events_of(ArchivePlan(str(out), (("001SOC", ("2015", "2016")),)), home)
    seen = steps_and_progress(events, "001SOC")
    assert [s for s, _p in seen] == ["read", "write", "verify", "replace", "check", "commit", "done"]
    done = events[-1].details["archived"]  # type: ignore[attr-defined]
    rows = sum(y["entries"] + y["lines"] + y["attachments"] for y in done)
    assert rows > 500
    assert counted(dict(seen)["write"]) == rows
    assert counted(dict(seen)["verify"]) == rows

    (paf,) = out.glob("*.paf")
    events = await events_of(UnarchivePlan(((str(paf), ()),)), home)
    seen = steps_and_progress(events, paf.name)  # an archive import's subject is its file
    assert [s for s, _p in seen] == ["verify", "read", "restore", "check", "commit", "done"]
    assert counted(dict(seen)["restore"]) == rows


async def test_cut_reports_the_rows_it_copies_and_checks(listed: Path, home: Path) -> None:
    events = await events_of(CutPlan("001SOC", "2018"), home)
    seen = steps_and_progress(events, "001SOC")
    assert [s for s, _p in seen] == ["check", "copy", "verify", "remove", "check", "commit", "done"]
    copied = sum(events[-1].details["rows"].values())  # type: ignore[attr-defined]
    assert counted(dict(seen)["copy"]) == copied == counted(dict(seen)["verify"])


async def test_tax_audit_reports_the_rows_it_copies(listed: Path, home: Path, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    out.mkdir()
    events = await events_of(AuditPlan("001SOC", ("2016", "2017"), str(out)), home)
    seen = steps_and_progress(events, "001SOC")
    assert [s for s, _p in seen] == ["copy", "verify", "done"]
    assert counted(dict(seen)["copy"]) == counted(dict(seen)["verify"]) > 500
