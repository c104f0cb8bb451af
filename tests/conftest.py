from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from msde_tui import i18n, osdep

pytest_plugins = ["tests.tdsdouble.fixture"]

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


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data directory, also set as MSDE_HOME."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("MSDE_HOME", str(path))
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that talk to SQL Server (the double or a real one) carry the ``mssql`` mark."""
    for item in items:
        if {"tds_server", "mssql_target"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.mssql)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``posix_only`` / ``windows_only`` tests are skipped on the other side (msde_tui.osdep)."""
    if item.get_closest_marker("posix_only") and osdep.SIDE != "posix":
        pytest.skip("POSIX only")
    if item.get_closest_marker("windows_only") and osdep.SIDE != "windows":
        pytest.skip("Windows only")
