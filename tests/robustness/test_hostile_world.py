"""A hostile world (issue 17): shared folders with planted links, crafted packed files, full or
read-only disks, killed processes, escape sequences in names. Each class is tested through the
CLI (and the wizard's file list where it reads files); docs/RELIABILITY.md has the sweeps.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from msde_tui.engine import naming
from msde_tui.engine.accounting import demo
from msde_tui.engine.catalog import Catalog
from tests.robustness.test_corruption_sample import sweep


def _bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[2] / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


hostile = _bench("hostile_cases")  # the crafted files are built as the sweep builds them
manifest_bomb, rewrite, row_bomb = hostile.manifest_bomb, hostile.rewrite, hostile.row_bomb

YEAR = str(date.today().year - 1)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("template")
    demo.create_demo(home, dossiers=1, years=4, lines=200)
    return home


@pytest.fixture
def world(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A data directory with dossier 001SOC, and a shared folder."""
    home = tmp_path / "home"
    shutil.copytree(template, home)
    monkeypatch.setenv("MSDE_HOME", str(home))
    shared = tmp_path / "shared"
    shared.mkdir()
    return home, shared


def cli(home: Path, *argv: str, env: dict[str, str] | None = None) -> Any:
    run = sweep.run_cli(["--home", str(home), *argv], env=env)
    assert run.crash is None, run
    assert "Unexpected" not in run.out + run.err and "Traceback" not in run.out + run.err, run
    return run


# --------------------------------------------------------------------------- 1. planted links

VARIANTS = ("{}", "{}.partial", ".{}.partial", ".{}.building", ".{}.exporting", ".{}.importing",
            ".{}.restore-partial")


def _stamped(make: Callable[[datetime], str]) -> list[str]:
    now = datetime.now().replace(microsecond=0)
    return [make(now + timedelta(seconds=s)) for s in range(-2, 60)]


def _plant(directory: Path, names: list[str], victim: Path, ghosts: Path) -> dict[Path, Path]:
    """Links at every name the operation might write: the final names point nowhere yet (a
    publish that follows them would create the ghost), the others at a precious file."""
    planted: dict[Path, Path] = {}
    for name in names:
        for variant in VARIANTS:
            link = directory / variant.format(name)
            if os.path.lexists(link):
                continue
            target = ghosts / f"ghost-{len(planted)}" if variant == "{}" else victim
            link.symlink_to(target)
            planted[link] = target
    return planted


def _after(_done: object, value: Any) -> Any:
    """``value``, once ``_done`` (a setup step evaluated first) has run."""
    return value


def _made(directory: Path) -> Path:
    directory.mkdir(exist_ok=True)
    return directory


def _backup(home: Path, where: Path) -> Path:
    where.mkdir(exist_ok=True)
    cli(home, "backup", "001", "--dir", str(where))
    return next(where.glob("*.sqlite.bak"))


OPERATIONS: dict[str, Callable[[Path, Path, Path], tuple[list[str], Path, list[str]]]] = {
    # name: (home, shared, scratch) -> (argv, directory to plant in, names it may write)
    "pack": lambda home, shared, scratch: (
        ["pack", "001", "--dir", str(shared)], shared,
        _stamped(lambda t: naming.packed_file_name("001", "SOC", "pbf", t))),
    "partial": lambda home, shared, scratch: (
        _after(cli(home, "pack", "001", "--dir", str(scratch)), ["pack", "001", "--dir", str(shared), "--partial"]),
        shared, _stamped(lambda t: naming.packed_file_name("001", "SOC", "ptf", t))),
    "archive": lambda home, shared, scratch: (
        ["archive", "001", "--dir", str(shared), "--all"], shared,
        _stamped(lambda t: naming.packed_file_name("001", "SOC", "paf", t))),
    "audit": lambda home, shared, scratch: (
        ["audit", "001", "--years", YEAR, "--dir", str(shared)], shared, ["Admin001SOC.sqlite"]),
    "cut": lambda home, shared, scratch: (
        ["cut", "001", "--keep-from", YEAR], home, ["001SOC_CUT001.sqlite"]),
    "export copy": lambda home, shared, scratch: (
        ["export", "001", "--dir", str(shared)], shared, ["E001SOC.sqlite"]),
    "backup and proof": lambda home, shared, scratch: (
        ["backup", "001", "--dir", str(shared)], shared,
        [n for t in _stamped(lambda t: naming.embedded_backup_name("001SOC", t)) for n in (t, naming.proof_name(t))]),
    "restore safety copy": lambda home, shared, scratch: (
        ["restore", str(_backup(home, scratch)), "--number", "001", "--replace"], _made(home / "safety"),
        [n for t in _stamped(lambda t: f"001SOC_{naming.stamp(t)}.sqlite") for n in (t, naming.proof_name(t))]
        + [".001SOC.sqlite.restore-partial"]),
    "import": lambda home, shared, scratch: (
        ["import", str(_after(cli(home, "pack", "001", "--dir", str(scratch)), next(scratch.glob("*.pbf")))),
         "--number", "050"], home, ["050SOC.sqlite"]),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_a_planted_link_never_redirects_a_write(world: tuple[Path, Path], tmp_path: Path, operation: str) -> None:
    home, shared = world
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    ghosts = tmp_path / "ghosts"
    ghosts.mkdir()
    argv, directory, names = OPERATIONS[operation](home, shared, scratch)
    before = {p for p in directory.iterdir()}
    planted = _plant(directory, names, victim, ghosts)
    run = cli(home, *argv)
    assert run.code in (0, 1, 2), run
    assert victim.read_bytes() == b"precious", f"{operation} wrote through a planted link"
    assert list(ghosts.iterdir()) == [], f"{operation} followed a planted link"
    for link, target in planted.items():
        assert link.is_symlink() and os.readlink(link) == str(target), f"{operation} replaced {link.name}"
    for path in set(directory.iterdir()) - before - set(planted):
        assert not path.is_symlink() and (path.is_file() or path.is_dir()), path
    if run.code:
        assert "already exists" in run.err + run.out or "appeared" in run.err, run


# --------------------------------------------------------------------------- 2. bombs


@pytest.fixture
def good_pbf(world: tuple[Path, Path], tmp_path: Path) -> Path:
    home, _shared = world
    out = tmp_path / "good"
    out.mkdir()
    cli(home, "pack", "001", "--dir", str(out))
    return next(out.glob("*.pbf"))


READERS = list(hostile.READERS)


def _probe(reader: str, path: Path, home: Path) -> dict[str, Any]:
    """One reader on ``path`` in its own process: exit code, peak memory (VmHWM), its output."""
    result = hostile.probe(reader, path, home)
    assert not result["crash"], result["text"][-2000:]
    return result


@pytest.mark.parametrize("reader", READERS)
def test_a_manifest_bomb_is_refused_by_every_reader_in_bounded_memory(
        world: tuple[Path, Path], tmp_path: Path, reader: str) -> None:
    home, _shared = world
    folder = tmp_path / "bomb"
    folder.mkdir()
    bomb = manifest_bomb(folder / "001-SOC_20260101_000000.pbf")
    assert bomb.stat().st_size < 1 << 20
    result = _probe(reader, bomb, home)
    assert result["code"] != 0 and result["mb"] < 300, result


@pytest.mark.parametrize("reader", ["pack-info", "verify", "import", "wizard"])
def test_a_row_bomb_is_refused_by_every_reader_before_its_rows_are_decoded(
        world: tuple[Path, Path], good_pbf: Path, tmp_path: Path, reader: str) -> None:
    home, _shared = world
    folder = tmp_path / "rows"
    folder.mkdir()
    bomb = row_bomb(good_pbf, folder / "001-SOC_20260101_000000.pbf")
    result = _probe(reader, bomb, home)
    if reader == "wizard":  # the list reads the manifest only: offered, refused when read
        result = _probe("import", bomb, home)
    assert result["code"] != 0 and result["mb"] < 300, result
    assert "row group" in result["text"] or "rows" in result["text"], result
    assert Catalog(home).dossiers()[-1].number == "001"  # nothing imported


# --------------------------------------------------------------------------- 3. hostile manifests


HOSTILE_MANIFESTS: dict[str, Callable[[Path, Path], Path]] = {
    "200,000-deep JSON": lambda good, dst: _raw_manifest(
        good, dst, b'{"format":"msde-pack","version":"2.1","kind":"PBF","members":'
        + b"[" * 200_000 + b"]" * 200_000 + b"}"),
    "a 5,000-digit version": lambda good, dst: rewrite(good, dst, manifest=lambda m: m.update(version="2" * 5000)),
    "a 5,000-digit number": lambda good, dst: _raw_manifest(
        good, dst, b'{"format":"msde-pack","kind":"PBF","members":{},"version":' + b"2" * 5000 + b"}"),
    "content.tables as a list": lambda good, dst: rewrite(
        good, dst, manifest=lambda m: m["content"].update(tables=[1, 2])),
    "zero tables": lambda good, dst: rewrite(
        good, dst, manifest=_no_tables, members={"schema.json": json.dumps({"tables": []}).encode()}),
    "absurd row count": lambda good, dst: rewrite(
        good, dst, manifest=lambda m: next(iter(m["content"]["tables"].values())).update(rows=10**15)),
    "row count as text": lambda good, dst: rewrite(
        good, dst, manifest=lambda m: next(iter(m["content"]["tables"].values())).update(rows="12")),
}


def _raw_manifest(good: Path, dst: Path, text: bytes) -> Path:
    with zipfile.ZipFile(good) as zin:
        data = {i.filename: zin.read(i.filename) for i in zin.infolist()}
    data["manifest.json"] = text
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for name, body in data.items():
            zout.writestr(name, body)
    return dst


def _no_tables(m: dict[str, Any]) -> None:
    m["content"]["tables"] = {}
    m["content"]["state"]["tables"] = {}
    for name in [n for n in m["members"] if n.startswith("data/")]:
        m["members"].pop(name)


@pytest.mark.parametrize("what", sorted(HOSTILE_MANIFESTS))
def test_hostile_manifests_are_refused_in_words_by_verify_and_import_alike(
        world: tuple[Path, Path], good_pbf: Path, tmp_path: Path, what: str) -> None:
    home, _shared = world
    bad = HOSTILE_MANIFESTS[what](good_pbf, tmp_path / "bad.pbf")
    if what == "zero tables":  # drop the data members too
        with zipfile.ZipFile(bad) as zin:
            data = {i.filename: zin.read(i.filename) for i in zin.infolist() if not i.filename.startswith("data/")}
        with zipfile.ZipFile(bad, "w", zipfile.ZIP_STORED) as zout:
            for name, body in data.items():
                zout.writestr(name, body)
    verified = cli(home, "verify", str(bad))
    imported = cli(home, "import", str(bad), "--number", "060")
    info = cli(home, "pack-info", str(bad))
    assert verified.code == 1 and imported.code == 1 and info.code == 1, (verified, imported, info)
    assert not (home / "060SOC.sqlite").exists() and [d.number for d in Catalog(home).dossiers()] == ["001"]


# --------------------------------------------------------------------------- 4. failed operations


def test_an_archive_that_fails_while_changing_the_dossier_leaves_no_paf(
        world: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from msde_tui.engine.lifecycle import balance

    home, shared = world

    def full(*_args: object, **_kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(balance, "insert_balances", full)  # once the PAF is published
    run = cli(home, "archive", "001", "--dir", str(shared), "--all")
    assert run.code == 1, run
    assert list(shared.iterdir()) == []  # nothing that `msde verify` would call intact


# --------------------------------------------------------------------------- 5. plaintext


def test_a_sigkill_during_an_encrypted_import_leaves_no_plaintext(world: tuple[Path, Path], tmp_path: Path) -> None:
    home, _shared = world
    out = tmp_path / "enc"
    out.mkdir()
    env = {"MSDE_PACK_PASSPHRASE": "correct horse"}
    cli(home, "pack", "001", "--dir", str(out), "--encrypt", env=env)
    pbf = next(out.glob("*.pbf"))
    private_tmp = tmp_path / "tmpdir"
    private_tmp.mkdir()
    full_env = dict(os.environ, MSDE_HOME=str(home), PYTHONPATH=str(ROOT), TMPDIR=str(private_tmp), **env)
    code = ("import sys\nfrom msde_tui.packfmt import reader\nimport time\n"
            "real = reader.PackReader._parquet\n"
            "def slow(self, name, **kw):\n"
            "    p = real(self, name, **kw)\n"
            "    print('READING', flush=True)\n"
            "    time.sleep(30)\n"
            "    return p\n"
            "reader.PackReader._parquet = slow\n"
            "from msde_tui.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    child = subprocess.Popen([sys.executable, "-c", code, "import", str(pbf), "--number", "070"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, text=True)
    try:
        assert child.stdout is not None
        for line in iter(child.stdout.readline, ""):  # progress lines come first
            if "READING" in line:
                break
        assert "READING" in line, child.stderr.read() if child.stderr else ""
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    left = [p for p in private_tmp.rglob("*") if p.is_file()]
    assert left == [], f"plaintext left behind: {left}"
    for path in tmp_path.rglob("*"):  # (packstate/ holds the key-and-hash state of the earlier pack)
        if path.is_file() and "packstate" not in path.parts and path.stat().st_size < 64 << 20:
            assert not path.read_bytes().startswith(b"PAR1"), f"a clear Parquet chunk: {path}"


def test_a_sigkill_during_an_encrypted_pack_leaves_no_clear_chunk(world: tuple[Path, Path], tmp_path: Path) -> None:
    """The chunks are built in clear before they are encrypted into the file: in files with no
    name, so a kill leaves none in the (shared) target directory."""
    home, shared = world
    env = dict(os.environ, MSDE_HOME=str(home), PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path),
               MSDE_PACK_PASSPHRASE="correct horse")
    code = ("import sys, time\nfrom msde_tui.packfmt import writer\n"
            "real = writer.PackWriter.add_stream\n"
            "def slow(self, name, source):\n"
            "    if name.endswith('.parquet'):\n"
            "        print('WRITING', flush=True)\n"
            "        time.sleep(30)\n"
            "    return real(self, name, source)\n"
            "writer.PackWriter.add_stream = slow\n"
            "from msde_tui.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    child = subprocess.Popen([sys.executable, "-c", code, "pack", "001", "--dir", str(shared), "--encrypt"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        assert child.stdout is not None
        for line in iter(child.stdout.readline, ""):  # progress lines come first
            if "WRITING" in line:
                break
        assert "WRITING" in line, child.stderr.read() if child.stderr else ""
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    for path in shared.rglob("*"):
        if path.is_file():
            assert not path.read_bytes().startswith(b"PAR1"), f"a clear Parquet chunk: {path}"


# --------------------------------------------------------------------------- 6. encrypted manifest


@pytest.mark.parametrize("edit", ["created_at 2031", "package id zeros", "kind PBF -> PAF"])
def test_an_edited_clear_field_of_an_encrypted_package_is_refused(
        world: tuple[Path, Path], tmp_path: Path, edit: str) -> None:
    home, _shared = world
    out = tmp_path / "enc"
    out.mkdir()
    env = {"MSDE_PACK_PASSPHRASE": "correct horse"}
    cli(home, "pack", "001", "--dir", str(out), "--encrypt", env=env)
    pbf = next(out.glob("*.pbf"))
    with zipfile.ZipFile(pbf) as zf:
        encryption = json.loads(zf.read("manifest.json"))["encryption"]
    assert encryption["n"] >= 1 << 17  # today's scrypt cost for new files
    changes: dict[str, Callable[[dict[str, Any]], object]] = {
        "created_at 2031": lambda m: m.update(created_at="2031-01-01T00:00:00+00:00"),
        "package id zeros": lambda m: m.update(package_id="00000000-0000-0000-0000-000000000000"),
        "kind PBF -> PAF": lambda m: m.update(kind="PAF"),
    }
    edited = rewrite(pbf, tmp_path / ("x.paf" if "PAF" in edit else "x.pbf"), manifest=changes[edit])
    assert cli(home, "verify", str(pbf), env=env).code == 0
    run = cli(home, "verify", str(edited), env=env)
    assert run.code == 1 and "changed after packing" in run.out + run.err, run


def test_encrypted_files_of_format_2_0_are_still_read(world: tuple[Path, Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2.0 file: scrypt n = 2^15, the 2.0 key-check label, no manifest MAC."""
    from msde_tui.packfmt import crypto, writer

    home, _shared = world
    out = tmp_path / "old"
    out.mkdir()
    env = {"MSDE_PACK_PASSPHRASE": "correct horse"}
    with monkeypatch.context() as patch:
        patch.setattr(crypto, "SCRYPT_N", 1 << 15)
        patch.setattr(crypto, "_CHECK_21", crypto._CHECK)
        patch.setattr(writer, "VERSION", "2.0")
        cli(home, "pack", "001", "--dir", str(out), "--encrypt", env=env)
    written = next(out.glob("*.pbf"))
    old = rewrite(written, tmp_path / written.name, manifest=lambda m: m["encryption"].pop("manifest_mac"))
    with zipfile.ZipFile(old) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["version"] == "2.0" and manifest["encryption"]["n"] == 1 << 15
    assert "manifest_mac" not in manifest["encryption"]
    assert cli(home, "verify", str(old), env=env).code == 0
    assert cli(home, "import", str(old), "--number", "080", env=env).code == 0
    # relabelled 2.1 (to pass as authenticated) it fails: no MAC; a 2.1 file relabelled 2.0 fails its key check
    relabelled = rewrite(old, tmp_path / "relabelled.pbf", manifest=lambda m: m.update(version="2.1"))
    assert cli(home, "verify", str(relabelled), env=env).code == 1
    fresh = tmp_path / "new"
    fresh.mkdir()
    cli(home, "pack", "001", "--dir", str(fresh), "--encrypt", env=env)
    new = next(fresh.glob("*.pbf"))
    downgraded = rewrite(new, tmp_path / "downgraded.pbf", manifest=lambda m: m.update(version="2.0"))
    assert cli(home, "verify", str(downgraded), env=env).code == 1


def test_an_encrypted_file_without_passphrase_names_real_options(world: tuple[Path, Path], tmp_path: Path) -> None:
    home, _shared = world
    out = tmp_path / "enc"
    out.mkdir()
    cli(home, "pack", "001", "--dir", str(out), "--encrypt", env={"MSDE_PACK_PASSPHRASE": "pw"})
    run = cli(home, "verify", str(next(out.glob("*.pbf"))))
    assert run.code == 1 and "encrypted" in run.out + run.err
    assert "--passphrase" not in run.out + run.err and "MSDE_PACK_PASSPHRASE" in run.out + run.err


# --------------------------------------------------------------------------- 8. plain messages


@pytest.mark.parametrize("argv", [["pack", "001", "--dir", "{out}"], ["import", "{pbf}"],
                                  ["restore", "{bak}", "--number", "005"], ["cut", "001", "--keep-from", YEAR],
                                  ["export", "001"], ["auto", "run"], ["demo", "--dossiers", "1", "--lines", "10"],
                                  ["list"]])
def test_an_unusable_data_directory_is_said_in_words(world: tuple[Path, Path], tmp_path: Path,
                                                      argv: list[str]) -> None:
    home, shared = world
    pbf = tmp_path / "x.pbf"
    bak = tmp_path / "x.sqlite.bak"
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    filled = [a.format(out=shared, pbf=pbf, bak=bak) for a in argv]
    run = sweep.run_cli(["--home", str(blocker / "home"), *filled])
    assert run.crash is None and run.code in (1, 2), run
    assert "Unexpected" not in run.out + run.err and "Error:" in run.err, run


# --------------------------------------------------------------------------- 9. terminal injection

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x9b31m\u202e"


def test_names_from_data_never_reach_the_terminal_raw(world: tuple[Path, Path], tmp_path: Path) -> None:
    home, _shared = world
    Catalog(home).rename("001", company=f"Evil {ESCAPES} SA")
    listed = cli(home, "list")
    as_json = cli(home, "--json", "list")
    for text in (listed.out, listed.err, as_json.out):
        assert not any(c in text for c in "\x1b\x07\x9b\u202e"), repr(text)
    assert "Evil" in listed.out and json.loads(as_json.out)["dossiers"][0]["company"] == f"Evil {ESCAPES} SA"
    # the wizard's list of packed files, read from a PBF holding that name
    from msde_tui.engine.packs.packlisting import packed_entries
    from msde_tui.screens.pack_common import entry_line

    out = tmp_path / "packs"
    out.mkdir()
    cli(home, "pack", "001", "--dir", str(out))
    (entry,) = packed_entries(out, "pbf")
    assert "Evil" in entry_line(entry) and not any(c in entry_line(entry) for c in "\x1b\x07\x9b\u202e")


def _mount(where: Path, options: str) -> Path:
    where.mkdir()
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"mount is not allowed here: {done.stderr.strip()}")
    return where


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    where = _mount(tmp_path / "ro", "ro,size=1m")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)  # lazily: a closed handle may linger


@pytest.fixture
def full_dir(tmp_path: Path) -> Iterator[Path]:
    where = _mount(tmp_path / "full", "size=40k")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)  # lazily: a closed handle may linger


@pytest.mark.parametrize("argv", [["pack", "001", "--dir", "{d}"], ["archive", "001", "--dir", "{d}", "--all"],
                                  ["audit", "001", "--years", YEAR, "--dir", "{d}"],
                                  ["backup", "001", "--dir", "{d}"], ["export", "001", "--dir", "{d}"]])
def test_a_read_only_target_is_said_in_words(world: tuple[Path, Path], read_only_dir: Path, argv: list[str]) -> None:
    home, _shared = world
    run = cli(home, *[a.format(d=read_only_dir) for a in argv])
    assert run.code in (1, 2) and str(read_only_dir) in run.out + run.err, run


@pytest.mark.parametrize("argv", [["pack", "001", "--dir", "{d}"], ["import", "{pbf}"], ["export", "001"],
                                  ["cut", "001", "--keep-from", YEAR], ["demo", "--dossiers", "1", "--lines", "10"]])
def test_a_read_only_data_directory_is_said_in_words(world: tuple[Path, Path], good_pbf: Path, tmp_path: Path,
                                                      read_only_dir: Path, argv: list[str]) -> None:
    home, shared = world
    frozen = tmp_path / "frozen-home"
    shutil.copytree(home, frozen)
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_dir)], check=False)
    subprocess.run(["umount", str(read_only_dir)], check=False)
    subprocess.run(["mount", "--bind", "-o", "ro", str(frozen), str(read_only_dir)], check=False)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(read_only_dir)], check=False)
    probe = read_only_dir / ".probe"
    try:
        probe.write_text("x")
        pytest.skip("a read-only bind mount is not possible here")
    except OSError:
        pass
    run = cli(read_only_dir, *[a.format(d=shared, pbf=good_pbf) for a in argv])
    assert run.code in (1, 2) and "Error:" in run.err, run


def test_export_and_audit_onto_a_full_disk_name_the_target(world: tuple[Path, Path], full_dir: Path) -> None:
    home, _shared = world
    exported = cli(home, "export", "001", "--dir", str(full_dir))
    assert exported.code == 1 and "not enough free space" in exported.err and str(full_dir) in exported.err, exported
    audited = cli(home, "audit", "001", "--years", YEAR, "--dir", str(full_dir))
    said = audited.out + audited.err
    assert audited.code == 1 and str(full_dir) in said and "changing 001SOC" not in said, audited
    assert [p.name for p in full_dir.iterdir()] == []


def test_the_staging_directory_of_a_killed_run_is_removed_by_the_next_one(world: tuple[Path, Path]) -> None:
    """Only this host's and this user's, and only when its process is gone."""
    from msde_tui.packfmt import files

    home, shared = world
    if os.name != "posix":
        pytest.skip("a process is probed on POSIX only")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead = int(gone.stdout)
    host = files._HOST
    stale = shared / f".msde-pack-{host}-{dead}-abc123"
    alive = shared / f".msde-{host}-{os.getpid()}-def456"
    other_host = shared / f".msde-elsewhere{host}-{dead}-ghi789"
    for folder in (stale, alive, other_host):
        folder.mkdir()
        (folder / "chunk").write_bytes(b"PAR1 clear rows")
    assert cli(home, "pack", "001", "--dir", str(shared)).code == 0
    assert not stale.exists() and alive.exists() and other_host.exists()


def test_a_zip_directory_claiming_millions_of_members_is_refused_before_it_is_read(
        world: tuple[Path, Path], good_pbf: Path, tmp_path: Path) -> None:
    """A central directory of 1,000,000 tiny entries (46 MB): zipfile would build an object per
    entry (about a gigabyte) before any check of ours."""
    home, _shared = world
    entry = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0x21, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0) + b"x"
    count = 1_000_000
    body = b"PK\x03\x04" + b"\x00" * 26
    zip64_end = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, len(entry) * count, len(body))
    locator = struct.pack("<IIQI", 0x07064B50, 0, len(body) + len(entry) * count, 1)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    folder = tmp_path / "many"
    folder.mkdir()
    bomb = folder / "001-SOC_20260101_000000.pbf"
    bomb.write_bytes(body + entry * count + zip64_end + locator + end)
    for reader in ("verify", "wizard"):
        result = _probe(reader, bomb, home)
        assert result["code"] != 0 and result["mb"] < 300, result
