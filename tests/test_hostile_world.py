"""A hostile world (issue 17): shared folders with planted links, crafted packed files, full or
read-only disks, killed processes, escape sequences in names. Each class is tested through the
CLI (and the wizard's file list where it reads files); docs/RELIABILITY.md has the sweeps.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from msde_tui.engine import demo, naming
from msde_tui.engine.catalog import Catalog
from msde_tui.packfmt import manifest as manifest_mod
from tests.test_corruption_sample import sweep

YEAR = str(date.today().year - 1)
ROOT = Path(__file__).resolve().parents[1]


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


def _zip_one(name: str, stored: bytes, size: int, crc: int, method: int) -> bytes:
    """A ZIP holding one member, written by hand (a precompressed deflate stream)."""
    encoded = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(stored), size,
                        len(encoded), 0) + encoded
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(stored),
                          size, len(encoded), 0, 0, 0, 0, 0, 0) + encoded
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(stored), 0)
    return local + stored + central + end


def manifest_bomb(path: Path, inflated: int = 512 << 20) -> Path:
    """A few hundred KB whose manifest.json inflates to ``inflated`` bytes of blanks."""
    block = b" " * (1 << 24)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    count = inflated // len(block)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    path.write_bytes(_zip_one("manifest.json", piece * count + b"\x03\x00", count * len(block), crc, 8))
    return path


def _rewrite(src: Path, dst: Path, *, manifest: Callable[[dict[str, Any]], object] | None = None,
             members: dict[str, bytes] | None = None, sign: bool = True) -> Path:
    """Copy a packed file, replacing some members and editing the manifest; the checksums an
    attacker can recompute (member SHA-256, manifest_sha256) are recomputed."""
    with zipfile.ZipFile(src) as zin:
        data = {i.filename: zin.read(i.filename) for i in zin.infolist()}
    doc = json.loads(data.pop("manifest.json"))
    for name, body in (members or {}).items():
        data[name] = body
        doc["members"][name] = {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    if manifest is not None:
        manifest(doc)
    if sign and isinstance(doc, dict):
        doc["manifest_sha256"] = manifest_mod.manifest_digest(doc)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for name, body in data.items():
            zout.writestr(name, body)
        zout.writestr("manifest.json", json.dumps(doc) if not isinstance(doc, bytes) else doc)
    return dst


def row_bomb(good: Path, path: Path, rows: int = 2_000_000) -> Path:
    """A PBF whose first table's only chunk is one row group of ``rows`` identical rows, with
    every checksum and count right."""
    with zipfile.ZipFile(good) as zf:
        doc = json.loads(zf.read("manifest.json"))
        schema = json.loads(zf.read("schema.json"))
    table = schema["tables"][0]
    from msde_tui.packfmt.schema import PackSchema

    spec = PackSchema.from_json(schema).tables[0]
    arrow = spec.arrow_schema()
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(sink, arrow, compression="zstd") as writer:
        writer.write_table(_constant_table(arrow, rows), row_group_size=rows)
    body = sink.getvalue().to_pybytes()
    prefix = f"data/{table['dir']}/"
    old = [n for n in doc["members"] if n.startswith(prefix) and n != f"{prefix}00000.parquet"]

    def edit(m: dict[str, Any]) -> None:
        for name in old:
            m["members"].pop(name, None)
        m["content"]["tables"][spec.name]["rows"] = rows
        m["content"]["state"]["tables"].pop(spec.name, None)

    with zipfile.ZipFile(good) as zin:
        data = {i.filename: zin.read(i.filename) for i in zin.infolist()
                if i.filename not in old and i.filename != f"{prefix}00000.parquet"}
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zout:
        for name, b in data.items():
            zout.writestr(name, b)
    _rewrite(tmp, path, manifest=edit, members={f"{prefix}00000.parquet": body})
    tmp.unlink()
    return path


def _constant_table(arrow: pa.Schema, rows: int) -> pa.Table:
    columns = []
    for field in arrow:
        if pa.types.is_integer(field.type) or pa.types.is_floating(field.type):
            value: Any = 1
        elif pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            value = "x"
        else:
            value = None
        columns.append(pa.repeat(pa.scalar(value, type=field.type) if value is not None else
                                 pa.scalar(None, type=field.type), rows))
    return pa.Table.from_arrays(columns, schema=arrow)


@pytest.fixture
def good_pbf(world: tuple[Path, Path], tmp_path: Path) -> Path:
    home, _shared = world
    out = tmp_path / "good"
    out.mkdir()
    cli(home, "pack", "001", "--dir", str(out))
    return next(out.glob("*.pbf"))


PROBE = """
import json, resource, sys
from pathlib import Path
path = Path(sys.argv[2])
if sys.argv[1] == "wizard":
    from msde_tui.screens.pack_screens import packed_entries
    (entry,) = packed_entries(path.parent, "pbf")
    code, said = (1 if entry.problem else 0), entry.problem
else:
    from msde_tui.cli import main
    code, said = main([*sys.argv[1].split(), str(path)]), ""
# VmHWM: this process's own peak (ru_maxrss would include the parent's size before exec)
status = Path("/proc/self/status").read_text() if Path("/proc/self/status").exists() else ""
hwm = [int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")]
rss = hwm[0] // 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps({"code": code, "said": said, "rss_mb": rss}))
"""
READERS = ["pack-info", "verify", "import", "apply", "wizard"]


def _probe(reader: str, path: Path, home: Path) -> dict[str, Any]:
    env = dict(os.environ, MSDE_HOME=str(home), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", PROBE, reader, str(path)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Unexpected" not in done.stdout + done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "err": done.stderr + done.stdout}


@pytest.mark.parametrize("reader", READERS)
def test_a_manifest_bomb_is_refused_by_every_reader_in_bounded_memory(
        world: tuple[Path, Path], tmp_path: Path, reader: str) -> None:
    home, _shared = world
    folder = tmp_path / "bomb"
    folder.mkdir()
    bomb = manifest_bomb(folder / "001-SOC_20260101_000000.pbf")
    assert bomb.stat().st_size < 1 << 20
    result = _probe(reader, bomb, home)
    assert result["code"] != 0 and result["rss_mb"] < 300, result


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
    assert result["code"] != 0 and result["rss_mb"] < 300, result
    assert "row group" in result["err"] or "rows" in result["err"], result
    assert Catalog(home).dossiers()[-1].number == "001"  # nothing imported


# --------------------------------------------------------------------------- 3. hostile manifests


HOSTILE_MANIFESTS: dict[str, Callable[[Path, Path], Path]] = {
    "200,000-deep JSON": lambda good, dst: _raw_manifest(
        good, dst, b'{"format":"msde-pack","version":"2.1","kind":"PBF","members":'
        + b"[" * 200_000 + b"]" * 200_000 + b"}"),
    "a 5,000-digit version": lambda good, dst: _raw_manifest(
        good, dst, b'{"format":"msde-pack","kind":"PBF","members":{},"version":' + b"2" * 5000 + b"}"),
    "content.tables as a list": lambda good, dst: _rewrite(
        good, dst, manifest=lambda m: m["content"].update(tables=[1, 2])),
    "zero tables": lambda good, dst: _rewrite(
        good, dst, manifest=_no_tables, members={"schema.json": json.dumps({"tables": []}).encode()}),
    "absurd row count": lambda good, dst: _rewrite(
        good, dst, manifest=lambda m: next(iter(m["content"]["tables"].values())).update(rows=10**15)),
    "row count as text": lambda good, dst: _rewrite(
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

    from msde_tui.engine import archive

    home, shared = world

    def full(*_args: object, **_kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(archive, "_replace_years", full)
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
        line = child.stdout.readline()
        assert "READING" in line, child.stderr.read() if child.stderr else ""
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    left = [p for p in private_tmp.rglob("*") if p.is_file()]
    assert left == [], f"plaintext left behind: {left}"
    for path in tmp_path.rglob("*"):  # (packstate/ holds the key-and-hash state of the earlier pack)
        if path.is_file() and "packstate" not in path.parts and path.stat().st_size < 64 << 20:
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
    edited = _rewrite(pbf, tmp_path / ("x.paf" if "PAF" in edit else "x.pbf"), manifest=changes[edit])
    assert cli(home, "verify", str(pbf), env=env).code == 0
    run = cli(home, "verify", str(edited), env=env)
    assert run.code == 1 and "changed after packing" in run.out + run.err, run


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
    from msde_tui.screens.pack_screens import entry_line, packed_entries

    out = tmp_path / "packs"
    out.mkdir()
    cli(home, "pack", "001", "--dir", str(out))
    (entry,) = packed_entries(out, "pbf")
    assert "Evil" in entry_line(entry) and not any(c in entry_line(entry) for c in "\x1b\x07\x9b\u202e")
