"""The dossier list shared by processes (issue 12 point 4) and read as untrusted input (issue 17 point 7).

Concurrency: real processes change the list at the same time, through the engine and through the
``msde`` CLI; every change must survive. Validation: a hostile or broken ``dossiers.json`` is
refused whole, in words, with exit code 2 — never half-used, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import CatalogInvalid

ADDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from msde_tui.engine.catalog import Catalog, Dossier
    home, first, count, go = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    catalog = Catalog(home)  # loaded once, like a long job or the wizard: its view gets old
    while not go.exists():
        time.sleep(0.01)
    for n in range(first, first + count):
        number = f"{n:03d}"
        catalog.add(Dossier(number=number, short="P", company=f"Company {number}", location=f"{number}P.sqlite"))
        catalog.rename(number, company=f"Renamed {number}")
""")

JOB = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from msde_tui.engine.catalog import Catalog, Dossier
    home, stop = Path(sys.argv[1]), Path(sys.argv[2])
    catalog = Catalog(home)  # a detached job: it read the list when it started
    n = 500
    while not stop.exists() and n < 999:
        number = f"{n:03d}"
        catalog.add(Dossier(number=number, short="J", company=f"Job {number}", location=f"{number}J.sqlite"))
        n += 1
    print(n - 500)
""")

CLI = "import sys; from msde_tui.cli import main; sys.exit(main(sys.argv[1:]))"


def _env(home: Path) -> dict[str, str]:
    return os.environ | {"MSDE_HOME": str(home), "PYTHONPATH": os.pathsep.join(sys.path)}


def _dossier(number: str) -> Dossier:
    return Dossier(number=number, short="SOC", company=f"Company {number}", location=f"{number}SOC.sqlite")


def test_processes_adding_and_renaming_at_once_lose_nothing(home: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", ADDER, str(home), str(first), "15", str(go)], env=_env(home))
        for first in (100, 200, 300)
    ]
    time.sleep(0.5)  # every process has loaded the (empty) list before any change
    go.touch()
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0]
    listed = {d.number: d.company for d in Catalog(home).dossiers()}
    expected = {f"{n:03d}": f"Renamed {n:03d}" for first in (100, 200, 300) for n in range(first, first + 15)}
    assert listed == expected


def test_a_cli_rename_during_a_job_that_adds_is_kept(home: Path, tmp_path: Path) -> None:
    Catalog(home).add(_dossier("001"))
    stop = tmp_path / "stop"
    job = subprocess.Popen([sys.executable, "-c", JOB, str(home), str(stop)], env=_env(home),
                           stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(d.short == "J" for d in Catalog(home).dossiers()):  # the job has read the list
        assert job.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    for i in range(6):
        done = subprocess.run([sys.executable, "-c", CLI, "rename", "001", "--company", f"CLI {i}"],
                              env=_env(home), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    stop.touch()
    out, _ = job.communicate(timeout=300)
    assert job.returncode == 0
    added = int(out.strip())
    catalog = Catalog(home)
    assert added > 0 and len(catalog) == 1 + added
    assert catalog.get("001").company == "CLI 5"


def test_a_detached_restore_job_and_cli_changes_at_once_lose_nothing(home: Path, tmp_path: Path) -> None:
    """The real thing: a detached job (``msde_tui.jobrunner``) restores one backup under eight new
    numbers while ``msde rename`` and ``msde add`` run in other processes; every change stays."""
    from msde_tui.engine.accounting.demo import build_dossier, create_demo
    from msde_tui.engine.plans import RestoreItem, WizardPlan
    from msde_tui.engine.runs import jobs

    create_demo(home, dossiers=1, years=1, lines=40, seed=1)
    out = tmp_path / "backups"
    out.mkdir()
    assert main(["backup", "001", "--dir", str(out)]) == 0
    backup = str(next(out.glob("*.sqlite.bak")))
    numbers = [f"{n:03d}" for n in range(100, 108)]
    plan = WizardPlan(operation="restore", directory=str(out),
                      restore_items=tuple(RestoreItem(source=backup, number=n, short="CPY") for n in numbers))
    for i in range(4):  # dossiers of their own, to add while the job runs
        build_dossier(home / f"{200 + i}OWN.sqlite", code=f"{200 + i}OWN", company="Own", years=1, lines=10, seed=i)
    job = jobs.start_job(plan, home=home)
    for i in range(4):
        for argv in (["rename", "001", "--company", f"CLI {i}"],
                     ["add", "--number", str(200 + i), "--short", "OWN", "--company", f"Added {i}",
                      "--file", f"{200 + i}OWN.sqlite"]):
            done = subprocess.run([sys.executable, "-c", CLI, *argv], env=_env(home),
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 300
    while not (job.directory / jobs.RESULT).exists():
        assert time.monotonic() < deadline, (job.directory / jobs.RUNNER_LOG).read_text()
        time.sleep(0.1)
    result = json.loads((job.directory / jobs.RESULT).read_text())
    assert result["state"] == "ok", result
    catalog = Catalog(home)
    assert catalog.get("001").company == "CLI 3"
    assert catalog.numbers() == {"001", *numbers, "200", "201", "202", "203"}
    assert all(catalog.get(n).origin == catalog.get("001").guid for n in numbers)


def test_a_stale_catalog_object_does_not_write_over_a_newer_list(home: Path) -> None:
    old = Catalog(home)
    Catalog(home).add(_dossier("001"))  # another process, meanwhile
    old.add(_dossier("002"))
    old.rename("001", company="Still there")
    assert [d.code for d in Catalog(home).dossiers()] == ["001SOC", "002SOC"]
    assert Catalog(home).get("001").company == "Still there"


# --------------------------------------------------------------------------- a hostile list


def _write_list(home: Path, *records: dict[str, object], version: object = 2) -> None:
    (home / "dossiers.json").write_text(json.dumps({"version": version, "dossiers": list(records)}))


GOOD = {"number": "001", "short": "SOC", "company": "Soc", "backend": "embedded", "location": "001SOC.sqlite"}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"location": "../victim.txt"}, "not a file of the data directory"),
        ({"location": "/etc/passwd"}, "not a file of the data directory"),
        ({"location": "sub/001SOC.sqlite"}, "not a file of the data directory"),
        ({"location": "..\\victim.txt"}, "not a file of the data directory"),
        ({"number": 1}, "no text \"number\""),
        ({"number": "1"}, "not three digits"),
        ({"short": "so c"}, "short name"),
        ({"company": None}, "no text \"company\""),
        ({"backend": "oracle"}, "backend"),
        ({"guid": 5}, "\"guid\""),
        ({"extra": 1}, "unknown fields"),
        ({"backend": "mssql", "location": ""}, "database name"),
    ],
)
def test_an_invalid_record_makes_the_list_refused_in_words(
    home: Path, capsys: pytest.CaptureFixture[str], change: dict[str, object], words: str
) -> None:
    victim = home.parent / "victim.txt"
    victim.write_text("precious")
    _write_list(home, GOOD | change, {**GOOD, "number": "002", "location": "002SOC.sqlite"})
    before = (home / "dossiers.json").read_bytes()
    with pytest.raises(CatalogInvalid, match="is not valid"):
        Catalog(home)
    for argv in (["list"], ["remove", "001", "--delete-data"], ["remove", "002"], ["rename", "002", "--company", "X"]):
        assert main(argv) == 2
        out, err = capsys.readouterr()
        assert words in err and "Traceback" not in err + out, err
        assert "move the file aside" in err
    assert victim.read_text() == "precious"
    assert (home / "dossiers.json").read_bytes() == before  # never half-used, never rewritten


@pytest.mark.parametrize(
    "text",
    ['{"version": 1}', "[]", '{"version": 99, "dossiers": []}', '{"dossiers": [1]}', "[" * 100_000,
     json.dumps({"version": 1, "dossiers": [GOOD, GOOD]})],
    ids=["no-list", "not-object", "future-version", "record-not-object", "deep", "same-number-twice"],
)
def test_a_broken_list_is_one_error_with_exit_2(home: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    (home / "dossiers.json").write_text(text)
    assert main(["list"]) == 2
    out, err = capsys.readouterr()
    assert "dossier list" in err and "Traceback" not in out + err


def test_remove_delete_data_stays_in_the_data_directory(home: Path) -> None:
    outside = home.parent / "victim.txt"
    outside.write_text("precious")
    with pytest.raises(CatalogInvalid):
        Dossier("001", "SOC", "Soc", location="../victim.txt").path(home)
    with pytest.raises(Exception, match="not a file name of the data directory"):
        Catalog(home).add(Dossier("001", "SOC", "Soc", location="../victim.txt"))
    assert outside.read_text() == "precious"


def test_a_version_1_list_is_read_and_kept(home: Path) -> None:
    _write_list(home, {**GOOD, "profile": None, "status": "active", "guid": None}, version=1)
    catalog = Catalog(home)
    assert catalog.get("001").code == "001SOC"
    catalog.rename("001", company="New")
    assert json.loads((home / "dossiers.json").read_text())["dossiers"][0]["company"] == "New"


def test_threads_of_one_process_changing_the_list_lose_nothing(home: Path) -> None:
    """The wizard runs work in threads: they take the same file lock, one at a time."""
    import threading

    def work(first: int) -> None:
        catalog = Catalog(home)
        for n in range(first, first + 15):
            catalog.add(Dossier(f"{n:03d}", "T", "x", location=f"{n:03d}T.sqlite"))
            catalog.rename(f"{n:03d}", company=f"r{n}")

    threads = [threading.Thread(target=work, args=(first,)) for first in (100, 200, 300, 400)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    catalog = Catalog(home)
    assert len(catalog) == 60 and all(d.company == f"r{int(d.number)}" for d in catalog.dossiers())
