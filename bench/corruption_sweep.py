"""Corruption sweep: damage every kind of file msde writes and check each damage is caught.

    .venv/bin/python bench/corruption_sweep.py [--cases 1200] [--seed 1] [--json out.json]

Files (built fresh from small demo dossiers): an embedded backup ``.sqlite.bak`` and its
proof ``.json``; a PBF; an encrypted PBF; a PTF; a PAF. Mutations: a byte XORed at a random
offset (half of them aimed at headers, the ZIP central directory and the manifest), a zeroed
block, a truncation, appended garbage, a member swapped with the same member of another
package, a member renamed, a manifest / proof field edited (JSON-level, still valid JSON),
a proof paired with another backup, a file given to the wrong dossier, a wrong passphrase.

Each damaged file goes through the command that consumes it, run in-process through
``msde_tui.cli.main`` with stdout/stderr captured: ``msde verify`` (backup + proof),
``msde import`` (PBF, encrypted PBF), ``msde apply`` (PTF), ``msde unarchive`` (PAF).

Outcome of a case:
  refused       the command failed (exit 1 or 2) with a documented ``MsdeError`` type for
                that kind, no traceback, and the dossier it would change is untouched;
  identical     the command succeeded, and everything it took from the file is identical to
                what the undamaged file gives: the rows of every table (row hashes), the
                dossier identity (GUID, code, company) and, for a backup, the proof's fields
                and the file's SHA-256. The damage was in bytes nobody reads (e.g. a ZIP
                timestamp or the local header's copy of a name) — nothing wrong can come out;
  UNDETECTED    the command succeeded but something differs from the undamaged file;
  CRASH         a non-MsdeError escaped, a traceback was printed, "Unexpected error" was
                reported, or a refused operation changed the dossier.
"detected" = refused + identical. The goal is 100 % detected, 0 UNDETECTED, 0 CRASH.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import traceback
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from msde_tui import cli  # noqa: E402
from msde_tui.engine.accounting import demo  # noqa: E402
from msde_tui.engine.catalog import Catalog  # noqa: E402
from msde_tui.engine.errors import MsdeError  # noqa: E402

PASSPHRASE = "sweep passphrase"
DOCUMENTED: dict[str, set[str]] = {
    "backup": {"BackupInvalid", "WrongDossier"},
    "proof": {"BackupInvalid", "WrongDossier"},
    "pbf": {"PackError"},
    "pbf-encrypted": {"PackError"},
    "ptf": {"PackError", "WrongDossier"},
    "paf": {"BackupInvalid", "WrongDossier", "DossierNotFound"},
}
KINDS = tuple(DOCUMENTED)


# --------------------------------------------------------------------------- database state


def db_state(path: Path) -> dict[str, str]:
    """SHA-256 of the sorted rows of every table of a SQLite file (order-independent)."""
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        out: dict[str, str] = {}
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            rows = sorted(repr(r) for r in conn.execute(f"SELECT * FROM {quoted}"))  # noqa: S608
            out[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
        return out
    finally:
        conn.close()


def home_state(home: Path) -> dict[str, Any]:
    """The dossier list and the row hashes of every embedded dossier in ``home``."""
    catalog = Catalog(home)
    state: dict[str, Any] = {}
    for d in catalog.dossiers():
        entry: dict[str, Any] = {"short": d.short, "company": d.company, "guid": d.guid,
                                 "location": d.location}
        path = d.path(home)
        entry["rows"] = db_state(path) if path.exists() else None
        state[d.number] = entry
    return state


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------- running the CLI


@dataclass
class Run:
    code: int
    out: str
    err: str
    error: str | None  # type name of the MsdeError the command ended with
    crash: str | None


@contextlib.contextmanager
def _no_stdin() -> Iterator[None]:
    """Nothing to read: a command that would prompt gets end-of-file, as in a script."""
    saved = sys.stdin
    sys.stdin = io.StringIO("")
    try:
        yield
    finally:
        sys.stdin = saved


def run_cli(argv: list[str], env: dict[str, str] | None = None) -> Run:
    """``msde ARGV`` in-process; the error type is caught from ``cli.fail`` or the JSON results."""
    seen: list[str] = []
    original_fail = cli.fail

    def spy(exc: MsdeError) -> int:
        seen.append(type(exc).__name__)
        return original_fail(exc)

    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    cli.fail = spy  # type: ignore[assignment]
    crash = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), _no_stdin():
            try:
                code = cli.main(argv)
            except BaseException as exc:  # noqa: BLE001 - that is what we look for
                code = 99
                crash = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc().splitlines(True)[-6:])
    finally:
        cli.fail = original_fail  # type: ignore[assignment]
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    text_out, text_err = out.getvalue(), err.getvalue()
    error = seen[0] if seen else None
    if error is None and "--json" in argv:
        with contextlib.suppress(ValueError):
            doc = json.loads(text_out)
            for result in doc.get("results", []) if isinstance(doc, dict) else []:
                if not result.get("ok", True):
                    error = (result.get("details") or {}).get("error") or result.get("error") or "?"
                    if "Unexpected error" in str(result.get("message")):
                        crash = f"unexpected: {result.get('message')}"
                    break
    if crash is None and "Traceback" in text_out + text_err:
        crash = "traceback printed"
    return Run(code, text_out, text_err, error, crash)


# --------------------------------------------------------------------------- the originals


@dataclass
class Originals:
    root: Path
    bak: Path = field(init=False)
    bak_other: Path = field(init=False)  # a backup of the other dossier
    bak_later: Path = field(init=False)  # a later backup of the same dossier
    pbf: Path = field(init=False)
    pbf_other: Path = field(init=False)
    pbf_enc: Path = field(init=False)
    ptf: Path = field(init=False)
    ptf_other: Path = field(init=False)
    paf: Path = field(init=False)
    paf_other: Path = field(init=False)
    ptf_base: Path = field(init=False)  # a home holding the PTF's base (the imported PBF)
    ptf_after: dict[str, Any] = field(init=False)
    paf_home: Path = field(init=False)  # a home holding both dossiers with years archived
    paf_after: dict[str, Any] = field(init=False)
    pbf_import: dict[str, Any] = field(init=False)
    pbf_enc_import: dict[str, Any] = field(init=False)
    proof: dict[str, Any] = field(init=False)


def _must(argv: list[str], env: dict[str, str] | None = None) -> Run:
    run = run_cli(argv, env)
    if run.code != 0 or run.crash:
        raise RuntimeError(f"setup step failed: msde {' '.join(argv)}\n{run.out}\n{run.err}")
    return run


def _only(directory: Path, pattern: str, exclude: set[Path] = frozenset()) -> Path:  # type: ignore[assignment]
    found = [p for p in directory.glob(pattern) if p not in exclude]
    assert len(found) == 1, (directory, pattern, found)
    return found[0]


def _touch_rows(path: Path) -> None:
    """Change some rows (updates, inserts, deletes) so that a PTF has work to do."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE third_party SET name = name || ' (new)' WHERE id % 3 = 0")
        conn.execute("UPDATE account SET label = label || ' *' WHERE id % 7 = 0")
        conn.execute("DELETE FROM attachment WHERE id % 4 = 0")
    conn.close()


def build_originals(root: Path, *, lines: int = 300, years: int = 9) -> Originals:
    """Two small demo dossiers and every kind of file made from them, in ``root``."""
    o = Originals(root)
    home = root / "home"
    home.mkdir(parents=True)
    demo.create_demo(home, dossiers=2, years=years, lines=lines, seed=3)
    h = ["--home", str(home)]
    for name in ("bak", "pack", "enc", "paf"):
        (root / name).mkdir()
    _must([*h, "backup", "001", "--dir", str(root / "bak")])
    o.bak = _only(root / "bak", "001*.sqlite.bak")
    _must([*h, "backup", "002", "--dir", str(root / "bak")])
    o.bak_other = _only(root / "bak", "002*.sqlite.bak")
    time.sleep(1.05)
    conn = sqlite3.connect(Catalog(home).get("001").path(home))  # the later backup differs
    with conn:
        conn.execute("UPDATE third_party SET name = name || '.' WHERE id = 1")
    conn.close()
    _must([*h, "backup", "001", "--dir", str(root / "bak")])
    o.bak_later = _only(root / "bak", "001*.sqlite.bak", {o.bak})
    o.proof = json.loads(Path(f"{o.bak}.json").read_text())

    _must([*h, "pack", "002", "--dir", str(root / "pack")])
    o.pbf_other = _only(root / "pack", "002*.pbf")
    _must([*h, "pack", "001", "--dir", str(root / "pack")])
    o.pbf = _only(root / "pack", "001*.pbf")
    _must([*h, "pack", "001", "--dir", str(root / "enc"), "--encrypt"], {"MSDE_PACK_PASSPHRASE": PASSPHRASE})
    o.pbf_enc = _only(root / "enc", "*.pbf")

    # The PTF's base: a second home where the PBF is imported; the PTF follows it.
    o.ptf_base = root / "ptf-base"
    o.ptf_base.mkdir()
    _must(["--home", str(o.ptf_base), "import", str(o.pbf), "--number", "001"])
    o.pbf_import = home_state(o.ptf_base)
    enc_home = root / "enc-home"
    enc_home.mkdir()
    _must(["--home", str(enc_home), "import", str(o.pbf_enc), "--number", "001"],
          {"MSDE_PACK_PASSPHRASE": PASSPHRASE})
    o.pbf_enc_import = home_state(enc_home)
    _touch_rows(Catalog(home).get("001").path(home))
    _touch_rows(Catalog(home).get("002").path(home))
    _must([*h, "pack", "001", "--dir", str(root / "pack"), "--partial"])
    o.ptf = _only(root / "pack", "001*.ptf")
    # 002's state, then its PTF (in a directory of its own: packed within the same second as
    # 002's first PBF, it would have that file's name)
    (root / "pack-002").mkdir()
    _must([*h, "pack", "002", "--dir", str(root / "pack-002")])
    _must([*h, "pack", "002", "--dir", str(root / "pack"), "--partial"])
    o.ptf_other = _only(root / "pack", "002*.ptf")
    after = root / "ptf-after"
    shutil.copytree(o.ptf_base, after)
    _must(["--home", str(after), "apply", str(o.ptf)])
    o.ptf_after = home_state(after)

    # The PAFs: both dossiers have their closed years archived; the sweep puts them back.
    o.paf_home = root / "paf-home"
    shutil.copytree(home, o.paf_home, ignore=shutil.ignore_patterns("packstate", "audit.log.jsonl"))
    _must(["--home", str(o.paf_home), "archive", "001", "002", "--dir", str(root / "paf"), "--all"])
    o.paf = _only(root / "paf", "001*.paf")
    o.paf_other = _only(root / "paf", "002*.paf")
    after = root / "paf-after"  # 001's years back, 002's still archived
    shutil.copytree(o.paf_home, after)
    _must(["--home", str(after), "unarchive", str(_file_copy(o.paf, root))])
    o.paf_after = home_state(after)
    return o


# --------------------------------------------------------------------------- mutations


def zip_members(path: Path) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(info, zf.read(info)) for info in zf.infolist()]


def write_zip(path: Path, members: list[tuple[str, bytes]]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data)


def hot_ranges(path: Path) -> list[tuple[int, int]]:
    """Byte ranges worth aiming at: the header, the end (ZIP central directory), the manifest."""
    size = path.stat().st_size
    ranges = [(0, min(size, 512)), (max(0, size - 2048), size)]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.filename in ("manifest.json", "schema.json", "content.json"):
                    start = info.header_offset
                    ranges.append((start, min(size, start + 30 + len(info.filename) + info.file_size)))
    return ranges


def _offset(rng: random.Random, path: Path) -> int:
    size = path.stat().st_size
    if rng.random() < 0.5:
        lo, hi = rng.choice(hot_ranges(path))
        return rng.randrange(lo, max(lo + 1, hi))
    return rng.randrange(size)


def flip(rng: random.Random, path: Path) -> str:
    data = bytearray(path.read_bytes())
    at = _offset(rng, path)
    mask = rng.randrange(1, 256)
    data[at] ^= mask
    path.write_bytes(bytes(data))
    return f"flip byte {at} ^ 0x{mask:02x}"


def zero_block(rng: random.Random, path: Path) -> str:
    data = bytearray(path.read_bytes())
    at = _offset(rng, path)
    n = rng.choice((16, 512, 4096))
    before = bytes(data[at:at + n])
    data[at:at + n] = bytes(len(before))
    path.write_bytes(bytes(data))
    return f"zero {len(before)} bytes at {at}"


def truncate(rng: random.Random, path: Path) -> str:
    size = path.stat().st_size
    keep = rng.choice((0, rng.randrange(size), size - rng.randrange(1, min(size, 4096) + 1)))
    with open(path, "r+b") as handle:
        handle.truncate(keep)
    return f"truncate to {keep} of {size}"


def append(rng: random.Random, path: Path) -> str:
    n = rng.choice((1, 17, 4096))
    with open(path, "ab") as handle:
        handle.write(rng.randbytes(n))
    return f"append {n} random bytes"


def swap_member(rng: random.Random, path: Path, other: Path) -> str:
    mine = zip_members(path)
    theirs = {info.filename: data for info, data in zip_members(other)}
    common = [info.filename for info, data in mine if info.filename in theirs and info.filename != "manifest.json"]
    name = rng.choice(common or ["manifest.json"])
    write_zip(path, [(i.filename, theirs[name] if i.filename == name else d) for i, d in mine])
    return f"member {name} swapped with {other.name}'s"


def rename_member(rng: random.Random, path: Path) -> str:
    members = zip_members(path)
    names = [i.filename for i, _ in members if i.filename != "manifest.json"]
    a = rng.choice(names)
    if rng.random() < 0.5 and len(names) > 1:
        b = rng.choice([n for n in names if n != a])
        mapping = {a: b, b: a}
        what = f"members {a} and {b} exchange names"
    else:
        b = a.replace("00000", "00001") if "00000" in a else a + ".x"
        mapping = {a: b}
        what = f"member {a} renamed {b}"
    write_zip(path, [(mapping.get(i.filename, i.filename), d) for i, d in members])
    return what


def _edit_json(rng: random.Random, obj: Any, depth: int = 0) -> tuple[Any, str]:
    """Change one leaf of a JSON value (or drop / add a key); return (new, description)."""
    if isinstance(obj, dict) and obj:
        key = rng.choice(sorted(obj))
        roll = rng.random()
        if roll < 0.08:
            new = dict(obj)
            del new[key]
            return new, f"drop {key}"
        if roll < 0.12:
            new = dict(obj)
            new["injected" + str(rng.randrange(99))] = {"size": 1, "sha256": "0" * 64}
            return new, "add a key"
        value, what = _edit_json(rng, obj[key], depth + 1)
        return {**obj, key: value}, f"{key}.{what}"
    if isinstance(obj, list) and obj:
        i = rng.randrange(len(obj))
        value, what = _edit_json(rng, obj[i], depth + 1)
        return [*obj[:i], value, *obj[i + 1:]], f"[{i}].{what}"
    if isinstance(obj, bool):
        return not obj, "negated"
    if isinstance(obj, int):
        return obj + rng.choice((-1, 1, 1000, -obj - 1 if obj else 7)), f"{obj}->changed"
    if isinstance(obj, float):
        return obj * 1.5 + 1, "float changed"
    if isinstance(obj, str):
        if not obj:
            return "x", "empty->x"
        i = rng.randrange(len(obj))
        ch = obj[i]
        repl = "0" if ch != "0" else "1"
        if ch.isalpha():
            repl = "e" if ch.lower() != "e" else "a"
        return obj[:i] + repl + obj[i + 1:], f"char {i} of {obj[:24]!r}"
    if obj is None:
        return "null?", "null->str"
    return obj, "unchanged"


def edit_manifest(rng: random.Random, path: Path) -> str:
    members = zip_members(path)
    out, what = [], ""
    for info, data in members:
        if info.filename == "manifest.json":
            manifest = json.loads(data)
            manifest, what = _edit_json(rng, manifest)
            data = json.dumps(manifest, indent=1, ensure_ascii=False, sort_keys=True).encode()
        out.append((info.filename, data))
    write_zip(path, out)
    return f"manifest {what}"


def edit_proof(rng: random.Random, proof: Path, originals: Originals) -> str:
    raw = json.loads(proof.read_text())
    other = json.loads(Path(f"{originals.bak_other}.json").read_text())
    roll = rng.random()
    if roll < 0.3:
        key = rng.choice(sorted(raw))
        raw[key] = other.get(key, raw[key])
        what = f"field {key} taken from another dossier's proof"
        if raw == json.loads(proof.read_text()):
            raw["movements"] = int(raw["movements"]) + 1
            what += " (same) + movements+1"
    else:
        raw, what = _edit_json(rng, raw)
    proof.write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n")
    return f"proof {what}"


# --------------------------------------------------------------------------- cases


@dataclass
class Case:
    kind: str
    mutation: str
    outcome: str = ""
    detail: str = ""
    error: str | None = None


def _file_copy(src: Path, work: Path) -> Path:
    target = work / src.name
    shutil.copy2(src, target)
    return target


def _check_refusal(case: Case, run: Run, before: dict[str, Any] | None, home: Path | None) -> None:
    case.error = run.error
    if run.crash:
        case.outcome, case.detail = "CRASH", run.crash + "\n" + run.err[-2000:]
        return
    if before is not None and home is not None and home_state(home) != before:
        case.outcome, case.detail = "CRASH", "a refused operation changed the dossier"
        return
    documented = DOCUMENTED[case.kind]
    if run.error in documented or run.error == "BadInput" and case.kind in ("proof",):
        case.outcome = "refused"
    else:
        case.outcome = "refused-other-type"
        case.detail = f"{run.error}: {run.err.strip()[:300]}"


def run_backup_case(rng: random.Random, o: Originals, work: Path, kind: str) -> Case:
    bak = _file_copy(o.bak, work)
    proof = Path(f"{bak}.json")
    shutil.copy2(f"{o.bak}.json", proof)
    if kind == "backup":
        mutation = rng.choice((flip, flip, zero_block, truncate, append, "swap"))
        if mutation == "swap":
            shutil.copy2(rng.choice((o.bak_other, o.bak_later)), bak)
            what = "backup file replaced by another backup (proof kept)"
        else:
            what = mutation(rng, bak)
    else:
        mutation = rng.choice((flip, flip, truncate, append, "edit", "edit", "edit", "pair"))
        if mutation == "edit":
            what = edit_proof(rng, proof, o)
        elif mutation == "pair":
            src = rng.choice((o.bak_other, o.bak_later))
            shutil.copy2(f"{src}.json", proof)
            what = f"proof of {src.name} put beside it"
        else:
            what = "proof " + mutation(rng, proof)
    case = Case(kind, what)
    run = run_cli(["--home", str(work / "home"), "--json", "verify", str(bak)])
    if run.code == 0 and not run.crash:
        same_file = sha(bak) == sha(o.bak)
        try:  # what verify and restore take from the proof: every field but its own checksum
            same_proof = _proof_fields(json.loads(proof.read_text())) == _proof_fields(o.proof)
        except ValueError:
            same_proof = False
        if same_file and same_proof:
            case.outcome = "identical"
        else:
            case.outcome = "UNDETECTED"
            case.detail = f"verify accepted it (file same: {same_file}, proof same: {same_proof})"
        return case
    _check_refusal(case, run, None, None)
    return case


def _proof_fields(raw: Any) -> Any:
    return {k: v for k, v in raw.items() if k != "proof_sha256"} if isinstance(raw, dict) else raw


def _mutate_pack(rng: random.Random, path: Path, other: Path) -> str:
    mutation = rng.choice((flip, flip, flip, zero_block, truncate, append, "swap", "rename", "manifest",
                           "manifest"))
    if mutation == "swap":
        return swap_member(rng, path, other)
    if mutation == "rename":
        return rename_member(rng, path)
    if mutation == "manifest":
        return edit_manifest(rng, path)
    return mutation(rng, path)


def run_pbf_case(rng: random.Random, o: Originals, work: Path, kind: str) -> Case:
    source = o.pbf_enc if kind == "pbf-encrypted" else o.pbf
    path = _file_copy(source, work)
    env = {"MSDE_PACK_PASSPHRASE": PASSPHRASE} if kind == "pbf-encrypted" else {}
    if kind == "pbf-encrypted" and rng.random() < 0.05:
        env = {"MSDE_PACK_PASSPHRASE": PASSPHRASE + "!"}
        what = "wrong passphrase"
    else:
        what = _mutate_pack(rng, path, o.pbf_other if kind == "pbf" else o.pbf)
    case = Case(kind, what)
    home = work / "home"
    home.mkdir()
    run = run_cli(["--home", str(home), "import", str(path), "--number", "001"], env)
    expected = o.pbf_enc_import if kind == "pbf-encrypted" else o.pbf_import
    if run.code == 0 and not run.crash:
        got = home_state(home)
        if got == expected:
            case.outcome = "identical"
        else:
            case.outcome = "UNDETECTED"
            case.detail = "import accepted it: " + _diff(expected, got)
        return case
    _check_refusal(case, run, {}, home)
    return case


def run_ptf_case(rng: random.Random, o: Originals, work: Path, kind: str) -> Case:
    home = work / "home"
    shutil.copytree(o.ptf_base, home)
    before = home_state(home)
    if rng.random() < 0.04:
        path = _file_copy(o.ptf_other, work)
        what = "PTF of another dossier"
    elif rng.random() < 0.04:
        path = _file_copy(o.ptf, work)
        apply_once = run_cli(["--home", str(home), "apply", str(path)])
        assert apply_once.code == 0, apply_once.err
        before = home_state(home)
        what = "PTF applied a second time"
    else:
        path = _file_copy(o.ptf, work)
        what = _mutate_pack(rng, path, o.ptf_other)
    case = Case(kind, what)
    run = run_cli(["--home", str(home), "apply", str(path)])
    if run.code == 0 and not run.crash:
        got = home_state(home)
        if got == o.ptf_after:
            case.outcome = "identical"
        else:
            case.outcome = "UNDETECTED"
            case.detail = "apply accepted it: " + _diff(o.ptf_after, got)
        return case
    _check_refusal(case, run, before, home)
    return case


def run_paf_case(rng: random.Random, o: Originals, work: Path, kind: str) -> Case:
    home = work / "home"
    shutil.copytree(o.paf_home, home)
    before = home_state(home)
    argv_extra: list[str] = []
    if rng.random() < 0.04:
        path = _file_copy(o.paf_other, work)
        argv_extra = ["--dossier", "001"]
        what = "PAF of another dossier given to 001"
    else:
        path = _file_copy(o.paf, work)
        what = _mutate_pack(rng, path, o.paf_other)
    case = Case(kind, what)
    run = run_cli(["--home", str(home), "unarchive", str(path), *argv_extra])
    if run.code == 0 and not run.crash:
        got = home_state(home)
        if got == o.paf_after:
            case.outcome = "identical"
        else:
            case.outcome = "UNDETECTED"
            case.detail = "unarchive accepted it: " + _diff(o.paf_after, got)
        return case
    _check_refusal(case, run, before, home)
    return case


def _diff(want: dict[str, Any], got: dict[str, Any]) -> str:
    parts = []
    for number in sorted(set(want) | set(got)):
        a, b = want.get(number) or {}, got.get(number) or {}
        for key in sorted(set(a) | set(b)):
            if key == "rows":
                rows_a, rows_b = a.get("rows") or {}, b.get("rows") or {}
                tables = [t for t in sorted(set(rows_a) | set(rows_b)) if rows_a.get(t) != rows_b.get(t)]
                if tables:
                    parts.append(f"{number} rows of {', '.join(tables)}")
            elif a.get(key) != b.get(key):
                parts.append(f"{number} {key}: {a.get(key)!r} -> {b.get(key)!r}")
    return "; ".join(parts) or "?"


RUNNERS: dict[str, Callable[[random.Random, Originals, Path, str], Case]] = {
    "backup": run_backup_case,
    "proof": run_backup_case,
    "pbf": run_pbf_case,
    "pbf-encrypted": run_pbf_case,
    "ptf": run_ptf_case,
    "paf": run_paf_case,
}
# Relative share of cases per kind (encrypted files cost a scrypt derivation each).
WEIGHTS = {"backup": 3, "proof": 3, "pbf": 4, "pbf-encrypted": 2, "ptf": 3, "paf": 3}


def plan(cases: int, kinds: tuple[str, ...] = KINDS) -> list[str]:
    total = sum(WEIGHTS[k] for k in kinds)
    counts = {k: max(1, cases * WEIGHTS[k] // total) for k in kinds}
    counts[kinds[0]] += cases - sum(counts.values())
    return [k for k in kinds for _ in range(counts[k])]


def sweep(cases: int, seed: int, *, root: Path, kinds: tuple[str, ...] = KINDS, lines: int = 300,
          progress: Callable[[int, Case], None] | None = None) -> list[Case]:
    originals = build_originals(root / "originals", lines=lines)
    rng = random.Random(seed)
    results = []
    for i, kind in enumerate(plan(cases, kinds)):
        work = root / f"case{i:05d}"
        work.mkdir()
        case_rng = random.Random(rng.getrandbits(64))
        try:
            case = RUNNERS[kind](case_rng, originals, work, kind)
        except Exception as exc:  # noqa: BLE001 - a harness bug must not hide the others
            case = Case(kind, "?", "CRASH", f"harness: {type(exc).__name__}: {exc}")
        results.append(case)
        if progress:
            progress(i, case)
        shutil.rmtree(work, ignore_errors=True)
    return results


def summary(results: list[Case]) -> dict[str, dict[str, int]]:
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for case in results:
        table[case.kind][case.outcome] += 1
        table[case.kind]["tried"] += 1
    return {k: dict(v) for k, v in table.items()}


def report(results: list[Case], seconds: float) -> str:
    rows = summary(results)
    lines = ["| kind | tried | refused | identical | detected | UNDETECTED | CRASH | refused, other type |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    total: Counter[str] = Counter()
    for kind in (*KINDS, "link", "bomb", "manifest", "enc-manifest", "home", "escape", "?"):
        if kind not in rows:
            continue
        r = Counter(rows[kind])
        total.update(r)
        detected = r["refused"] + r["identical"] + r["refused-other-type"]
        lines.append(f"| {kind} | {r['tried']} | {r['refused']} | {r['identical']} | {detected} | "
                     f"{r['UNDETECTED']} | {r['CRASH']} | {r['refused-other-type']} |")
    detected = total["refused"] + total["identical"] + total["refused-other-type"]
    lines.append(f"| **all** | {total['tried']} | {total['refused']} | {total['identical']} | {detected} | "
                 f"{total['UNDETECTED']} | {total['CRASH']} | {total['refused-other-type']} |")
    pct = 100.0 * detected / max(1, total["tried"])
    lines.append("")
    lines.append(f"Detected {detected}/{total['tried']} ({pct:.1f} %) in {seconds:.0f} s.")
    errors = Counter(c.error for c in results if c.outcome.startswith("refused"))
    lines.append("Error types of the refusals: " + ", ".join(f"{k} {v}" for k, v in errors.most_common()))
    lines += [f"- {c.kind} {c.mutation}: {c.outcome}, {c.detail}" for c in results if c.kind == "bomb"]
    bad = [c for c in results if c.outcome in ("UNDETECTED", "CRASH", "refused-other-type")]
    for c in bad[:40]:
        lines.append(f"- {c.outcome} {c.kind}: {c.mutation} — {c.detail[:400]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lines", type=int, default=300, help="entry lines per demo dossier")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--json", type=Path, help="write every case here")
    parser.add_argument("--hostile", type=int, default=None, metavar="N",
                        help="also run the hostile-world classes (bench/hostile_cases.py), N manifest mutations")
    parser.add_argument("--bomb-rows", type=int, default=100_000_000, help="rows of the row bomb's one row group")
    parser.add_argument("--bomb-inflate", type=int, default=(4 << 30) - (1 << 24),
                        help="bytes the manifest bomb inflates to")
    args = parser.parse_args(argv)
    kinds = tuple(k for k in args.kinds.split(",") if k)
    started = time.monotonic()

    def show(i: int, case: Case) -> None:
        if case.outcome in ("UNDETECTED", "CRASH", "refused-other-type"):
            print(f"  case {i}: {case.outcome} {case.kind}: {case.mutation} — {case.detail[:300]}", flush=True)
        elif (i + 1) % 100 == 0:
            print(f"  {i + 1} cases, {time.monotonic() - started:.0f} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="msde-sweep-") as tmp:
        results = sweep(args.cases, args.seed, root=Path(tmp), kinds=kinds, lines=args.lines,
                        progress=show) if args.cases else []
        if args.hostile is not None:
            from hostile_cases import hostile_sweep

            results += hostile_sweep(Path(tmp) / "hostile", seed=args.seed, cases=args.hostile,
                                     rows=args.bomb_rows, inflated=args.bomb_inflate)
    seconds = time.monotonic() - started
    print(report(results, seconds))
    if args.json:
        args.json.write_text(json.dumps([c.__dict__ for c in results], indent=1))
    bad = sum(c.outcome in ("UNDETECTED", "CRASH") for c in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
