"""publish_file: the bytes reach the disk before the name does, and the name before it returns."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from msde_tui.engine.atomic import publish_file


@pytest.mark.posix_only  # names the synced file through /proc
def test_publish_file_syncs_the_file_then_renames_then_syncs_the_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp, final = tmp_path / ".new.tmp", tmp_path / "final.sqlite"
    tmp.write_bytes(b"content")
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync " + os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    def replace(src: str | Path, dst: str | Path) -> None:
        events.append(f"replace {src} {dst}")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    publish_file(tmp, final)
    assert events == [f"fsync {tmp}", f"replace {tmp} {final}", f"fsync {tmp_path}"]
    assert final.read_bytes() == b"content" and not tmp.exists()
