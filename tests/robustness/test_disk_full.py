"""Disk full: a clear DiskFull error, nothing partial left behind, the source untouched.

Two variants. On a real, tiny tmpfs (needs root and mount; skipped cleanly elsewhere): a
backup, a pack and an import onto a filesystem that fills up. By fault injection (always):
the same operations with the writer failing with ENOSPC / EDQUOT half-way.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
import subprocess
import uuid
import zipfile
from collections import namedtuple
from collections.abc import Iterator
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine.accounting import demo
from msde_tui.engine.backends.embedded import files as embedded_files
from msde_tui.engine.backends.embedded import snapshot as embedded_snapshot
from msde_tui.engine.catalog import Catalog
from msde_tui.packfmt import writer as pack_writer


def rows(path: Path) -> str:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        text = repr([sorted(map(repr, conn.execute(f'SELECT * FROM "{n}"'))) for n in names])  # noqa: S608
    finally:
        conn.close()
    return hashlib.sha256(text.encode()).hexdigest()


def everything(directory: Path) -> list[str]:
    """Every entry under ``directory``, hidden ones included."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def dossier(home: Path) -> Path:
    demo.create_demo(home, dossiers=1, years=3, lines=3000)
    return Catalog(home).get("001").path(home)


# --------------------------------------------------------------------------- a real tmpfs


def open_under(directory: Path) -> list[str]:
    """What this process holds open under ``directory`` (its /proc/self/fd entries)."""
    held = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # the directory listing's own descriptor, closed already
        if target == str(directory) or target.startswith(f"{directory}/"):
            held.append(target)
    return held


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 40 KiB tmpfs, unmounted afterwards; skipped where mounting is not allowed."""
    mount = tmp_path / f"tiny-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40k", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"mount is not allowed here: {done.stderr.strip()}")
    try:
        yield mount
        assert open_under(mount) == []  # whatever failed on the full disk closed its files
    finally:
        if os.path.ismount(mount):
            released = subprocess.run(["umount", str(mount)], capture_output=True, text=True, check=False)
            assert released.returncode == 0, released.stderr  # nothing of this process keeps it busy


def test_backup_onto_a_full_filesystem(home: Path, dossier: Path, tiny_fs: Path,
                                       capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    before = rows(dossier)
    code, out, _ = run(["--json", "backup", "001", "--dir", str(tiny_fs)], capsys)
    result = json.loads(out)["results"][0]
    assert code == 1 and result["details"]["error"] == "DiskFull"  # refused before writing
    assert str(tiny_fs) in result["message"] and result["hint"]
    # The disk fills up during the copy (the free-space check said yes): SQLite's ENOSPC.
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(embedded_files.shutil, "disk_usage", lambda _p: usage(2**40, 0, 2**40))
    code, out, _ = run(["--json", "backup", "001", "--dir", str(tiny_fs)], capsys)
    result = json.loads(out)["results"][0]
    assert code == 1 and result["details"]["error"] == "DiskFull", result
    assert "not enough free space" in result["message"] and str(tiny_fs) in result["message"]
    assert everything(tiny_fs) == []  # no .partial, no proof
    assert rows(dossier) == before


def test_pack_onto_a_full_filesystem(home: Path, dossier: Path, tiny_fs: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    before = rows(dossier)
    code, _, err = run(["pack", "001", "--dir", str(tiny_fs)], capsys)
    assert code == 1 and "not enough free space" in err and str(tiny_fs) in err
    assert "Traceback" not in err
    assert everything(tiny_fs) == []  # no .partial, no temporary chunk directory
    assert rows(dossier) == before
    assert [p for p in everything(home / "packstate") if "/" not in p] == []  # no writer state kept
    assert open_under(tiny_fs) == []  # every handle of the failed pack closed
    released = subprocess.run(["umount", str(tiny_fs)], capture_output=True, text=True, check=False)
    assert released.returncode == 0, released.stderr  # nothing of this process keeps it busy


def test_import_into_a_full_data_directory(home: Path, dossier: Path, tiny_fs: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert main(["pack", "001", "--dir", str(out)]) == 0
    capsys.readouterr()
    full_home = tiny_fs / "home"
    full_home.mkdir()
    code, _, err = run(["--home", str(full_home), "import", str(next(out.glob("*.pbf")))], capsys)
    assert code == 1 and "not enough free space" in err and str(full_home) in err, err
    assert Catalog(full_home).dossiers() == []
    assert [p for p in everything(full_home) if p not in ("audit.log.jsonl", "dossiers.json.lock")] in ([], ["dossiers.json"])


def test_export_copy_import_into_a_full_data_directory(home: Path, dossier: Path, tiny_fs: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert main(["export", "001", "--dir", str(out)]) == 0
    capsys.readouterr()
    full_home = tiny_fs / "home"
    full_home.mkdir()
    code, _, err = run(["--home", str(full_home), "import", str(out / "E001SOC.sqlite")], capsys)
    assert code == 1 and "not enough free space" in err and str(full_home) in err, err
    assert "cannot be read" not in err and "Traceback" not in err
    assert Catalog(full_home).dossiers() == []
    assert [p for p in everything(full_home) if p not in ("audit.log.jsonl", "dossiers.json.lock")] in ([], ["dossiers.json"])


# --------------------------------------------------------------------------- fault injection


class _FillingUp:
    """A file object that takes ``room`` bytes, then fails as a full disk (or quota) does."""

    def __init__(self, fp: object, room: int, code: int) -> None:
        self._fp, self._room, self._code = fp, room, code

    def write(self, data: bytes) -> int:
        if len(data) > self._room:
            raise OSError(self._code, os.strerror(self._code))
        self._room -= len(data)
        return self._fp.write(data)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._fp, name)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_pack_writer_failing_half_way(home: Path, dossier: Path, tmp_path: Path, code: int,
                                      capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    class FullZip(zipfile.ZipFile):
        def __init__(self, file: object, mode: str = "r", *args: object, **kwargs: object) -> None:
            super().__init__(file, mode, *args, **kwargs)  # type: ignore[arg-type]
            if mode == "w":
                self.fp = _FillingUp(self.fp, 40_000, code)  # type: ignore[assignment]

    monkeypatch.setattr(pack_writer.zipfile, "ZipFile", FullZip)
    out = tmp_path / "out"
    out.mkdir()
    before = rows(dossier)
    code_, _, err = run(["pack", "001", "--dir", str(out)], capsys)
    assert code_ == 1 and "not enough free space" in err and str(out) in err, err
    assert "What to do:" in err and "Traceback" not in err
    assert everything(out) == [] and rows(dossier) == before
    line = json.loads((home / "audit.log.jsonl").read_text().splitlines()[-1])
    assert line["operation"] == "pack" and line["result"] == "failed", (home / "audit.log.jsonl").read_text()


@pytest.mark.parametrize("way", ["in memory", "backup API"])
def test_backup_copy_failing_half_way(home: Path, dossier: Path, tmp_path: Path, way: str,
                                      capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    if way == "backup API":
        monkeypatch.setattr(embedded_snapshot, "SERIALIZE_MAX", 0)
        real = embedded_snapshot.copy_pages

        def copy_then_fill(*args: object, **kwargs: object) -> None:
            real(*args, **kwargs)  # type: ignore[arg-type]
            raise sqlite3.OperationalError("database or disk is full")  # what SQLite says on ENOSPC

        monkeypatch.setattr(embedded_snapshot, "copy_pages", copy_then_fill)
    else:
        class Filling:  # the staged copy's file: the disk fills up after the first bytes
            def __init__(self, handle: object) -> None:
                self.handle = handle

            def __enter__(self) -> Filling:
                return self

            def __exit__(self, *exc: object) -> None:
                self.handle.close()  # type: ignore[attr-defined]

            def write(self, data: bytes) -> int:
                self.handle.write(data[:100])  # type: ignore[attr-defined]
                raise OSError(errno.ENOSPC, "No space left on device")

        real_open = embedded_snapshot.open_exclusive
        monkeypatch.setattr(embedded_snapshot, "open_exclusive", lambda path: Filling(real_open(path)))
    out = tmp_path / "bak"
    out.mkdir()
    before = rows(dossier)
    code, text, _ = run(["--json", "backup", "001", "--dir", str(out)], capsys)
    result = json.loads(text)["results"][0]
    assert code == 1 and result["details"]["error"] == "DiskFull" and str(out) in result["message"]
    assert everything(out) == [] and rows(dossier) == before


@pytest.mark.parametrize("path", ["bulk ingest", "row inserts"])
def test_import_failing_half_way(home: Path, dossier: Path, tmp_path: Path, path: str,
                                 capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert main(["pack", "001", "--dir", str(out)]) == 0
    capsys.readouterr()
    from msde_tui.engine.tables.database import Database

    calls = {"n": 0}
    if path == "row inserts":
        monkeypatch.setenv("MSDE_NO_ADBC", "1")
        real = Database.insert

        def insert_then_fill(self: Database, table: object, batch: object) -> None:
            calls["n"] += 1
            if calls["n"] > 3:
                raise sqlite3.OperationalError("database or disk is full")
            real(self, table, batch)  # type: ignore[arg-type]

        monkeypatch.setattr(Database, "insert", insert_then_fill)
    else:
        def ingest_then_fill(self: Database, tables: object) -> bool:
            for _table, batches in tables:  # type: ignore[attr-defined]
                for _batch in batches:
                    calls["n"] += 1
            raise RuntimeError("INTERNAL: failed to execute: database or disk is full\nquery was: COMMIT")

        monkeypatch.setattr(Database, "ingest_new", ingest_then_fill)
    listed = [d.code for d in Catalog(home).dossiers()]
    code, _, err = run(["import", str(next(out.glob("*.pbf"))), "--number", "002"], capsys)
    assert code == 1 and "not enough free space" in err and str(home) in err, err
    assert [d.code for d in Catalog(home).dossiers()] == listed
    assert not [p for p in everything(home) if p.startswith(".") or p.startswith("002")]
