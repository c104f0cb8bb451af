"""Stand-ins for ``systemctl`` and ``crontab`` (shell scripts put first on PATH by the ``fakes``
fixture of conftest.py): they record their calls in ``$FAKE_DIR/<tool>.calls``; the crontab keeps
its table in ``$FAKE_DIR/crontab.table``. No real scheduler is touched."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

SYSTEMCTL = """#!/bin/sh
echo "$@" >> "$FAKE_DIR/systemctl.calls"
exit "${FAKE_SYSTEMCTL_RC:-0}"
"""

CRONTAB = """#!/bin/sh
echo "$@" >> "$FAKE_DIR/crontab.calls"
if [ "$1" = "-l" ]; then
  if [ -f "$FAKE_DIR/crontab.table" ]; then /bin/cat "$FAKE_DIR/crontab.table"; exit 0; fi
  echo "no crontab for tester" >&2; exit 1
fi
/bin/cat > "$FAKE_DIR/crontab.table"
"""


def make_tool(directory: Path, name: str, text: str) -> None:
    path = directory / name
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def make_fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH holding only the fakes (no real scheduler is ever touched)."""
    directory = tmp_path / "fakebin"
    directory.mkdir()
    monkeypatch.setenv("FAKE_DIR", str(directory))
    monkeypatch.setenv("PATH", str(directory))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return directory


def calls(fakes: Path, tool: str) -> list[str]:
    path = fakes / f"{tool}.calls"
    return path.read_text().splitlines() if path.exists() else []


