"""publish_file: the bytes reach the disk before the name does, and the name before it returns;
the final name must be free (a file or a link there is refused, never replaced or followed)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from msde_tui.engine.atomic import copy_hashed, publish_file, write_atomic
from msde_tui.engine.errors import Cancelled, UnsafePath


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


def test_copy_hashed_copies_exactly_and_hashes_what_it_copied(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one chunk, not a whole number of them
    source, target = tmp_path / "a.mdb", tmp_path / "b.mdb"
    source.write_bytes(data)
    seen: list[int] = []
    digest, size = copy_hashed(source, target, progress=seen.append)
    assert target.read_bytes() == data and size == len(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert seen[-1] == len(data) and seen == sorted(seen)


def test_copy_hashed_never_writes_over_or_through_an_existing_name(tmp_path: Path) -> None:
    source, victim, link = tmp_path / "a", tmp_path / "victim", tmp_path / "link"
    source.write_bytes(b"new")
    victim.write_bytes(b"old")
    link.symlink_to(victim)
    for target in (victim, link):
        with pytest.raises(UnsafePath):
            copy_hashed(source, target)
    assert victim.read_bytes() == b"old"


def test_copy_hashed_stops_when_check_raises(tmp_path: Path) -> None:
    source = tmp_path / "a"
    source.write_bytes(b"x" * (3 * 1024 * 1024))
    calls = 0

    def check() -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Cancelled("Cancelled.", "")

    with pytest.raises(Cancelled):
        copy_hashed(source, tmp_path / "b", check=check)
    assert (tmp_path / "b").stat().st_size == 1024 * 1024  # one chunk, then stopped


@pytest.mark.parametrize("hard_links", [True, False])
def test_a_directory_sync_that_fails_leaves_the_name_unpublished(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hard_links: bool) -> None:
    """An error means not published: the name is taken away again and the bytes are back
    under the temporary name for the caller's clean-up (the archive then leaves no PAF)."""
    import errno

    from msde_tui.packfmt import files

    def no_sync(_directory: Path) -> None:
        raise OSError(errno.EIO, "Input/output error")

    def no_link(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(files, "fsync_dir", no_sync)
    if not hard_links:
        monkeypatch.setattr(os, "link", no_link)
    tmp, final = tmp_path / ".new.tmp", tmp_path / "final.paf"
    tmp.write_bytes(b"content")
    with pytest.raises(OSError, match="Input/output"):
        publish_file(tmp, final)
    assert not final.exists() and tmp.read_bytes() == b"content"
