"""Long values use the room the terminal has: whole when they fit, else cut with "…" where the
cut keeps them apart (issue #14). Each test renders a screen at the sizes a technician used."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from msde_tui.app import MsdeApp
from msde_tui.engine.plans import WizardPlan
from msde_tui.engine.runs import jobs
from msde_tui.screens.jobs_screen import JobsScreen
from msde_tui.screens.progress import ProgressScreen, speed_text
from msde_tui.screens.widgets import clip_middle, fit_widths
from tests.tui.app_support import flat, screen_text, wait_screen, wait_text

# a verify of many backup files of one dossier: the names differ only by their end
FILES = [f"001SOC_20261207-08{minute:02d}54.sqlite.bak" for minute in range(18)]


def test_clip_middle_keeps_the_end_and_fit_widths_shrinks_the_widest() -> None:
    assert clip_middle("001SOC_20261207-084154.sqlite.bak", 28) == "001SOC…207-084154.sqlite.bak"
    assert clip_middle("short", 20) == "short"
    assert fit_widths(30, [20, 5, 20], [4, 5, 4], gap=1) == [11, 5, 12]
    assert fit_widths(80, [20, 5, 20], [4, 5, 4], gap=1) == [20, 5, 20]
    # the MB/s column is 6 wide: "1,054.7" ran into the time ("1,054.700:00")
    assert (speed_text(1054.66), speed_text(99.94), speed_text(None)) == ("1,055", "99.9", "")


@pytest.fixture
def runner():  # type: ignore[no-untyped-def]
    """A stand-in runner process (it only sleeps): the job's pid is alive while it lives."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child
    child.kill()
    child.wait()


def _verify_job(home: Path, pid: int) -> jobs.JobInfo:
    directory = jobs.jobs_dir(home) / "20261207-084154-abcd"
    directory.mkdir(parents=True)
    plan = WizardPlan(operation="verify", directory="/backups")
    spec = {"id": directory.name, "operation": "verify", "created_at": "2026-12-07T08:41:54",
            "subjects": FILES, "plan": jobs.plan_to_dict(plan)}
    (directory / jobs.SPEC).write_text(json.dumps(spec))
    (directory / jobs.EVENTS).touch()
    (directory / jobs.PID).write_text(str(pid))
    (directory / jobs.HEARTBEAT).write_text("x")
    return jobs.load_job(home, directory.name)


@pytest.mark.parametrize("size", [(200, 60), (80, 24)])
async def test_jobs_and_progress_columns_use_the_terminal_width(home: Path, runner, size) -> None:
    job = _verify_job(home, runner.pid)
    app = MsdeApp(home=home, lang="en")
    async with app.run_test(size=size) as pilot:
        await wait_screen(pilot, JobsScreen)
        await wait_text(pilot, "RUNNING")
        line = next(line for line in screen_text(app).splitlines() if job.id in line)
        if size[0] == 200:  # the dossiers as far as the room goes, then "…"
            assert FILES[0] in line and FILES[2] in line and "…" in line
        else:  # the job id whole, and the dossiers start to show, cut with "…"
            assert "001SOC_20261207" in line and line.rstrip(" │┃").endswith("…")
        await pilot.press("enter")
        await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "WAITING")
        text = screen_text(app)
        if size[0] == 200:  # every row, every name whole
            assert all(name in text for name in FILES), text
        else:  # the names cut in their middle: each row still shows its own time
            shown = [line for line in text.splitlines() if "WAITING" in line]
            assert len(shown) >= 5
            for number, line in enumerate(shown):
                assert f"08{number:02d}54.sqlite.bak" in line and "…" in line, line


COMPANY = "Brasserie Vandenberghe & Fils, Distribution de Boissons SPRL"


@pytest.mark.parametrize("size", [(200, 60), (80, 24)])
async def test_the_dossier_list_gives_the_company_the_width(home: Path, size) -> None:
    from msde_tui.engine.catalog import Catalog, Dossier
    from msde_tui.screens.dossiers import DossiersScreen
    from msde_tui.screens.steps import StepPosition
    from tests.tui.app_support import StepHost

    Catalog(home).add(Dossier("003", "BRA", COMPANY, location="002BRA_CUT001.sqlite", status="cut"))
    plan = WizardPlan(directory=str(home))
    app = StepHost.make(home, lambda ctx: DossiersScreen(ctx, plan, StepPosition(3, 5)))
    async with app.run_test(size=size) as pilot:
        await wait_text(pilot, "0 of 1 ticked")
        line = next(line for line in screen_text(app).splitlines() if "003BRA" in line)
        assert "(cut 001 of 002BRA)" in line and "missing" in line, line  # never cut
        if size[0] == 200:
            assert COMPANY in line, line
        else:  # as much of the name as 80 columns hold, then "…"
            assert "Brasserie Vandenberghe &… (cut 001 of 002BRA)" in line, line


def test_clip_and_pad_count_terminal_cells() -> None:
    """A wide character (CJK, emoji) takes two cells: cut and padded by cells, the columns of a
    line stay where the others have theirs."""
    from rich.cells import cell_len

    from msde_tui.screens.widgets import clip, pad

    assert clip(WIDE, 9) == "株式会社…" and cell_len(clip(WIDE, 10)) <= 10
    assert clip_middle("株式会社テスト_20261207.bak", 12) == "株…61207.bak"
    assert cell_len(pad("日本", 6)) == 6 and pad("abc", 2) == "abc"


WIDE = "株式会社サンプル商事 東京本社 経理部 会計事務所 第二営業部"  # two cells a character


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_a_wide_company_name_keeps_the_dossier_list_aligned(home: Path, size) -> None:
    from rich.cells import cell_len

    from msde_tui.engine.catalog import Catalog, Dossier
    from msde_tui.screens.dossiers import DossiersScreen
    from msde_tui.screens.steps import StepPosition
    from tests.tui.app_support import StepHost

    Catalog(home).add(Dossier("004", "JPN", WIDE, location="004JPN.sqlite"))
    Catalog(home).add(Dossier("005", "ASC", "Plain", location="005ASC.sqlite"))
    app = StepHost.make(home, lambda ctx: DossiersScreen(ctx, WizardPlan(directory=str(home)), StepPosition(3, 5)))
    async with app.run_test(size=size) as pilot:
        await wait_text(pilot, "0 of 2 ticked")
        lines = screen_text(app).splitlines()
        wide, plain = (next(line for line in lines if code in line) for code in ("004JPN", "005ASC"))
        assert "…" in wide and "missing" in wide, wide
        # the size column starts at the same cell on both lines
        assert cell_len(wide[: wide.index("missing")]) == cell_len(plain[: plain.index("missing")]), (wide, plain)


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_auto_screen_last_verified_is_whole(home: Path, size) -> None:
    from msde_tui.engine.auto import report
    from msde_tui.screens.auto_screen import AutoScreen
    from msde_tui.screens.steps import StepPosition
    from tests.tui.app_support import StepHost

    why = "no movement since the last backup, which was verified and kept as it was"
    report.last_run_file(home).parent.mkdir(parents=True, exist_ok=True)
    report.last_run_file(home).write_text(json.dumps({"dossiers": [
        {"code": "001SOC", "action": "skip", "ok": True, "reason": why,
         "last_verified_at": "2026-12-07T08:41:54"},
    ]}))
    app = StepHost.make(home, lambda ctx: AutoScreen(ctx, WizardPlan(operation="auto"), StepPosition(3, 3)))
    async with app.run_test(size=size) as pilot:
        await wait_text(pilot, "001SOC")
        text = screen_text(app)
        # the reason and the last verified time wrap in the room the other columns leave:
        # whole at any width, never cut
        assert flat(why) in flat(text) and flat("Last verified: 2026-12-07T08:41:54") in flat(text), text
        assert all(len(line) <= size[0] for line in text.splitlines())


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory (``home``) whose 001SOC has a long company name, and its packed file
    (``packs``): made once, each test gets a copy (the list's layout is what is tested)."""
    from msde_tui.cli import main
    from msde_tui.engine.accounting.demo import create_demo
    from msde_tui.engine.catalog import Catalog

    root = tmp_path_factory.mktemp("import-list")
    (root / "home").mkdir()
    create_demo(root / "home", dossiers=1, years=1, lines=10)
    Catalog(root / "home").rename("001SOC", company=COMPANY)
    (root / "packs").mkdir()
    assert main(["--home", str(root / "home"), "pack", "--dir", str(root / "packs"), "--all"]) == 0
    return root


@pytest.mark.parametrize("size", [(200, 60), (80, 24), (60, 20)])
async def test_the_import_list_gives_the_company_the_width(home: Path, tmp_path: Path, packed: Path,
                                                          size) -> None:
    from msde_tui.screens.import_screens import ImportScreen
    from msde_tui.screens.steps import StepPosition
    from tests.tui.app_support import StepHost

    shutil.copytree(packed / "home", home, dirs_exist_ok=True)
    packs = shutil.copytree(packed / "packs", tmp_path / "packs")
    plan = WizardPlan(operation="import", directory=str(packs))
    app = StepHost.make(home, lambda ctx: ImportScreen(ctx, plan, StepPosition(3, 5)))
    async with app.run_test(size=size) as pilot:
        await wait_text(pilot, "(*) 001SOC")  # the row drawn and chosen (drawn first, then chosen)
        line = next(line for line in screen_text(app).splitlines() if "(*) 001SOC" in line)
        assert "KB" in line, line  # one line each, whatever the width
        if size[0] == 200:
            assert COMPANY in line, line
        else:
            assert "Brasser" in line and "…" in line, line


@pytest.mark.parametrize("size", [(60, 20), (80, 24)])
async def test_jobs_screen_opened_with_f5_fits_the_width(home: Path, runner, size) -> None:
    from msde_tui.screens.connection import ConnectionScreen

    job = _verify_job(home, runner.pid)
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    async with app.run_test(size=size) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("f5")
        await wait_screen(pilot, JobsScreen)
        await wait_text(pilot, "RUNNING")
        line = next(line for line in screen_text(app).splitlines() if job.id in line)
        assert line.rstrip(" │┃").endswith("…"), line  # cut with "…", not under the border


@pytest.mark.parametrize("size", [(60, 20), (80, 24)])
async def test_jobs_screen_headers_are_whole_in_french(home: Path, runner, size) -> None:
    """A column's name longer than its column wraps over a second header line (fit_table.set_columns)
    instead of losing its end: "Opération" and "Dossiers" at 60 columns."""
    import re

    job = _verify_job(home, runner.pid)
    app = MsdeApp(home=home, lang="fr")
    async with app.run_test(size=size) as pilot:
        await wait_screen(pilot, JobsScreen)
        await wait_text(pilot, "EN COURS")
        lines = screen_text(app).splitlines()
        top = next(i for i, line in enumerate(lines) if "╭" in line)
        first_row = next(i for i, line in enumerate(lines) if job.id in line)
        header = lines[top + 1:first_row]
        starts = {m.start(): m.group() for m in re.finditer(r"[^\s│]+", header[0])}
        for line in header[1:]:
            for m in re.finditer(r"[^\s│]+", line):
                assert m.start() in starts, (m.group(), header)  # a continuation under its own column
                starts[m.start()] += m.group()
        names = ["Tâche", "Opération", "État", "Dossiers"]  # and "Début" where it has room
        assert sorted(starts.values()) in (sorted(names), sorted([*names, "Début"])), header
        assert not header[1:] or not header[1].strip(" │┃"), header  # each name whole on its line
        row = lines[first_row]
        if "Début" in header[0]:  # the start time readable, never "12-07 …"
            assert re.search(r"\b\d\d:\d\d\b", row), row
        else:  # no room for it: the id, which is the start, is whole
            assert job.id in row, row
