"""publish_file: the bytes reach the disk before the name does, and the name before it returns;
the final name must be free (a file or a link there is refused, never replaced or followed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from msde_tui.engine.atomic import publish_file, write_atomic
from msde_tui.engine.errors import UnsafePath


@pytest.mark.posix_only  # names the synced file through /proc
def test_publish_file_syncs_the_file_then_links_then_syncs_the_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp, final = tmp_path / ".new.tmp", tmp_path / "final.sqlite"
    tmp.write_bytes(b"content")
    events: list[str] = []
    real_fsync, real_link = os.fsync, os.link

    def fsync(fd: int) -> None:
        events.append("fsync " + os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    def link(src: str | Path, dst: str | Path, **kwargs: object) -> None:
        events.append(f"link {src} {dst}")
        real_link(src, dst, **kwargs)  # type: ignore[arg-type] - the caller passes os.link's own keywords

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    publish_file(tmp, final)
    assert events == [f"fsync {tmp}", f"link {tmp} {final}", f"fsync {tmp_path}"]
    assert final.read_bytes() == b"content" and not tmp.exists()


@pytest.mark.parametrize("dangling", [True, False])
def test_publish_file_never_replaces_or_follows_a_planted_link(tmp_path: Path, dangling: bool) -> None:
    victim = tmp_path / "victim.txt"
    if not dangling:
        victim.write_bytes(b"precious")
    tmp, final = tmp_path / ".new.tmp", tmp_path / "final.pbf"
    tmp.write_bytes(b"content")
    final.symlink_to(victim)
    with pytest.raises(UnsafePath):
        publish_file(tmp, final)
    assert final.is_symlink() and os.readlink(final) == str(victim)
    assert victim.exists() is not dangling and (dangling or victim.read_bytes() == b"precious")


def test_write_atomic_refuses_a_link_in_place_of_its_file(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    (tmp_path / "proof.json").symlink_to(victim)
    with pytest.raises(UnsafePath):
        write_atomic(tmp_path / "proof.json", b"{}")
    assert victim.read_bytes() == b"precious" and (tmp_path / "proof.json").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proof.json", "victim.txt"]


def test_without_hard_links_the_name_is_checked_then_renamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Some shares refuse hard links (EPERM): the file is renamed, a link in the way still refused."""
    import errno

    def no_link(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    tmp, final = tmp_path / ".new.tmp", tmp_path / "final.pbf"
    tmp.write_bytes(b"content")
    (tmp_path / "taken.pbf").symlink_to(tmp_path / "nowhere")
    with pytest.raises(UnsafePath):
        publish_file(tmp, tmp_path / "taken.pbf")
    assert not (tmp_path / "nowhere").exists() and tmp.exists()
    publish_file(tmp, final)
    assert final.read_bytes() == b"content" and not tmp.exists()
