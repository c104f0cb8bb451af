from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from msde_tui import i18n, osdep

pytest_plugins = ["tests.tdsdouble.fixture"]

# The test modules' rewritten asserts and msde_tui's bytecode are cached in __pycache__ (ignored
# by git) even when PYTHONDONTWRITEBYTECODE is set: without it, every run parses and rewrites
# each test module again in each xdist worker (seconds), and every ``msde`` the tests start as
# a process compiles the package again. The test modules are imported after this line.
sys.dont_write_bytecode = False


def _quicker_pilot() -> None:
    """Pilot's ``press`` and ``pause`` wait until the app is idle: Textual sleeps 1/50 s at a
    time (twice per key) until the process used under 5 % of that time. Steps of 1/200 s, with
    the same 5 %, wait for the same thing about four times quicker (the TUI tests type many
    keys; the whole suite passes with it, also on a machine loaded three times over). Finer
    steps (1/500 s) let a test read the screen between a list's rows and its highlight. Left
    as it is if Textual no longer has these settings."""
    from textual import _wait

    if hasattr(_wait, "SLEEP_GRANULARITY") and hasattr(_wait, "SLEEP_IDLE"):
        _wait.SLEEP_GRANULARITY = 1 / 200
        _wait.SLEEP_IDLE = _wait.SLEEP_GRANULARITY / 20


_quicker_pilot()


def _each_key_derived_once() -> None:
    """scrypt at the cost of new packed files (n = 2^17) takes a third of a second: a key a test
    derived already (same passphrase, salt and cost: the same packed file opened again) is
    taken from memory. A wrong passphrase or another file is derived for real, and what a
    file holds is unchanged."""
    from msde_tui.packfmt import crypto

    crypto._derive = functools.lru_cache(maxsize=64)(crypto._derive)  # type: ignore[method-assign]


_each_key_derived_once()

# The suite is a gate: property tests run the same examples every time (no flaky CI, no
# timing-based failures on a loaded machine). Wider random exploration lives in bench/
# (e.g. bench/fuzz_pack_reader.py); HYPOTHESIS_PROFILE=explore turns it on here too.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _english_after_each_test() -> Iterator[None]:
    """The wizard's language is process-wide: a French test must not leak into the next one."""
    yield
    i18n.setup("en")


@pytest.fixture(autouse=True)
def _every_fec_checked(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every FEC file a test writes passes the project's own checker (tests/fec_checker.py),
    checked right after it was written (a later step of the test may remove it)."""
    from msde_tui.engine.accounting import fec
    from tests.fec_checker import check_fec

    write = fec.write_fec

    def checked(*args: object, **kwargs: object) -> fec.FecResult:
        result = write(*args, **kwargs)  # type: ignore[arg-type]
        report = check_fec(result.path)
        assert report.ok, f"{result.path.name}: " + "; ".join(report.errors)
        assert report.provisional == result.provisional
        return result

    monkeypatch.setattr(fec, "write_fec", checked)
    yield


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data directory, also set as MSDE_HOME."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("MSDE_HOME", str(path))
    return path


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH = a directory for the stand-in schedulers of tests/fake_schedulers.py, and nothing else."""
    from tests.fake_schedulers import make_fakes

    return make_fakes(tmp_path, monkeypatch)


# Modules whose tests start processes, terminals or servers, or sweep many cases: ``slow``, so
# that ``pytest -m "not slow"`` is a quick inner loop (the README's command runs everything).
SLOW_MODULES = {
    "test_app_tmux", "test_app_kill_jobs", "test_app_server_flows", "test_app_operations",
    "test_app_server_sets", "test_access_wizard", "test_access_convert", "test_snapshots",
    "test_hostile_world", "test_manifest_fuzz", "test_corruption_sample", "test_kill_sample",
    "test_disk_full", "test_catalog_safety", "test_pack_property", "test_mssql_field_restore",
    "test_pseudo_locale",
    "test_mssql_field_server", "test_tdsdouble", "test_jobs",
    # wizard walks that run an operation to its result: each starts a detached job process
    "test_app_embedded", "test_app_server", "test_app_progress", "test_app_pack",
    "test_lifecycle_screens",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that talk to SQL Server (the double or a real one) carry the ``mssql`` mark; the
    modules of ``SLOW_MODULES`` the ``slow`` mark."""
    for item in items:
        if {"tds_server", "mssql_target"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.mssql)
        if item.path.stem in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``posix_only`` / ``windows_only`` tests are skipped on the other side (msde_tui.osdep)."""
    if item.get_closest_marker("posix_only") and osdep.SIDE != "posix":
        pytest.skip("POSIX only")
    if item.get_closest_marker("windows_only") and osdep.SIDE != "windows":
        pytest.skip("Windows only")
