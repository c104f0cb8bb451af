"""The hostile-world classes of the corruption sweep (issue 17; docs/RELIABILITY.md).

    .venv/bin/python bench/corruption_sweep.py --cases 0 --hostile 40 [--bomb-rows 100000000]

Run by ``corruption_sweep.py --hostile N`` (N manifest mutations; the other classes are a
fixed set of cases). Each case ends ``refused`` (a plain MsdeError, nothing written where it
should not be), ``identical`` (the command succeeded and did only what it should), or
``UNDETECTED`` / ``CRASH``. Kinds:

  link          links planted at every name a writing operation may use (final names pointing
                nowhere, temporary names pointing at a precious file): nothing followed or replaced;
  bomb          a manifest that inflates to GiBs and a one-row-group Parquet chunk of N constant
                rows (checksums right), through pack-info, verify, import, apply and the wizard's
                list, each in its own process: refused, peak memory (VmHWM) and seconds recorded;
  manifest      random manifest fields replaced or removed (checksums recomputed): no crash, and
                verify and import accept the same files (else UNDETECTED);
  enc-manifest  clear manifest fields of an encrypted PBF edited (checksum recomputed): refused;
  home          an unusable data directory (a file in the way) for every command: plain words;
  escape        escape sequences in a company name: never printed raw by ``msde list``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from corruption_sweep import PASSPHRASE, Case, run_cli  # type: ignore[import-not-found]  # noqa: E402 - bench/ is put on sys.path above

from msde_tui.engine import naming  # noqa: E402
from msde_tui.engine.accounting import demo  # noqa: E402
from msde_tui.engine.catalog import Catalog  # noqa: E402
from msde_tui.engine.errors import MsdeError  # noqa: E402
from msde_tui.engine.packs import packimport, packinfo, packwrite  # noqa: E402
from msde_tui.packfmt.manifest import manifest_digest  # noqa: E402
from msde_tui.packfmt.schema import PackSchema  # noqa: E402

HOSTILE_KINDS = ("link", "bomb", "manifest", "enc-manifest", "home", "escape")
ESCAPES = "\x1b]0;owned\x07\x1b[2J\x9b31m\u202e"
RAW = "\x1b\x07\x9b\u202e"

# --------------------------------------------------------------------------- crafted files


def zip_one(name: str, stored: bytes, size: int, crc: int, method: int) -> bytes:
    """A ZIP holding one member, written by hand (a precompressed deflate stream)."""
    encoded = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(stored), size,
                        len(encoded), 0) + encoded
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(stored),
                          size, len(encoded), 0, 0, 0, 0, 0, 0) + encoded
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(stored), 0)
    return local + stored + central + end


def manifest_bomb(path: Path, inflated: int = 512 << 20) -> Path:
    """A small file whose manifest.json inflates to ``inflated`` bytes of blanks (< 4 GiB)."""
    block = b" " * (1 << 24)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)  # byte-aligned, no back-reference
    count = min(inflated, (4 << 30) - (1 << 24)) // len(block)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    path.write_bytes(zip_one("manifest.json", piece * count + b"\x03\x00", count * len(block), crc, 8))
    return path


def rewrite(src: Path, dst: Path, *, manifest: Callable[[dict[str, Any]], object] | None = None,
            members: dict[str, bytes | None] | None = None, sign: bool = True) -> Path:
    """Copy a packed file, replacing (or with None removing) members and editing the manifest;
    the checksums an attacker can recompute (member SHA-256, manifest_sha256) are recomputed."""
    with zipfile.ZipFile(src) as zin:
        data = {i.filename: zin.read(i.filename) for i in zin.infolist()}
    doc = json.loads(data.pop("manifest.json"))
    for name, body in (members or {}).items():
        if body is None:
            data.pop(name, None)
            doc["members"].pop(name, None)
            continue
        data[name] = body
        doc["members"][name] = {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    if manifest is not None:
        manifest(doc)
    if sign:
        doc["manifest_sha256"] = manifest_digest(doc)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for name, body in data.items():
            zout.writestr(name, body)
        zout.writestr("manifest.json", json.dumps(doc))
    return dst


def constant_table(arrow: pa.Schema, rows: int) -> pa.Table:
    columns = []
    for column in arrow:
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            value: Any = 1
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            value = "x"
        else:
            value = None
        columns.append(pa.repeat(pa.scalar(value, type=column.type), rows))
    return pa.Table.from_arrays(columns, schema=arrow)


def row_bomb(good: Path, path: Path, rows: int = 2_000_000) -> Path:
    """``good`` (a clear PBF) whose first table is one chunk of one row group of ``rows``
    identical rows; sizes, SHA-256 sums and the manifest's row count all agree with it."""
    with zipfile.ZipFile(good) as zf:
        doc = json.loads(zf.read("manifest.json"))
        schema = json.loads(zf.read("schema.json"))
    spec = PackSchema.from_json(schema).tables[0]
    arrow = spec.arrow_schema()
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(sink, arrow, compression="zstd") as writer:
        writer.write_table(constant_table(arrow, rows), row_group_size=rows)
    prefix = f"data/{spec.dir}/"
    changes: dict[str, bytes | None] = {n: None for n in doc["members"] if n.startswith(prefix)}
    changes[f"{prefix}00000.parquet"] = sink.getvalue().to_pybytes()

    def edit(m: dict[str, Any]) -> None:
        m["content"]["tables"][spec.name].update(rows=rows, chunks=1)
        m["content"]["state"]["tables"].pop(spec.name, None)

    return rewrite(good, path, manifest=edit, members=changes)


# --------------------------------------------------------------------------- helpers


def _home(root: Path, name: str, template: Path) -> Path:
    home = root / name
    shutil.copytree(template, home)
    return home


def _outcome(kind: str, what: str, run: Any, ok: bool, detail: str = "") -> Case:
    if run.crash or "Unexpected" in run.out + run.err or "Traceback" in run.out + run.err:
        return Case(kind, what, "CRASH", f"{run.crash} {run.err[-300:]}", run.error)
    if not ok:
        return Case(kind, what, "UNDETECTED", detail or run.err[-300:], run.error)
    return Case(kind, what, "refused" if run.code else "identical", detail, run.error)


# --------------------------------------------------------------------------- 1. links

LINK_VARIANTS = ("{}", "{}.partial", ".{}.partial", ".{}.building", ".{}.exporting", ".{}.importing",
                 ".{}.restore-partial")


def _stamped(make: Callable[[datetime], str]) -> list[str]:
    now = datetime.now().replace(microsecond=0)
    return [make(now + timedelta(seconds=s)) for s in range(-2, 60)]


def _link_cases(home: Path, shared: Path, scratch: Path) -> dict[str, tuple[list[str], Path, list[str]]]:
    year = str(date.today().year - 1)
    backups = [n for t in _stamped(lambda t: naming.embedded_backup_name("001SOC", t)) for n in (t, f"{t}.json")]
    safety = [n for t in _stamped(lambda t: f"001SOC_{naming.stamp(t)}.sqlite") for n in (t, f"{t}.json")]
    return {
        "pack": (["pack", "001", "--dir", str(shared)], shared,
                 _stamped(lambda t: naming.packed_file_name("001", "SOC", "pbf", t))),
        "partial": (["pack", "001", "--dir", str(shared), "--partial"], shared,
                    _stamped(lambda t: naming.packed_file_name("001", "SOC", "ptf", t))),
        "archive": (["archive", "001", "--dir", str(shared), "--all"], shared,
                    _stamped(lambda t: naming.packed_file_name("001", "SOC", "paf", t))),
        "audit": (["audit", "001", "--years", year, "--dir", str(shared)], shared, ["Admin001SOC.sqlite"]),
        "cut": (["cut", "001", "--keep-from", year], home, ["001SOC_CUT001.sqlite"]),
        "export copy": (["export", "001", "--dir", str(shared)], shared, ["E001SOC.sqlite"]),
        "backup": (["backup", "001", "--dir", str(shared)], shared, backups),
        "restore": (["restore", str(next(scratch.glob("*.sqlite.bak"))), "--number", "001", "--replace"],
                    home / "safety", safety),
        "import": (["import", str(next(scratch.glob("*.pbf"))), "--number", "050"], home, ["050SOC.sqlite"]),
    }


def run_links(root: Path, template: Path) -> list[Case]:
    results = []
    for name in ("pack", "partial", "archive", "audit", "cut", "export copy", "backup", "restore", "import"):
        work = root / f"link-{name.replace(' ', '-')}"
        work.mkdir()
        home = _home(work, "home", template)
        shared, scratch, ghosts = work / "shared", work / "scratch", work / "ghosts"
        for d in (shared, scratch, ghosts, home / "safety"):
            d.mkdir(exist_ok=True)
        victim = work / "victim.txt"
        victim.write_bytes(b"precious")
        run_cli(["--home", str(home), "backup", "001", "--dir", str(scratch)])
        run_cli(["--home", str(home), "pack", "001", "--dir", str(scratch)])
        argv, directory, names = _link_cases(home, shared, scratch)[name]
        planted: dict[Path, Path] = {}
        for base in names:
            for variant in LINK_VARIANTS:
                link = directory / variant.format(base)
                if not os.path.lexists(link):
                    target = ghosts / f"g{len(planted)}" if variant == "{}" else victim
                    link.symlink_to(target)
                    planted[link] = target
        run = run_cli(["--home", str(home), *argv])
        intact = (victim.read_bytes() == b"precious" and not any(ghosts.iterdir())
                  and all(p.is_symlink() and os.readlink(p) == str(t) for p, t in planted.items()))
        results.append(_outcome("link", f"{name} ({len(planted)} links)", run, intact,
                                "" if intact else "a planted link was followed or replaced"))
        shutil.rmtree(work, ignore_errors=True)
    return results


# --------------------------------------------------------------------------- 2. bombs

PROBE = """
import json, sys, time
from pathlib import Path
path = Path(sys.argv[2])
started = time.monotonic()
if sys.argv[1] == "wizard":
    from msde_tui.engine.packs.packlisting import packed_entries
    (entry,) = packed_entries(path.parent, "pbf")
    code, said = (1 if entry.problem else 0), entry.problem
else:
    from msde_tui.cli import main
    code, said = main([*sys.argv[1].split(), str(path)]), ""
status = Path("/proc/self/status").read_text() if Path("/proc/self/status").exists() else ""
hwm = [int(x.split()[1]) for x in status.splitlines() if x.startswith("VmHWM:")]
print(json.dumps({"code": code, "said": said, "mb": hwm[0] // 1024 if hwm else -1,
                  "seconds": round(time.monotonic() - started, 2)}))
"""
READERS = ("pack-info", "verify", "import", "apply", "wizard")


def probe(reader: str, path: Path, home: Path) -> dict[str, Any]:
    """Run one reader on ``path`` in its own process: exit code, peak memory, seconds."""
    env = dict(os.environ, MSDE_HOME=str(home), PYTHONPATH=str(ROOT))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", PROBE, reader, str(path)], capture_output=True, text=True,
                          env=env, timeout=600, check=False)
    lines = done.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, ValueError):
        result = {"code": 99, "mb": -1, "seconds": -1}
    result["wall"] = round(time.monotonic() - started, 2)
    result["text"] = done.stdout + done.stderr
    result["crash"] = done.returncode != 0 or "Traceback" in done.stderr or "Unexpected" in result["text"]
    return result


def run_bombs(root: Path, template: Path, good: Path, *, rows: int, inflated: int) -> list[Case]:
    results = []
    home = _home(root, "bomb-home", template)
    for label, build in (("manifest bomb", lambda p: manifest_bomb(p, inflated)),
                         ("row bomb", lambda p: row_bomb(good, p, rows))):
        folder = root / label.replace(" ", "-")
        folder.mkdir()
        bomb = build(folder / "001-SOC_20260101_000000.pbf")
        for reader in READERS:
            if label == "row bomb" and reader == "apply":
                continue  # a PBF: apply refuses its kind before any row
            got = probe(reader, bomb, home)
            detail = (f"{bomb.stat().st_size:,} bytes; exit {got['code']}, peak {got['mb']} MB, "
                      f"{got['seconds']} s ({got['wall']} s with start-up)")
            listed_only = reader == "wizard" and label == "row bomb"  # the list reads the manifest only
            ok = (got["code"] != 0 or listed_only) and got["mb"] < 300
            outcome = "CRASH" if got["crash"] else ("refused" if got["code"] else "identical") if ok else "UNDETECTED"
            results.append(Case("bomb", f"{label} via {reader}", outcome, detail))
    return results


# --------------------------------------------------------------------------- 3. manifests

VALUE_POOL: list[Any] = [None, True, 0, -1, 2**63, 10**30, 1.5, "", "x" * 300, "PAF", "2.1", [], {}, [1, 2],
                         {"rows": -1}, {"size": "12"}, "0" * 64, [[[[[]]]]]]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


def _accepted(func: Callable[..., Any], *args: Any) -> tuple[bool, str | None]:
    try:
        func(*args)
    except MsdeError as exc:
        return False, type(exc).__name__
    return True, None


def run_manifest_fuzz(rng: random.Random, root: Path, good: Path, cases: int) -> list[Case]:
    results = []
    with zipfile.ZipFile(good) as zf:
        base = json.loads(zf.read("manifest.json"))
    paths = _paths(base)
    for i in range(cases):
        path = rng.choice(paths)
        value = rng.choice(VALUE_POOL)
        remove = rng.random() < 0.25

        def edit(m: dict[str, Any], path: tuple[Any, ...] = path, value: Any = value, remove: bool = remove) -> None:
            parent: Any = m
            for step in path[:-1]:
                parent = parent[step]
            if remove and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value

        what = f"{'remove' if remove else 'set'} {'/'.join(map(str, path))[:80]} = {str(value)[:30]!r}"
        work = root / f"manifest-{i:04d}"
        work.mkdir()
        try:
            target = rewrite(good, work / good.name, manifest=edit)
            home = work / "home"
            home.mkdir()
            verified, error = _accepted(packinfo.package_info, target)  # verify=True by default
            imported, error2 = _accepted(packimport.import_package, target, home)
            if verified != imported:
                case = Case("manifest", what, "UNDETECTED", f"verify {verified}, import {imported}", error or error2)
            else:
                case = Case("manifest", what, "identical" if verified else "refused", "", error)
        except Exception as exc:  # noqa: BLE001 - that is what we look for
            case = Case("manifest", what, "CRASH", f"{type(exc).__name__}: {str(exc)[:300]}")
        results.append(case)
        shutil.rmtree(work, ignore_errors=True)
    return results


def run_encrypted_edits(root: Path, template: Path) -> list[Case]:
    home = _home(root, "enc-home", template)
    out = root / "enc"
    out.mkdir()
    env = {"MSDE_PACK_PASSPHRASE": PASSPHRASE}
    run_cli(["--home", str(home), "pack", "001", "--dir", str(out), "--encrypt"], env=env)
    pbf = next(out.glob("*.pbf"))
    edits: dict[str, Callable[[dict[str, Any]], object]] = {
        "created_at 2031": lambda m: m.update(created_at="2031-01-01T00:00:00+00:00"),
        "package_id zeros": lambda m: m.update(package_id="00000000-0000-0000-0000-000000000000"),
        "kind PBF -> PAF": lambda m: m.update(kind="PAF"),
        "tool version": lambda m: m["tool"].update(version="99"),
        "scrypt n lowered": lambda m: m["encryption"].update(n=2),
        "segment size doubled": lambda m: m["encryption"].update(segment_size=2 * m["encryption"]["segment_size"]),
    }
    results = []
    for what, edit in edits.items():
        edited = rewrite(pbf, root / f"edited-{len(results)}{'.paf' if 'PAF' in what else '.pbf'}", manifest=edit)
        run = run_cli(["--home", str(home), "verify", str(edited)], env=env)
        results.append(_outcome("enc-manifest", what, run, run.code != 0))
    return results


# --------------------------------------------------------------------------- 4. words, not crashes


def run_unusable_home(root: Path, good: Path) -> list[Case]:
    blocker = root / "a-file"
    blocker.write_text("x")
    home = blocker / "home"
    year = str(date.today().year - 1)
    commands = [["pack", "001", "--dir", str(root)], ["import", str(good)], ["restore", str(good), "--number", "005"],
                ["cut", "001", "--keep-from", year], ["export", "001"], ["auto", "run"],
                ["demo", "--dossiers", "1", "--lines", "10"], ["list"], ["archive", "001", "--dir", str(root), "--all"],
                ["audit", "001", "--years", year, "--dir", str(root)]]
    results = []
    for argv in commands:
        run = run_cli(["--home", str(home), *argv])
        results.append(_outcome("home", " ".join(argv[:1]), run, run.code in (1, 2) and "Error:" in run.err))
    return results


def run_escapes(root: Path, template: Path) -> list[Case]:
    home = _home(root, "escape-home", template)
    Catalog(home).rename("001", company=f"Evil {ESCAPES} SA")
    results = []
    for argv in (["list"], ["--json", "list"], ["check", "001"]):
        run = run_cli(["--home", str(home), *argv])
        clean = not any(c in run.out + run.err for c in RAW)
        results.append(_outcome("escape", " ".join(argv), run, clean, "" if clean else "raw escape printed"))
    return results


# --------------------------------------------------------------------------- all of them


def hostile_sweep(root: Path, *, seed: int, cases: int, rows: int, inflated: int) -> list[Case]:
    template = root / "hostile-template"
    template.mkdir(parents=True)
    demo.create_demo(template, dossiers=1, years=4, lines=200)
    good_dir = root / "hostile-good"
    good_dir.mkdir()
    good = packwrite.export_package(Catalog(template).get("001"), template, good_dir).path
    rng = random.Random(seed)
    results: list[Case] = []
    for step in (lambda: run_links(root, template),
                 lambda: run_bombs(root, template, good, rows=rows, inflated=inflated),
                 lambda: run_manifest_fuzz(rng, root, good, cases),
                 lambda: run_encrypted_edits(root, template),
                 lambda: run_unusable_home(root, good),
                 lambda: run_escapes(root, template)):
        try:
            results += step()
        except Exception as exc:  # noqa: BLE001 - a harness bug must not hide the others
            results.append(Case("?", "harness", "CRASH", f"{type(exc).__name__}: {exc}"))
    return results
