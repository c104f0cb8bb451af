"""A sample of the corruption sweep (bench/corruption_sweep.py) on every kind of file.

Each damaged file goes through the command that consumes it (verify, import, apply,
unarchive) in-process; every case must be refused with its documented error type and no
traceback, or yield exactly what the undamaged file yields. A few named damages pin the
checksums of the manifest and of the proof.
"""

from __future__ import annotations

import importlib.util
import json
import random
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corruption_sweep", ROOT / "bench" / "corruption_sweep.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["corruption_sweep"] = module
    spec.loader.exec_module(module)
    return module


sweep = _load()


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return sweep.build_originals(tmp_path_factory.mktemp("sweep") / "originals", lines=150)


def test_random_sample_is_all_detected(originals, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(20261128)
    results = []
    for i, kind in enumerate(sweep.plan(42)):
        work = tmp_path / f"c{i}"
        work.mkdir()
        results.append(sweep.RUNNERS[kind](random.Random(rng.getrandbits(64)), originals, work, kind))
        shutil.rmtree(work)
    bad = [(c.kind, c.mutation, c.outcome, c.detail) for c in results
           if c.outcome not in ("refused", "identical")]
    assert bad == []
    assert {c.kind for c in results} == set(sweep.KINDS)
    assert sum(c.outcome == "refused" for c in results) >= 30  # most damage is refused, not ignored


def _manifest_edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    members = sweep.zip_members(path)
    out = []
    for info, data in members:
        if info.filename == "manifest.json":
            manifest = json.loads(data)
            change(manifest)
            data = json.dumps(manifest, indent=1).encode()
        out.append((info.filename, data))
    sweep.write_zip(path, out)


def test_edited_identity_in_a_manifest_is_refused(originals, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Members intact, only the manifest's description changed: its own checksum catches it."""
    path = tmp_path / originals.pbf.name
    shutil.copy(originals.pbf, path)

    def change(manifest: dict) -> None:
        guid = manifest["content"]["dossier"]["guid"]
        manifest["content"]["dossier"]["guid"] = guid[:-1] + ("0" if guid[-1] != "0" else "1")

    _manifest_edit(path, change)
    home = tmp_path / "home"
    home.mkdir()
    run = sweep.run_cli(["--home", str(home), "import", str(path)])
    assert (run.code, run.error, run.crash) == (1, "PackError", None)
    assert "manifest.json is damaged" in run.err and not list(home.glob("*.sqlite"))


def test_edited_proof_field_is_refused(originals, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The movement counter drives the automatic backups: a changed one is caught."""
    bak = tmp_path / originals.bak.name
    shutil.copy(originals.bak, bak)
    proof = json.loads(Path(f"{originals.bak}.json").read_text())
    proof["movements"] += 1
    Path(f"{bak}.json").write_text(json.dumps(proof))
    run = sweep.run_cli(["--home", str(tmp_path), "--json", "verify", str(bak)])
    assert (run.code, run.error, run.crash) == (1, "BackupInvalid", None)
    assert "checksum" in json.loads(run.out)["results"][0]["message"]


def test_negative_member_offset_is_a_pack_error(originals, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Found by the sweep: a central-directory offset flipped below 0 escaped as OSError."""
    import struct
    import zipfile

    path = tmp_path / originals.ptf.name
    shutil.copy(originals.ptf, path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    # the central directory entry of the last member: set its local-header offset past start_dir
    end = data.rfind(b"PK\x05\x06")
    (cd_size, cd_offset) = struct.unpack("<II", data[end + 12:end + 20])
    struct.pack_into("<I", data, end + 16, cd_offset + 0x7FFF0000)  # start of the central directory
    path.write_bytes(bytes(data))
    assert infos
    home = tmp_path / "home"
    shutil.copytree(originals.ptf_base, home)
    before = sweep.home_state(home)
    run = sweep.run_cli(["--home", str(home), "apply", str(path)])
    assert run.crash is None and run.code == 1 and run.error == "PackError"
    assert sweep.home_state(home) == before


def test_backup_whose_schema_is_not_utf8_is_refused(originals, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Found by the sweep: SQLite's error message quoted a damaged schema text that is not
    UTF-8, and Python raised UnicodeDecodeError instead of sqlite3.Error (a traceback)."""
    bak = tmp_path / originals.bak.name
    shutil.copy(originals.bak, bak)
    shutil.copy(f"{originals.bak}.json", f"{bak}.json")
    data = bytearray(bak.read_bytes())
    at = data.find(b"CREATE TABLE dossier_info")
    assert at > 0
    data[at + 2] = 0x88  # "CR\x88ATE TABLE ...": malformed schema, quoted in the error message
    bak.write_bytes(bytes(data))
    run = sweep.run_cli(["--home", str(tmp_path), "--json", "verify", str(bak)])
    assert (run.code, run.error, run.crash) == (1, "BackupInvalid", None), run


def test_every_command_refuses_a_dossier_whose_schema_is_not_utf8(home: Path, tmp_path: Path) -> None:
    """A damaged dossier (schema text that is not UTF-8) crashed check, archive, cut, pack and
    audit with UnicodeDecodeError; each now says the dossier is damaged, in plain words."""
    import sqlite3

    from msde_tui.engine.accounting import demo

    demo.create_demo(home, dossiers=1, years=3, lines=120)
    path = home / "001SOC.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    data = bytearray(path.read_bytes())
    data[data.find(b"CREATE TABLE dossier_info") + 2] = 0x88
    path.write_bytes(bytes(data))
    out = tmp_path / "out"
    out.mkdir()
    year = str(__import__("datetime").date.today().year)
    for argv in (["check", "001"], ["--json", "backup", "001", "--dir", str(out)],
                 ["archive", "001", "--dir", str(out), "--all"], ["cut", "001", "--keep-from", year],
                 ["pack", "001", "--dir", str(out)], ["audit", "001", "--years", year, "--dir", str(out)]):
        run = sweep.run_cli(["--home", str(home), *argv])
        assert run.crash is None and run.code == 1, (argv, run)
        assert "Traceback" not in run.err + run.out and "Unexpected" not in run.out, argv
    assert list(out.iterdir()) == []
