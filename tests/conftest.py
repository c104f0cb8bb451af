from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.tdsdouble.fixture"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data directory, also set as MSDE_HOME."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("MSDE_HOME", str(path))
    return path
